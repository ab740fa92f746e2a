//! The compiled matcher: every condition in its cheapest index, every hit mapped back to
//! the exclusions it belongs to.
//!
//! Per text slot: folded exact values in a hash map, prefixes and suffixes in hash maps by
//! length (most lengths ruled out by their first and last bytes), `contains` in one
//! Aho-Corasick automaton, globs that need a regex and user regexes in one `RegexSet`.
//! Networks of each family partition the address space (one binary search per row).
//! Entries shared by many exclusions are noted once per row ([`Postings`]). Matching a row
//! costs what its values select, not what the policy holds.

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
type LiteralMap = FastMap<Box<str>, Postings>;
/// Index entries satisfying more conditions than this are shared: a hit on one is noted
/// once, and its conditions are checked only for the exclusions that may match.
const SHARED_MIN: usize = 8;
const NOT_SHARED: u32 = u32::MAX;

/// The conditions an index entry (a value, a network, a pattern) satisfies.
///
/// Most entries satisfy a few conditions, which are marked one by one on a hit. An entry
/// many exclusions share (`*@company.com` in 10,000 exclusions that each also name a
/// recipient, or `direction = ["Inbound"]`) is only noted as hit: an exclusion is then
/// checked if another, unshared condition of it was marked, or (when every condition of
/// it is shared) if the entry it is anchored on was hit. So a row costs what its own
/// values select, not what the policy shares.
#[derive(Clone, Debug, Default)]
struct Postings {
    conds: Vec<CondId>,
    /// The entry's number among the shared ones, or [`NOT_SHARED`].
    shared: u32,
}

impl From<Vec<CondId>> for Postings {
    fn from(conds: Vec<CondId>) -> Postings {
        Postings { conds, shared: NOT_SHARED }
    }
}

/// Up to this many `contains` values, none longer than [`CONTAINS_DFA_MAX_LEN`], are searched
/// with a full DFA (fastest, but its size grows with the patterns); other sets use a
/// contiguous NFA. aho-corasick builds a DFA in time that grows with the square of a value's
/// length (a 1 MB value took minutes), and would choose one itself for up to 100 values.
const CONTAINS_DFA_MAX: usize = 5_000;
const CONTAINS_DFA_MAX_LEN: usize = 256;

/// Matches rows against the active exclusions of a [`Compiled`] policy.
#[derive(Clone, Debug)]
pub struct Matcher {
    layout: Layout,
    texts: Vec<TextIndex>,
    v4: Option<NetIndex<u32>>,
    v6: Option<NetIndex<u128>>,
    /// For each condition, the position of its exclusion in `exclusions`.
    owner: Vec<u32>,
    /// For each active exclusion: its index in the policy, its first condition and its
    /// number of conditions (an exclusion's conditions are numbered consecutively).
    exclusions: Vec<(usize, u32, u32)>,
    /// For each condition, the shared entries holding it: `shared_ids[from..to]`.
    cond_shared: Vec<(u32, u32)>,
    shared_ids: Vec<u32>,
    /// For each shared entry, the exclusions (positions) anchored on it: those whose
    /// conditions are all held by shared entries.
    anchored: Vec<Vec<u32>>,
}

#[derive(Clone, Debug, Default)]
struct TextIndex {
    slot: usize,
    folds: bool,
    exact: LiteralMap,
    /// By byte length of the literal.
    prefix: Vec<Affixes>,
    suffix: Vec<Affixes>,
    contains: Option<(AhoCorasick, Vec<Postings>)>,
    nonempty: Postings,
    regexes: Option<(RegexSet, Vec<Postings>)>,
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
    conds: Vec<Postings>,
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
        Some(NetIndex {
            slot,
            starts,
            spans,
            members,
            conds: nets.into_iter().map(|(_, c)| c.into()).collect(),
        })
    }

    /// The entries of every network that holds `a`.
    fn lookup(&self, a: A) -> impl Iterator<Item = &Postings> + '_ {
        let i = self.starts.partition_point(|&s| s <= a).checked_sub(1);
        let members = i
            .and_then(|i| self.spans.get(i))
            .and_then(|&(from, to)| self.members.get(from as usize..to as usize))
            .unwrap_or_default();
        members.iter().filter_map(|&n| self.conds.get(n as usize))
    }
}

/// Per-thread working memory for [`Matcher::matches`].
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    satisfied: Vec<bool>,
    hit: Vec<CondId>,
    /// Per exclusion: already a candidate for this row.
    seen: Vec<bool>,
    touched: Vec<u32>,
    /// Per shared entry: hit by this row.
    shared_hit: Vec<bool>,
    shared_touched: Vec<u32>,
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
    fn get(&self, part: &[u8], text: &str) -> Option<&Postings> {
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
    exact: BuildMap,
    prefix: FastMap<usize, BuildMap>,
    suffix: FastMap<usize, BuildMap>,
    contains: Vec<(String, CondId)>,
    nonempty: Vec<CondId>,
    regexes: Vec<(String, CondId)>,
}

/// Literal → conditions, while building.
type BuildMap = FastMap<Box<str>, Vec<CondId>>;

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
            exclusions.push((index, owner.len() as u32, e.conditions.len() as u32));
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
        let mut m = Matcher {
            v4: NetIndex::new(v4, layout.column_slot(SOURCE_IPV4_COLUMN)),
            v6: NetIndex::new(v6, layout.column_slot(SOURCE_IPV6_COLUMN)),
            layout,
            texts: text_indexes,
            owner,
            exclusions,
            cond_shared: Vec::new(),
            shared_ids: Vec::new(),
            anchored: Vec::new(),
        };
        m.share();
        Ok(m)
    }

    /// Numbers the shared entries and anchors the exclusions made only of shared
    /// conditions (see [`Postings`]).
    fn share(&mut self) {
        let mut of_cond: Vec<Vec<u32>> = vec![Vec::new(); self.owner.len()];
        let mut sizes: Vec<usize> = Vec::new();
        let texts = self.texts.iter_mut().flat_map(TextIndex::postings_mut);
        let nets = self.v4.iter_mut().flat_map(|n| n.conds.iter_mut());
        let nets6 = self.v6.iter_mut().flat_map(|n| n.conds.iter_mut());
        for p in texts.chain(nets).chain(nets6) {
            if p.conds.len() > SHARED_MIN {
                p.shared = sizes.len() as u32;
                for &c in &p.conds {
                    if let Some(v) = of_cond.get_mut(c as usize) {
                        v.push(p.shared);
                    }
                }
                sizes.push(p.conds.len());
            }
        }
        let mut anchored: Vec<Vec<u32>> = vec![Vec::new(); sizes.len()];
        for (pos, &(_, first, n)) in self.exclusions.iter().enumerate() {
            let conds = of_cond.get(first as usize..(first + n) as usize).unwrap_or_default();
            if conds.iter().any(Vec::is_empty) {
                continue; // an unshared condition brings the exclusion in when marked
            }
            // Anchor on the condition whose shared entries hold the fewest conditions.
            let cost = |ids: &Vec<u32>| ids.iter().filter_map(|&f| sizes.get(f as usize)).sum::<usize>();
            if let Some(ids) = conds.iter().min_by_key(|ids| cost(ids)) {
                for &f in ids {
                    if let Some(a) = anchored.get_mut(f as usize) {
                        a.push(pos as u32);
                    }
                }
            }
        }
        for ids in of_cond {
            let from = self.shared_ids.len() as u32;
            self.shared_ids.extend(ids);
            self.cond_shared.push((from, self.shared_ids.len() as u32));
        }
        self.anchored = anchored;
    }

    /// The columns and headers a row must provide, in slot order.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn scratch(&self) -> Scratch {
        Scratch {
            satisfied: vec![false; self.owner.len()],
            seen: vec![false; self.exclusions.len()],
            shared_hit: vec![false; self.anchored.len()],
            ..Scratch::default()
        }
    }

    /// Fills `out` with the policy indices of the exclusions a row matches, ascending.
    /// `cells` holds one cell per slot of [`Matcher::layout`].
    pub fn matches(&self, cells: &[Cell<'_>], scratch: &mut Scratch, out: &mut Vec<usize>) {
        out.clear();
        if scratch.satisfied.len() != self.owner.len()
            || scratch.seen.len() != self.exclusions.len()
            || scratch.shared_hit.len() != self.anchored.len()
        {
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
            idx.search(text, f, scratch, |p, s| self.hit(p, s));
        }
        scratch.folded = folded;
        if let Some(v4) = &self.v4 {
            if let Some(ip) = cells.get(v4.slot).and_then(Cell::as_text).and_then(semantics::parse_ipv4) {
                for p in v4.lookup(u32::from(ip)) {
                    self.hit(p, scratch);
                }
            }
        }
        if let Some(v6) = &self.v6 {
            if let Some(ip) = cells.get(v6.slot).and_then(Cell::as_text).and_then(semantics::parse_ipv6) {
                for p in v6.lookup(u128::from(ip)) {
                    self.hit(p, scratch);
                }
            }
        }
        // Exclusions anchored on a shared entry that was hit are candidates too.
        for &f in &scratch.shared_touched {
            for &pos in self.anchored.get(f as usize).into_iter().flatten() {
                if let Some(seen) = scratch.seen.get_mut(pos as usize) {
                    if !*seen {
                        *seen = true;
                        scratch.touched.push(pos);
                    }
                }
            }
        }
        // A candidate matches when each of its conditions was marked or is held by a shared
        // entry that was hit.
        for &pos in &scratch.touched {
            let Some(&(index, first, n)) = self.exclusions.get(pos as usize) else { continue };
            let all = (first..first + n).all(|c| {
                scratch.satisfied.get(c as usize).copied().unwrap_or(false)
                    || self.cond_shared.get(c as usize).is_some_and(|&(from, to)| {
                        self.shared_ids
                            .get(from as usize..to as usize)
                            .unwrap_or_default()
                            .iter()
                            .any(|&f| scratch.shared_hit.get(f as usize).copied().unwrap_or(false))
                    })
            });
            if all {
                out.push(index);
            }
        }
        out.sort_unstable();
        for &c in &scratch.hit {
            if let Some(s) = scratch.satisfied.get_mut(c as usize) {
                *s = false;
            }
        }
        for &pos in &scratch.touched {
            if let Some(s) = scratch.seen.get_mut(pos as usize) {
                *s = false;
            }
        }
        for &f in &scratch.shared_touched {
            if let Some(s) = scratch.shared_hit.get_mut(f as usize) {
                *s = false;
            }
        }
        scratch.hit.clear();
        scratch.touched.clear();
        scratch.shared_touched.clear();
    }

    /// An index entry was hit: mark its conditions, or note a shared entry once.
    fn hit(&self, p: &Postings, s: &mut Scratch) {
        if p.shared != NOT_SHARED {
            if let Some(flag) = s.shared_hit.get_mut(p.shared as usize) {
                if !*flag {
                    *flag = true;
                    s.shared_touched.push(p.shared);
                }
            }
            return;
        }
        for &c in &p.conds {
            self.mark(c, s);
        }
    }

    fn mark(&self, c: CondId, s: &mut Scratch) {
        let Some(done) = s.satisfied.get_mut(c as usize) else { return };
        if *done {
            return;
        }
        *done = true;
        s.hit.push(c);
        let Some(&pos) = self.owner.get(c as usize) else { return };
        if let Some(seen) = s.seen.get_mut(pos as usize) {
            if !*seen {
                *seen = true;
                s.touched.push(pos);
            }
        }
    }
}

impl TextIndex {
    fn build(slot: usize, b: TextBuilder) -> Result<TextIndex, BuildError> {
        let postings = |m: BuildMap| -> LiteralMap { m.into_iter().map(|(k, v)| (k, v.into())).collect() };
        let sorted = |m: FastMap<usize, BuildMap>| {
            let mut v: Vec<Affixes> =
                m.into_iter().map(|(len, map)| Affixes::new(len, postings(map))).collect();
            v.sort_by_key(|a| a.len);
            v
        };
        let contains = if b.contains.is_empty() {
            None
        } else {
            let (needles, conds) = group(b.contains);
            let dfa =
                needles.len() <= CONTAINS_DFA_MAX && needles.iter().all(|n| n.len() <= CONTAINS_DFA_MAX_LEN);
            let kind = if dfa { AhoCorasickKind::DFA } else { AhoCorasickKind::ContiguousNFA };
            let ac = AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .kind(Some(kind))
                .build(&needles)
                .map_err(|e| BuildError(format!("cannot index `contains` values: {e}")))?;
            Some((ac, conds.into_iter().map(Postings::from).collect()))
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
            Some((set, conds.into_iter().map(Postings::from).collect()))
        };
        let folds = !b.exact.is_empty() || !b.prefix.is_empty() || !b.suffix.is_empty() || contains.is_some();
        Ok(TextIndex {
            slot,
            folds,
            exact: postings(b.exact),
            prefix: sorted(b.prefix),
            suffix: sorted(b.suffix),
            contains,
            nonempty: b.nonempty.into(),
            regexes,
        })
    }

    fn postings_mut(&mut self) -> impl Iterator<Item = &mut Postings> {
        self.exact
            .values_mut()
            .chain(self.prefix.iter_mut().chain(self.suffix.iter_mut()).flat_map(|a| a.map.values_mut()))
            .chain(self.contains.iter_mut().flat_map(|(_, c)| c.iter_mut()))
            .chain(std::iter::once(&mut self.nonempty))
            .chain(self.regexes.iter_mut().flat_map(|(_, c)| c.iter_mut()))
    }

    fn search(
        &self,
        text: &str,
        folded: &str,
        scratch: &mut Scratch,
        mut hit: impl FnMut(&Postings, &mut Scratch),
    ) {
        if !self.nonempty.conds.is_empty() {
            hit(&self.nonempty, scratch);
        }
        if let Some(p) = self.exact.get(folded) {
            hit(p, scratch);
        }
        let bytes = folded.as_bytes();
        for a in &self.prefix {
            if let Some(p) = bytes.get(..a.len).and_then(|part| a.get(part, folded.get(..a.len)?)) {
                hit(p, scratch);
            }
        }
        for a in &self.suffix {
            let Some(start) = folded.len().checked_sub(a.len) else { continue };
            if let Some(p) = bytes.get(start..).and_then(|part| a.get(part, folded.get(start..)?)) {
                hit(p, scratch);
            }
        }
        if let Some((ac, postings)) = &self.contains {
            for m in ac.find_overlapping_iter(folded) {
                if let Some(p) = postings.get(m.pattern().as_usize()) {
                    hit(p, scratch);
                }
            }
        }
        // Most values match no pattern: one `is_match` (which may stop early) rules them out
        // before the pass that reports every matching pattern.
        if let Some((set, postings)) = self.regexes.as_ref().filter(|(set, _)| set.is_match(text)) {
            let mut matches = std::mem::take(&mut scratch.set_matches);
            matches.clear();
            matches.resize(set.len(), false);
            if set.matches_read_at(&mut matches, text, 0) {
                for (p, _) in postings.iter().zip(&matches).filter(|(_, m)| **m) {
                    hit(p, scratch);
                }
            }
            scratch.set_matches = matches;
        }
    }
}
