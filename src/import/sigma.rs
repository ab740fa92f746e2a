//! `fpx import sigma`: Sigma v2 filters (the `filter:` documents pySigma applies with
//! `sigma convert --filter`) as a policy.
//!
//! pySigma appends a filter to a rule as `(rule condition) and (filter condition)`, so a
//! filter that removes false positives says `condition: not selection`. fpx reads the
//! shapes an exclusion can say exactly:
//!
//! - `not A`, `not (A or B)`, `not 1 of sel*`, `not A and not B`: one exclusion per
//!   alternative; `not (A and B)` merges A and B into one exclusion;
//! - a selection map is an AND of field tests (one per field), a list of maps an OR;
//! - a field test's values are ORed; strings are whole-value and case-insensitive, with
//!   `*`/`?` wildcards ([`crate::sigma`]), or `contains`, `startswith`, `endswith`;
//!   `re` (with `i`, `m`, `s`) is a case-sensitive regex search like fpx's `regex`;
//!   `cidr` on `SenderIPv4`/`SenderIPv6` is `source_ip`.
//!
//! Anything else (`|all`, `|cased`, encodings, `|exists`, `|fieldref`, numbers, `null`,
//! keywords, other condition shapes) is a [`Problem`] naming the construct: the whole
//! filter is not imported, never approximated.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::{Draft, DraftCondition, DraftExclusion, DraftValue, PLACEHOLDER_OWNER, Problem, kebab, unique};
use crate::diag::{did_you_mean, shown};
use crate::model::DIRECTIONS;
use crate::profile::{ColumnType, EMAIL_EVENTS};
use crate::semantics::{TextOp, check_regex};
use crate::sigma::{FIELDS, Token, parse_string};

/// At most this many exclusions come from one filter (alternatives multiply).
const MAX_EXCLUSIONS_PER_FILTER: usize = 64;

/// One Sigma file to import.
#[derive(Clone, Debug)]
pub struct Source<'a> {
    /// The file's name, for comments and problems.
    pub name: String,
    pub text: &'a str,
}

/// The result of an import.
#[derive(Clone, Debug)]
pub struct Imported {
    pub draft: Draft,
    /// What was not imported, by file.
    pub problems: Vec<(String, Problem)>,
    /// Filters read (imported or not).
    pub filters: usize,
}

/// Imports every filter of `sources` into one policy named `name`.
pub fn import(sources: &[Source<'_>], name: &str) -> Imported {
    let mut problems = Vec::new();
    let mut exclusions = Vec::new();
    let mut taken = Vec::new();
    let mut filters = 0;
    for source in sources {
        let docs = match load(source.text) {
            Ok(d) => d,
            Err(p) => {
                problems.push((source.name.clone(), p));
                continue;
            }
        };
        if docs.is_empty() {
            problems.push((source.name.clone(), Problem::new(None, "the file holds no YAML document")));
        }
        for doc in &docs {
            filters += 1;
            match filter(doc, &source.name, &mut taken) {
                Ok(mut e) => exclusions.append(&mut e),
                Err(ps) => problems.extend(ps.into_iter().map(|p| (source.name.clone(), p))),
            }
        }
    }
    let files: Vec<String> = sources.iter().map(|s| format!("`{}`", s.name)).collect();
    let mut comments = vec![
        format!("Imported by `fpx import sigma` from {}.", files.join(", ")),
        "Review before merging: replace the TODO owners (`fpx lint` reports them as `placeholder`),".into(),
        "check each reason, and add `expires`.".into(),
    ];
    if !problems.is_empty() {
        comments.push("Not imported:".into());
        for (file, p) in &problems {
            let place = p.line.map_or_else(|| file.clone(), |l| format!("{file}:{l}"));
            comments.push(format!("  {place}: {}", p.message));
        }
    }
    let draft = Draft {
        comments,
        name: name.to_string(),
        description: Some("Exclusions imported from Sigma filters".into()),
        lists: Vec::new(),
        exclusions,
    };
    Imported { draft, problems, filters }
}

// ---------------------------------------------------------------------------------------
// YAML with line numbers

/// A YAML node with the line it starts on.
#[derive(Clone, Debug)]
enum Node {
    /// `plain`: written without quotes (so YAML may read it as a number, bool or null).
    Scalar {
        text: String,
        plain: bool,
        line: usize,
    },
    Seq {
        items: Vec<Node>,
        line: usize,
    },
    Map {
        entries: Vec<(String, usize, Node)>,
        line: usize,
    },
}

impl Node {
    fn line(&self) -> usize {
        match self {
            Node::Scalar { line, .. } | Node::Seq { line, .. } | Node::Map { line, .. } => *line,
        }
    }

    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map { entries, .. } => entries.iter().find(|(k, _, _)| k == key).map(|(_, _, v)| v),
            _ => None,
        }
    }

    /// The text of a scalar that YAML reads as a string.
    fn string(&self) -> Option<&str> {
        match self {
            Node::Scalar { text, plain, .. } if !*plain || plain_kind(text).is_none() => Some(text),
            _ => None,
        }
    }
}

enum Building {
    Seq(Vec<Node>, usize),
    Map(Vec<(String, usize, Node)>, Option<(String, usize)>, usize),
}

#[derive(Default)]
struct Loader {
    docs: Vec<Node>,
    stack: Vec<Building>,
    error: Option<Problem>,
}

impl Loader {
    fn fail(&mut self, line: usize, message: &str) {
        if self.error.is_none() {
            self.error = Some(Problem::new(Some(line), message));
        }
    }

    fn push(&mut self, node: Node) {
        let line = node.line();
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Building::Seq(items, _)) => items.push(node),
            Some(Building::Map(entries, pending, _)) => match pending.take() {
                Some((key, key_line)) => {
                    if entries.iter().any(|(k, _, _)| *k == key) {
                        let message = format!("the key `{}` appears twice in one map", shown(&key));
                        self.fail(key_line, &message);
                    } else {
                        entries.push((key, key_line, node));
                    }
                }
                None => match node {
                    Node::Scalar { text, .. } => *pending = Some((text, line)),
                    _ => self.fail(line, "a map key is not a string"),
                },
            },
        }
    }
}

impl MarkedEventReceiver for Loader {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line();
        match ev {
            Event::Scalar(text, style, _, tag) => {
                if tag.is_some() {
                    self.fail(line, "YAML tags (`!!type`) are not supported");
                }
                self.push(Node::Scalar { text, plain: style == TScalarStyle::Plain, line });
            }
            Event::SequenceStart(_, _) => self.stack.push(Building::Seq(Vec::new(), line)),
            Event::MappingStart(_, _) => self.stack.push(Building::Map(Vec::new(), None, line)),
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match self.stack.pop() {
                    Some(Building::Seq(items, line)) => Node::Seq { items, line },
                    Some(Building::Map(entries, _, line)) => Node::Map { entries, line },
                    None => return,
                };
                self.push(node);
            }
            Event::Alias(_) => self.fail(line, "YAML aliases (`*name`) are not supported"),
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

fn load(text: &str) -> Result<Vec<Node>, Problem> {
    let mut loader = Loader::default();
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut loader, true) {
        return Err(Problem::new(
            Some(e.marker().line()),
            format!("the file is not valid YAML: {}", e.info()),
        ));
    }
    match loader.error {
        Some(p) => Err(p),
        None => Ok(loader.docs),
    }
}

/// What YAML 1.1 (PyYAML, which pySigma uses) reads a plain scalar as, when not a string.
fn plain_kind(text: &str) -> Option<&'static str> {
    const NULL: &[&str] = &["", "~", "null", "Null", "NULL"];
    const BOOL: &[&str] = &[
        "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on", "On",
        "ON", "off", "Off", "OFF",
    ];
    if NULL.contains(&text) {
        return Some("null");
    }
    if BOOL.contains(&text) {
        return Some("a boolean");
    }
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    let digits = |s: &str, ok: fn(char) -> bool| !s.is_empty() && s.chars().all(|c| ok(c) || c == '_');
    let number = digits(t, |c| c.is_ascii_digit())
        || t.strip_prefix("0x").is_some_and(|h| digits(h, |c| c.is_ascii_hexdigit()))
        || t.strip_prefix("0b").is_some_and(|b| digits(b, |c| c == '0' || c == '1'))
        || (t.contains(':')
            && t.split(':').all(|p| digits(p.split('.').next().unwrap_or(p), |c| c.is_ascii_digit())))
        || float(t)
        || [".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN"].contains(&t);
    if number {
        return Some("a number");
    }
    let b = text.as_bytes();
    let date = b.len() >= 8
        && b.get(..4).is_some_and(|y| y.iter().all(u8::is_ascii_digit))
        && b.get(4) == Some(&b'-');
    date.then_some("a date")
}

/// `1.5`, `1.`, `.5`, `1e3`-style floats as YAML 1.1 reads them.
fn float(t: &str) -> bool {
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (t.get(..i).unwrap_or(""), Some(t.get(i + 1..).unwrap_or(""))),
        None => (t, None),
    };
    let Some((int, frac)) = mantissa.split_once('.') else { return false };
    let ok = |s: &str| s.chars().all(|c| c.is_ascii_digit() || c == '_');
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    (!int.is_empty() || !frac.is_empty()) && ok(int) && ok(frac) && exponent_ok
}

// ---------------------------------------------------------------------------------------
// Filters

/// One filter document as exclusions, or why it is not imported.
fn filter(doc: &Node, file: &str, taken: &mut Vec<String>) -> Result<Vec<DraftExclusion>, Vec<Problem>> {
    let line = doc.line();
    if !matches!(doc, Node::Map { .. }) {
        return Err(vec![Problem::new(Some(line), "the document is not a Sigma filter (a YAML map)")]);
    }
    if doc.get("detection").is_some() {
        return Err(vec![Problem::new(Some(line), "the document is a Sigma rule, not a filter").help(
            "fpx imports filters: documents with `filter:` (`rules:`, selections and a `not` condition)",
        )]);
    }
    if doc.get("correlation").is_some() {
        return Err(vec![Problem::new(Some(line), "the document is a Sigma correlation, not a filter")]);
    }
    let mut problems = Vec::new();
    let title = match doc.get("title") {
        Some(t) => t.string().map(str::trim).filter(|t| !t.is_empty()),
        None => None,
    };
    if title.is_none() {
        problems.push(Problem::new(Some(line), "the filter has no `title`"));
    }
    let description = doc.get("description").and_then(Node::string).map(str::trim).filter(|d| !d.is_empty());
    let sigma_id = doc.get("id").and_then(Node::string);
    if doc.get("logsource").is_none() {
        problems.push(Problem::new(Some(line), "the filter has no `logsource`"));
    }
    let Some(f @ Node::Map { entries, .. }) = doc.get("filter") else {
        problems.push(
            Problem::new(Some(line), "the document has no `filter:` map")
                .help("a Sigma filter has `filter:` with `rules:`, its selections and `condition: not …`"),
        );
        return Err(problems);
    };
    let rules = match f.get("rules") {
        None => {
            problems.push(Problem::new(Some(f.line()), "the filter has no `rules`").help(
                "name the rules it applies to, or write `rules: any` for every rule of its log source",
            ));
            Vec::new()
        }
        Some(r) => rule_refs(r).unwrap_or_else(|p| {
            problems.push(p);
            Vec::new()
        }),
    };
    let condition = match f.get("condition") {
        Some(c) => match c.string() {
            Some(c) => Some((c, f.get("condition").map_or(line, Node::line))),
            None => {
                problems.push(Problem::new(Some(c.line()), "`condition` is not a string"));
                None
            }
        },
        None => {
            problems.push(Problem::new(Some(f.line()), "the filter has no `condition`"));
            None
        }
    };
    let selections: Vec<(&str, &Node)> = entries
        .iter()
        .filter(|(k, _, _)| k != "rules" && k != "condition")
        .map(|(k, _, v)| (k.as_str(), v))
        .collect();
    if !problems.is_empty() {
        return Err(problems);
    }
    let (Some(title), Some((condition, condition_line))) = (title, condition) else { return Err(problems) };
    let names: Vec<&str> = selections.iter().map(|(n, _)| *n).collect();
    let terms = parse_condition(condition).and_then(|c| negated_terms(&c, &names)).map_err(|m| {
        vec![Problem::new(Some(condition_line), format!("condition `{}`: {m}", shown(condition)))]
    })?;

    // Each term is an AND of selections; each selection an OR of maps.
    let mut combos: Vec<Vec<&Node>> = Vec::new();
    for term in &terms {
        let mut partial: Vec<Vec<&Node>> = vec![Vec::new()];
        for name in term {
            let Some((_, node)) = selections.iter().find(|(n, _)| n == name) else { continue };
            let alternatives = alternatives(name, node).map_err(|p| vec![p])?;
            let mut next = Vec::new();
            for p in &partial {
                for a in &alternatives {
                    let mut c = p.clone();
                    c.push(*a);
                    next.push(c);
                }
            }
            partial = next;
            if partial.len() + combos.len() > MAX_EXCLUSIONS_PER_FILTER {
                return Err(vec![
                    Problem::new(
                        Some(condition_line),
                        format!("the filter expands to more than {MAX_EXCLUSIONS_PER_FILTER} exclusions"),
                    )
                    .help("split it into several filters, or write the exclusions by hand"),
                ]);
            }
        }
        combos.extend(partial);
    }

    let base = kebab(title, "sigma-filter");
    let mut out = Vec::new();
    for maps in combos {
        let mut e = DraftExclusion {
            id: String::new(),
            reason: description.unwrap_or(title).to_string(),
            owner: PLACEHOLDER_OWNER.into(),
            rules: rules.clone(),
            ..DraftExclusion::default()
        };
        let mut fields_seen: Vec<(String, &'static str)> = Vec::new();
        for map in maps {
            let Node::Map { entries, .. } = map else { continue };
            for (key, key_line, value) in entries {
                let test = field_test(key, *key_line, value).map_err(|p| vec![p])?;
                let field = key.split('|').next().unwrap_or(key).to_string();
                let slot = test.slot();
                if let Some((other, _)) = fields_seen.iter().find(|(f, s)| *f == field || *s == slot) {
                    let what = if *other == field {
                        format!("`{field}` is tested twice")
                    } else {
                        format!("`{other}` and `{field}` both become `{slot}`")
                    };
                    return Err(vec![Problem::new(Some(*key_line), format!("{what} in one exclusion")).help(
                        "both tests must match, and fpx ORs the values of one field: write the exclusion by hand",
                    )]);
                }
                fields_seen.push((field, slot));
                match test {
                    Test::Named(key, values) => e.conditions.push(DraftCondition { key, values }),
                    Test::Where(column, values) => e.wheres.push((column.to_string(), values)),
                }
            }
        }
        e.id = unique(&base, taken);
        let mut origin = format!("From `{file}` line {line}: Sigma filter `{title}`");
        if let Some(id) = sigma_id {
            origin.push_str(&format!(" ({id})"));
        }
        e.comments.push(origin);
        out.push(e);
    }
    Ok(out)
}

fn rule_refs(node: &Node) -> Result<Vec<String>, Problem> {
    match node {
        Node::Scalar { text, .. } if text.eq_ignore_ascii_case("any") || text.eq_ignore_ascii_case("all") => {
            Ok(Vec::new())
        }
        Node::Scalar { text, line, .. } if text.trim().is_empty() => {
            Err(Problem::new(Some(*line), "`rules` is empty"))
        }
        Node::Scalar { text, .. } => Ok(vec![text.trim().to_string()]),
        Node::Seq { items, .. } => items
            .iter()
            .map(|i| match i {
                Node::Scalar { text, .. } if !text.trim().is_empty() => Ok(text.trim().to_string()),
                other => Err(Problem::new(Some(other.line()), "a `rules` entry is not a rule id or name")),
            })
            .collect(),
        Node::Map { line, .. } => {
            Err(Problem::new(Some(*line), "`rules` is a map, not a list of rule ids or names"))
        }
    }
}

/// The maps a selection ORs: itself, or each map of a list.
fn alternatives<'n>(name: &str, node: &'n Node) -> Result<Vec<&'n Node>, Problem> {
    match node {
        Node::Map { entries, line } => {
            if entries.is_empty() {
                Err(Problem::new(Some(*line), format!("selection `{name}` is empty")))
            } else {
                Ok(vec![node])
            }
        }
        Node::Seq { items, line } => {
            if items.iter().all(|i| matches!(i, Node::Map { .. })) && !items.is_empty() {
                Ok(items.iter().collect())
            } else {
                Err(Problem::new(Some(*line), format!("selection `{name}` is a list of keywords"))
                    .help("keyword searches match any field of the event: fpx conditions name their field"))
            }
        }
        Node::Scalar { line, .. } => {
            Err(Problem::new(Some(*line), format!("selection `{name}` is a keyword"))
                .help("keyword searches match any field of the event: fpx conditions name their field"))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Conditions

#[derive(Clone, Debug, PartialEq, Eq)]
enum Cond {
    Sel(String),
    /// `1 of pattern` (`them` is `*`).
    OneOf(String),
    /// `all of pattern`.
    AllOf(String),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

fn tokens(condition: &str) -> Vec<String> {
    condition.replace('(', " ( ").replace(')', " ) ").split_whitespace().map(str::to_string).collect()
}

fn parse_condition(condition: &str) -> Result<Cond, String> {
    let tokens = tokens(condition);
    let mut p = CondParser { tokens: &tokens, at: 0 };
    let c = p.or()?;
    match p.peek() {
        None => Ok(c),
        Some(t) => Err(format!("unexpected `{}`", shown(t))),
    }
}

struct CondParser<'t> {
    tokens: &'t [String],
    at: usize,
}

impl CondParser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn keyword(&mut self, word: &str) -> bool {
        if self.peek().is_some_and(|t| t.eq_ignore_ascii_case(word)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Cond, String> {
        let mut items = vec![self.and()?];
        while self.keyword("or") {
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Cond::Or(items) })
    }

    fn and(&mut self) -> Result<Cond, String> {
        let mut items = vec![self.not()?];
        while self.keyword("and") {
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Cond::And(items) })
    }

    fn not(&mut self) -> Result<Cond, String> {
        if self.keyword("not") { Ok(Cond::Not(Box::new(self.not()?))) } else { self.atom() }
    }

    fn atom(&mut self) -> Result<Cond, String> {
        let Some(t) = self.peek().map(str::to_string) else { return Err("it ends too early".into()) };
        self.at += 1;
        if t == "(" {
            let inner = self.or()?;
            if self.peek() != Some(")") {
                return Err("a `(` is not closed".into());
            }
            self.at += 1;
            return Ok(inner);
        }
        if t == ")" {
            return Err("unexpected `)`".into());
        }
        if self.peek().is_some_and(|n| n.eq_ignore_ascii_case("of")) {
            self.at += 1;
            let Some(pattern) = self.peek().map(str::to_string) else {
                return Err(format!("`{t} of` names no selections"));
            };
            self.at += 1;
            let pattern = if pattern.eq_ignore_ascii_case("them") { "*".to_string() } else { pattern };
            return match t.to_ascii_lowercase().as_str() {
                "1" | "any" => Ok(Cond::OneOf(pattern)),
                "all" => Ok(Cond::AllOf(pattern)),
                n => Err(format!("`{n} of` counts matches, which an exclusion cannot say")),
            };
        }
        if ["and", "or", "not", "of"].iter().any(|k| t.eq_ignore_ascii_case(k)) {
            return Err(format!("unexpected `{t}`"));
        }
        if t.contains('*') || t.contains('|') {
            return Err(format!("`{}` is not a selection name", shown(&t)));
        }
        Ok(Cond::Sel(t))
    }
}

fn pattern_matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            name.starts_with(head)
                && name.len() >= head.len()
                && name.get(head.len()..).is_some_and(|tail| {
                    (0..=tail.len()).any(|i| tail.get(i..).is_some_and(|t| pattern_matches(rest, t)))
                })
        }
    }
}

/// The terms `T1 … Tn` (each an AND of selections) such that the condition is
/// `not (T1 or … or Tn)`.
fn negated_terms(c: &Cond, names: &[&str]) -> Result<Vec<Vec<String>>, String> {
    match c {
        Cond::Not(inner) => positive_terms(inner, names),
        Cond::And(items) => {
            let mut out = Vec::new();
            for i in items {
                out.extend(negated_terms(i, names)?);
            }
            Ok(out)
        }
        _ => Err("an exclusion filter must negate its selections (`not selection`)".into()),
    }
}

/// `c` as an OR of ANDs of selection names.
fn positive_terms(c: &Cond, names: &[&str]) -> Result<Vec<Vec<String>>, String> {
    let matching = |p: &str| -> Result<Vec<String>, String> {
        let m: Vec<String> = names.iter().filter(|n| pattern_matches(p, n)).map(|n| n.to_string()).collect();
        if m.is_empty() { Err(format!("no selection matches `{}`", shown(p))) } else { Ok(m) }
    };
    match c {
        Cond::Sel(n) => {
            if names.contains(&n.as_str()) {
                Ok(vec![vec![n.clone()]])
            } else {
                Err(match did_you_mean(n, names.iter().copied()) {
                    Some(s) => {
                        format!("`{}` is not a selection of the filter (did you mean `{s}`?)", shown(n))
                    }
                    None => format!("`{}` is not a selection of the filter", shown(n)),
                })
            }
        }
        Cond::OneOf(p) => Ok(matching(p)?.into_iter().map(|n| vec![n]).collect()),
        Cond::AllOf(p) => Ok(vec![matching(p)?]),
        Cond::Or(items) => {
            let mut out = Vec::new();
            for i in items {
                out.extend(positive_terms(i, names)?);
            }
            Ok(out)
        }
        Cond::And(items) => {
            let mut out: Vec<Vec<String>> = vec![Vec::new()];
            for i in items {
                let alternatives = positive_terms(i, names)?;
                let mut next = Vec::new();
                for o in &out {
                    for a in &alternatives {
                        let mut t = o.clone();
                        t.extend(a.iter().cloned());
                        next.push(t);
                    }
                }
                out = next;
                if out.len() > MAX_EXCLUSIONS_PER_FILTER {
                    return Err("it expands to too many exclusions".into());
                }
            }
            Ok(out)
        }
        Cond::Not(_) => Err("a `not` inside the negated part excludes events by what they are not".into()),
    }
}

// ---------------------------------------------------------------------------------------
// Field tests

/// One field test as fpx says it.
enum Test {
    Named(&'static str, Vec<DraftValue>),
    Where(&'static str, Vec<DraftValue>),
}

impl Test {
    /// Where it lands in an exclusion (two tests may not land in one place).
    fn slot(&self) -> &'static str {
        match self {
            Test::Named(k, _) => k,
            Test::Where(c, _) => c,
        }
    }
}

/// Why a modifier has no exact fpx equivalent.
fn refused_modifier(m: &str) -> String {
    match m {
        "all" => "`|all` requires every value to match, and fpx ORs the values of a condition".into(),
        "cased" => "`|cased` matches case-sensitively, and fpx text operators ignore case".into(),
        "base64" | "base64offset" | "utf16" | "utf16le" | "utf16be" | "wide" | "windash" => {
            format!("`|{m}` matches encoded or rewritten forms of the value, which fpx does not generate")
        }
        "exists" => "`|exists` tests whether a field is present; fpx never matches a missing field".into(),
        "fieldref" => "`|fieldref` compares two fields; fpx compares a field with values".into(),
        "expand" => "`|expand` placeholders are filled in by a pipeline, not by the filter".into(),
        "neq" => "`|neq` is a negated test; fpx conditions are positive".into(),
        "lt" | "lte" | "gt" | "gte" => format!("`|{m}` compares numbers; fpx compares text"),
        "minute" | "hour" | "day" | "week" | "month" | "year" => format!("`|{m}` compares parts of a date"),
        "i" | "m" | "s" => format!("`|{m}` is a flag of `|re` and must follow it"),
        _ => format!("`|{}` is not a Sigma modifier fpx knows", shown(m)),
    }
}

fn field_test(key: &str, line: usize, value: &Node) -> Result<Test, Problem> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or(key);
    let mut shape: Option<&str> = None;
    let mut re = false;
    let mut flags = String::new();
    let mut cidr = false;
    for m in parts {
        let conflict = |a: &str| Problem::new(Some(line), format!("`|{a}` and `|{m}` cannot be combined"));
        match m {
            "contains" | "startswith" | "endswith" => {
                if let Some(a) = shape.or(re.then_some("re")).or(cidr.then_some("cidr")) {
                    return Err(conflict(a));
                }
                shape = Some(m);
            }
            "re" => {
                if let Some(a) = shape.or(cidr.then_some("cidr")) {
                    return Err(conflict(a));
                }
                re = true;
            }
            "i" | "m" | "s" if re => {
                if !flags.contains(m) {
                    flags.push_str(m);
                }
            }
            "cidr" => {
                if let Some(a) = shape.or(re.then_some("re")) {
                    return Err(conflict(a));
                }
                cidr = true;
            }
            _ => {
                return Err(Problem::new(Some(line), format!("`{}`: {}", shown(key), refused_modifier(m)))
                    .help("fpx imports a filter only when it can say exactly the same"));
            }
        }
    }
    let values = scalars(key, value)?;
    let in_field = |what: String| Problem::new(Some(line), format!("{what} in `{}`", shown(field)));

    if cidr {
        let v6 = match field {
            "SenderIPv4" => false,
            "SenderIPv6" => true,
            _ => {
                return Err(in_field("`|cidr`".into())
                    .help("fpx tests networks on `SenderIPv4` and `SenderIPv6` (`source_ip`)"));
            }
        };
        let mut out = Vec::new();
        for (text, vline) in values {
            let net = text.parse::<IpNet>().ok().or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from));
            match net {
                Some(n) if matches!(n, IpNet::V6(_)) != v6 => {
                    return Err(Problem::new(
                        Some(vline),
                        format!("`{}` is not an {} network", shown(&text), if v6 { "IPv6" } else { "IPv4" }),
                    )
                    .help(format!("`{field}` holds {} addresses", if v6 { "IPv6" } else { "IPv4" })));
                }
                Some(n) if n.trunc() != n => {
                    return Err(Problem::new(Some(vline), format!("`{}` has host bits set", shown(&text)))
                        .help(format!("did you mean `{}`?", n.trunc())));
                }
                Some(n) => out.push(DraftValue::literal(TextOp::Glob, n.to_string())),
                None => {
                    return Err(Problem::new(Some(vline), format!("`{}` is not a network", shown(&text))));
                }
            }
        }
        return Ok(Test::Named("source_ip", out));
    }

    let column = EMAIL_EVENTS.columns.iter().find(|(c, _)| *c == field).map(|(c, t)| (*c, *t));
    let column = match column {
        Some((c, ColumnType::String)) => c,
        Some((c, t)) => {
            return Err(
                Problem::new(Some(line), format!("`{c}` is a {t} column")).help("fpx compares text columns")
            );
        }
        None => {
            let mut p = Problem::new(Some(line), format!("`{}` is not an EmailEvents column", shown(field)));
            if let Some(s) = did_you_mean(field, EMAIL_EVENTS.column_names()) {
                p = p.help(format!("did you mean `{s}`?"));
            }
            return Err(p);
        }
    };

    let plain = shape.is_none() && !re;
    // A canonical IPv4 address compares the same as text and as an address.
    if plain && column == "SenderIPv4" {
        let canonical = |t: &str| t.parse::<Ipv4Addr>().is_ok_and(|a| a.to_string() == t);
        if values.iter().all(|(t, _)| canonical(t)) {
            return Ok(Test::Named(
                "source_ip",
                values.into_iter().map(|(t, _)| DraftValue::literal(TextOp::Glob, t)).collect(),
            ));
        }
    }
    if plain && column == "EmailDirection" {
        let known: Option<Vec<&str>> = values
            .iter()
            .map(|(t, _)| DIRECTIONS.iter().find(|d| d.eq_ignore_ascii_case(t)).copied())
            .collect();
        if let Some(known) = known {
            return Ok(Test::Named(
                "direction",
                known.into_iter().map(|d| DraftValue::literal(TextOp::Glob, d)).collect(),
            ));
        }
    }
    let mut out = Vec::new();
    for (text, vline) in values {
        let v = if re {
            regex_value(&text, &flags).map_err(|m| Problem::new(Some(vline), m))?
        } else {
            text_value(&text, shape).map_err(|m| Problem::new(Some(vline), m))?
        };
        out.push(v);
    }
    Ok(match FIELDS.iter().find(|(_, c)| *c == column) {
        Some((key, _)) if *key != "direction" => Test::Named(key, out),
        _ => Test::Where(column, out),
    })
}

/// A field's values: a string or a list of strings.
fn scalars(key: &str, node: &Node) -> Result<Vec<(String, usize)>, Problem> {
    let one = |n: &Node| -> Result<(String, usize), Problem> {
        match n {
            Node::Scalar { text, plain: true, line } if plain_kind(text).is_some() => {
                let kind = plain_kind(text).unwrap_or("not a string");
                let message = if kind == "null" {
                    format!("`{}` is null, which tests that the field is missing or empty", shown(key))
                } else {
                    format!(
                        "`{}` is {kind} (`{}`), which Sigma does not compare as text",
                        shown(key),
                        shown(text)
                    )
                };
                Err(Problem::new(Some(*line), message)
                    .help("quote it to compare text: fpx never matches a missing field"))
            }
            Node::Scalar { text, line, .. } => Ok((text.clone(), *line)),
            other => {
                Err(Problem::new(Some(other.line()), format!("a value of `{}` is not a string", shown(key))))
            }
        }
    };
    match node {
        Node::Seq { items, line } => {
            if items.is_empty() {
                return Err(Problem::new(Some(*line), format!("`{}` has no values", shown(key))));
            }
            items.iter().map(one).collect()
        }
        n => Ok(vec![one(n)?]),
    }
}

fn regex_value(pattern: &str, flags: &str) -> Result<DraftValue, String> {
    if pattern.is_empty() {
        return Err("`|re` with an empty pattern matches every value".into());
    }
    let full = if flags.is_empty() { pattern.to_string() } else { format!("(?{flags}){pattern}") };
    check_regex(&full).map_err(|p| {
        let help = p.help.map(|h| format!(" ({h})")).unwrap_or_default();
        format!("regex `{}`: {}{help}", shown(pattern), p.message)
    })?;
    Ok(DraftValue::literal(TextOp::Regex, full))
}

/// A Sigma string (with its `contains`/`startswith`/`endswith`) as an fpx text value.
fn text_value(text: &str, shape: Option<&str>) -> Result<DraftValue, String> {
    let mut tokens = parse_string(text);
    if tokens.is_empty() {
        return Err("an empty value tests for an empty field, which fpx never matches".into());
    }
    match shape {
        Some("contains") => {
            tokens.insert(0, Token::Star);
            tokens.push(Token::Star);
        }
        Some("startswith") => tokens.push(Token::Star),
        Some("endswith") => tokens.insert(0, Token::Star),
        _ => {}
    }
    tokens.dedup_by(|a, b| *a == Token::Star && *b == Token::Star);
    if tokens.iter().all(|t| !matches!(t, Token::Lit(_))) {
        return Err(format!(
            "`{}` is only wildcards: Sigma backends match it on empty fields too, and fpx never does",
            shown(text)
        ));
    }
    use Token::{Lit, Star};
    Ok(match tokens.as_slice() {
        [Lit(l)] => DraftValue::literal(TextOp::Equals, l.clone()),
        [Lit(l), Star] => DraftValue::literal(TextOp::StartsWith, l.clone()),
        [Star, Lit(l)] => DraftValue::literal(TextOp::EndsWith, l.clone()),
        [Star, Lit(l), Star] => DraftValue::literal(TextOp::Contains, l.clone()),
        _ if tokens.iter().all(|t| !matches!(t, Lit(l) if l.contains(['*', '?']))) => {
            let glob: String = tokens
                .iter()
                .map(|t| match t {
                    Lit(l) => l.as_str(),
                    Star => "*",
                    Token::One => "?",
                })
                .collect();
            DraftValue::literal(TextOp::Glob, glob)
        }
        // A literal `*` or `?` between wildcards: the glob as the regex fpx compiles globs to.
        _ => {
            let re = crate::semantics::wildcard_regex(tokens.iter().map(|t| match t {
                Lit(l) => crate::semantics::WildPart::Lit(l),
                Star => crate::semantics::WildPart::Star,
                Token::One => crate::semantics::WildPart::One,
            }));
            DraftValue::literal(TextOp::Regex, re)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_become_negated_terms() {
        let names = ["sel_a", "sel_b", "other"];
        let terms = |c: &str| parse_condition(c).and_then(|c| negated_terms(&c, &names));
        assert_eq!(terms("not sel_a"), Ok(vec![vec!["sel_a".to_string()]]));
        assert_eq!(terms("not (sel_a or other)"), Ok(vec![vec!["sel_a".into()], vec!["other".into()]]));
        assert_eq!(terms("not 1 of sel_*"), Ok(vec![vec!["sel_a".into()], vec!["sel_b".into()]]));
        assert_eq!(terms("not all of sel_*"), Ok(vec![vec!["sel_a".into(), "sel_b".into()]]));
        assert_eq!(terms("not sel_a and not other"), Ok(vec![vec!["sel_a".into()], vec!["other".into()]]));
        assert_eq!(terms("NOT (sel_a AND other)"), Ok(vec![vec!["sel_a".into(), "other".into()]]));
        assert!(terms("sel_a").is_err());
        assert!(terms("not sel_a or other").is_err());
        assert!(terms("not (sel_a and not other)").is_err());
        assert!(terms("not 2 of sel_*").is_err());
        assert!(terms("not sel_c").is_err_and(|m| m.contains("did you mean")));
    }

    #[test]
    fn plain_scalars_are_typed_like_pyyaml() {
        for (text, kind) in
            [("", "null"), ("~", "null"), ("yes", "a boolean"), ("42", "a number"), ("0x1F", "a number")]
        {
            assert_eq!(plain_kind(text), Some(kind), "{text}");
        }
        for text in ["1.5", "-2.5e+3", "1:30", ".inf", "2024-01-01"] {
            assert!(plain_kind(text).is_some(), "{text}");
        }
        for text in ["reports@company.com", "10.20.30.0/24", "Inbound", "1.2.3.4", "v1.2", "2e3"] {
            assert_eq!(plain_kind(text), None, "{text}");
        }
    }

    #[test]
    fn sigma_strings_become_the_cheapest_exact_value() {
        let v = |t: &str, shape: Option<&str>| text_value(t, shape).map(|v| (v.op, v.text));
        assert_eq!(v("Reports@Company.com", None), Ok((TextOp::Equals, "Reports@Company.com".into())));
        assert_eq!(v("noreply@*", None), Ok((TextOp::StartsWith, "noreply@".into())));
        assert_eq!(v("@x.com", Some("endswith")), Ok((TextOp::EndsWith, "@x.com".into())));
        assert_eq!(v("a*b", Some("contains")), Ok((TextOp::Glob, "*a*b*".into())));
        assert_eq!(v(r"a\*b", None), Ok((TextOp::Equals, "a*b".into())));
        assert_eq!(v(r"50\% *", None), Ok((TextOp::StartsWith, r"50\% ".into())));
        assert_eq!(v(r"a\*b*c", None), Ok((TextOp::Regex, r"(?s)^[aA]\*[bB].*[cC]$".into())));
        assert!(v("*", None).is_err());
        assert!(v("", Some("contains")).is_err());
    }
}
