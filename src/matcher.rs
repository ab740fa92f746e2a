//! The compiled matcher: every condition in its cheapest index, every hit mapped back to
//! the exclusions it belongs to.
//!
//! Per text slot: folded exact values in a hash map, prefixes and suffixes in hash maps by
//! length, `contains` in one Aho-Corasick automaton, globs that need a regex and user
//! regexes in one `RegexSet`. Networks sit in hash maps by prefix length. Matching a row
//! costs one look-up per distinct length, not one per value.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use ipnet::IpNet;
use regex::{RegexSet, RegexSetBuilder};

use crate::compile::Compiled;
use crate::event::Layout;
use crate::model::{SOURCE_IPV4_COLUMN, SOURCE_IPV6_COLUMN, Target, Test};
use crate::semantics::{self, Cell, REGEX_SIZE_LIMIT, TextTest};

/// A condition of an active exclusion, numbered across the policy.
type CondId = u32;
/// Folded literal → the conditions it satisfies.
type LiteralMap = HashMap<Box<str>, Vec<CondId>>;

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
    exact: HashMap<Box<str>, Vec<CondId>>,
    /// By byte length of the literal.
    prefix: Vec<(usize, LiteralMap)>,
    suffix: Vec<(usize, LiteralMap)>,
    contains: Option<(AhoCorasick, Vec<Vec<CondId>>)>,
    nonempty: Vec<CondId>,
    regexes: Option<(RegexSet, Vec<Vec<CondId>>)>,
}

#[derive(Clone, Debug, Default)]
struct NetIndex<A> {
    slot: usize,
    /// Prefix length, then network address → conditions.
    by_len: Vec<(u8, HashMap<A, Vec<CondId>>)>,
}

impl<A> NetIndex<A> {
    fn new(by_len: Vec<(u8, HashMap<A, Vec<CondId>>)>, slot: Option<usize>) -> Option<Self> {
        Some(NetIndex { slot: slot?, by_len }).filter(|n| !n.by_len.is_empty())
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

/// Building blocks of one text slot before indexing.
#[derive(Default)]
struct TextBuilder {
    exact: LiteralMap,
    prefix: HashMap<usize, LiteralMap>,
    suffix: HashMap<usize, LiteralMap>,
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
        let mut v4: HashMap<u8, HashMap<u32, Vec<CondId>>> = HashMap::new();
        let mut v6: HashMap<u8, HashMap<u128, Vec<CondId>>> = HashMap::new();
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
                        (Test::Net(IpNet::V4(n)), _) => push_unique(
                            v4.entry(n.prefix_len()).or_default().entry(u32::from(n.network())).or_default(),
                            cond,
                        ),
                        (Test::Net(IpNet::V6(n)), _) => push_unique(
                            v6.entry(n.prefix_len()).or_default().entry(u128::from(n.network())).or_default(),
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
        let mut v4: Vec<(u8, HashMap<u32, Vec<CondId>>)> = v4.into_iter().collect();
        v4.sort_by_key(|(l, _)| *l);
        let mut v6: Vec<(u8, HashMap<u128, Vec<CondId>>)> = v6.into_iter().collect();
        v6.sort_by_key(|(l, _)| *l);
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
            let f: &str = if idx.folds {
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
                let a = u32::from(ip);
                for (len, map) in &v4.by_len {
                    let mask = u32::MAX.checked_shl(32 - u32::from(*len)).unwrap_or(0);
                    if let Some(conds) = map.get(&(a & mask)) {
                        for &c in conds {
                            self.mark(c, scratch);
                        }
                    }
                }
            }
        }
        if let Some(v6) = &self.v6 {
            if let Some(ip) = cells.get(v6.slot).and_then(Cell::as_text).and_then(semantics::parse_ipv6) {
                let a = u128::from(ip);
                for (len, map) in &v6.by_len {
                    let mask = u128::MAX.checked_shl(128 - u32::from(*len)).unwrap_or(0);
                    if let Some(conds) = map.get(&(a & mask)) {
                        for &c in conds {
                            self.mark(c, scratch);
                        }
                    }
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
        let sorted = |m: HashMap<usize, LiteralMap>| {
            let mut v: Vec<_> = m.into_iter().collect();
            v.sort_by_key(|(l, _)| *l);
            v
        };
        let contains = if b.contains.is_empty() {
            None
        } else {
            let (needles, conds) = group(b.contains);
            let ac = AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
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
        for (len, map) in &self.prefix {
            if let Some(conds) = folded.get(..*len).and_then(|p| map.get(p)) {
                for &c in conds {
                    mark(c, scratch);
                }
            }
        }
        for (len, map) in &self.suffix {
            let tail = folded.len().checked_sub(*len).and_then(|start| folded.get(start..));
            if let Some(conds) = tail.and_then(|s| map.get(s)) {
                for &c in conds {
                    mark(c, scratch);
                }
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
