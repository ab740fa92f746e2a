//! `fpx lint`: findings for review, as text, JSON or SARIF.

use std::path::PathBuf;

use jiff::civil::Date;

use super::{Exit, LintFormat, Ui, compile_sample, read_events, read_text, write_stdout};
use crate::compile::Selection;
use crate::diag::Severity;
use crate::lint::{self, Counts, Finding, Options};
use crate::sample::Events;
use crate::validate;

/// One linted file.
struct Linted {
    path: String,
    source: String,
    policy: Option<String>,
    findings: Vec<Finding>,
    stats: Option<crate::filter::Stats>,
}

pub(crate) fn run(
    paths: &[PathBuf],
    today: Option<Date>,
    soon_days: i32,
    events: Option<&std::path::Path>,
    format: LintFormat,
    ui: &Ui,
) -> Exit {
    let today = today.unwrap_or_else(Selection::utc_today);
    let events: Option<Events> = match events.map(|p| read_events(p, ui)).transpose() {
        Ok(e) => e,
        Err(code) => return code,
    };
    let mut exit = Exit::Ok;
    let mut linted = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        let source = match read_text(path) {
            Ok(s) => s,
            Err(m) => {
                ui.error(m);
                exit = exit.max_code(Exit::Usage);
                continue;
            }
        };
        let (policy, findings, stats) = match validate::load(&source) {
            // Load and lint share one validator: an invalid policy's findings are its errors.
            Err(diags) => (None, diags.into_iter().map(Finding::of_policy).collect(), None),
            Ok(policy) => {
                let stats = match &events {
                    Some(ev) => match compile_sample(&policy, today, ev, ui) {
                        Ok(run) => Some(run.stats),
                        Err(code) => return code,
                    },
                    None => None,
                };
                let sample = stats.as_ref().zip(events.as_ref()).map(|(s, e)| (e.name.as_str(), s));
                let options = Options { today, soon_days, sample };
                let findings = lint::lint(&policy, &options);
                (Some(policy.name.to_string()), findings, stats)
            }
        };
        linted.push(Linted { path: name, source, policy, findings, stats });
    }
    let rendered = match format {
        LintFormat::Text => {
            let mut out = String::new();
            for l in &linted {
                let sample = l.stats.as_ref().zip(events.as_ref()).map(|(s, e)| (e.name.as_str(), s));
                out.push_str(&lint::render_text(&l.findings, &l.path, &l.source, sample, ui.stdout_color));
            }
            out
        }
        LintFormat::Json => {
            let files: Vec<serde_json::Value> = linted
                .iter()
                .map(|l| {
                    let hits = l.stats.as_ref().map(|s| {
                        s.by_exclusion.iter().map(|(id, n)| (id.clone(), serde_json::json!(n))).collect::<serde_json::Map<_, _>>()
                    });
                    serde_json::json!({
                        "file": l.path,
                        "policy": l.policy,
                        "counts": Counts::of(&l.findings),
                        "findings": l.findings.iter().map(|f| lint::finding_json(f, &l.source)).collect::<Vec<_>>(),
                        "events": l.stats.as_ref().map(|s| serde_json::json!({
                            "file": events.as_ref().map(|e| e.name.as_str()),
                            "rows": s.total,
                            "excluded": s.excluded,
                            "hits": hits,
                        })),
                    })
                })
                .collect();
            let all: Vec<Finding> = linted.iter().flat_map(|l| l.findings.iter().cloned()).collect();
            let doc =
                serde_json::json!({ "today": today.to_string(), "counts": Counts::of(&all), "files": files });
            serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
        }
        LintFormat::Sarif => {
            let artifacts: Vec<crate::sarif::Artifact<'_>> = linted
                .iter()
                .map(|l| crate::sarif::Artifact { path: &l.path, source: &l.source, findings: &l.findings })
                .collect();
            serde_json::to_string_pretty(&crate::sarif::log(&artifacts)).unwrap_or_default() + "\n"
        }
    };
    if let Err(code) = write_stdout(&rendered, ui) {
        return code;
    }
    let errors = linted
        .iter()
        .flat_map(|l| &l.findings)
        .any(|f| f.allowed.is_none() && f.diagnostic.severity == Severity::Error);
    if errors {
        exit = exit.max_code(Exit::Findings);
    }
    exit
}
