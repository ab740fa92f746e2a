//! Importers: existing exclusions (Sentinel watchlists, Sigma filters) as new policy text.
//!
//! An importer never writes a policy directly: it builds a [`Draft`], which renders as TOML
//! text with every user value escaped by the `toml` crate, for a reviewer to read and commit.
//! What an importer cannot express exactly is a [`Problem`] naming the construct and its
//! line, never an approximation. Owners (and, for watchlists, reasons) are the
//! [`PLACEHOLDER`] that `fpx lint` reports as `placeholder` until someone fills them in.

pub mod sigma;
pub mod watchlist;

use std::fmt::Write as _;

use crate::semantics::TextOp;
use crate::validate::escape_literal;

/// How every placeholder an import writes starts; `fpx lint` reports it (`placeholder`).
pub const PLACEHOLDER: &str = "TODO";

/// The placeholder owner of an imported exclusion.
pub const PLACEHOLDER_OWNER: &str = "TODO-owner";

/// Something in the input an importer did not turn into policy text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line in the input file, when the problem has one.
    pub line: Option<usize>,
    /// Lowercase, user text in backticks.
    pub message: String,
    pub help: Vec<String>,
}

impl Problem {
    pub fn new(line: Option<usize>, message: impl Into<String>) -> Problem {
        Problem { line, message: message.into(), help: Vec::new() }
    }

    pub fn help(mut self, help: impl Into<String>) -> Problem {
        self.help.push(help.into());
        self
    }
}

/// A policy an importer built, before it is rendered as TOML.
#[derive(Clone, Debug, Default)]
pub struct Draft {
    /// Comment lines at the top of the file (without `# `).
    pub comments: Vec<String>,
    pub name: String,
    pub description: Option<String>,
    pub lists: Vec<(String, Vec<String>)>,
    pub exclusions: Vec<DraftExclusion>,
}

/// One exclusion of a [`Draft`].
#[derive(Clone, Debug, Default)]
pub struct DraftExclusion {
    /// Comment lines above the exclusion (without `# `).
    pub comments: Vec<String>,
    pub id: String,
    pub reason: String,
    pub owner: String,
    pub ticket: Option<String>,
    pub rules: Vec<String>,
    /// Conditions on the named fields (`sender`, `source_ip`, …), in order.
    pub conditions: Vec<DraftCondition>,
    /// `[[exclusion.where]]` conditions: a column and its values.
    pub wheres: Vec<(String, Vec<DraftValue>)>,
}

/// A condition on a named field.
#[derive(Clone, Debug)]
pub struct DraftCondition {
    /// `sender`, `source_ip`, …
    pub key: &'static str,
    pub values: Vec<DraftValue>,
}

/// One value with its operator: a literal text, or a reference to a list of the draft.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DraftValue {
    pub op: TextOp,
    pub text: String,
    /// `text` names a list of the draft (written `@text`), rather than being literal.
    pub reference: bool,
}

impl DraftValue {
    pub fn literal(op: TextOp, text: impl Into<String>) -> DraftValue {
        DraftValue { op, text: text.into(), reference: false }
    }

    pub fn list(op: TextOp, name: impl Into<String>) -> DraftValue {
        DraftValue { op, text: name.into(), reference: true }
    }

    /// The value as a policy writes it (a literal that looks like a reference is escaped).
    fn written(&self) -> String {
        if self.reference { format!("@{}", self.text) } else { escape_literal(&self.text).into_owned() }
    }
}

/// A TOML basic or literal string holding exactly `s`.
pub fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn toml_array<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.into_iter().map(toml_string).collect();
    format!("[{}]", items.join(", "))
}

fn comment(out: &mut String, lines: &[String]) {
    for l in lines {
        for part in l.lines() {
            let _ = writeln!(out, "# {part}");
        }
    }
}

/// Values grouped by operator in first-seen order: `(op, values)`.
fn by_op(values: &[DraftValue]) -> Vec<(TextOp, Vec<String>)> {
    let mut groups: Vec<(TextOp, Vec<String>)> = Vec::new();
    for v in values {
        match groups.iter_mut().find(|(op, _)| *op == v.op) {
            Some((_, vs)) => vs.push(v.written()),
            None => groups.push((v.op, vec![v.written()])),
        }
    }
    groups
}

impl Draft {
    /// The draft as policy text, with its comments, ready for review.
    pub fn render(&self) -> String {
        let mut out = String::new();
        comment(&mut out, &self.comments);
        if !self.comments.is_empty() {
            out.push('\n');
        }
        out.push_str("[policy]\n");
        let _ = writeln!(out, "name = {}", toml_string(&self.name));
        if let Some(d) = &self.description {
            let _ = writeln!(out, "description = {}", toml_string(d));
        }
        if !self.lists.is_empty() {
            out.push_str("\n[lists]\n");
            for (name, values) in &self.lists {
                let written: Vec<String> = values.iter().map(|v| escape_literal(v).into_owned()).collect();
                let _ = writeln!(out, "{name} = {}", toml_array(written.iter().map(String::as_str)));
            }
        }
        for e in &self.exclusions {
            out.push('\n');
            comment(&mut out, &e.comments);
            out.push_str("[[exclusion]]\n");
            let _ = writeln!(out, "id = {}", toml_string(&e.id));
            let _ = writeln!(out, "reason = {}", toml_string(&e.reason));
            let _ = writeln!(out, "owner = {}", toml_string(&e.owner));
            if let Some(t) = &e.ticket {
                let _ = writeln!(out, "ticket = {}", toml_string(t));
            }
            if !e.rules.is_empty() {
                let _ = writeln!(out, "rules = {}", toml_array(e.rules.iter().map(String::as_str)));
            }
            for c in &e.conditions {
                let groups = by_op(&c.values);
                // `sender = [...]` cannot sit beside `sender.equals`: globs then get `glob`.
                let plain_ok = groups.len() == 1;
                for (op, values) in groups {
                    let values = toml_array(values.iter().map(String::as_str));
                    match op {
                        TextOp::Glob if plain_ok => {
                            let _ = writeln!(out, "{} = {values}", c.key);
                        }
                        op => {
                            let _ = writeln!(out, "{}.{} = {values}", c.key, op.key());
                        }
                    }
                }
            }
            for (column, values) in &e.wheres {
                out.push_str("\n[[exclusion.where]]\n");
                let _ = writeln!(out, "column = {}", toml_string(column));
                for (op, values) in by_op(values) {
                    let key = if op == TextOp::Glob { "values" } else { op.key() };
                    let _ = writeln!(out, "{key} = {}", toml_array(values.iter().map(String::as_str)));
                }
            }
        }
        out
    }
}

/// A kebab-case name from a file name or title (`Partner Relays.csv` → `partner-relays`).
pub fn kebab(text: &str, fallback: &str) -> String {
    let s = crate::model::KebabName::suggest(text);
    if s.is_empty() { fallback.to_string() } else { s }
}

/// `base`, or `base-2`, `base-3`, … when `taken` already holds it.
pub fn unique(base: &str, taken: &mut Vec<String>) -> String {
    let mut candidate = base.to_string();
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    taken.push(candidate.clone());
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_drafts_escape_user_text_and_validate() {
        let draft = Draft {
            comments: vec!["imported".into()],
            name: "p".into(),
            description: Some("a \"quoted\"\nline".into()),
            lists: vec![("l".into(), vec!["@team".into(), "x'\"\\y".into()])],
            exclusions: vec![DraftExclusion {
                id: "e".into(),
                reason: "TODO: why".into(),
                owner: PLACEHOLDER_OWNER.into(),
                rules: vec!["Rule \"1\"".into()],
                conditions: vec![DraftCondition {
                    key: "sender",
                    values: vec![
                        DraftValue::list(TextOp::Glob, "l"),
                        DraftValue::literal(TextOp::EndsWith, "@@x"),
                    ],
                }],
                wheres: vec![("Connectors".into(), vec![DraftValue::literal(TextOp::Contains, "a\tb")])],
                ..DraftExclusion::default()
            }],
        };
        let text = draft.render();
        let policy = crate::validate::load(&text).map_err(|d| format!("{d:?}\n{text}"));
        assert!(policy.is_ok(), "{policy:?}");
        if let Ok(p) = policy {
            assert_eq!(p.description.as_deref(), Some("a \"quoted\"\nline"));
            let texts: Vec<&str> = p
                .exclusions
                .iter()
                .flat_map(|e| &e.conditions)
                .flat_map(|c| &c.values)
                .map(|v| v.text.as_str())
                .collect();
            assert_eq!(texts, ["@team", "x'\"\\y", "@@x", "a\tb"]);
        }
    }

    #[test]
    fn names_are_kebab_and_unique() {
        assert_eq!(kebab("Partner Relays.csv", "x"), "partner-relays-csv");
        assert_eq!(kebab("!!!", "imported"), "imported");
        let mut taken = Vec::new();
        assert_eq!(unique("a", &mut taken), "a");
        assert_eq!(unique("a", &mut taken), "a-2");
    }
}
