//! `fpx lint --format sarif` is SARIF 2.1.0 that validates against the official schema
//! (`tests/sarif/sarif-schema-2.1.0.json`, see its README for provenance).

use serde_json::Value;

use crate::common::{TODAY, fpx, read};

fn sarif(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["lint", "--today", TODAY, "--format", "sarif"];
    all.extend_from_slice(args);
    let run = fpx(&all);
    (run.code, serde_json::from_slice(&run.stdout).expect("SARIF is JSON"))
}

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&read("tests/sarif/sarif-schema-2.1.0.json")).unwrap();
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

fn assert_valid(doc: &Value) {
    let v = validator();
    let errors: Vec<String> = v.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn lint_output_of_every_fixture_validates_against_the_sarif_schema() {
    let mut files: Vec<String> = std::fs::read_dir(crate::common::path("policies/lint"))
        .unwrap()
        .map(|e| format!("policies/lint/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    files.sort();
    files.extend(["policies/bulk-email-fp.toml".into(), "tests/bad/invalid-cidr.toml".into()]);
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let (code, doc) = sarif(&args);
    assert_eq!(code, 1);
    assert_valid(&doc);
    let run = &doc["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for c in fpx::lint::LINT_CODES {
        assert!(rules.contains(&c.code), "{}", c.code);
    }
    for (c, _) in fpx::validate::ERROR_CODES {
        assert!(rules.contains(c), "{c}");
    }
    let results = run["results"].as_array().unwrap();
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(run["tool"]["driver"]["rules"][index]["id"], r["ruleId"]);
    }
    let codes: std::collections::BTreeSet<&str> =
        results.iter().map(|r| r["ruleId"].as_str().unwrap()).collect();
    assert!(
        codes.contains("invalid-cidr") && codes.contains("over-broad") && codes.contains("expired"),
        "{codes:?}"
    );
}

#[test]
fn regions_are_one_based_character_columns_with_exclusive_ends() {
    let (_, doc) = sarif(&["policies/lint/expired.toml"]);
    assert_valid(&doc);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_eq!(r["ruleId"], "expired");
    assert_eq!(r["level"], "error");
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "policies/lint/expired.toml");
    let region = &loc["region"];
    let source = read("policies/lint/expired.toml");
    let line = source.lines().nth(region["startLine"].as_u64().unwrap() as usize - 1).unwrap();
    let start = region["startColumn"].as_u64().unwrap() as usize - 1;
    let end = region["endColumn"].as_u64().unwrap() as usize - 1;
    let text: String = line.chars().skip(start).take(end - start).collect();
    assert_eq!(text, "2026-05-31");
    assert_eq!(doc["runs"][0]["columnKind"], "unicodeCodePoints");
}

#[test]
fn allowed_findings_are_suppressed_with_their_reason() {
    let (_, doc) = sarif(&["policies/large-tenant.toml"]);
    assert_valid(&doc);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    let s = &results[0]["suppressions"][0];
    assert_eq!(s["kind"], "inSource");
    assert!(s["justification"].as_str().unwrap().contains("DMARC"));
}

#[test]
fn paths_become_uri_references() {
    assert_eq!(fpx::sarif::uri("policies/a b.toml"), "policies/a%20b.toml");
    assert_eq!(fpx::sarif::uri("policies\\x#1.toml"), "policies/x%231.toml");
    assert_eq!(fpx::sarif::uri("politique-é.toml"), "politique-%C3%A9.toml");
}

#[test]
fn the_schema_rejects_broken_sarif() {
    // The validator is not vacuous: a result without a message fails.
    let (_, mut doc) = sarif(&["policies/lint/expired.toml"]);
    doc["runs"][0]["results"][0].as_object_mut().unwrap().remove("message");
    assert!(!validator().is_valid(&doc));
}
