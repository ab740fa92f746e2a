//! Lint findings as SARIF 2.1.0, the format GitHub code scanning uploads.
//!
//! One run whose driver lists every code fpx can report (lint codes and policy errors) as a
//! rule. Each finding is a result at its file, line and column; columns count Unicode
//! characters (`columnKind: unicodeCodePoints`) and end columns are exclusive. A finding
//! accepted by an `allow` carries an in-source suppression with the allow's reason.

use serde_json::{Value, json};

use crate::diag::{self, Severity};
use crate::lint::{Finding, LINT_CODES};
use crate::validate::ERROR_CODES;

/// The findings of one policy file.
#[derive(Clone, Copy, Debug)]
pub struct Artifact<'a> {
    /// The path as given, relative to the repository root in CI.
    pub path: &'a str,
    pub source: &'a str,
    pub findings: &'a [Finding],
}

/// Where the policy language and every code are documented.
const DOCS: &str = "policies/README.md";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// Every rule: lint codes, then policy errors, in a fixed order (results refer to them by
/// index).
fn rules() -> Vec<(&'static str, Severity, &'static str, &'static str)> {
    LINT_CODES
        .iter()
        .map(|c| (c.code, c.severity, c.meaning, "lint"))
        .chain(ERROR_CODES.iter().map(|(code, meaning)| (*code, Severity::Error, *meaning, "policy error")))
        .collect()
}

/// A path as a relative URI reference: `/` separators, and the characters a URI cannot
/// hold percent-encoded.
pub fn uri(path: &str) -> String {
    let mut out = String::new();
    for b in path.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The SARIF log of a lint run over some policy files.
pub fn log(artifacts: &[Artifact<'_>]) -> Value {
    let rules = rules();
    let descriptors: Vec<Value> = rules
        .iter()
        .map(|(code, severity, meaning, kind)| {
            json!({
                "id": code,
                "shortDescription": { "text": meaning },
                "fullDescription": { "text": format!("fpx {kind} `{code}`: {meaning}") },
                "help": {
                    "text": format!("{meaning}. See the `{code}` entry in {DOCS}."),
                    "markdown": format!("{meaning}. See the `{code}` entry in [{DOCS}]({DOCS})."),
                },
                "defaultConfiguration": { "level": level(*severity) },
                "properties": { "tags": [kind] },
            })
        })
        .collect();
    let mut results = Vec::new();
    for a in artifacts {
        for f in a.findings {
            results.push(result(a, f, &rules));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "fpx",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": descriptors,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

fn result(a: &Artifact<'_>, f: &Finding, rules: &[(&str, Severity, &str, &str)]) -> Value {
    let d = &f.diagnostic;
    let mut text = d.message.clone();
    if let Some(label) = &d.label {
        text.push_str(": ");
        text.push_str(label);
    }
    for h in &d.help {
        text.push_str("\nhelp: ");
        text.push_str(h);
    }
    let region = match d.span {
        Some(s) => {
            let (start_line, start_column) = diag::line_col(a.source, s.start);
            let (end_line, end_column) = diag::line_col(a.source, s.end.max(s.start));
            json!({ "startLine": start_line, "startColumn": start_column, "endLine": end_line, "endColumn": end_column })
        }
        None => json!({ "startLine": 1 }),
    };
    let mut r = serde_json::Map::new();
    r.insert("ruleId".into(), json!(d.code));
    if let Some(i) = rules.iter().position(|(code, ..)| *code == d.code) {
        r.insert("ruleIndex".into(), json!(i));
    }
    r.insert("level".into(), json!(level(d.severity)));
    r.insert("message".into(), json!({ "text": text }));
    r.insert(
        "locations".into(),
        json!([{ "physicalLocation": {
            "artifactLocation": { "uri": uri(a.path) },
            "region": region,
        }}]),
    );
    if let Some(reason) = &f.allowed {
        r.insert("suppressions".into(), json!([{ "kind": "inSource", "justification": reason }]));
    }
    if let Some(e) = &f.exclusion {
        r.insert("properties".into(), json!({ "exclusion": e }));
    }
    Value::Object(r)
}
