//! A policy in plain words: what each condition means after normalisation, for reports,
//! diffs and the reviewed model snapshots.

use std::fmt::Write as _;

use crate::compile::{Selection, Status};
use crate::model::{Condition, Exclusion, Field, Policy, Scope, Test, Value};
use crate::semantics::{TextTest, fold};

/// How a field is named in plain words.
pub fn field_label(field: &Field) -> String {
    match field {
        Field::Sender => "sender".into(),
        Field::MailFrom => "MAIL FROM".into(),
        Field::SenderDomain => "sender domain".into(),
        Field::Recipient => "recipient".into(),
        Field::Subject => "subject".into(),
        Field::Direction => "direction".into(),
        Field::SourceIp => "source IP".into(),
        Field::Header(name) => format!("header {name}"),
        Field::Column(c) => format!("column {c}"),
    }
}

/// What one value tests, as a verb phrase and the text it tests against (normalised:
/// `*@x.com` is "ends with `@x.com`").
pub fn value_phrase(v: &Value) -> (&'static str, String) {
    match &v.test {
        Test::Net(net) => {
            (if net.prefix_len() == net.max_prefix_len() { "is" } else { "in" }, net.to_string())
        }
        Test::Text(t) => match t {
            TextTest::Equals(s) => ("is", as_written(v, s)),
            TextTest::StartsWith(s) => ("starts with", as_written(v, s)),
            TextTest::EndsWith(s) => ("ends with", as_written(v, s)),
            TextTest::Contains(s) => ("contains", as_written(v, s)),
            TextTest::NonEmpty => ("is any value", String::new()),
            TextTest::Wildcard(_) => ("matches", v.text.clone()),
            TextTest::Regex(_) => ("matches regex", v.text.clone()),
        },
    }
}

/// A literal as the policy spells it (`Password Reset`, not its folded `password reset`),
/// when the spelling is the literal with a glob's `*` removed.
fn as_written(v: &Value, folded: &str) -> String {
    let candidate = v.text.trim_matches('*');
    if fold(candidate) == folded { candidate.to_string() } else { folded.to_string() }
}

/// How texts are shown: `code` wraps a literal for the output format.
pub struct Style<'a> {
    pub code: &'a dyn Fn(&str) -> String,
    /// At most this many values per condition; the rest are counted.
    pub max_values: Option<usize>,
}

/// A condition in plain words: `sender is `a` or `b` (via @list)`. Consecutive values with
/// the same verb share it.
pub fn condition(c: &Condition, style: &Style<'_>) -> String {
    let mut out = match &c.field {
        Field::Header(name) => format!("header {}", (style.code)(name)),
        Field::Column(col) => format!("column {}", (style.code)(col)),
        f => field_label(f),
    };
    let shown = style.max_values.unwrap_or(usize::MAX).min(c.values.len());
    let mut last_verb = "";
    for (i, v) in c.values.iter().take(shown).enumerate() {
        let (verb, text) = value_phrase(v);
        if i > 0 {
            out.push_str(if verb == last_verb { "," } else { " or" });
        }
        if verb != last_verb {
            out.push(' ');
            out.push_str(verb);
        }
        if !text.is_empty() {
            out.push(' ');
            out.push_str(&(style.code)(&text));
        }
        last_verb = verb;
    }
    let rest = c.values.len() - shown;
    if rest > 0 {
        let _ = write!(out, " or {rest} more");
    }
    let mut lists: Vec<&str> = c.values.iter().filter_map(|v| v.via.first().map(String::as_str)).collect();
    lists.dedup();
    lists.sort_unstable();
    lists.dedup();
    if !lists.is_empty() {
        let names: Vec<String> = lists.iter().map(|l| (style.code)(&format!("@{l}"))).collect();
        let _ = write!(out, " (from {})", names.join(", "));
    }
    out
}

/// An exclusion's scope in plain words.
pub fn scope(scope: &Scope) -> String {
    match (scope.rules.len(), scope.inherited) {
        (0, _) => "every rule".into(),
        (_, true) => format!("policy rules: {}", scope.rules.join(", ")),
        (_, false) => scope.rules.join(", "),
    }
}

fn plain(s: &str) -> String {
    format!("`{s}`")
}

/// The validated model as stable text: the policy header, its lists and groups, and every
/// exclusion with its status on `today` and its conditions in plain words. Snapshotted for
/// every example policy, so that a policy change is reviewed as a change of meaning.
pub fn model(policy: &Policy, today: jiff::civil::Date) -> String {
    let style = Style { code: &plain, max_values: None };
    let mut out = String::new();
    let _ = writeln!(out, "policy {} (table {})", policy.name, policy.profile.table);
    if let Some(d) = &policy.description {
        let _ = writeln!(out, "  {d}");
    }
    let rules = if policy.rules.is_empty() { "every rule".to_string() } else { policy.rules.join(", ") };
    let _ = writeln!(out, "  default scope: {rules}");
    if let Some(h) = &policy.header_column {
        let _ = writeln!(out, "  headers from column {h}");
    }
    for l in &policy.lists {
        let values: Vec<&str> = l.values.iter().map(|(v, _)| v.as_str()).collect();
        let _ = writeln!(out, "list @{} = {}", l.name, values.join(", "));
    }
    for g in &policy.groups {
        let members: Vec<&str> = g.members.iter().map(|(v, _)| v.as_str()).collect();
        let address = g.address.as_ref().map_or("(no address)", |(a, _)| a.as_str());
        let _ = writeln!(out, "group @{} = {address}; members {}", g.name, members.join(", "));
    }
    let selection = Selection { today, rules: Vec::new() };
    for e in &policy.exclusions {
        let _ = writeln!(out, "\nexclusion {} [{}]", e.id, status_words(e, &selection));
        let _ = writeln!(out, "  owner {}; ticket {}", e.owner, e.ticket.as_deref().unwrap_or("(none)"));
        let _ = writeln!(out, "  expires {}", e.expires.map_or("never".to_string(), |d| d.to_string()));
        let _ = writeln!(out, "  scope {}", scope(&e.scope));
        let _ = writeln!(out, "  reason {}", e.reason);
        for (i, c) in e.conditions.iter().enumerate() {
            let _ = writeln!(out, "  {} {}", if i == 0 { "when" } else { " and" }, condition(c, &style));
        }
        for a in &e.allow {
            let _ = writeln!(out, "  allows {}: {}", a.code, a.reason);
        }
    }
    out
}

/// `active`, `expired` or `out of scope` on a day.
pub fn status_words(e: &Exclusion, selection: &Selection) -> &'static str {
    match Status::of(e, selection) {
        Status::Active => "active",
        Status::Expired => "expired",
        Status::OutOfScope => "out of scope",
    }
}
