//! `fpx diff`: a semantic diff of two versions of a policy, widening changes first, and
//! what the change does to sample events.

use serde_json::Value;

use crate::common::{TODAY, assert_tables_well_formed, fpx, render_markdown, snapshots};

const V1: &str = "tests/diff/bulk-email-fp.v1.toml";
const V2: &str = "tests/diff/bulk-email-fp.v2.toml";
const EVENTS: &str = "tests/data/bulk-email.jsonl";

fn diff_json(old: &str, new: &str) -> Value {
    let run = fpx(&["diff", "--today", TODAY, "--events", EVENTS, "--format", "json", old, new]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_slice(&run.stdout).unwrap()
}

#[test]
fn changes_are_classified_and_widening_comes_first() {
    let doc = diff_json(V1, V2);
    let exclusions = doc["diff"]["exclusions"].as_array().unwrap();
    let summary: Vec<(&str, &str, &str)> = exclusions
        .iter()
        .map(|e| (e["id"].as_str().unwrap(), e["kind"].as_str().unwrap(), e["effect"].as_str().unwrap()))
        .collect();
    assert_eq!(
        summary,
        [
            ("scheduled-reports", "changed", "widens"),
            ("password-reset", "changed", "widens"),
            ("siem-notifications", "changed", "widens"),
            ("project-team-list", "changed", "widens"),
            ("hr-survey-platform", "added", "widens"),
            ("marketing-platform", "changed", "narrows"),
            ("legacy-newsletter", "removed", "neutral"),
        ]
    );
    let reports = &exclusions[0]["changes"];
    assert_eq!(reports[0]["what"], "source_ip");
    assert_eq!(
        reports[0]["added"],
        serde_json::json!([{ "test": "in", "value": "10.20.31.0/24", "via": "mail-servers" }])
    );
    assert_eq!(reports[1]["summary"], "extended from 2027-03-31 to 2027-09-30");
    assert_eq!(reports[2]["effect"], "neutral");
    assert_eq!(reports[2]["summary"], "ticket: `SOC-1042` → `SOC-1190`");
    let reset = &exclusions[1]["changes"][0];
    assert_eq!((reset["effect"].as_str(), reset["what"].as_str()), (Some("widens"), Some("source_ip")));
    assert!(reset["summary"].as_str().unwrap().starts_with("condition removed: source IP in"));
}

#[test]
fn sample_rows_newly_excluded_and_newly_kept() {
    let doc = diff_json(V1, V2);
    let ev = &doc["events"];
    assert_eq!(ev["rows"], 39);
    let lines = |k: &str| -> Vec<(u64, String)> {
        ev[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (r["line"].as_u64().unwrap(), r["row"]["NetworkMessageId"].as_str().unwrap().to_string())
            })
            .collect()
    };
    assert_eq!(
        lines("newly_excluded"),
        [(4, "miss-reports-outside-cidr".to_string()), (15, "miss-password-reset-external-ip".to_string())]
    );
    assert_eq!(
        lines("newly_kept"),
        [
            (23, "hit-marketing-platform-1".to_string()),
            (24, "hit-marketing-platform-2".to_string()),
            // v1 trusted the domain and header alone, so it also hid this forged message.
            (28, "miss-marketing-forged-elsewhere".to_string()),
        ]
    );
    assert_eq!(ev["newly_excluded"][0]["after"], serde_json::json!(["scheduled-reports"]));
    let hits: Vec<(&str, Value, Value)> = ev["by_exclusion"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["id"].as_str().unwrap(), h["before"].clone(), h["after"].clone()))
        .collect();
    assert!(hits.contains(&("marketing-platform", 3.into(), 0.into())), "{hits:?}");
    assert!(hits.contains(&("hr-survey-platform", Value::Null, 0.into())), "{hits:?}");
}

#[test]
fn markdown_diff_renders_and_is_snapshotted() {
    let run = fpx(&["diff", "--today", TODAY, "--events", EVENTS, V1, V2]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let md = run.stdout_str();
    let r = render_markdown(&md);
    assert!(r.html.is_empty());
    assert_tables_well_formed(&r);
    assert_eq!(r.tables.len(), 3, "hits, newly excluded, newly kept");
    let widens = md.find("## Widens: review first").unwrap();
    let narrows = md.find("## Narrows").unwrap();
    assert!(widens < narrows);
    snapshots().bind(|| insta::assert_snapshot!("diff-bulk-email-fp-v1-v2", md));
}

#[test]
fn a_policy_against_itself_has_no_change() {
    let run = fpx(&["diff", "--today", TODAY, V1, V1]);
    assert_eq!(run.code, 0);
    assert!(run.stdout_str().contains("No change in what is excluded."), "{}", run.stdout_str());
}

fn policy(body: &str) -> fpx::model::Policy {
    fpx::validate::load(&format!("[policy]\nname = \"p\"\n{body}")).unwrap()
}

fn one_exclusion(conditions: &str, extra: &str) -> fpx::model::Policy {
    policy(&format!("[[exclusion]]\nid = \"e\"\nreason = \"r\"\nowner = \"o\"\n{extra}\n{conditions}\n"))
}

fn changes(old: &fpx::model::Policy, new: &fpx::model::Policy) -> Vec<(String, String)> {
    let d = fpx::diff::diff(old, new, TODAY.parse().unwrap());
    d.exclusions
        .iter()
        .flat_map(|e| e.changes.iter().map(|c| (c.effect.as_str().to_string(), c.summary.clone())))
        .collect()
}

#[test]
fn values_compare_by_meaning() {
    let a = one_exclusion("sender = [\"*@X.com\"]\nsource_ip = [\"10.0.0.0/24\"]", "");
    let b = one_exclusion("sender.ends_with = [\"@x.com\"]\nsource_ip = [\"10.0.0.0/24\"]", "");
    assert!(changes(&a, &b).is_empty(), "the same meaning, spelt differently");
    // A value replaced by a broader one that covers it widens only.
    let narrow = one_exclusion("sender = [\"a@x.com\"]\nsource_ip = [\"10.0.0.0/24\"]", "");
    let broad = one_exclusion("sender = [\"*@x.com\"]\nsource_ip = [\"10.0.0.0/16\"]", "");
    let c = changes(&narrow, &broad);
    assert_eq!(c.iter().filter(|(e, _)| e == "widens").count(), 2, "{c:?}");
    assert_eq!(c.iter().filter(|(e, _)| e == "narrows").count(), 0, "{c:?}");
    let c = changes(&broad, &narrow);
    assert_eq!(c.iter().filter(|(e, _)| e == "narrows").count(), 2, "{c:?}");
}

#[test]
fn scope_expiry_and_conditions() {
    let base = "sender = [\"a@x.com\"]";
    let scoped = one_exclusion(base, "rules = [\"Rule A\"]\nexpires = 2027-01-31");
    let everywhere = one_exclusion(base, "expires = 2027-01-31");
    assert_eq!(changes(&scoped, &everywhere), [("widens".into(), "now applies to every rule".into())]);
    let more = one_exclusion(base, "rules = [\"Rule A\", \"rule b\"]\nexpires = 2027-01-31");
    assert_eq!(changes(&scoped, &more), [("widens".into(), "now also applies to `rule b`".into())]);
    let never = one_exclusion(base, "rules = [\"Rule A\"]");
    assert_eq!(changes(&scoped, &never), [("widens".into(), "no longer expires (was 2027-01-31)".into())]);
    let past = one_exclusion(base, "rules = [\"Rule A\"]\nexpires = 2026-11-30");
    assert_eq!(
        changes(&scoped, &past),
        [("narrows".into(), "shortened from 2027-01-31 to 2026-11-30, newly expired".into())]
    );
    let with_network = one_exclusion(
        &format!("{base}\nsource_ip = [\"10.0.0.0/8\"]"),
        "rules = [\"Rule A\"]\nexpires = 2027-01-31",
    );
    assert_eq!(
        changes(&scoped, &with_network),
        [("narrows".into(), "condition added: source IP in `10.0.0.0/8`".into())]
    );
}
