//! `fpx lint`: findings a reviewer should see before an exclusion is merged.
//!
//! Rules ([`rules`]) read the validated [`Policy`], never the raw text, so `*`, `**` and
//! `*?` are all recognised as "any value". Every finding is a [`Diagnostic`] with a stable
//! code from [`LINT_CODES`]; a finding about one exclusion can be accepted by that
//! exclusion's `allow = [{ code, reason }]`, and an allow that accepts nothing is itself a
//! finding.

mod rules;

use std::collections::HashSet;
use std::fmt::Write as _;

use jiff::civil::Date;

use crate::diag::{self, Diagnostic, Severity, did_you_mean, shown};
use crate::filter::Stats;
use crate::model::Policy;

/// One lint code: its name, default severity and meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LintCode {
    pub code: &'static str,
    pub severity: Severity,
    pub meaning: &'static str,
    /// Whether an exclusion's `allow` may accept it.
    pub allowable: bool,
}

const fn code(code: &'static str, severity: Severity, allowable: bool, meaning: &'static str) -> LintCode {
    LintCode { code, severity, meaning, allowable }
}

/// Every lint code. Each has a fixture `policies/lint/<code>.toml` that triggers it, a near
/// miss that does not, and an entry in `policies/README.md`.
pub const LINT_CODES: &[LintCode] = &[
    code(
        "over-broad",
        Severity::Warning,
        true,
        "a value matches (nearly) everything, a whole top-level domain, a public mail provider, a wide public network, or is a `contains` shorter than 4 characters",
    ),
    code(
        "spoofable",
        Severity::Warning,
        true,
        "every condition tests a field the sender chooses: anyone can send mail that matches",
    ),
    code("expired", Severity::Error, true, "the exclusion is past its `expires` day and no longer applies"),
    code("expires-soon", Severity::Warning, true, "the exclusion expires within 14 days (`--soon-days`)"),
    code("no-expiry", Severity::Note, true, "the exclusion has no `expires` day"),
    code(
        "shadowed",
        Severity::Warning,
        true,
        "every event the exclusion matches is matched by another exclusion that applies at least as widely",
    ),
    code(
        "duplicate-value",
        Severity::Warning,
        true,
        "a value repeats another in the same condition, list or group",
    ),
    code("unused-list", Severity::Warning, false, "no exclusion uses the list"),
    code("unused-group", Severity::Warning, false, "no exclusion uses the group"),
    code(
        "unmatched-exclusion",
        Severity::Warning,
        true,
        "an active exclusion matched none of the sample events (`--events`)",
    ),
    code(
        "placeholder",
        Severity::Error,
        false,
        "`owner`, `reason` or `ticket` still holds the `TODO` placeholder an import wrote",
    ),
    code("unknown-allow", Severity::Error, false, "`allow` names a code that no exclusion finding has"),
    code("unused-allow", Severity::Warning, false, "an `allow` entry accepts no finding"),
];

/// The lint code named `code`.
pub fn lint_code(code: &str) -> Option<&'static LintCode> {
    LINT_CODES.iter().find(|c| c.code == code)
}

/// A diagnostic with the default severity of its lint code.
pub(crate) fn finding(code: &'static str, message: impl Into<String>) -> Diagnostic {
    let severity = lint_code(code).map_or(Severity::Warning, |c| c.severity);
    Diagnostic { severity, ..Diagnostic::error(code, message) }
}

/// One finding of a lint run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub diagnostic: Diagnostic,
    /// The exclusion the finding is about, whose `allow` entries apply to it.
    pub exclusion: Option<String>,
    /// The reason of the `allow` entry that accepts it, if one does.
    pub allowed: Option<String>,
}

impl Finding {
    /// A finding about the policy as a whole (or a validation error).
    pub fn of_policy(diagnostic: Diagnostic) -> Finding {
        Finding { diagnostic, exclusion: None, allowed: None }
    }

    fn of(exclusion: &str, diagnostic: Diagnostic) -> Finding {
        Finding { diagnostic, exclusion: Some(exclusion.to_string()), allowed: None }
    }
}

/// What a lint run knows besides the policy.
#[derive(Clone, Debug)]
pub struct Options<'a> {
    /// The day expiry is judged on.
    pub today: Date,
    /// `expires-soon` fires this many days ahead.
    pub soon_days: i32,
    /// The counts of a run over sample events (`--events`), and the sample's name.
    pub sample: Option<(&'a str, &'a Stats)>,
}

/// The default of `--soon-days`.
pub const SOON_DAYS: i32 = 14;

/// Lints a validated policy. Findings come in file order.
pub fn lint(policy: &Policy, options: &Options<'_>) -> Vec<Finding> {
    let mut findings = rules::run(policy, options);
    apply_allows(policy, options, &mut findings);
    findings.sort_by_key(|f| (f.diagnostic.span.map_or(usize::MAX, |s| s.start), f.diagnostic.code));
    let mut seen = HashSet::new();
    findings.retain(|f| {
        seen.insert((f.diagnostic.code, f.diagnostic.span, f.exclusion.clone(), f.diagnostic.message.clone()))
    });
    findings
}

/// Marks findings accepted by `allow` entries, and reports entries that name no lint code
/// of an exclusion or accept nothing.
fn apply_allows(policy: &Policy, options: &Options<'_>, findings: &mut Vec<Finding>) {
    let mut extra = Vec::new();
    for e in &policy.exclusions {
        for a in &e.allow {
            let known = lint_code(&a.code);
            match known {
                Some(c) if c.allowable => {}
                Some(c) => {
                    extra.push(Finding::of(
                        e.id.as_str(),
                        finding("unknown-allow", format!("`{}` cannot be allowed on an exclusion", c.code))
                            .at(a.code_span)
                            .label("not a finding about one exclusion")
                            .help(format!(
                                "`{}` is about the policy as a whole: fix it where it is reported",
                                c.code
                            )),
                    ));
                    continue;
                }
                None => {
                    let mut d = finding("unknown-allow", format!("`{}` is not a lint code", shown(&a.code)))
                        .at(a.code_span)
                        .label("this allow accepts nothing");
                    let allowable = LINT_CODES.iter().filter(|c| c.allowable).map(|c| c.code);
                    d = match did_you_mean(&a.code, allowable.clone()) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help(format!("the codes an exclusion may allow are {}", quoted(allowable))),
                    };
                    extra.push(Finding::of(e.id.as_str(), d));
                    continue;
                }
            }
            let mut used = false;
            for f in findings.iter_mut() {
                if f.exclusion.as_deref() == Some(e.id.as_str()) && f.diagnostic.code == a.code {
                    f.allowed = Some(a.reason.clone());
                    used = true;
                }
            }
            // Without a sample nothing can be said about `unmatched-exclusion`.
            let undecidable = a.code == "unmatched-exclusion" && options.sample.is_none();
            if !used && !undecidable {
                extra.push(Finding::of(
                    e.id.as_str(),
                    finding(
                        "unused-allow",
                        format!("`allow` of `{}` accepts no finding of `{}`", a.code, e.id),
                    )
                    .at(a.span)
                    .label("nothing to allow")
                    .help("remove the entry: an allow that accepts nothing hides the next real finding"),
                ));
            }
        }
    }
    findings.append(&mut extra);
}

fn quoted<'a>(codes: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = codes.collect();
    crate::raw::quoted_list(&v)
}

/// Counts of findings by severity, and of allowed ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub error: usize,
    pub warning: usize,
    pub note: usize,
    pub allowed: usize,
}

impl Counts {
    pub fn of(findings: &[Finding]) -> Counts {
        let mut c = Counts::default();
        for f in findings {
            if f.allowed.is_some() {
                c.allowed += 1;
                continue;
            }
            match f.diagnostic.severity {
                Severity::Error => c.error += 1,
                Severity::Warning => c.warning += 1,
                Severity::Note => c.note += 1,
            }
        }
        c
    }

    /// `1 error, 2 warnings, 0 notes, 1 allowed`
    pub fn sentence(&self) -> String {
        let n = |k: usize, what: &str| format!("{k} {what}{}", if k == 1 { "" } else { "s" });
        format!(
            "{}, {}, {}, {} allowed",
            n(self.error, "error"),
            n(self.warning, "warning"),
            n(self.note, "note"),
            self.allowed
        )
    }
}

/// Findings as compiler-style text (allowed ones are left out), then a summary line, and
/// the hit counts of a sample when there is one.
pub fn render_text(
    findings: &[Finding],
    file_name: &str,
    source: &str,
    sample: Option<(&str, &Stats)>,
    color: bool,
) -> String {
    let shown: Vec<Diagnostic> =
        findings.iter().filter(|f| f.allowed.is_none()).map(|f| f.diagnostic.clone()).collect();
    let mut out = diag::render(&shown, file_name, source, color);
    if let Some((name, stats)) = sample {
        let _ = writeln!(out, "hits in `{name}` ({} rows, {} excluded):", stats.total, stats.excluded);
        let width = stats.by_exclusion.iter().map(|(id, _)| id.len()).max().unwrap_or(0);
        for (id, n) in &stats.by_exclusion {
            let _ = writeln!(out, "  {id:<width$}  {n}");
        }
    }
    let _ = writeln!(out, "{file_name}: {}", Counts::of(findings).sentence());
    out
}

/// One finding as JSON: code, severity, message, place (1-based, columns in characters),
/// label, help, the exclusion it is about and the reason it is allowed.
pub fn finding_json(f: &Finding, source: &str) -> serde_json::Value {
    let d = &f.diagnostic;
    let place = d.span.map(|s| {
        let (line, column) = diag::line_col(source, s.start);
        let (end_line, end_column) = diag::line_col(source, s.end);
        serde_json::json!({ "line": line, "column": column, "end_line": end_line, "end_column": end_column })
    });
    serde_json::json!({
        "code": d.code,
        "severity": d.severity.as_str(),
        "message": d.message,
        "exclusion": f.exclusion,
        "location": place,
        "label": d.label,
        "help": d.help,
        "allowed": f.allowed,
    })
}
