//! `fpx schema`: the committed schema file is its output, every example policy validates
//! against it, and documents the parser rejects for their structure are rejected too.

use serde_json::Value;

use crate::common::{fpx, path, read};

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&read("schema/fpx-policy.schema.json")).unwrap();
    jsonschema::draft7::options().should_validate_formats(true).build(&schema).expect("schema compiles")
}

/// TOML as an editor's schema check sees it: dates are strings.
fn to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(to_json).collect()),
        toml::Value::Table(t) => Value::Object(t.into_iter().map(|(k, v)| (k, to_json(v))).collect()),
    }
}

fn doc(src: &str) -> Value {
    to_json(toml::from_str::<toml::Value>(src).expect("TOML"))
}

fn errors(v: &jsonschema::Validator, src: &str) -> Vec<String> {
    v.iter_errors(&doc(src)).map(|e| format!("{e} at {}", e.instance_path())).collect()
}

fn toml_files(dir: &str, out: &mut Vec<String>) {
    for e in std::fs::read_dir(path(dir)).unwrap() {
        let p = e.unwrap().path();
        let rel = format!("{dir}/{}", p.file_name().unwrap().to_string_lossy());
        if p.is_dir() {
            toml_files(&rel, out);
        } else if rel.ends_with(".toml") {
            out.push(rel);
        }
    }
}

#[test]
fn the_committed_schema_is_what_fpx_schema_prints() {
    let run = fpx(&["schema"]);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout_str(),
        read("schema/fpx-policy.schema.json"),
        "run `fpx schema > schema/fpx-policy.schema.json`"
    );
    let schema: Value = serde_json::from_str(&run.stdout_str()).unwrap();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
}

#[test]
fn every_example_policy_validates_and_names_the_schema() {
    let v = validator();
    let mut files = Vec::new();
    toml_files("policies", &mut files);
    toml_files("tests/diff", &mut files);
    assert!(files.len() > 14, "{files:?}");
    for rel in files {
        let src = read(&rel);
        let errs = errors(&v, &src);
        assert!(errs.is_empty(), "{rel}: {errs:#?}");
        let depth = rel.matches('/').count();
        let directive = format!("#:schema {}schema/fpx-policy.schema.json", "../".repeat(depth));
        assert_eq!(
            src.lines().next(),
            Some(directive.as_str()),
            "{rel}: Taplo's directive on the first line"
        );
    }
}

#[test]
fn structural_errors_the_parser_reports_are_schema_errors_too() {
    let v = validator();
    for code in [
        "unknown-key",
        "wrong-type",
        "missing-key",
        "no-condition",
        "invalid-direction",
        "unknown-column",
        "unknown-table",
        "unsupported-column",
    ] {
        let src = read(&format!("tests/bad/{code}.toml"));
        assert!(fpx::validate::load(&src).is_err());
        assert!(!errors(&v, &src).is_empty(), "the schema should reject tests/bad/{code}.toml");
    }
    let base = "[policy]\nname = \"p\"\n[[exclusion]]\nid = \"e\"\nreason = \"r\"\nowner = \"o\"\n";
    for (bad, what) in [
        ("sendr = [\"x\"]", "misspelt condition"),
        ("sender = { contans = [\"x\"] }", "misspelt operator"),
        ("sender = [\"x\"]\nallow = [{ code = \"spoofable\" }]", "allow needs a reason"),
        ("direction = [\"sideways\"]", "unknown direction"),
        ("sender = [\"x\"]\n[[exclusion.where]]\nvalues = [\"a\"]", "where needs a column"),
    ] {
        let src = format!("{base}{bad}\n");
        assert!(fpx::validate::load(&src).is_err(), "{what}: the parser rejects it");
        assert!(!errors(&v, &src).is_empty(), "{what}: the schema rejects it");
    }
    // A TOML date reaches the schema as a string (as in Taplo), so `expires = "2027-01-01"`
    // cannot be told from a date there: `fpx check` reports it.
    for good in [
        "direction = [\"INBOUND\", \"intra-org\"]",
        "sender = \"one@company.com\"",
        "subject = { equals = \"Hello\", regex = [\"^a\"] }",
        "expires = 2027-01-01\nsource_ip = \"10.0.0.0/8\"",
    ] {
        let src = format!("{base}{good}\n");
        assert!(fpx::validate::load(&src).is_ok(), "{good}");
        assert!(errors(&v, &src).is_empty(), "{good}: {:?}", errors(&v, &src));
    }
}
