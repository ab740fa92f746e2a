//! `fpx explain`: which condition decided each exclusion.

use crate::common::{TODAY, fpx, fpx_with_stdin};

const POLICY: &str = "policies/bulk-email-fp.toml";

#[test]
fn explains_a_hit_and_the_deciding_field_of_each_miss() {
    let event = r#"{"SenderFromAddress":"reports@company.com","SenderIPv4":"10.20.31.15","EmailDirection":"Inbound"}"#;
    let run = fpx(&["explain", "--policy", POLICY, "--today", TODAY, event]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.stdout_str();
    assert!(out.starts_with("kept: no active exclusion matches"), "{out}");
    assert!(out.contains("scheduled-reports: not matched"), "{out}");
    assert!(
        out.contains(
            "  sender = \"reports@company.com\": matches `reports@company.com` (via @report-senders)"
        ),
        "{out}"
    );
    assert!(out.contains("  source_ip = \"SenderIPv4=10.20.31.15\": no value matches  <- decides"), "{out}");
    assert!(out.contains("legacy-newsletter: expired"), "{out}");

    let hit = r#"{"SenderFromAddress":"Reports@Company.com","SenderIPv6":"2001:db8:20::9"}"#;
    let run = fpx_with_stdin(
        &["explain", "--policy", POLICY, "--today", TODAY, "--format", "json", "-"],
        hit.as_bytes(),
    );
    let v: serde_json::Value = serde_json::from_str(&run.stdout_str()).unwrap();
    assert_eq!(v["verdict"], "excluded");
    assert_eq!(v["matched"], serde_json::json!(["scheduled-reports"]));
}

#[test]
fn bad_event_is_a_usage_error() {
    let run = fpx(&["explain", "--policy", POLICY, "not json"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("the event is not a JSON object"), "{}", run.stderr);
}
