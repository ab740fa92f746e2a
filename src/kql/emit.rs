//! The exclusion block: `| where not(…)` over the active exclusions of a [`Compiled`] policy.
//!
//! Every test's KQL comes from [`crate::semantics`]; this module only arranges them: one
//! disjunct per active exclusion in policy order, `Equals` values folded into `in~` lists,
//! networks into one range call per family, single-condition exclusions of the same shape
//! folded together, and long disjunctions balanced so the expression stays shallow.

use std::collections::HashMap;

use ipnet::IpNet;

use crate::compile::{Compiled, Status};
use crate::kql::literal::{comment_text, identifier, string as lit};
use crate::model::{Condition, Exclusion, Target, Test};
use crate::semantics::{Family, kql_header_cell};

/// At most this many operands are chained in one `or`; longer disjunctions become a tree of
/// parenthesised groups (a chain of N `or`s nests N deep in Kusto's parser, which stops
/// analysing past depth 500, diagnostic KS245).
pub const OR_FANOUT: usize = 8;
/// A disjunction of at most this many exclusions is written flat, as reviewers read it.
pub const FLAT_EXCLUSIONS: usize = 64;
/// At most this many values go in one `in~` list or range call: Kusto's functions take at
/// most 32,768 arguments (diagnostic KS120); longer lists become several ORed calls.
pub const MAX_LIST: usize = 10_000;
/// Sentinel's limit on the query of a scheduled analytics rule, in characters.
pub const RULE_QUERY_LIMIT: usize = 10_000;

/// How large lists are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListMode {
    /// Every value in the query.
    Inline,
    /// Folded lists in Sentinel watchlists read with `_GetWatchlist`.
    Watchlist,
}

/// A boolean expression being laid out.
#[derive(Clone, Debug)]
pub(crate) enum Node {
    /// Lines of text; continuation lines are indented relative to the first.
    Atom(Vec<String>),
    And(Vec<Node>),
    Or(Vec<Node>),
}

impl Node {
    fn line(s: String) -> Node {
        Node::Atom(vec![s])
    }

    fn single_line(&self) -> Option<String> {
        match self {
            Node::Atom(lines) if lines.len() == 1 => lines.first().cloned(),
            Node::Atom(_) => None,
            Node::And(items) | Node::Or(items) => {
                let op = if matches!(self, Node::And(_)) { " and " } else { " or " };
                let parts: Option<Vec<String>> = items.iter().map(|n| n.single_line_operand()).collect();
                let s = parts?.join(op);
                (s.len() <= 150).then_some(s)
            }
        }
    }

    fn single_line_operand(&self) -> Option<String> {
        match self {
            Node::Atom(_) => self.single_line(),
            Node::And(items) | Node::Or(items) if items.len() == 1 => items.first()?.single_line_operand(),
            _ => self.single_line().map(|s| format!("({s})")),
        }
    }

    /// Renders the node as an operand (parenthesised when compound) at `indent`.
    fn render_operand(&self, indent: usize, out: &mut Vec<String>) {
        if let Some(s) = self.single_line_operand() {
            out.push(format!("{}{s}", pad(indent)));
            return;
        }
        match self {
            Node::Atom(lines) => {
                out.extend(lines.iter().map(|l| format!("{}{l}", pad(indent))));
            }
            Node::And(items) | Node::Or(items) if items.len() == 1 => {
                if let Some(n) = items.first() {
                    n.render_operand(indent, out);
                }
            }
            Node::And(items) | Node::Or(items) => {
                let op = if matches!(self, Node::And(_)) { "and" } else { "or" };
                out.push(format!("{}(", pad(indent)));
                let groups = balance(items.iter().collect());
                render_chain(op, &groups, indent + 4, out);
                out.push(format!("{})", pad(indent)));
            }
        }
    }
}

/// Operands of a long chain, grouped so that no chain is longer than [`OR_FANOUT`].
enum Group<'a> {
    One(&'a Node),
    Many(Vec<Group<'a>>),
}

fn balance(items: Vec<&Node>) -> Vec<Group<'_>> {
    let mut groups: Vec<Group<'_>> = items.into_iter().map(Group::One).collect();
    while groups.len() > OR_FANOUT {
        let size = groups.len().div_ceil(OR_FANOUT);
        let mut next = Vec::new();
        let mut it = groups.into_iter().peekable();
        while it.peek().is_some() {
            next.push(Group::Many(it.by_ref().take(size).collect()));
        }
        groups = next;
    }
    groups
}

fn render_chain(op: &str, groups: &[Group<'_>], indent: usize, out: &mut Vec<String>) {
    for (i, g) in groups.iter().enumerate() {
        let start = out.len();
        match g {
            Group::One(n) => n.render_operand(indent, out),
            Group::Many(inner) => {
                out.push(format!("{}(", pad(indent)));
                render_chain(op, inner, indent + 4, out);
                out.push(format!("{})", pad(indent)));
            }
        }
        if i > 0 {
            prefix_op(out, start, indent, op);
        }
    }
}

/// Puts `op ` before the first line written since `start` (after its indentation).
fn prefix_op(out: &mut [String], start: usize, indent: usize, op: &str) {
    if let Some(first) = out.get_mut(start) {
        let rest = first.get(indent..).unwrap_or("").to_string();
        *first = format!("{}{op} {rest}", pad(indent));
    }
}

fn pad(n: usize) -> String {
    " ".repeat(n)
}

/// One Sentinel watchlist the query reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watchlist {
    /// The alias the query names in `_GetWatchlist`.
    pub alias: String,
    /// What the list holds, for the person creating it.
    pub description: String,
    /// The CSV file: a header row (`Value,Exclusion`) and one row per value.
    pub csv: String,
    pub rows: usize,
}

/// The generated exclusion block.
#[derive(Clone, Debug)]
pub struct Block {
    /// `// fpx: …` then `| where not(` … `  )`, without a final newline.
    pub text: String,
    pub active: usize,
    pub total: usize,
    /// Watchlists the block reads (watchlist mode only).
    pub watchlists: Vec<Watchlist>,
}

impl Block {
    /// Length in characters, as Sentinel counts a query.
    pub fn chars(&self) -> usize {
        self.text.chars().count()
    }
}

/// The KQL cell of a text target: a string column (never null in Kusto), or a header.
fn subject(target: &Target) -> String {
    match target {
        Target::Column(c) => identifier(c),
        Target::Header { column, name } => kql_header_cell(column, name),
    }
}

/// The predicate of one condition: any of its values matches.
pub(crate) fn condition_node(c: &Condition, header_column: Option<&str>) -> Node {
    let mut tests: Vec<Node> = Vec::new();
    match c.field.target(header_column) {
        Some(target) => {
            let subject = subject(&target);
            let mut in_list: Vec<&str> = Vec::new();
            let mut others = Vec::new();
            for v in &c.values {
                if let Test::Text(t) = &v.test {
                    match t.kql_in_literal() {
                        Some(l) => {
                            if !in_list.contains(&l) {
                                in_list.push(l);
                            }
                        }
                        None => others.push(Node::line(t.kql(&subject))),
                    }
                }
            }
            match in_list.as_slice() {
                [] => {}
                [one] => tests.push(Node::line(format!("{subject} =~ {}", lit(one)))),
                many => {
                    let items: Vec<(String, String)> = many.iter().map(|l| (lit(l), String::new())).collect();
                    tests.push(in_node(&subject, &items));
                }
            }
            tests.extend(others);
        }
        None => {
            for (family, nets) in nets_by_family(c.values.iter().filter_map(|v| match &v.test {
                Test::Net(n) => Some(*n),
                Test::Text(_) => None,
            })) {
                let items: Vec<(String, String)> =
                    nets.iter().map(|n| (lit(&n.to_string()), String::new())).collect();
                tests.push(range_node(family, &items));
            }
        }
    }
    if tests.len() == 1 { tests.pop().unwrap_or(Node::line("false".into())) } else { Node::Or(tests) }
}

fn nets_by_family(nets: impl Iterator<Item = IpNet>) -> Vec<(Family, Vec<IpNet>)> {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for n in nets {
        let list = if matches!(n, IpNet::V4(_)) { &mut v4 } else { &mut v6 };
        if !list.contains(&n) {
            list.push(n);
        }
    }
    let mut out = Vec::new();
    if !v4.is_empty() {
        out.push((Family::V4, v4));
    }
    if !v6.is_empty() {
        out.push((Family::V6, v6));
    }
    out
}

/// Items of a list: the literal and a comment (exclusion ids) for it.
fn list_lines(items: &[(String, String)], indent: usize) -> Vec<String> {
    let n = items.len();
    items
        .iter()
        .enumerate()
        .map(|(i, (l, comment))| {
            let comma = if i + 1 < n { "," } else { "" };
            if comment.is_empty() {
                format!("{}{l}{comma}", pad(indent))
            } else {
                format!("{}{l}{comma} // {}", pad(indent), comment_text(comment))
            }
        })
        .collect()
}

fn in_node(subject: &str, items: &[(String, String)]) -> Node {
    if items.len() > MAX_LIST {
        return Node::Or(items.chunks(MAX_LIST).map(|c| in_node(subject, c)).collect());
    }
    let short = items.iter().all(|(_, c)| c.is_empty())
        && items.iter().map(|(l, _)| l.len() + 2).sum::<usize>() <= 100;
    if short {
        let list: Vec<&str> = items.iter().map(|(l, _)| l.as_str()).collect();
        return Node::line(format!("{subject} in~ ({})", list.join(", ")));
    }
    let mut lines = vec![format!("{subject} in~ (")];
    lines.extend(list_lines(items, 4));
    lines.push(")".into());
    Node::Atom(lines)
}

fn range_node(family: Family, items: &[(String, String)]) -> Node {
    if items.len() > MAX_LIST {
        return Node::Or(items.chunks(MAX_LIST).map(|c| range_node(family, c)).collect());
    }
    let short = items.iter().all(|(_, c)| c.is_empty())
        && items.iter().map(|(l, _)| l.len() + 2).sum::<usize>() <= 80;
    if short {
        let list: Vec<&str> = items.iter().map(|(l, _)| l.as_str()).collect();
        return Node::line(family.kql_in_ranges(&list.join(", ")));
    }
    // The range list goes on its own lines, one network (and its comment) per line.
    let marker = "\u{0}RANGES\u{0}";
    let whole = family.kql_in_ranges(marker);
    let (before, after) = whole.split_once(marker).unwrap_or((&whole, ""));
    let mut lines = vec![before.to_string()];
    lines.extend(list_lines(items, 4));
    lines.push(after.to_string());
    Node::Atom(lines)
}

/// The predicate of one exclusion: all of its conditions match.
pub(crate) fn exclusion_node(e: &Exclusion, header_column: Option<&str>) -> Node {
    let mut parts: Vec<Node> = e.conditions.iter().map(|c| condition_node(c, header_column)).collect();
    if parts.len() == 1 { parts.pop().unwrap_or(Node::line("false".into())) } else { Node::And(parts) }
}

/// The comment line above an active exclusion.
fn active_comment(e: &Exclusion) -> String {
    let mut meta = vec![e.owner.clone()];
    meta.extend(e.ticket.clone());
    if let Some(d) = e.expires {
        meta.push(format!("expires {d}"));
    }
    comment_text(&format!("// {}: {} ({})", e.id, e.reason, meta.join(", ")))
}

fn inactive_comment(e: &Exclusion, status: Status) -> String {
    let why = match (status, e.expires) {
        (Status::Expired, Some(d)) => format!("expired {d}"),
        (Status::OutOfScope, _) => format!("scoped to other rules ({})", e.scope.rules.join(", ")),
        _ => "inactive".to_string(),
    };
    comment_text(&format!("// {}: {why}, not applied", e.id))
}

/// How a single-condition exclusion can be folded with others of its shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum FoldKey {
    /// Only `in~`-able equality literals on this subject.
    In(String),
    /// Only networks.
    Nets,
}

fn fold_key(e: &Exclusion, header_column: Option<&str>) -> Option<FoldKey> {
    let [c] = e.conditions.as_slice() else { return None };
    match c.field.target(header_column) {
        Some(target) => c
            .values
            .iter()
            .all(|v| matches!(&v.test, Test::Text(t) if t.kql_in_literal().is_some()))
            .then(|| FoldKey::In(subject(&target))),
        None => c.values.iter().all(|v| matches!(v.test, Test::Net(_))).then_some(FoldKey::Nets),
    }
}

/// One disjunct of the block with the comment lines above it.
struct Item {
    comments: Vec<String>,
    node: Node,
}

/// Builds the exclusion block.
pub fn block(compiled: &Compiled<'_>, mode: ListMode) -> Block {
    let policy = compiled.policy;
    let hc = policy.header_column.as_deref();
    // Group foldable exclusions by shape, in order of first appearance.
    let mut groups: Vec<(FoldKey, Vec<usize>)> = Vec::new();
    let mut group_of: HashMap<usize, usize> = HashMap::new();
    for &i in &compiled.active {
        let Some(e) = policy.exclusions.get(i) else { continue };
        if let Some(key) = fold_key(e, hc) {
            let g = match groups.iter().position(|(k, _)| *k == key) {
                Some(g) => g,
                None => {
                    groups.push((key, Vec::new()));
                    groups.len() - 1
                }
            };
            if let Some((_, members)) = groups.get_mut(g) {
                members.push(i);
            }
            group_of.insert(i, g);
        }
    }
    let folds = |g: usize| groups.get(g).is_some_and(|(_, m)| m.len() >= 2 || mode == ListMode::Watchlist);
    let mut items: Vec<Item> = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    let mut watchlists = Vec::new();
    for (i, (e, status)) in policy.exclusions.iter().zip(&compiled.status).enumerate() {
        if *status != Status::Active {
            pending.push(inactive_comment(e, *status));
            continue;
        }
        match group_of.get(&i).copied().filter(|&g| folds(g)) {
            Some(g) => {
                let Some((key, members)) = groups.get(g) else { continue };
                if members.first() != Some(&i) {
                    continue; // written with the first member of its group
                }
                let members: Vec<&Exclusion> =
                    members.iter().filter_map(|&m| policy.exclusions.get(m)).collect();
                let ids: Vec<&str> = members.iter().map(|e| e.id.as_str()).collect();
                let (comment, node) = match mode {
                    ListMode::Inline => fold_inline(key, &members, hc),
                    ListMode::Watchlist => {
                        fold_watchlist(key, &members, hc, policy.name.as_str(), &mut watchlists)
                    }
                };
                let mut comments = std::mem::take(&mut pending);
                comments.push(comment_text(&format!(
                    "// {comment} ({} exclusions: {})",
                    ids.len(),
                    ids.join(", ")
                )));
                items.push(Item { comments, node });
            }
            None => {
                let mut comments = std::mem::take(&mut pending);
                comments.push(active_comment(e));
                items.push(Item { comments, node: exclusion_node(e, hc) });
            }
        }
    }
    let mut lines = vec![format!(
        "// fpx: {}, {} of {} exclusions active (generated, do not edit)",
        policy.name,
        compiled.active.len(),
        policy.exclusions.len()
    )];
    let families = guarded_families(compiled);
    lines.extend(guard_extend(&families));
    lines.push("| where not(".to_string());
    render_items(&items, 4, &mut lines);
    if items.is_empty() {
        lines.push(format!("{}false", pad(4)));
    }
    lines.extend(pending.iter().map(|c| format!("{}{c}", pad(4))));
    lines.push("  )".to_string());
    if !families.is_empty() {
        let columns: Vec<&str> = families.iter().map(|f| f.kql_guard_column()).collect();
        lines.push(format!("| project-away {}", columns.join(", ")));
    }
    Block {
        text: lines.join("\n"),
        active: compiled.active.len(),
        total: policy.exclusions.len(),
        watchlists,
    }
}

/// The address families the active exclusions test.
pub(crate) fn guarded_families(compiled: &Compiled<'_>) -> Vec<Family> {
    let mut families: Vec<Family> = compiled
        .active_exclusions()
        .flat_map(|e| e.conditions.iter().flat_map(|c| c.values.iter()))
        .filter_map(|v| match &v.test {
            Test::Net(IpNet::V4(_)) => Some(Family::V4),
            Test::Net(IpNet::V6(_)) => Some(Family::V6),
            Test::Text(_) => None,
        })
        .collect();
    families.sort();
    families.dedup();
    families
}

/// The line computing each family's address guard once per row, before the tests that read
/// it: the guards are long, and an exclusion block may test addresses many times.
pub(crate) fn guard_extend(families: &[Family]) -> Option<String> {
    let guards: Vec<String> =
        families.iter().map(|f| format!("{} = {}", f.kql_guard_column(), f.kql_guard())).collect();
    (!guards.is_empty()).then(|| format!("| extend {}", guards.join(", ")))
}

fn render_items(items: &[Item], indent: usize, out: &mut Vec<String>) {
    if items.len() <= FLAT_EXCLUSIONS {
        for (i, item) in items.iter().enumerate() {
            out.extend(item.comments.iter().map(|c| format!("{}{c}", pad(indent))));
            let start = out.len();
            item.node.render_operand(indent, out);
            if i > 0 {
                prefix_op(out, start, indent, "or");
            }
        }
        return;
    }
    // Balanced: groups of groups, each a parenthesised chain of at most OR_FANOUT operands.
    let size = items.len().div_ceil(OR_FANOUT).max(1);
    let chunks: Vec<&[Item]> = items.chunks(size).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let start = out.len();
        out.push(format!("{}(", pad(indent)));
        render_items(chunk, indent + 4, out);
        out.push(format!("{})", pad(indent)));
        if i > 0 {
            prefix_op(out, start, indent, "or");
        }
    }
}

/// Values of a folded group with the ids of the exclusions holding each.
fn fold_values(members: &[&Exclusion], value: impl Fn(&Test) -> Option<String>) -> Vec<(String, String)> {
    let mut order: Vec<String> = Vec::new();
    let mut ids: HashMap<String, Vec<&str>> = HashMap::new();
    for e in members {
        for c in &e.conditions {
            for v in &c.values {
                if let Some(x) = value(&v.test) {
                    let entry = ids.entry(x.clone()).or_default();
                    if entry.is_empty() {
                        order.push(x);
                    }
                    if !entry.contains(&e.id.as_str()) {
                        entry.push(e.id.as_str());
                    }
                }
            }
        }
    }
    order
        .into_iter()
        .map(|x| {
            let c = ids.get(&x).map(|v| v.join(", ")).unwrap_or_default();
            (x, c)
        })
        .collect()
}

fn net_values(members: &[&Exclusion], family: Family) -> Vec<(String, String)> {
    fold_values(members, |t| match (t, family) {
        (Test::Net(n @ IpNet::V4(_)), Family::V4) | (Test::Net(n @ IpNet::V6(_)), Family::V6) => {
            Some(n.to_string())
        }
        _ => None,
    })
}

fn text_values(members: &[&Exclusion]) -> Vec<(String, String)> {
    fold_values(members, |t| match t {
        Test::Text(t) => t.kql_in_literal().map(str::to_string),
        Test::Net(_) => None,
    })
}

fn fold_inline(key: &FoldKey, members: &[&Exclusion], _hc: Option<&str>) -> (String, Node) {
    match key {
        FoldKey::In(subject) => {
            let items: Vec<(String, String)> =
                text_values(members).into_iter().map(|(v, c)| (lit(&v), c)).collect();
            (format!("folded: equal to one of {} values", items.len()), in_node(subject, &items))
        }
        FoldKey::Nets => {
            let mut tests = Vec::new();
            let mut n = 0;
            for family in [Family::V4, Family::V6] {
                let items: Vec<(String, String)> =
                    net_values(members, family).into_iter().map(|(v, c)| (lit(&v), c)).collect();
                n += items.len();
                if !items.is_empty() {
                    tests.push(range_node(family, &items));
                }
            }
            let node = if tests.len() == 1 {
                tests.pop().unwrap_or(Node::line("false".into()))
            } else {
                Node::Or(tests)
            };
            (format!("folded: source address in one of {n} networks"), node)
        }
    }
}

/// The largest watchlist file Sentinel accepts from a local upload (3.8 MB).
pub const WATCHLIST_MAX_BYTES: usize = 3_800_000;

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.trim() != s {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Splits rows into watchlists of at most [`WATCHLIST_MAX_BYTES`]; returns the KQL that reads
/// all of them (a `union` when there are several).
fn watchlists_for(
    base_alias: &str,
    description: &str,
    rows: &[(String, String)],
    out: &mut Vec<Watchlist>,
) -> String {
    const HEADER: &str = "Value,Exclusion\r\n";
    let mut files: Vec<(String, usize)> = vec![(HEADER.to_string(), 0)];
    for (v, ids) in rows {
        let row = format!("{},{}\r\n", csv_field(v), csv_field(ids));
        let needs_new =
            files.last().is_some_and(|(f, n)| *n > 0 && f.len() + row.len() > WATCHLIST_MAX_BYTES);
        if needs_new {
            files.push((HEADER.to_string(), 0));
        }
        if let Some((f, n)) = files.last_mut() {
            f.push_str(&row);
            *n += 1;
        }
    }
    let many = files.len() > 1;
    let mut reads = Vec::new();
    for (k, (csv, n)) in files.into_iter().enumerate() {
        let alias = if many { format!("{base_alias}_{}", k + 1) } else { base_alias.to_string() };
        reads.push(format!("_GetWatchlist({})", lit(&alias)));
        out.push(Watchlist { alias, description: description.to_string(), csv, rows: n });
    }
    if many { format!("union {}", reads.join(", ")) } else { reads.join("") }
}

fn alias(policy: &str, what: &str) -> String {
    let mut a = format!("fpx_{}_{}", policy.replace('-', "_"), what);
    a.retain(|c| c.is_ascii_alphanumeric() || c == '_');
    a
}

fn fold_watchlist(
    key: &FoldKey,
    members: &[&Exclusion],
    _hc: Option<&str>,
    policy: &str,
    out: &mut Vec<Watchlist>,
) -> (String, Node) {
    match key {
        FoldKey::In(subject) => {
            let rows = text_values(members);
            let what = if subject.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                subject.clone()
            } else {
                format!("header{}", out.len() + 1)
            };
            let description = format!("fpx policy `{policy}`: values of {subject} (case-insensitive)");
            let read = watchlists_for(&alias(policy, &what), &description, &rows, out);
            let node = Node::line(format!("{subject} in~ (({read} | project SearchKey))"));
            (format!("watchlist: equal to one of {} values", rows.len()), node)
        }
        FoldKey::Nets => {
            let mut tests = Vec::new();
            let mut n = 0;
            for family in [Family::V4, Family::V6] {
                let rows = net_values(members, family);
                n += rows.len();
                if rows.is_empty() {
                    continue;
                }
                let column = family.column();
                let description = format!("fpx policy `{policy}`: {column} networks in prefix notation");
                let read = watchlists_for(&alias(policy, column), &description, &rows, out);
                let ranges = format!("toscalar({read} | summarize make_list(SearchKey))");
                tests.push(Node::line(family.kql_in_ranges(&ranges)));
            }
            let node = if tests.len() == 1 {
                tests.pop().unwrap_or(Node::line("false".into()))
            } else {
                Node::Or(tests)
            };
            (format!("watchlist: source address in one of {n} networks"), node)
        }
    }
}

/// Renders a node as the text of one expression (used by the hit-count query).
pub(crate) fn render_expression(node: &Node, indent: usize) -> String {
    let mut out = Vec::new();
    node.render_operand(indent, &mut out);
    let text = out.join("\n");
    text.get(indent..).unwrap_or(&text).to_string()
}
