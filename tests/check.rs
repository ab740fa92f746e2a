//! `fpx check` on the example policies.

use crate::common::{TODAY, fpx};

#[test]
fn example_policies_are_valid_and_summarised() {
    let policies: Vec<String> = std::fs::read_dir(crate::common::path("policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| format!("policies/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    assert!(policies.len() >= 2);
    let mut args = vec!["check", "--today", TODAY];
    args.extend(policies.iter().map(String::as_str));
    let run = fpx(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.stdout_str();
    assert_eq!(out.lines().count(), policies.len());
    assert!(
        out.contains(
            "policies/bulk-email-fp.toml: ok: policy `bulk-email-fp`, 7 exclusions, 6 active, 1 expired"
        ),
        "{out}"
    );
}

#[test]
fn one_bad_file_fails_the_run_but_every_file_is_checked() {
    let run = fpx(&["check", "--today", TODAY, "tests/bad/duplicate-id.toml", "policies/bulk-email-fp.toml"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout_str().contains("policies/bulk-email-fp.toml: ok"));
    assert!(run.stderr.contains("error[duplicate-id]"));
}

#[test]
fn bad_today_is_a_usage_error() {
    let run = fpx(&["check", "--today", "2026-13-01", "policies/bulk-email-fp.toml"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is not a date"), "{}", run.stderr);
}
