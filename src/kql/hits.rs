//! `fpx kql --hits`: a query that counts, in the workspace, the rows each active exclusion
//! matches, so zero-hit and over-broad exclusions show up where the data is.

use crate::compile::Compiled;
use crate::kql::emit::{exclusion_node, guard_extend, guarded_families, render_expression};
use crate::kql::literal::{comment_text, identifier};

/// A KQL timespan literal such as `14d`, `12h`, `30m` (whole units only).
pub fn parse_since(s: &str) -> Option<&str> {
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    (!digits.is_empty() && digits.len() <= 6 && matches!(unit, "d" | "h" | "m" | "s")).then_some(s)
}

/// The hit-count query: one `countif` column per active exclusion, in policy order, and
/// `Rows`, the number of rows in the window.
pub fn query(compiled: &Compiled<'_>, since: &str, time_column: &str) -> String {
    let policy = compiled.policy;
    let hc = policy.header_column.as_deref();
    let mut lines = vec![
        comment_text(&format!(
            "// fpx: rows matched by each active exclusion of {}, last {since} (generated, do not edit)",
            policy.name
        )),
        identifier(policy.profile.table),
        format!("| where {} > ago({since})", identifier(time_column)),
    ];
    lines.extend(guard_extend(&guarded_families(compiled)));
    lines.extend(["| summarize".to_string(), "    Rows = count(),".to_string()]);
    let active: Vec<_> = compiled.active_exclusions().collect();
    let n = active.len();
    for (i, e) in active.into_iter().enumerate() {
        let pred = render_expression(&exclusion_node(e, hc), 8);
        let comma = if i + 1 < n { "," } else { "" };
        lines.push(format!("    {} = countif({pred}){comma}", identifier(e.id.as_str())));
    }
    if n == 0 {
        if let Some(last) = lines.last_mut() {
            *last = "    Rows = count()".to_string();
        }
    }
    lines.join("\n")
}
