//! Every bad policy fixture (`tests/bad/<code>.toml`) gives its coded, spanned error and
//! exit 1; the rendered diagnostics are snapshotted.

use crate::common::{fpx, read, snapshots};

fn codes() -> Vec<&'static str> {
    fpx::validate::ERROR_CODES.iter().map(|(c, _)| *c).collect()
}

#[test]
fn every_code_has_a_fixture_and_every_fixture_a_code() {
    let mut fixtures: Vec<String> = std::fs::read_dir(crate::common::path("tests/bad"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    fixtures.sort();
    assert_eq!(fixtures, codes());
}

#[test]
fn bad_policies_fail_with_their_code_through_the_binary() {
    for code in codes() {
        let rel = format!("tests/bad/{code}.toml");
        let run = fpx(&["check", "--color", "never", &rel]);
        assert_eq!(run.code, 1, "{rel}: exit code; stderr:\n{}", run.stderr);
        assert!(
            run.stderr.contains(&format!("error[{code}]")),
            "{rel} should report {code}:\n{}",
            run.stderr
        );
        assert!(run.stderr.contains(&format!("--> {rel}:")), "{rel}: diagnostics name file:line:column");
        assert!(run.stdout.is_empty(), "{rel}: nothing on stdout");
        assert!(!run.stderr.contains("panicked"), "{rel}: no panic");
        let source = read(&rel);
        if source.len() < 4096 {
            snapshots().bind(|| insta::assert_snapshot!(format!("bad-{code}"), run.stderr));
        }
    }
}

#[test]
fn bad_policies_fail_with_their_code_through_the_library() {
    for code in codes() {
        let source = read(&format!("tests/bad/{code}.toml"));
        let diags = fpx::validate::load(&source).expect_err(code);
        assert!(diags.iter().any(|d| d.code == code), "{code}: {diags:#?}");
        for d in &diags {
            let msg = &d.message;
            assert!(!msg.ends_with('.'), "{code}: message style: {msg}");
            assert!(!msg.starts_with(|c: char| c.is_uppercase()), "{code}: message style: {msg}");
            assert!(d.span.is_some(), "{code}: every error has a place: {msg}");
        }
    }
}

#[test]
fn all_problems_are_reported_in_one_run() {
    let diags = fpx::validate::load(&read("tests/bad/invalid-cidr.toml")).unwrap_err();
    assert_eq!(diags.iter().filter(|d| d.code == "invalid-cidr").count(), 4);
    let diags = fpx::validate::load(&read("tests/bad/invalid-regex.toml")).unwrap_err();
    assert_eq!(diags.iter().filter(|d| d.code == "invalid-regex").count(), 6);
}

#[test]
fn host_bits_help_gives_the_network_address() {
    let diags = fpx::validate::load(&read("tests/bad/cidr-host-bits.toml")).unwrap_err();
    let helps: Vec<&str> = diags.iter().flat_map(|d| d.help.iter().map(String::as_str)).collect();
    assert!(helps.contains(&"did you mean `10.1.0.0/16`?"), "{helps:?}");
    assert!(helps.contains(&"did you mean `2001:db8:20::/48`?"), "{helps:?}");
    assert!(helps.contains(&"did you mean `192.168.7.0/24`?"), "{helps:?}");
}

#[test]
fn line_and_column_point_at_the_value() {
    let source = read("tests/bad/invalid-cidr.toml");
    let diags = fpx::validate::load(&source).unwrap_err();
    let first = diags.iter().find(|d| d.message.contains("10.20.30.0/33")).unwrap();
    let (line, col) = first.line_col(&source).unwrap();
    let text_line = source.lines().nth(line - 1).unwrap();
    assert!(text_line.starts_with("source_ip"), "{text_line}");
    assert_eq!(text_line.chars().nth(col - 1), Some('"'));
}

#[test]
fn missing_policy_file_is_a_usage_error() {
    let run = fpx(&["check", "does/not/exist.toml"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot read `does/not/exist.toml`: no such file"), "{}", run.stderr);
}

#[test]
fn literal_at_sign_and_escapes() {
    let src = r#"
[policy]
name = "at-signs"
[lists]
x = ["a@company.com"]
[[exclusion]]
id = "a"
reason = "r"
owner = "o"
sender = ["@company.com", "@@x", "@x"]
"#;
    let p = fpx::validate::load(src).unwrap();
    let texts: Vec<&str> = p.exclusions[0].conditions[0].values.iter().map(|v| v.text.as_str()).collect();
    assert_eq!(texts, ["@company.com", "@x", "a@company.com"]);
    assert_eq!(p.exclusions[0].conditions[0].values[2].via, ["x"]);
}

#[test]
fn structure_errors_do_not_hide_meaning_errors() {
    let src = r#"
[policy]
name = "two-kinds"
[[exclusion]]
id = "a"
reason = "r"
owner = "o"
sendr = ["x"]
source_ip = ["10.0.0.1/8"]
"#;
    let codes: Vec<&str> = fpx::validate::load(src).unwrap_err().iter().map(|d| d.code).collect();
    assert_eq!(codes, ["unknown-key", "cidr-host-bits"]);
}

#[test]
fn group_values_follow_the_list_rule() {
    // Only the empty text is an error in a group, as in a list; a value of spaces is text.
    let src = |member: &str| {
        format!(
            "[policy]\nname = \"g\"\n[groups.team]\naddress = \"team@company.com\"\nmembers = [{member}]\n\
             [[exclusion]]\nid = \"a\"\nreason = \"r\"\nowner = \"o\"\nrecipient = [\"@team\"]\n"
        )
    };
    let diags = fpx::validate::load(&src("\"a@company.com\", \"\"")).unwrap_err();
    assert!(diags.iter().all(|d| d.code == "empty-value"), "{diags:#?}");
    assert_eq!(diags[0].message, "group `team` has an empty member");
    let p = fpx::validate::load(&src("\" \"")).unwrap();
    let texts: Vec<&str> = p.exclusions[0].conditions[0].values.iter().map(|v| v.text.as_str()).collect();
    assert_eq!(texts, ["team@company.com", " "]);
}
