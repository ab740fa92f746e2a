//! `fpx diff`: what merging a policy change does to what is excluded.
//!
//! A semantic diff of two validated policies, exclusion by exclusion (matched by id; a
//! renamed exclusion is a removal and an addition). Every change is classified:
//!
//! - **widens**: more events may be excluded (an added exclusion, an added value, a removed
//!   condition, a broader scope, a later or removed expiry);
//! - **narrows**: fewer events may be excluded (the opposites);
//! - **neutral**: metadata (owner, reason, ticket, accepted findings).
//!
//! Values compare by meaning: `*@x.com` and `ends_with = ["@x.com"]` are one value, and a
//! value replaced by a broader one that covers it is a widening only, not also a narrowing
//! ([`crate::subsume`]). Widening changes come first: they are what a reviewer must read.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::civil::Date;
use serde::Serialize;

use crate::compile::{Selection, Status};
use crate::markdown as md;
use crate::model::{Condition, Exclusion, Policy, Value};
use crate::sample;
use crate::subsume::{self, Reads};
use crate::summary::{self, Style};

/// Whether a change lets more or fewer events through to exclusion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    Widens,
    Narrows,
    Neutral,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Widens => "widens",
            Effect::Narrows => "narrows",
            Effect::Neutral => "neutral",
        }
    }
}

/// A value in words: `ends with` `@x.com`, and the list it came through.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ValueWords {
    pub test: &'static str,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

impl ValueWords {
    fn of(v: &Value) -> ValueWords {
        let (test, value) = summary::value_phrase(v);
        ValueWords { test, value, via: v.via.first().cloned() }
    }
}

/// One change to an exclusion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    pub effect: Effect,
    /// What changed: a field key, `exclusion`, `scope`, `expires`, `owner`, …
    pub what: String,
    /// The change in words.
    pub summary: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<ValueWords>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<ValueWords>,
}

impl Change {
    fn new(effect: Effect, what: impl Into<String>, summary: impl Into<String>) -> Change {
        Change { effect, what: what.into(), summary: summary.into(), added: Vec::new(), removed: Vec::new() }
    }
}

/// How an exclusion differs between the two policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Added,
    Removed,
    Changed,
}

/// Every change to one exclusion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExclusionDiff {
    pub id: String,
    pub kind: Kind,
    /// `widens` if any change widens, else `narrows` if any narrows, else `neutral`.
    pub effect: Effect,
    pub changes: Vec<Change>,
}

/// The semantic diff of two policies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diff {
    pub old: String,
    pub new: String,
    pub today: String,
    /// Changes to the policy header (name, description, table, header column).
    pub policy: Vec<Change>,
    /// Changed exclusions: widening first, then narrowing, then metadata only.
    pub exclusions: Vec<ExclusionDiff>,
}

impl Diff {
    pub fn count(&self, effect: Effect) -> usize {
        self.exclusions.iter().filter(|e| e.effect == effect).count()
    }
}

fn words(v: &str) -> String {
    format!("`{v}`")
}

fn conditions_in_words(e: &Exclusion) -> String {
    let style = Style { code: &words, max_values: None };
    e.conditions.iter().map(|c| summary::condition(c, &style)).collect::<Vec<_>>().join(" and ")
}

/// Compares two validated policies, judging expiry on `today`.
pub fn diff(old: &Policy, new: &Policy, today: Date) -> Diff {
    let selection = Selection { today, rules: Vec::new() };
    let active = |e: &Exclusion| Status::of(e, &selection) != Status::Expired;
    let mut policy = Vec::new();
    let mut meta = |what: &str, a: Option<&str>, b: Option<&str>| {
        if a != b {
            policy.push(Change::new(
                Effect::Neutral,
                what,
                format!(
                    "{what}: {} → {}",
                    a.map_or("(none)".into(), words),
                    b.map_or("(none)".into(), words)
                ),
            ));
        }
    };
    meta("name", Some(old.name.as_str()), Some(new.name.as_str()));
    meta("description", old.description.as_deref(), new.description.as_deref());
    meta("table", Some(old.profile.table), Some(new.profile.table));
    meta("header_column", old.header_column.as_deref(), new.header_column.as_deref());

    let mut out = Vec::new();
    for n in &new.exclusions {
        match old.exclusion(n.id.as_str()) {
            None => {
                let effect = if active(n) { Effect::Widens } else { Effect::Neutral };
                let mut c =
                    Change::new(effect, "exclusion", format!("new exclusion: {}", conditions_in_words(n)));
                if !active(n) {
                    c.summary.push_str(" (already expired)");
                }
                out.push(ExclusionDiff { id: n.id.to_string(), kind: Kind::Added, effect, changes: vec![c] });
            }
            Some(o) => {
                let changes = exclusion_changes(o, n, old, new, today);
                if !changes.is_empty() {
                    let effect = changes.iter().map(|c| c.effect).min().unwrap_or(Effect::Neutral);
                    out.push(ExclusionDiff { id: n.id.to_string(), kind: Kind::Changed, effect, changes });
                }
            }
        }
    }
    for o in old.exclusions.iter().filter(|o| new.exclusion(o.id.as_str()).is_none()) {
        let effect = if active(o) { Effect::Narrows } else { Effect::Neutral };
        let c = Change::new(effect, "exclusion", format!("removed exclusion: {}", conditions_in_words(o)));
        out.push(ExclusionDiff { id: o.id.to_string(), kind: Kind::Removed, effect, changes: vec![c] });
    }
    // Stable: policy order within each effect.
    out.sort_by_key(|e| e.effect);
    Diff {
        old: old.name.to_string(),
        new: new.name.to_string(),
        today: today.to_string(),
        policy,
        exclusions: out,
    }
}

/// Conditions keyed by what they read, numbered when one column is read twice.
fn keyed<'a>(e: &'a Exclusion, hc: Option<&str>) -> BTreeMap<(Reads, usize), &'a Condition> {
    let mut out = BTreeMap::new();
    for c in &e.conditions {
        let r = subsume::reads(&c.field, hc);
        let n = out.keys().filter(|(k, _): &&(Reads, usize)| *k == r).count();
        out.insert((r, n), c);
    }
    out
}

fn exclusion_changes(o: &Exclusion, n: &Exclusion, old: &Policy, new: &Policy, today: Date) -> Vec<Change> {
    let mut out = Vec::new();
    let style = Style { code: &words, max_values: None };
    let ko = keyed(o, old.header_column.as_deref());
    let kn = keyed(n, new.header_column.as_deref());
    for (k, cn) in &kn {
        let key = cn.field.key();
        match ko.get(k) {
            None => out.push(Change::new(
                Effect::Narrows,
                key,
                format!("condition added: {}", summary::condition(cn, &style)),
            )),
            Some(co) => {
                // A value counts as added when no old value covers it, and as removed when
                // no new value covers it.
                let added: Vec<ValueWords> = cn
                    .values
                    .iter()
                    .filter(|vn| !co.values.iter().any(|vo| subsume::value_implies(&vn.test, &vo.test)))
                    .map(ValueWords::of)
                    .collect();
                let removed: Vec<ValueWords> = co
                    .values
                    .iter()
                    .filter(|vo| !cn.values.iter().any(|vn| subsume::value_implies(&vo.test, &vn.test)))
                    .map(ValueWords::of)
                    .collect();
                if !added.is_empty() {
                    let mut c = Change::new(Effect::Widens, key.clone(), format!("values added to `{key}`"));
                    c.added = added;
                    out.push(c);
                }
                if !removed.is_empty() {
                    let mut c =
                        Change::new(Effect::Narrows, key.clone(), format!("values removed from `{key}`"));
                    c.removed = removed;
                    out.push(c);
                }
            }
        }
    }
    for (k, co) in &ko {
        if !kn.contains_key(k) {
            out.push(Change::new(
                Effect::Widens,
                co.field.key(),
                format!("condition removed: {}", summary::condition(co, &style)),
            ));
        }
    }
    scope_changes(o, n, &mut out);
    expiry_changes(o, n, today, &mut out);
    let mut meta = |what: &str, a: Option<&str>, b: Option<&str>| {
        if a != b {
            let show = |s: Option<&str>| s.map_or("(none)".to_string(), words);
            out.push(Change::new(Effect::Neutral, what, format!("{what}: {} → {}", show(a), show(b))));
        }
    };
    meta("owner", Some(&o.owner), Some(&n.owner));
    meta("ticket", o.ticket.as_deref(), n.ticket.as_deref());
    meta("reason", Some(&o.reason), Some(&n.reason));
    for a in n.allow.iter().filter(|a| !o.allow.iter().any(|b| b.code == a.code)) {
        out.push(Change::new(Effect::Neutral, "allow", format!("now accepts `{}`: {}", a.code, a.reason)));
    }
    for a in o.allow.iter().filter(|a| !n.allow.iter().any(|b| b.code == a.code)) {
        out.push(Change::new(Effect::Neutral, "allow", format!("no longer accepts `{}`", a.code)));
    }
    out.sort_by_key(|c| c.effect);
    out
}

fn scope_changes(o: &Exclusion, n: &Exclusion, out: &mut Vec<Change>) {
    let lower = |v: &[String]| v.iter().map(|r| r.to_lowercase()).collect::<Vec<_>>();
    let (ro, rn) = (lower(&o.scope.rules), lower(&n.scope.rules));
    if ro == rn {
        return;
    }
    let list = |v: &[&String]| v.iter().map(|r| words(r)).collect::<Vec<_>>().join(", ");
    if rn.is_empty() {
        out.push(Change::new(Effect::Widens, "scope", "now applies to every rule"));
        return;
    }
    if ro.is_empty() {
        out.push(Change::new(
            Effect::Narrows,
            "scope",
            format!("now applies only to {}", list(&n.scope.rules.iter().collect::<Vec<_>>())),
        ));
        return;
    }
    let added: Vec<&String> = n.scope.rules.iter().filter(|r| !ro.contains(&r.to_lowercase())).collect();
    let removed: Vec<&String> = o.scope.rules.iter().filter(|r| !rn.contains(&r.to_lowercase())).collect();
    if !added.is_empty() {
        out.push(Change::new(Effect::Widens, "scope", format!("now also applies to {}", list(&added))));
    }
    if !removed.is_empty() {
        out.push(Change::new(Effect::Narrows, "scope", format!("no longer applies to {}", list(&removed))));
    }
}

fn expiry_changes(o: &Exclusion, n: &Exclusion, today: Date, out: &mut Vec<Change>) {
    let expired = |d: Option<Date>| d.is_some_and(|d| d < today);
    let (eo, en) = (o.expires, n.expires);
    let change = match (eo, en) {
        (a, b) if a == b => return,
        (Some(a), None) => Change::new(Effect::Widens, "expires", format!("no longer expires (was {a})")),
        (None, Some(b)) => Change::new(Effect::Narrows, "expires", format!("now expires on {b}")),
        (Some(a), Some(b)) if b > a => {
            let renewed = if expired(eo) && !expired(en) { ", active again" } else { "" };
            Change::new(Effect::Widens, "expires", format!("extended from {a} to {b}{renewed}"))
        }
        (Some(a), Some(b)) => {
            let now = if expired(en) && !expired(eo) { ", newly expired" } else { "" };
            Change::new(Effect::Narrows, "expires", format!("shortened from {a} to {b}{now}"))
        }
        (None, None) => return,
    };
    out.push(change);
}

/// What changes for sample events: rows newly excluded and newly kept, and counts per
/// exclusion before and after.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EventsDiff {
    pub file: String,
    pub rows: u64,
    pub excluded_before: u64,
    pub excluded_after: u64,
    pub newly_excluded: Vec<RowChange>,
    pub newly_kept: Vec<RowChange>,
    /// Exclusion id, rows matched before (`None`: not active) and after.
    pub by_exclusion: Vec<HitChange>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HitChange {
    pub id: String,
    pub before: Option<u64>,
    pub after: Option<u64>,
}

/// One row whose verdict changes, with the exclusions that match it before and after.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RowChange {
    pub line: u64,
    pub before: Vec<String>,
    pub after: Vec<String>,
    pub row: serde_json::Value,
}

/// Compares two runs over the same sample.
pub fn events(file: &str, old: &sample::Run, new: &sample::Run) -> EventsDiff {
    let change = |line: &u64, before: Option<&sample::ExcludedRow>, after: Option<&sample::ExcludedRow>| {
        let row = after.or(before).map(|r| r.row.clone()).unwrap_or(serde_json::Value::Null);
        RowChange {
            line: *line,
            before: before.map(|r| r.exclusions.clone()).unwrap_or_default(),
            after: after.map(|r| r.exclusions.clone()).unwrap_or_default(),
            row,
        }
    };
    let newly_excluded = new
        .excluded
        .iter()
        .filter(|(line, _)| !old.excluded.contains_key(line))
        .map(|(line, r)| change(line, None, Some(r)))
        .collect();
    let newly_kept = old
        .excluded
        .iter()
        .filter(|(line, _)| !new.excluded.contains_key(line))
        .map(|(line, r)| change(line, Some(r), None))
        .collect();
    let before = old.hits();
    let after = new.hits();
    let mut ids: Vec<&str> = new.stats.by_exclusion.iter().map(|(id, _)| id.as_str()).collect();
    ids.extend(old.stats.by_exclusion.iter().map(|(id, _)| id.as_str()).filter(|id| !after.contains_key(id)));
    let by_exclusion = ids
        .into_iter()
        .map(|id| HitChange {
            id: id.to_string(),
            before: before.get(id).copied(),
            after: after.get(id).copied(),
        })
        .filter(|h| h.before != h.after)
        .collect();
    EventsDiff {
        file: file.to_string(),
        rows: new.stats.total,
        excluded_before: old.stats.excluded,
        excluded_after: new.stats.excluded,
        newly_excluded,
        newly_kept,
        by_exclusion,
    }
}

/// Sample rows shown per direction in Markdown.
pub const SAMPLE_ROWS: usize = 5;
/// Columns shown for a sample row, when present.
const SAMPLE_COLUMNS: &[&str] = &[
    "NetworkMessageId",
    "SenderFromAddress",
    "RecipientEmailAddress",
    "Subject",
    "SenderIPv4",
    "SenderIPv6",
];

/// The diff as GitHub-flavoured Markdown: widening changes first.
pub fn markdown(d: &Diff, old_file: &str, new_file: &str, events: Option<&EventsDiff>) -> String {
    let mut out = String::new();
    let title = if d.old == d.new {
        md::code(&d.new, false)
    } else {
        format!("{} → {}", md::code(&d.old, false), md::code(&d.new, false))
    };
    let _ = writeln!(out, "# Policy diff: {title}\n");
    let _ = writeln!(
        out,
        "{} → {}, expiry judged on {}.\n",
        md::code(old_file, false),
        md::code(new_file, false),
        d.today
    );
    let (w, n, m) = (d.count(Effect::Widens), d.count(Effect::Narrows), d.count(Effect::Neutral));
    let ex = |k: usize| format!("{k} exclusion{}", if k == 1 { "" } else { "s" });
    if d.exclusions.is_empty() && d.policy.is_empty() {
        out.push_str("No change in what is excluded.\n");
    } else {
        let _ = writeln!(
            out,
            "**{} widen{} what is excluded**, {} narrow{}, {} change{} metadata only.",
            ex(w),
            if w == 1 { "s" } else { "" },
            ex(n),
            if n == 1 { "s" } else { "" },
            ex(m),
            if m == 1 { "s" } else { "" },
        );
    }
    if !d.policy.is_empty() {
        let _ = writeln!(out, "\n## Policy\n");
        for c in &d.policy {
            let _ = writeln!(out, "- {}", md::message(&c.summary, false));
        }
    }
    for (effect, heading) in [
        (Effect::Widens, "Widens: review first"),
        (Effect::Narrows, "Narrows"),
        (Effect::Neutral, "Metadata only"),
    ] {
        let group: Vec<&ExclusionDiff> = d.exclusions.iter().filter(|e| e.effect == effect).collect();
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n## {heading}");
        for e in group {
            let kind = match e.kind {
                Kind::Added => "added",
                Kind::Removed => "removed",
                Kind::Changed => "changed",
            };
            let _ = writeln!(out, "\n### {} ({kind})\n", md::code(&e.id, false));
            for c in &e.changes {
                let tag = match c.effect {
                    Effect::Widens => "**widens**",
                    Effect::Narrows => "narrows",
                    Effect::Neutral => "metadata",
                };
                let _ = write!(out, "- {tag}: {}", md::message(&c.summary, false));
                let values = |vs: &[ValueWords]| {
                    vs.iter()
                        .map(|v| {
                            let via = v.via.as_ref().map_or(String::new(), |l| {
                                format!(" (via {})", md::code(&format!("@{l}"), false))
                            });
                            format!("{} {}{via}", v.test, md::code(&v.value, false))
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                if !c.added.is_empty() {
                    let _ = write!(out, ": {}", values(&c.added));
                }
                if !c.removed.is_empty() {
                    let _ = write!(out, ": {}", values(&c.removed));
                }
                out.push('\n');
            }
        }
    }
    if let Some(ev) = events {
        events_markdown(ev, &mut out);
    }
    out
}

fn events_markdown(ev: &EventsDiff, out: &mut String) {
    let _ = writeln!(out, "\n## Sample events\n");
    let _ = writeln!(
        out,
        "{}: {} rows; excluded before {}, after {}: **{} newly excluded**, {} newly kept.\n",
        md::code(&ev.file, false),
        ev.rows,
        ev.excluded_before,
        ev.excluded_after,
        ev.newly_excluded.len(),
        ev.newly_kept.len()
    );
    if !ev.by_exclusion.is_empty() {
        out.push_str("| exclusion | before | after |\n|---|---:|---:|\n");
        for h in &ev.by_exclusion {
            let n = |x: Option<u64>| x.map_or("–".to_string(), |v| v.to_string());
            out.push_str(&md::row(&[md::code(&h.id, true), n(h.before), n(h.after)]));
        }
    }
    for (title, rows) in [("Newly excluded rows", &ev.newly_excluded), ("Newly kept rows", &ev.newly_kept)] {
        if rows.is_empty() {
            continue;
        }
        let shown = rows.len().min(SAMPLE_ROWS);
        let _ = writeln!(out, "\n### {title} ({} of {})\n", shown, rows.len());
        let columns: Vec<&str> = SAMPLE_COLUMNS
            .iter()
            .copied()
            .filter(|c| {
                rows.iter().take(shown).any(|r| r.row.get(c).is_some_and(|v| !v.is_null() && v != ""))
            })
            .collect();
        let mut header = vec!["line".to_string(), "before".into(), "after".into()];
        header.extend(columns.iter().map(|c| c.to_string()));
        out.push_str(&md::row(&header));
        out.push_str(&md::row(
            &header
                .iter()
                .enumerate()
                .map(|(i, _)| if i == 0 { "---:" } else { "---" }.to_string())
                .collect::<Vec<_>>(),
        ));
        for r in rows.iter().take(shown) {
            let ids = |v: &[String]| v.iter().map(|i| md::code(i, true)).collect::<Vec<_>>().join(", ");
            let mut cells = vec![r.line.to_string(), ids(&r.before), ids(&r.after)];
            for c in &columns {
                let text = match r.row.get(c) {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(serde_json::Value::Null) | None => String::new(),
                    Some(v) => v.to_string(),
                };
                cells.push(if text.is_empty() { String::new() } else { md::code(&text, true) });
            }
            out.push_str(&md::row(&cells));
        }
    }
}
