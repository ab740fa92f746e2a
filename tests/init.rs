//! `fpx init`: a starter repository whose policy passes `fpx check`, whose placeholders fail
//! `fpx lint`, and whose CI workflow is valid YAML running the review commands.

use yaml_rust2::{Yaml, YamlLoader};

use crate::cli::run;
use crate::common::{TODAY, tempdir};

#[test]
fn init_writes_a_checkable_policy_and_a_workflow() {
    let dir = tempdir("init").join("Email Detections");
    let d = dir.to_str().unwrap();
    let r = run(&["init", d]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let policy = dir.join("policies/email-detections.toml");
    let p = policy.to_str().unwrap();
    assert_eq!(run(&["check", "--today", TODAY, p]).code, 0);
    let lint = run(&["lint", "--today", TODAY, "--color", "never", p]);
    assert_eq!(lint.code, 1, "the example's placeholders fail lint on purpose");
    assert!(lint.stdout_str().contains("error[placeholder]"), "{}", lint.stdout_str());
    assert!(dir.join("detections/README.md").exists());
    assert!(std::fs::read_to_string(dir.join("README.md")).unwrap().contains("placeholder"));

    let workflow = std::fs::read_to_string(dir.join(".github/workflows/fpx.yml")).unwrap();
    let docs = YamlLoader::load_from_str(&workflow).expect("the workflow is YAML");
    let doc = &docs[0];
    assert_eq!(doc["env"]["POLICY"].as_str(), Some("policies/email-detections.toml"));
    assert!(!doc["on"]["pull_request"].is_badvalue());
    let steps = doc["jobs"]["policy"]["steps"].as_vec().expect("steps");
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    let uses: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
    for needle in [
        "fpx check",
        "fpx lint --format sarif",
        "fpx tune --policy",
        "--check",
        "fpx report",
        "gh pr comment",
    ] {
        assert!(runs.iter().any(|r| r.contains(needle)), "a step runs `{needle}`");
    }
    assert!(uses.iter().any(|u| u.starts_with("github/codeql-action/upload-sarif@")), "{uses:?}");
    assert_eq!(doc["jobs"]["policy"]["permissions"]["security-events"], Yaml::String("write".into()));
}

#[test]
fn init_refuses_to_overwrite_unless_forced() {
    let dir = tempdir("init-twice");
    let d = dir.to_str().unwrap();
    assert_eq!(run(&["init", d, "--name", "soc"]).code, 0);
    std::fs::write(dir.join("README.md"), "ours\n").unwrap();
    let again = run(&["init", d, "--name", "soc"]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("`policies/soc.toml`") && again.stderr.contains("`README.md`"),
        "{}",
        again.stderr
    );
    assert_eq!(std::fs::read_to_string(dir.join("README.md")).unwrap(), "ours\n", "nothing overwritten");
    assert_eq!(run(&["init", d, "--name", "soc", "--force"]).code, 0);
    assert_ne!(std::fs::read_to_string(dir.join("README.md")).unwrap(), "ours\n");
    assert_eq!(run(&["init", d, "--name", "Bad Name"]).code, 2);
}

#[test]
fn the_readme_shows_the_workflow_init_writes() {
    let readme = crate::common::read("README.md");
    let layout = fpx::init::layout("email-fp");
    let workflow = layout.iter().find(|f| f.path == ".github/workflows/fpx.yml").unwrap();
    assert!(
        readme.contains(&format!("```yaml\n{}```", workflow.content)),
        "README.md shows the current workflow"
    );
}
