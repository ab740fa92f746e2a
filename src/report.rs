//! `fpx report`: a review page for a pull request or a wiki, in Markdown or JSON.
//!
//! The page answers what a SOC lead asks of each exclusion: who owns it, why, until when,
//! what it matches, how much it hid in a sample, and what lint found. The KQL the policy
//! compiles to is an input ([`Input::kql`]), rendered as a fenced block when given.

use std::fmt::Write as _;

use jiff::civil::Date;
use serde_json::{Value, json};

use crate::compile::{Selection, Status};
use crate::filter::Stats;
use crate::lint::{Counts, Finding, finding_json};
use crate::markdown as md;
use crate::model::{Exclusion, Policy};
use crate::summary::{self, Style};

/// Everything a report shows.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    pub policy: &'a Policy,
    /// The policy file as given.
    pub file: &'a str,
    pub source: &'a str,
    pub today: Date,
    /// Lint findings for the policy.
    pub findings: &'a [Finding],
    /// A run over sample events, and the sample's name.
    pub sample: Option<(&'a str, &'a Stats)>,
    /// The policy's KQL, when the caller has it.
    pub kql: Option<&'a str>,
}

/// At most this many values of one condition are listed in the exclusions table.
const VALUES_IN_TABLE: usize = 6;

fn days_left(today: Date, e: &Exclusion) -> Option<i32> {
    e.expires.map(|d| today.until(d).map(|s| s.get_days()).unwrap_or(0))
}

fn expires_words(today: Date, e: &Exclusion) -> String {
    match (e.expires, days_left(today, e)) {
        (Some(d), Some(n)) if n < 0 => format!("{d} (expired {} days ago)", -n),
        (Some(d), Some(0)) => format!("{d} (last day)"),
        (Some(d), Some(1)) => format!("{d} (1 day left)"),
        (Some(d), Some(n)) => format!("{d} ({n} days left)"),
        _ => "never".to_string(),
    }
}

fn hits_of(sample: Option<(&str, &Stats)>, id: &str) -> Option<u64> {
    sample.and_then(|(_, s)| s.by_exclusion.iter().find(|(i, _)| i == id).map(|(_, n)| *n))
}

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// The report as GitHub-flavoured Markdown.
pub fn markdown(input: &Input<'_>) -> String {
    let p = input.policy;
    let selection = Selection { today: input.today, rules: Vec::new() };
    let cell_code = |s: &str| md::code(s, true);
    let style = Style { code: &cell_code, max_values: Some(VALUES_IN_TABLE) };
    let mut out = String::new();
    let _ = writeln!(out, "# Exclusion policy {}\n", md::code(p.name.as_str(), false));

    let count = |s: Status| p.exclusions.iter().filter(|e| Status::of(e, &selection) == s).count();
    let mut facts: Vec<(&str, String)> = vec![("file", md::code(input.file, true))];
    if let Some(d) = &p.description {
        facts.push(("description", md::text(d)));
    }
    facts.push(("table", md::code(p.profile.table, true)));
    let rules = if p.rules.is_empty() {
        "every rule".to_string()
    } else {
        p.rules.iter().map(|r| md::code(r, true)).collect::<Vec<_>>().join(", ")
    };
    facts.push(("default scope", rules));
    facts.push((
        "exclusions",
        format!(
            "{}: {} active, {} expired on {}",
            p.exclusions.len(),
            count(Status::Active),
            count(Status::Expired),
            input.today
        ),
    ));
    facts.push((
        "lists and groups",
        format!("{}, {}", plural(p.lists.len(), "list"), plural(p.groups.len(), "group")),
    ));
    facts.push(("lint", Counts::of(input.findings).sentence()));
    if let Some((name, stats)) = input.sample {
        facts.push((
            "sample events",
            format!("{}: {} rows, {} excluded", md::code(name, true), stats.total, stats.excluded),
        ));
    }
    out.push_str("| | |\n|---|---|\n");
    for (k, v) in &facts {
        out.push_str(&md::row(&[format!("**{k}**"), v.clone()]));
    }

    let _ = writeln!(out, "\n## Exclusions\n");
    let mut header = vec!["id", "status", "owner", "ticket", "expires", "scope", "conditions", "reason"];
    if input.sample.is_some() {
        header.push("hits");
    }
    out.push_str(&md::row(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>()));
    out.push_str(&md::row(
        &header.iter().map(|h| if *h == "hits" { "---:" } else { "---" }.to_string()).collect::<Vec<_>>(),
    ));
    for e in &p.exclusions {
        // fpx's own words, with every value from the policy in a code span.
        let conditions =
            e.conditions.iter().map(|c| summary::condition(c, &style)).collect::<Vec<_>>().join(" **and** ");
        let mut cells = vec![
            md::code(e.id.as_str(), true),
            summary::status_words(e, &selection).to_string(),
            md::text(&e.owner),
            e.ticket.as_deref().map(md::text).unwrap_or_default(),
            expires_words(input.today, e),
            scope_cell(e),
            conditions,
            md::text(&e.reason),
        ];
        if input.sample.is_some() {
            cells.push(hits_of(input.sample, e.id.as_str()).map_or("–".to_string(), |n| n.to_string()));
        }
        out.push_str(&md::row(&cells));
    }

    let _ = writeln!(out, "\n## Lint findings\n");
    let open: Vec<&Finding> = input.findings.iter().filter(|f| f.allowed.is_none()).collect();
    if open.is_empty() {
        out.push_str("No findings.\n");
    } else {
        out.push_str("| severity | code | exclusion | line | finding |\n|---|---|---|---:|---|\n");
        for f in open {
            out.push_str(&md::row(&finding_cells(f, input.source, None)));
        }
    }
    let allowed: Vec<&Finding> = input.findings.iter().filter(|f| f.allowed.is_some()).collect();
    if !allowed.is_empty() {
        let _ = writeln!(out, "\n### Accepted findings\n");
        out.push_str(
            "| severity | code | exclusion | line | finding | reason |\n|---|---|---|---:|---|---|\n",
        );
        for f in allowed {
            out.push_str(&md::row(&finding_cells(f, input.source, f.allowed.as_deref())));
        }
    }
    if let Some(kql) = input.kql {
        let _ = writeln!(out, "\n## KQL\n");
        out.push_str(&md::fenced("kql", kql));
    }
    out
}

fn scope_cell(e: &Exclusion) -> String {
    let rules: Vec<String> = e.scope.rules.iter().map(|r| md::code(r, true)).collect();
    match (rules.is_empty(), e.scope.inherited) {
        (true, _) => "every rule".into(),
        (false, true) => format!("policy default ({})", plural(rules.len(), "rule")),
        (false, false) => rules.join(", "),
    }
}

fn finding_cells(f: &Finding, source: &str, reason: Option<&str>) -> Vec<String> {
    let d = &f.diagnostic;
    let line = d.line_col(source).map_or(String::new(), |(l, _)| l.to_string());
    let mut text = md::message(&d.message, true);
    if let Some(label) = &d.label {
        text.push_str(": ");
        text.push_str(&md::message(label, true));
    }
    let mut cells = vec![
        d.severity.to_string(),
        md::code(d.code, true),
        f.exclusion.as_deref().map(|e| md::code(e, true)).unwrap_or_default(),
        line,
        text,
    ];
    if let Some(r) = reason {
        cells.push(md::text(r));
    }
    cells
}

/// The report as JSON, with the same content.
pub fn json(input: &Input<'_>) -> Value {
    let p = input.policy;
    let selection = Selection { today: input.today, rules: Vec::new() };
    let words = |s: &str| format!("`{s}`");
    let style = Style { code: &words, max_values: None };
    let exclusions: Vec<Value> = p
        .exclusions
        .iter()
        .map(|e| {
            json!({
                "id": e.id.as_str(),
                "status": summary::status_words(e, &selection),
                "owner": e.owner,
                "ticket": e.ticket,
                "expires": e.expires.map(|d| d.to_string()),
                "days_left": days_left(input.today, e),
                "scope": { "rules": e.scope.rules, "inherited": e.scope.inherited },
                "conditions": e.conditions.iter().map(|c| summary::condition(c, &style)).collect::<Vec<_>>(),
                "reason": e.reason,
                "allow": e.allow.iter().map(|a| json!({ "code": a.code, "reason": a.reason })).collect::<Vec<_>>(),
                "hits": hits_of(input.sample, e.id.as_str()),
            })
        })
        .collect();
    json!({
        "policy": p.name.as_str(),
        "file": input.file,
        "description": p.description,
        "table": p.profile.table,
        "rules": p.rules,
        "today": input.today.to_string(),
        "exclusions": exclusions,
        "lists": p.lists.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        "groups": p.groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        "lint": {
            "counts": Counts::of(input.findings),
            "findings": input.findings.iter().map(|f| finding_json(f, input.source)).collect::<Vec<_>>(),
        },
        "events": input.sample.map(|(name, s)| json!({ "file": name, "rows": s.total, "excluded": s.excluded })),
        "kql": input.kql,
    })
}

/// Larger KQL blocks are left out of the page, which says how to print them.
const KQL_IN_REPORT: usize = 20_000;

/// The KQL section of a report: the block every exclusion active on `today` makes (no rule
/// selected), as `fpx kql` prints it, or a note when it is too large for a page.
pub fn kql_section(policy: &Policy, today: Date, file: &str) -> String {
    let compiled = crate::compile::Compiled::new(policy, Selection { today, rules: Vec::new() });
    let block = crate::kql::emit::block(&compiled, crate::kql::emit::ListMode::Inline).text;
    let chars = block.chars().count();
    if chars <= KQL_IN_REPORT {
        block
    } else {
        format!("// the block has {chars} characters: print it with `fpx kql --policy {file}`")
    }
}
