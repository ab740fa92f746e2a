//! `fpx explain`: for one event, what each exclusion decided and which field decided it.

use std::fmt::Write as _;

use serde::Serialize;

use crate::compile::{Compiled, Status};
use crate::model::{Field, SOURCE_IPV4_COLUMN, SOURCE_IPV6_COLUMN, Target};
use crate::reference::{self, Event};
use crate::semantics::Cell;

/// The verdict on one event, with every exclusion's reasoning.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// `excluded` or `kept`.
    pub verdict: &'static str,
    /// Ids of the exclusions that match, in policy order.
    pub matched: Vec<String>,
    pub exclusions: Vec<ExclusionExplanation>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExclusionExplanation {
    pub id: String,
    /// `matched`, `not matched`, `expired` or `out of scope`.
    pub outcome: &'static str,
    pub conditions: Vec<ConditionExplanation>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ConditionExplanation {
    pub field: String,
    /// The event's value(s) for the field (`None` when missing or empty).
    pub event: Option<String>,
    /// The policy value that matched, if one did.
    pub matched_by: Option<String>,
    /// True for the first condition that failed: the one that decided a non-match.
    pub decisive: bool,
}

/// Explains an event against a compiled policy. `matched` is the fast matcher's verdict,
/// which the reference evaluation must agree with.
pub fn explain(compiled: &Compiled<'_>, event: &dyn Event) -> Explanation {
    let hc = compiled.policy.header_column.as_deref();
    let matched_idx = reference::matches(compiled, event);
    let exclusions = compiled
        .policy
        .exclusions
        .iter()
        .zip(&compiled.status)
        .map(|(e, status)| {
            let outcomes = reference::exclusion(e, hc, event);
            let all = outcomes.iter().all(|o| o.matched_value.is_some());
            let first_fail = outcomes.iter().position(|o| o.matched_value.is_none());
            let conditions = e
                .conditions
                .iter()
                .zip(&outcomes)
                .enumerate()
                .map(|(ci, (c, o))| ConditionExplanation {
                    field: c.field.key(),
                    event: event_value(&c.field, hc, event),
                    matched_by: o.matched_value.and_then(|vi| c.values.get(vi)).map(|v| {
                        let via: Vec<String> = v.via.iter().map(|n| format!("@{n}")).collect();
                        let op = if v.op == crate::semantics::TextOp::Glob {
                            String::new()
                        } else {
                            format!("{} ", v.op.key())
                        };
                        if via.is_empty() {
                            format!("{op}`{}`", v.text)
                        } else {
                            format!("{op}`{}` (via {})", v.text, via.join(" → "))
                        }
                    }),
                    decisive: Some(ci) == first_fail,
                })
                .collect();
            let outcome = match status {
                Status::Expired => "expired",
                Status::OutOfScope => "out of scope",
                Status::Active if all => "matched",
                Status::Active => "not matched",
            };
            ExclusionExplanation { id: e.id.to_string(), outcome, conditions }
        })
        .collect();
    let matched: Vec<String> = matched_idx
        .iter()
        .filter_map(|&i| compiled.policy.exclusions.get(i).map(|e| e.id.to_string()))
        .collect();
    Explanation { verdict: if matched.is_empty() { "kept" } else { "excluded" }, matched, exclusions }
}

fn event_value(field: &Field, hc: Option<&str>, event: &dyn Event) -> Option<String> {
    let show = |c: Cell<'_>| c.as_text().map(str::to_string);
    match field.target(hc) {
        Some(Target::Column(col)) => show(event.column(col)),
        Some(Target::Header { column, name }) => show(event.header(&column, &name)),
        None => {
            let parts: Vec<String> = [SOURCE_IPV4_COLUMN, SOURCE_IPV6_COLUMN]
                .iter()
                .filter_map(|c| show(event.column(c)).map(|v| format!("{c}={v}")))
                .collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
    }
}

impl Explanation {
    /// The explanation as text, one block per exclusion.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = match self.matched.as_slice() {
            [] => writeln!(out, "kept: no active exclusion matches"),
            ids => writeln!(
                out,
                "excluded by {}",
                ids.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
            ),
        };
        for e in &self.exclusions {
            let _ = writeln!(out, "\n{}: {}", e.id, e.outcome);
            if matches!(e.outcome, "expired" | "out of scope") {
                continue;
            }
            for c in &e.conditions {
                let value = c.event.as_deref().map_or("(missing or empty)".to_string(), |v| format!("{v:?}"));
                let verdict = match &c.matched_by {
                    Some(m) => format!("matches {m}"),
                    None if c.decisive => "no value matches  <- decides".to_string(),
                    None => "no value matches".to_string(),
                };
                let _ = writeln!(out, "  {} = {value}: {verdict}", c.field);
            }
        }
        out
    }
}
