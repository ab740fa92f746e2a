//! The compiled matcher: every condition in its cheapest index, every hit mapped back to
//! the exclusions it belongs to.
//!
//! Per text slot: folded exact values in a hash map, prefixes and suffixes in hash maps by
//! length, `contains` in one Aho-Corasick automaton, globs that need a regex and user
//! regexes in one `RegexSet`. Networks sit in hash maps by prefix length. Matching a row
//! costs one look-up per distinct length, not one per value.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use ipnet::IpNet;
use regex::{RegexSet, RegexSetBuilder};

use crate::compile::Compiled;
use crate::event::Layout;
use crate::model::{SOURCE_IPV4_COLUMN, SOURCE_IPV6_COLUMN, Target, Test};
use crate::semantics::{self, Cell, REGEX_SIZE_LIMIT, TextTest};

/// A condition of an active exclusion, numbered across the policy.
type CondId = u32;
/// The maps of the matcher use foldhash, several times faster than SipHash on short keys.
/// Its weaker resistance to collision attacks does not matter here: every map is built
/// from the policy's values and only looked up with event values (attacker-controlled
/// text), never inserted into, so crafted events cannot make a map degrade (HashDoS needs
/// insertions). The seed is random per process all the same.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
/// Folded literal → the conditions it satisfies.
type LiteralMap = FastMap<Box<str>, Vec<CondId>>;
/// Up to this many `contains` values are searched with a full DFA (fastest, but its size
/// grows with the patterns); larger sets let aho-corasick pick a smaller automaton.
const CONTAINS_DFA_MAX: usize = 5_000;

/// Matches rows against the active exclusions of a [`Compiled`] policy.
#[derive(Clone, Debug)]
pub struct Matcher {
    layout: Layout,
    texts: Vec<TextIndex>,
    v4: Option<NetIndex<u32>>,
    v6: Option<NetIndex<u128>>,
    /// For each condition, the position of its exclusion in `exclusions`.
    owner: Vec<u32>,
    /// For each active exclusion: its index in the policy and its number of conditions.
    exclusions: Vec<(usize, u32)>,
}

#[derive(Clone, Debug, Default)]
struct TextIndex {
    slot: usize,
    folds: bool,
    exact: LiteralMap,
    /// By byte length of the literal.
    prefix: Vec<Affixes>,
    suffix: Vec<Affixes>,
    contains: Option<(AhoCorasick, Vec<Vec<CondId>>)>,
    nonempty: Vec<CondId>,
    regexes: Option<(RegexSet, Vec<Vec<CondId>>)>,
}

/// The networks of one address family as a partition of the address space: one binary
/// search finds the interval an address falls in, and with it every network holding it.
#[derive(Clone, Debug)]
struct NetIndex<A> {
    slot: usize,
    /// Sorted interval starts; interval `i` is `starts[i]..starts[i + 1]` (the last one runs
    /// to the end of the address space). Gaps are intervals with no network.
    starts: Vec<A>,
    /// Interval `i`'s networks are `members[spans[i].0 as usize..spans[i].1 as usize]`.
    spans: Vec<(u32, u32)>,
    /// Network ids (indices into `conds`), interval after interval. An interval lies in at
    /// most one network per prefix length, so this is at most 33 (IPv4) or 129 (IPv6)
    /// times the number of intervals.
    members: Vec<u32>,
    /// Each distinct network's conditions.
    conds: Vec<Vec<CondId>>,
}

/// An address as a number: IPv4 as `u32`, IPv6 as `u128`.
trait Addr: Copy + Ord + std::hash::Hash {
    fn mask(len: u8) -> Self;
    fn and(self, other: Self) -> Self;
    fn or_not(self, mask: Self) -> Self;
    fn succ(self) -> Option<Self>;
}

impl Addr for u32 {
    fn mask(len: u8) -> u32 {
        u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
    }
    fn and(self, other: u32) -> u32 {
        self & other
    }
    fn or_not(self, mask: u32) -> u32 {
        self | !mask
    }
    fn succ(self) -> Option<u32> {
        self.checked_add(1)
    }
}

impl Addr for u128 {
    fn mask(len: u8) -> u128 {
        u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
    }
    fn and(self, other: u128) -> u128 {
        self & other
    }
    fn or_not(self, mask: u128) -> u128 {
        self | !mask
    }
    fn succ(self) -> Option<u128> {
        self.checked_add(1)
    }
}

impl<A: Addr> NetIndex<A> {
    /// `nets`: (network address, prefix length) → conditions.
    fn new(nets: FastMap<(A, u8), Vec<CondId>>, slot: Option<usize>) -> Option<Self> {
        let slot = slot?;
        if nets.is_empty() {
            return None;
        }
        let mut nets: Vec<((A, u8), Vec<CondId>)> = nets.into_iter().collect();
        nets.sort_by_key(|(k, _)| *k);
        let ranges: Vec<(A, A)> = nets
            .iter()
            .map(|((addr, len), _)| {
                let mask = A::mask(*len);
                (addr.and(mask), addr.or_not(mask))
            })
            .collect();
        let mut starts: Vec<A> = Vec::with_capacity(ranges.len() * 2);
        for &(lo, hi) in &ranges {
            starts.push(lo);
            starts.extend(hi.succ());
        }
        starts.sort_unstable();
        starts.dedup();
        let mut lists: Vec<Vec<u32>> = vec![Vec::new(); starts.len()];
        for (id, &(lo, hi)) in ranges.iter().enumerate() {
            let first = starts.partition_point(|&s| s < lo);
            let end = hi.succ().map_or(starts.len(), |next| starts.partition_point(|&s| s < next));
            for list in lists.get_mut(first..end).unwrap_or_default() {
                list.push(id as u32);
            }
        }
        let mut spans = Vec::with_capacity(lists.len());
        let mut members = Vec::new();
        for list in lists {
            let from = members.len() as u32;
            members.extend(list);
            spans.push((from, members.len() as u32));
        }
        Some(NetIndex { slot, starts, spans, members, conds: nets.into_iter().map(|(_, c)| c).collect() })
    }

    /// The conditions of every network that holds `a`.
    fn lookup(&self, a: A) -> impl Iterator<Item = CondId> + '_ {
        let i = self.starts.partition_point(|&s| s <= a).checked_sub(1);
        let members = i
            .and_then(|i| self.spans.get(i))
            .and_then(|&(from, to)| self.members.get(from as usize..to as usize))
            .unwrap_or_default();
        members.iter().filter_map(|&n| self.conds.get(n as usize)).flatten().copied()
    }
}

/// Per-thread working memory for [`Matcher::matches`].
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    satisfied: Vec<bool>,
    hit: Vec<CondId>,
    counts: Vec<u32>,
    touched: Vec<u32>,
    folded: String,
    set_matches: Vec<bool>,
}

/// The prefixes (or suffixes) of one byte length.
#[derive(Clone, Debug)]
struct Affixes {
    len: usize,
    /// The first and the last byte of every literal, as 256-bit sets: a value whose bytes
    /// at those places are in neither set cannot hold a literal of this length, so most
    /// lengths are ruled out without hashing (`*@domain` suffixes all start with `@`).
    first: ByteSet,
    last: ByteSet,
    map: LiteralMap,
}

#[derive(Clone, Copy, Debug, Default)]
struct ByteSet([u64; 4]);

impl ByteSet {
    fn insert(&mut self, b: u8) {
        if let Some(w) = self.0.get_mut(usize::from(b >> 6)) {
            *w |= 1 << (b & 63);
        }
    }

    fn contains(&self, b: u8) -> bool {
        self.0.get(usize::from(b >> 6)).is_some_and(|w| w & (1 << (b & 63)) != 0)
    }
}

impl Affixes {
    fn new(len: usize, map: LiteralMap) -> Affixes {
        let (mut first, mut last) = (ByteSet::default(), ByteSet::default());
        for k in map.keys() {
            if let (Some(&f), Some(&l)) = (k.as_bytes().first(), k.as_bytes().last()) {
                first.insert(f);
                last.insert(l);
            }
        }
        Affixes { len, first, last, map }
    }

    /// The conditions of the literal that `part` (a slice of `len` bytes) is, if any.
    fn get(&self, part: &[u8], text: &str) -> Option<&Vec<CondId>> {
        let (Some(&f), Some(&l)) = (part.first(), part.last()) else { return None };
        if !self.first.contains(f) || !self.last.contains(l) {
            return None;
        }
        self.map.get(text)
    }
}

/// Building blocks of one text slot before indexing.
#[derive(Default)]
struct TextBuilder {
    exact: LiteralMap,
    prefix: FastMap<usize, LiteralMap>,
    suffix: FastMap<usize, LiteralMap>,
    contains: Vec<(String, CondId)>,
    nonempty: Vec<CondId>,
    regexes: Vec<(String, CondId)>,
}

fn push_unique(v: &mut Vec<CondId>, c: CondId) {
    if v.last() != Some(&c) {
        v.push(c);
    }
}

/// Groups `(key, cond)` pairs by key, keeping the first-seen key order.
fn group<K: Eq + std::hash::Hash + Clone>(pairs: Vec<(K, CondId)>) -> (Vec<K>, Vec<Vec<CondId>>) {
    let mut keys: Vec<K> = Vec::new();
    let mut conds: Vec<Vec<CondId>> = Vec::new();
    let mut at: HashMap<K, usize> = HashMap::new();
    for (k, c) in pairs {
        let i = *at.entry(k.clone()).or_insert_with(|| {
            keys.push(k);
            conds.push(Vec::new());
            conds.len() - 1
        });
        if let Some(v) = conds.get_mut(i) {
            push_unique(v, c);
        }
    }
    (keys, conds)
}

/// Why a policy could not be compiled (its regexes together exceed the size limit).
#[derive(Debug)]
pub struct BuildError(pub String);

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Matcher {
    pub fn new(compiled: &Compiled<'_>) -> Result<Matcher, BuildError> {
        let layout = compiled.layout.clone();
        let mut texts: HashMap<usize, TextBuilder> = HashMap::new();
        let mut v4: FastMap<(u32, u8), Vec<CondId>> = FastMap::default();
        let mut v6: FastMap<(u128, u8), Vec<CondId>> = FastMap::default();
        let mut owner = Vec::new();
        let mut exclusions = Vec::new();
        let header_column = compiled.policy.header_column.as_deref();
        for (pos, &index) in compiled.active.iter().enumerate() {
            let Some(e) = compiled.policy.exclusions.get(index) else { continue };
            exclusions.push((index, e.conditions.len() as u32));
            for c in &e.conditions {
                let cond = owner.len() as CondId;
                owner.push(pos as u32);
                let slot = match c.field.target(header_column) {
                    Some(Target::Column(col)) => layout.column_slot(col),
                    Some(Target::Header { name, .. }) => layout.header_slot(&name),
                    None => None,
                };
                for v in &c.values {
                    match (&v.test, slot) {
                        (Test::Text(t), Some(slot)) => {
                            let b = texts.entry(slot).or_default();
                            match t {
                                TextTest::Equals(s) => {
                                    push_unique(b.exact.entry(s.as_str().into()).or_default(), cond)
                                }
                                TextTest::StartsWith(s) => push_unique(
                                    b.prefix
                                        .entry(s.len())
                                        .or_default()
                                        .entry(s.as_str().into())
                                        .or_default(),
                                    cond,
                                ),
                                TextTest::EndsWith(s) => push_unique(
                                    b.suffix
                                        .entry(s.len())
                                        .or_default()
                                        .entry(s.as_str().into())
                                        .or_default(),
                                    cond,
                                ),
                                TextTest::Contains(s) => b.contains.push((s.clone(), cond)),
                                TextTest::NonEmpty => push_unique(&mut b.nonempty, cond),
                                TextTest::Wildcard(re) | TextTest::Regex(re) => {
                                    b.regexes.push((re.as_str().to_string(), cond))
                                }
                            }
                        }
                        (Test::Net(IpNet::V4(n)), _) => {
                            push_unique(v4.entry((u32::from(n.network()), n.prefix_len())).or_default(), cond)
                        }
                        (Test::Net(IpNet::V6(n)), _) => push_unique(
                            v6.entry((u128::from(n.network()), n.prefix_len())).or_default(),
                            cond,
                        ),
                        (Test::Text(_), None) => {}
                    }
                }
            }
        }
        let mut text_indexes = Vec::new();
        let mut slots: Vec<usize> = texts.keys().copied().collect();
        slots.sort_unstable();
        for slot in slots {
            let Some(b) = texts.remove(&slot) else { continue };
            text_indexes.push(TextIndex::build(slot, b)?);
        }
        Ok(Matcher {
            v4: NetIndex::new(v4, layout.column_slot(SOURCE_IPV4_COLUMN)),
            v6: NetIndex::new(v6, layout.column_slot(SOURCE_IPV6_COLUMN)),
            layout,
            texts: text_indexes,
            owner,
            exclusions,
        })
    }

    /// The columns and headers a row must provide, in slot order.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn scratch(&self) -> Scratch {
        Scratch {
            satisfied: vec![false; self.owner.len()],
            counts: vec![0; self.exclusions.len()],
            ..Scratch::default()
        }
    }

    /// Fills `out` with the policy indices of the exclusions a row matches, ascending.
    /// `cells` holds one cell per slot of [`Matcher::layout`].
    pub fn matches(&self, cells: &[Cell<'_>], scratch: &mut Scratch, out: &mut Vec<usize>) {
        out.clear();
        if scratch.satisfied.len() != self.owner.len() {
            *scratch = self.scratch();
        }
        let mut folded = std::mem::take(&mut scratch.folded);
        for idx in &self.texts {
            let Some(text) = cells.get(idx.slot).and_then(Cell::as_text) else { continue };
            // ASCII text without capitals is its own fold: no copy.
            let needs_fold = !text.is_ascii() || text.bytes().any(|b| b.is_ascii_uppercase());
            let f: &str = if idx.folds && needs_fold {
                semantics::fold_into(text, &mut folded);
                &folded
            } else {
                text
            };
            idx.search(text, f, scratch, |c, s| self.mark(c, s));
        }
        scratch.folded = folded;
        if let Some(v4) = &self.v4 {
            if let Some(ip) = cells.get(v4.slot).and_then(Cell::as_text).and_then(semantics::parse_ipv4) {
                for c in v4.lookup(u32::from(ip)) {
                    self.mark(c, scratch);
                }
            }
        }
        if let Some(v6) = &self.v6 {
            if let Some(ip) = cells.get(v6.slot).and_then(Cell::as_text).and_then(semantics::parse_ipv6) {
                for c in v6.lookup(u128::from(ip)) {
                    self.mark(c, scratch);
                }
            }
        }
        for &pos in &scratch.touched {
            if let (Some(&count), Some(&(index, required))) =
                (scratch.counts.get(pos as usize), self.exclusions.get(pos as usize))
            {
                if count == required {
                    out.push(index);
                }
            }
        }
        out.sort_unstable();
        for &c in &scratch.hit {
            if let Some(s) = scratch.satisfied.get_mut(c as usize) {
                *s = false;
            }
        }
        for &pos in &scratch.touched {
            if let Some(n) = scratch.counts.get_mut(pos as usize) {
                *n = 0;
            }
        }
        scratch.hit.clear();
        scratch.touched.clear();
    }

    fn mark(&self, c: CondId, s: &mut Scratch) {
        let Some(done) = s.satisfied.get_mut(c as usize) else { return };
        if *done {
            return;
        }
        *done = true;
        s.hit.push(c);
        let Some(&pos) = self.owner.get(c as usize) else { return };
        if let Some(n) = s.counts.get_mut(pos as usize) {
            if *n == 0 {
                s.touched.push(pos);
            }
            *n += 1;
        }
    }
}

impl TextIndex {
    fn build(slot: usize, b: TextBuilder) -> Result<TextIndex, BuildError> {
        let sorted = |m: FastMap<usize, LiteralMap>| {
            let mut v: Vec<Affixes> = m.into_iter().map(|(len, map)| Affixes::new(len, map)).collect();
            v.sort_by_key(|a| a.len);
            v
        };
        let contains = if b.contains.is_empty() {
            None
        } else {
            let (needles, conds) = group(b.contains);
            let kind = (needles.len() <= CONTAINS_DFA_MAX).then_some(AhoCorasickKind::DFA);
            let ac = AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .kind(kind)
                .build(&needles)
                .map_err(|e| BuildError(format!("cannot index `contains` values: {e}")))?;
            Some((ac, conds))
        };
        let regexes = if b.regexes.is_empty() {
            None
        } else {
            let (patterns, conds) = group(b.regexes);
            let set = RegexSetBuilder::new(&patterns)
                .size_limit(REGEX_SIZE_LIMIT.saturating_mul(patterns.len().max(1)))
                .dfa_size_limit(REGEX_SIZE_LIMIT.saturating_mul(4))
                .build()
                .map_err(|e| BuildError(format!("cannot compile the policy's patterns together: {e}")))?;
            Some((set, conds))
        };
        let folds = !b.exact.is_empty() || !b.prefix.is_empty() || !b.suffix.is_empty() || contains.is_some();
        Ok(TextIndex {
            slot,
            folds,
            exact: b.exact,
            prefix: sorted(b.prefix),
            suffix: sorted(b.suffix),
            contains,
            nonempty: b.nonempty,
            regexes,
        })
    }

    fn search(
        &self,
        text: &str,
        folded: &str,
        scratch: &mut Scratch,
        mut mark: impl FnMut(CondId, &mut Scratch),
    ) {
        for &c in &self.nonempty {
            mark(c, scratch);
        }
        if let Some(conds) = self.exact.get(folded) {
            for &c in conds {
                mark(c, scratch);
            }
        }
        let bytes = folded.as_bytes();
        for a in &self.prefix {
            let conds = bytes.get(..a.len).and_then(|part| a.get(part, folded.get(..a.len)?));
            for &c in conds.into_iter().flatten() {
                mark(c, scratch);
            }
        }
        for a in &self.suffix {
            let Some(start) = folded.len().checked_sub(a.len) else { continue };
            let conds = bytes.get(start..).and_then(|part| a.get(part, folded.get(start..)?));
            for &c in conds.into_iter().flatten() {
                mark(c, scratch);
            }
        }
        if let Some((ac, conds)) = &self.contains {
            for m in ac.find_overlapping_iter(folded) {
                if let Some(cs) = conds.get(m.pattern().as_usize()) {
                    for &c in cs {
                        mark(c, scratch);
                    }
                }
            }
        }
        if let Some((set, conds)) = &self.regexes {
            let matches = &mut scratch.set_matches;
            matches.clear();
            matches.resize(set.len(), false);
            if set.matches_read_at(matches, text, 0) {
                let hits: Vec<usize> =
                    matches.iter().enumerate().filter(|(_, m)| **m).map(|(i, _)| i).collect();
                for i in hits {
                    if let Some(cs) = conds.get(i) {
                        for &c in cs {
                            mark(c, scratch);
                        }
                    }
                }
            }
        }
    }
}
