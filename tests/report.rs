//! `fpx report`: a review page that renders cleanly as GitHub Markdown, and its JSON.

use serde_json::Value;

use crate::common::{TODAY, assert_tables_well_formed, fpx, render_markdown};

const EVENTS: &str = "tests/data/bulk-email.jsonl";

#[test]
fn seed_report_renders_as_tables_with_one_row_per_exclusion() {
    let run = fpx(&["report", "--today", TODAY, "--events", EVENTS, "policies/bulk-email-fp.toml"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let md = run.stdout_str();
    let r = render_markdown(&md);
    assert!(r.html.is_empty(), "{:?}", r.html);
    assert_tables_well_formed(&r);
    assert_eq!(r.tables.len(), 3, "summary, exclusions, findings");
    let exclusions = &r.tables[1];
    assert_eq!(
        exclusions[0],
        ["id", "status", "owner", "ticket", "expires", "scope", "conditions", "reason", "hits"]
    );
    let ids: Vec<&str> = exclusions[1..].iter().map(|row| row[0].as_str()).collect();
    assert_eq!(
        ids,
        [
            "scheduled-reports",
            "password-reset",
            "siem-notifications",
            "siem-internal-header",
            "marketing-platform",
            "project-team-list",
            "legacy-newsletter"
        ]
    );
    let reports = &exclusions[1];
    assert_eq!(reports[1], "active");
    assert_eq!(reports[4], "2027-03-31 (117 days left)");
    assert_eq!(reports[8], "3");
    assert!(
        reports[6].starts_with("sender is reports@company.com, scheduled-reports@company.com"),
        "{}",
        reports[6]
    );
    assert_eq!(exclusions[7][1], "expired");
    assert_eq!(exclusions[7][8], "–");
    let summary: Vec<&str> = r.tables[0].iter().map(|row| row[1].as_str()).collect();
    assert!(summary.contains(&"tests/data/bulk-email.jsonl: 39 rows, 11 excluded"), "{summary:?}");
    let findings = &r.tables[2];
    assert_eq!(findings.len(), 2, "header and one finding: {findings:?}");
    assert_eq!(findings[1][1], "expired");
}

#[test]
fn user_text_cannot_break_the_page() {
    let dir = crate::common::tempdir("report-escaping");
    let policy = dir.join("evil.toml");
    let reason = "Vendor | partner <script>alert(1)</script> *not bold* [link](http://x) `tick` $x$ & co";
    let src = format!(
        r##"[policy]
name = "evil"
description = "# not a heading | <b>nor bold</b>"
header_column = "Headers"
[lists]
pipes = ["a|b@company.com"]
[[exclusion]]
id = "evil"
reason = '{reason}'
owner = "o`wner|<i>"
ticket = "T-1\nT-2"
expires = 2027-06-30
sender = ["@pipes", "x``y@company.com"]
source_ip = ["10.0.0.0/24"]
header."X-<b>|Tag" = ["1"]
"##
    );
    std::fs::write(&policy, src).unwrap();
    let p = policy.to_string_lossy().into_owned();
    let run = fpx(&["report", "--today", TODAY, &p]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let md = run.stdout_str();
    let r = render_markdown(&md);
    assert!(r.html.is_empty(), "no user text becomes HTML: {:?}\n{md}", r.html);
    assert_tables_well_formed(&r);
    let row = &r.tables[1][1];
    assert_eq!(row.len(), 8);
    assert_eq!(row[7], reason);
    assert_eq!(row[2], "o`wner|<i>");
    assert_eq!(row[3], "T-1 T-2");
    assert!(row[6].contains("a|b@company.com") && row[6].contains("x``y@company.com"), "{}", row[6]);
    assert!(row[6].contains("header X-<b>|Tag is 1"), "{}", row[6]);
    assert!(r.tables[0].iter().any(|c| c[1] == "# not a heading | <b>nor bold</b>"), "{:?}", r.tables[0]);
}

#[test]
fn kql_is_rendered_as_a_fenced_block_when_given() {
    let src = crate::common::read("policies/bulk-email-fp.toml");
    let policy = fpx::validate::load(&src).unwrap();
    let kql = "EmailEvents\n| where not(SenderFromAddress =~ \"a\")\n// ``` in a comment";
    let input = fpx::report::Input {
        policy: &policy,
        file: "policies/bulk-email-fp.toml",
        source: &src,
        today: TODAY.parse().unwrap(),
        findings: &[],
        sample: None,
        kql: Some(kql),
    };
    let r = render_markdown(&fpx::report::markdown(&input));
    assert_eq!(r.code_blocks, [("kql".to_string(), format!("{kql}\n"))]);
    let without = fpx::report::markdown(&fpx::report::Input { kql: None, ..input });
    assert!(!without.contains("## KQL"));
}

#[test]
fn json_report_has_the_same_facts() {
    let run = fpx(&[
        "report",
        "--today",
        TODAY,
        "--events",
        EVENTS,
        "--format",
        "json",
        "policies/bulk-email-fp.toml",
    ]);
    assert_eq!(run.code, 0);
    let doc: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(doc["policy"], "bulk-email-fp");
    assert_eq!(doc["exclusions"].as_array().unwrap().len(), 7);
    let first = &doc["exclusions"][0];
    assert_eq!(first["id"], "scheduled-reports");
    assert_eq!(first["days_left"], 117);
    assert_eq!(first["hits"], 3);
    assert_eq!(first["scope"]["inherited"], true);
    assert_eq!(doc["exclusions"][6]["days_left"], -157);
    assert_eq!(doc["lint"]["counts"]["error"], 1);
    assert_eq!(doc["events"]["rows"], 39);
    let kql = doc["kql"].as_str().unwrap();
    assert!(kql.starts_with("// fpx: bulk-email-fp, 6 of 7 exclusions active"), "{kql}");
    assert!(kql.contains("| where not("), "{kql}");
}

#[test]
fn invalid_policy_fails_like_check() {
    let run = fpx(&["report", "--color", "never", "tests/bad/unknown-key.toml"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("error[unknown-key]"));
    assert!(run.stdout.is_empty());
}
