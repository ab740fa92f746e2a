//! `fpx import`: watchlists and Sigma filters become policies that pass `fpx check`, and
//! what cannot be imported is reported with its line, never dropped silently.

use crate::cli::run;
use crate::common::{TODAY, snapshots, tempdir};

const PARTNER: &str = "tests/import/watchlist/partner-relays-export.csv";
const VIP: &str = "tests/import/watchlist/vip-senders.csv";
const BAD: &str = "tests/import/watchlist/bad-rows.csv";
const SIGMA_OK: [&str; 2] =
    ["tests/import/sigma/mf_bulk_mail_vendors.yml", "tests/import/sigma/mf_helpdesk_notifications.yml"];
const SIGMA_REFUSED: &str = "tests/import/sigma/mf_refused.yml";

/// Checks an imported policy: valid for `fpx check`, and `fpx lint` fails on its
/// placeholders (and only them, among errors).
fn assert_reviewable(name: &str, text: &str) {
    let dir = tempdir(&format!("import-{name}"));
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    let p = path.to_str().unwrap();
    let check = run(&["check", "--today", TODAY, p]);
    assert_eq!(check.code, 0, "{name}: {}\n{text}", check.stderr);
    let lint = run(&["lint", "--today", TODAY, "--format", "json", p]);
    assert_eq!(lint.code, 1, "{name}: the placeholders fail lint");
    let doc: serde_json::Value = serde_json::from_slice(&lint.stdout).unwrap();
    let errors: Vec<&str> = doc["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(!errors.is_empty() && errors.iter().all(|c| *c == "placeholder"), "{name}: {errors:?}");
}

#[test]
fn watchlists_import_into_valid_policies() {
    let cases: [(&str, Vec<&str>); 3] = [
        (
            "partner-relays",
            vec!["import", "watchlist", PARTNER, "--field", "sender", "--field", "source_ip=RelayIP"],
        ),
        (
            "vip-senders",
            vec!["import", "watchlist", VIP, "--field", "sender", "--search-key", "Sender", "--separate"],
        ),
        (
            "partner-relays-separate",
            vec![
                "import",
                "watchlist",
                PARTNER,
                "--name",
                "partners",
                "--field",
                "sender=SenderAddress",
                "--field",
                "source_ip=RelayIP",
                "--separate",
            ],
        ),
    ];
    for (name, args) in cases {
        let r = run(&args);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        let text = r.stdout_str();
        assert_reviewable(name, &text);
        snapshots().bind(|| insta::assert_snapshot!(format!("import-watchlist-{name}"), text));
    }
}

#[test]
fn literal_values_that_look_like_references_stay_literal() {
    let r = run(&["import", "watchlist", VIP, "--field", "sender", "--search-key", "Sender"]);
    let policy = fpx::validate::load(&r.stdout_str()).unwrap();
    let list = &policy.lists[0];
    let values: Vec<&str> = list.values.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(values[2], "@@@legacy-alias", "written escaped");
    let texts: Vec<&str> =
        policy.exclusions[0].conditions[0].values.iter().map(|v| v.text.as_str()).collect();
    assert_eq!(texts[2], "@@legacy-alias", "read back as the watchlist's text");
}

#[test]
fn bad_rows_are_errors_with_line_numbers_unless_skipped() {
    let args = ["import", "watchlist", BAD, "--field", "sender", "--field", "source_ip=RelayIP"];
    let r = run(&args);
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty(), "nothing written");
    for line in [3, 4, 5, 6, 7] {
        assert!(r.stderr.contains(&format!("error: `{BAD}:{line}`: ")), "line {line}:\n{}", r.stderr);
    }
    assert!(r.stderr.contains("did you mean `10.1.0.0/16`?"), "{}", r.stderr);
    snapshots().bind(|| insta::assert_snapshot!("import-watchlist-bad-rows-stderr", r.stderr));

    let mut skip = args.to_vec();
    skip.push("--skip-bad");
    let r = run(&skip);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr.matches("(skipped)").count(), 5, "{}", r.stderr);
    let text = r.stdout_str();
    for line in [3, 4, 5, 6, 7] {
        assert!(
            text.contains(&format!("#   line {line}: ")),
            "the policy lists skipped line {line}:\n{text}"
        );
    }
    assert_reviewable("bad-rows-skipped", &text);
}

#[test]
fn watchlist_settings_errors_name_the_column() {
    let r = run(&["import", "watchlist", VIP, "--field", "sender"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("the header has no column `SearchKey`"), "{}", r.stderr);
    assert!(r.stderr.contains("--search-key"), "{}", r.stderr);
    let r = run(&["import", "watchlist", PARTNER, "--field", "source_ip=RelayIp"]);
    assert!(r.stderr.contains("did you mean `RelayIP`?"), "{}", r.stderr);
    let r = run(&["import", "watchlist", PARTNER, "--field", "direction"]);
    assert_eq!(r.code, 2, "not a field a watchlist fills: a usage error");
    let r = run(&["import", "watchlist", PARTNER, "--field", "sender", "--name", "Not Kebab"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("did you mean `not-kebab`?"), "{}", r.stderr);
}

#[test]
fn sigma_filters_import_into_a_valid_policy() {
    let mut args = vec!["import", "sigma", "--name", "sigma-imported"];
    args.extend(SIGMA_OK);
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("3 filters read: 6 exclusions written"), "{}", r.stderr);
    let text = r.stdout_str();
    assert_reviewable("sigma-imported", &text);
    snapshots().bind(|| insta::assert_snapshot!("import-sigma", text));
    let policy = fpx::validate::load(&text).unwrap();
    let reset = policy.exclusion("password-reset-service").unwrap();
    assert!(reset.scope.rules.is_empty(), "`rules: any` applies to every rule");
    let literal = policy.exclusion("helpdesk-ticket-notifications-3").unwrap();
    assert_eq!(literal.conditions[0].values[0].text, "Priority * escalation", "`\\*` is a literal star");
}

#[test]
fn sigma_constructs_without_an_exact_equivalent_are_refused_by_name() {
    let r = run(&["import", "sigma", SIGMA_REFUSED]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty());
    for construct in [
        "`|cased`",
        "`|all`",
        "`|base64offset`",
        "`|exists`",
        "`|fieldref`",
        "is null",
        "`|lt`",
        "is a number",
        "list of keywords",
        "must negate its selections",
        "a `not` inside the negated part",
        "`2 of` counts matches",
        "is not an IPv4 network",
        "only wildcards",
        "`\\d` means different things",
        "`SenderAddress` is not an EmailEvents column",
        "both become `source_ip`",
        "a Sigma rule, not a filter",
    ] {
        assert!(r.stderr.contains(construct), "refusal naming {construct}:\n{}", r.stderr);
    }
    assert!(r.stderr.contains("18 problems in the Sigma filters: nothing written"), "{}", r.stderr);
    snapshots().bind(|| insta::assert_snapshot!("import-sigma-refused-stderr", r.stderr));

    // With --skip-bad the good filters still import; the refused ones are listed.
    let mut args = vec!["import", "sigma", "--skip-bad", "--name", "mixed", SIGMA_REFUSED];
    args.extend(SIGMA_OK);
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = r.stdout_str();
    assert!(text.contains(&format!("#   {SIGMA_REFUSED}:7: `Subject|cased`")), "{text}");
    assert_reviewable("mixed", &text);
}

#[test]
fn invalid_yaml_and_empty_files_are_reported() {
    let dir = tempdir("sigma-yaml");
    let bad = dir.join("bad.yml");
    std::fs::write(&bad, "title: x\nfilter: [unclosed\n").unwrap();
    let r = run(&["import", "sigma", bad.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("is not valid YAML"), "{}", r.stderr);
    let alias = dir.join("alias.yml");
    std::fs::write(
        &alias,
        "title: x\nlogsource: {}\nfilter:\n  rules: any\n  a: &x {Subject: y}\n  b: *x\n  condition: not a\n",
    )
    .unwrap();
    let r = run(&["import", "sigma", alias.to_str().unwrap()]);
    assert!(r.stderr.contains("aliases"), "{}", r.stderr);
}
