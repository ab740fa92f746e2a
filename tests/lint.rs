//! `fpx lint`: every lint code has a fixture that triggers exactly it and a near miss that
//! does not; allows, exit codes, output formats and invalid policies.

use std::collections::BTreeSet;

use fpx::lint::{LINT_CODES, Options, SOON_DAYS};
use serde_json::Value;

use crate::common::{TODAY, fpx, path, read};

const EVENTS: &str = "tests/data/bulk-email.jsonl";

fn codes() -> Vec<&'static str> {
    LINT_CODES.iter().map(|c| c.code).collect()
}

/// Lints a fixture through the binary as JSON; `unmatched-exclusion` needs the sample.
fn lint_json(rel: &str) -> (i32, Value) {
    let mut args = vec!["lint", "--today", TODAY, "--format", "json"];
    if rel.ends_with("unmatched-exclusion.toml") {
        args.extend(["--events", EVENTS]);
    }
    args.push(rel);
    let run = fpx(&args);
    assert!(run.code == 0 || run.code == 1, "{rel}: {}", run.stderr);
    (run.code, serde_json::from_slice(&run.stdout).expect("lint JSON"))
}

fn open_findings(doc: &Value) -> Vec<&Value> {
    doc["files"][0]["findings"].as_array().unwrap().iter().filter(|f| f["allowed"].is_null()).collect()
}

#[test]
fn every_code_has_a_fixture_and_every_fixture_a_code() {
    let mut fixtures: Vec<String> = std::fs::read_dir(path("policies/lint"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    fixtures.sort();
    let mut expected = codes();
    expected.sort();
    assert_eq!(fixtures, expected);
}

#[test]
fn each_fixture_triggers_exactly_its_code_and_never_on_its_near_miss() {
    for code in codes() {
        let rel = format!("policies/lint/{code}.toml");
        assert!(read(&rel).contains("near-miss"), "{rel} has a near miss");
        let check = fpx(&["check", "--today", TODAY, &rel]);
        assert_eq!(check.code, 0, "{rel} is a valid policy: {}", check.stderr);
        let (exit, doc) = lint_json(&rel);
        let findings = open_findings(&doc);
        let found: BTreeSet<&str> = findings.iter().map(|f| f["code"].as_str().unwrap()).collect();
        assert_eq!(found, BTreeSet::from([code]), "{rel}: {findings:#?}");
        for f in &findings {
            let text = f.to_string();
            assert!(!text.contains("near-miss"), "{rel}: the near miss must not trigger `{code}`: {text}");
            assert!(f["location"]["line"].as_u64().unwrap() >= 1, "{rel}: every finding has a place");
        }
        let severity = LINT_CODES.iter().find(|c| c.code == code).unwrap().severity;
        let expected_exit = if severity == fpx::diag::Severity::Error { 1 } else { 0 };
        assert_eq!(exit, expected_exit, "{rel}: exit code");
    }
}

#[test]
fn example_policies_trigger_none_of_the_fixture_codes_by_accident() {
    // The large tenant is a clean policy: its one finding is accepted with a reason.
    let (exit, doc) = lint_json("policies/large-tenant.toml");
    assert_eq!(exit, 0);
    assert!(open_findings(&doc).is_empty(), "{doc:#}");
    let allowed: Vec<&Value> =
        doc["files"][0]["findings"].as_array().unwrap().iter().filter(|f| !f["allowed"].is_null()).collect();
    assert_eq!(allowed.len(), 1);
    assert_eq!(allowed[0]["code"], "spoofable");
}

#[test]
fn over_broad_recognises_what_values_mean_not_how_they_are_spelled() {
    let policy = |values: &str| {
        format!(
            "[policy]\nname = \"p\"\n[[exclusion]]\nid = \"e\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2027-06-30\nsource_ip = [\"10.0.0.0/24\"]\n{values}\n"
        )
    };
    let over_broad = |values: &str| {
        let p = fpx::validate::load(&policy(values)).unwrap();
        let opts = Options { today: "2026-12-04".parse().unwrap(), soon_days: SOON_DAYS, sample: None };
        fpx::lint::lint(&p, &opts).iter().filter(|f| f.diagnostic.code == "over-broad").count()
    };
    for bad in [
        "sender = [\"*\"]",
        "sender = [\"**\"]",
        "sender = [\"*?\"]",
        "sender = [\"*@*\"]",
        "sender = [\"*@*.*\"]",
        "sender.ends_with = [\"@GMail.com\"]",
        "sender = [\"*@outlook.com\"]",
        "mail_from = [\"*@amazonses.com\"]",
        "sender = [\"*.onmicrosoft.com\"]",
        "sender_domain = [\"*.onmicrosoft.com\"]",
        "sender_domain = [\"gmail.com\"]",
        "sender_domain = [\"*.co.uk\"]",
        "sender = [\"*.com\"]",
        "subject.regex = [\"a*\"]",
        "subject.contains = [\"abc\"]",
        "subject = [\"*ab*\"]",
        "recipient = [\"*\"]",
    ] {
        assert_eq!(over_broad(bad), 1, "{bad}");
    }
    for good in [
        "sender = [\"*@company.com\"]",
        "sender = [\"*@news.company.com\"]",
        "sender_domain = [\"company.com\"]",
        "sender_domain = [\"contoso.onmicrosoft.com\"]",
        "subject.contains = [\"abcd\"]",
        "subject.regex = [\"^Alert\"]",
        "direction = [\"Inbound\"]",
    ] {
        assert_eq!(over_broad(good), 0, "{good}");
    }
}

#[test]
fn networks_wider_than_the_limits_are_over_broad_only_when_public() {
    let lint = |net: &str| {
        let src = format!(
            "[policy]\nname = \"p\"\n[[exclusion]]\nid = \"e\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2027-06-30\nsender = [\"a@company.com\"]\nsource_ip = [\"{net}\"]\n"
        );
        let p = fpx::validate::load(&src).unwrap();
        let opts = Options { today: "2026-12-04".parse().unwrap(), soon_days: SOON_DAYS, sample: None };
        fpx::lint::lint(&p, &opts).iter().any(|f| f.diagnostic.code == "over-broad")
    };
    for bad in ["0.0.0.0/0", "::/0", "8.0.0.0/8", "52.0.0.0/15", "2001:db8::/31", "2000::/3"] {
        assert!(lint(bad), "{bad}");
    }
    for good in ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "52.0.0.0/16", "2001:db8::/32", "fd00::/8"]
    {
        assert!(!lint(good), "{good}");
    }
}

#[test]
fn shadowing_needs_the_same_rules_and_at_least_the_same_lifetime() {
    let src = r#"
[policy]
name = "p"
[[exclusion]]
id = "broad"
reason = "r"
owner = "o"
expires = 2027-06-30
sender.ends_with = ["@company.com"]
source_ip = ["10.20.0.0/16"]
[[exclusion]]
id = "same-as-broad"
reason = "r"
owner = "o"
expires = 2027-06-30
sender = ["*@Company.com"]
source_ip = ["10.20.0.0/16"]
[[exclusion]]
id = "narrow-equals"
reason = "r"
owner = "o"
expires = 2027-01-31
sender.equals = ["Reports@company.com"]
source_ip = ["10.20.30.7"]
direction = ["Inbound"]
[[exclusion]]
id = "narrow-but-longer"
reason = "r"
owner = "o"
expires = 2028-01-31
sender = ["alerts@company.com"]
source_ip = ["10.20.30.7"]
[[exclusion]]
id = "narrow-other-field"
reason = "r"
owner = "o"
expires = 2027-01-31
mail_from = ["alerts@company.com"]
source_ip = ["10.20.30.7"]
"#;
    let p = fpx::validate::load(src).unwrap();
    let opts = Options { today: "2026-12-04".parse().unwrap(), soon_days: SOON_DAYS, sample: None };
    let shadowed: Vec<String> = fpx::lint::lint(&p, &opts)
        .into_iter()
        .filter(|f| f.diagnostic.code == "shadowed")
        .map(|f| f.exclusion.unwrap())
        .collect();
    // Identical exclusions report the later one only.
    assert_eq!(shadowed, ["same-as-broad", "narrow-equals"]);
}

#[test]
fn allows_accept_findings_and_unknown_or_unused_allows_are_findings() {
    let (_, doc) = lint_json("policies/lint/unknown-allow.toml");
    let findings = doc["files"][0]["findings"].as_array().unwrap();
    let unknown = findings.iter().find(|f| f["code"] == "unknown-allow").unwrap();
    assert_eq!(unknown["help"][0], "did you mean `spoofable`?");
    assert_eq!(unknown["severity"], "error");
    let accepted = findings.iter().find(|f| !f["allowed"].is_null()).unwrap();
    assert_eq!(accepted["code"], "spoofable");
    assert_eq!(accepted["exclusion"], "near-miss-gateway-digest");
    assert!(accepted["allowed"].as_str().unwrap().contains("DMARC"));
    assert_eq!(doc["counts"]["allowed"], 1);
}

#[test]
fn unmatched_exclusion_needs_events_and_hits_are_reported() {
    let rel = "policies/lint/unmatched-exclusion.toml";
    let run = fpx(&["lint", "--today", TODAY, "--color", "never", rel]);
    assert_eq!(run.code, 0);
    assert!(!run.stdout_str().contains("warning[unmatched-exclusion]"));
    let run = fpx(&["lint", "--today", TODAY, "--color", "never", "--events", EVENTS, rel]);
    let out = run.stdout_str();
    assert!(
        out.contains("warning[unmatched-exclusion]: exclusion `retired-tool` matched none of the 39 events"),
        "{out}"
    );
    assert!(out.contains("hits in `tests/data/bulk-email.jsonl` (39 rows, 2 excluded):"), "{out}");
    assert!(out.contains("  near-miss-report-job  2\n"), "{out}");
    let (_, doc) = lint_json(rel);
    assert_eq!(
        doc["files"][0]["events"]["hits"],
        serde_json::json!({ "retired-tool": 0, "near-miss-report-job": 2 })
    );
}

#[test]
fn seed_policy_text_output_and_exit_code() {
    let run = fpx(&["lint", "--today", TODAY, "--color", "never", "policies/bulk-email-fp.toml"]);
    assert_eq!(run.code, 1, "the expired exclusion is an error");
    let out = run.stdout_str();
    assert!(out.contains("error[expired]: exclusion `legacy-newsletter` expired on 2026-06-30\n"), "{out}");
    assert!(out.contains("--> policies/bulk-email-fp.toml:"), "{out}");
    assert!(out.ends_with("policies/bulk-email-fp.toml: 1 error, 0 warnings, 0 notes, 0 allowed\n"), "{out}");
    // A later day turns expiry around: everything has expired by 2030.
    let run = fpx(&[
        "lint",
        "--today",
        "2026-06-01",
        "--soon-days",
        "60",
        "--format",
        "json",
        "policies/bulk-email-fp.toml",
    ]);
    let doc: Value = serde_json::from_slice(&run.stdout).unwrap();
    let codes: BTreeSet<&str> =
        doc["files"][0]["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert!(codes.contains("expires-soon") && !codes.contains("expired"), "{codes:?}");
    assert_eq!(run.code, 0);
}

#[test]
fn invalid_policies_report_the_validation_errors_and_exit_1() {
    let run = fpx(&[
        "lint",
        "--color",
        "never",
        "tests/bad/cidr-host-bits.toml",
        "policies/threat-intel-email-fp.toml",
    ]);
    assert_eq!(run.code, 1);
    let out = run.stdout_str();
    let check = fpx(&["check", "--color", "never", "tests/bad/cidr-host-bits.toml"]);
    // The same diagnostics as `fpx check`, from the same validator.
    let rendered = check.stderr.split("error: `tests/bad/cidr-host-bits.toml` is invalid").next().unwrap();
    assert!(out.starts_with(rendered), "{out}\n---\n{rendered}");
    assert!(out.contains("policies/threat-intel-email-fp.toml: "), "every file is linted");
    let missing = fpx(&["lint", "does/not/exist.toml"]);
    assert_eq!(missing.code, 2);
}

#[test]
fn messages_follow_the_house_style() {
    for code in codes() {
        let (_, doc) = lint_json(&format!("policies/lint/{code}.toml"));
        for f in doc["files"][0]["findings"].as_array().unwrap() {
            let m = f["message"].as_str().unwrap();
            assert!(!m.ends_with('.') && !m.starts_with(char::is_uppercase), "{code}: {m}");
            for h in f["help"].as_array().unwrap() {
                assert!(!h.as_str().unwrap().is_empty());
            }
        }
    }
}

#[test]
fn every_code_is_documented_with_an_example() {
    let doc = read("policies/README.md");
    for c in LINT_CODES {
        assert!(
            doc.contains(&format!("\n### `{}`\n", c.code)),
            "{}: a section in policies/README.md",
            c.code
        );
        let row = format!("| `{}` | {} |", c.code, c.severity);
        assert!(doc.contains(&row), "{}: a table row with its default severity", c.code);
    }
}
