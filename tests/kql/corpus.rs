//! Every Sentinel query of the corpus tunes, parses, and keeps every byte outside the block:
//! `fpx tune --in-place` on a copy of `tests/corpus` (scope from each file's id and name),
//! `--check` on the result, and the same queries tuned with every exclusion active.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fpx::kql::emit::{ListMode, block};
use fpx::kql::tune;
use fpx::kql::yaml::RuleFile;

use super::harness::{TODAY, compiled, fpx, load, parse_all, policy_files, repo, scratch};

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("yaml")) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dst = to.join(p.file_name().unwrap());
        if p.is_dir() { copy_dir(&p, &dst) } else { std::fs::copy(&p, &dst).map(|_| ()).unwrap() }
    }
}

/// The file without the lines of `policy`'s block.
fn strip_block(text: &str, policy: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if t.starts_with(&format!("// fpx:begin {policy} ")) {
            inside = true;
        }
        if !inside {
            out.push_str(line);
        }
        if t == format!("// fpx:end {policy}") {
            inside = false;
        }
    }
    out
}

fn error_counts(errors: &[String]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for e in errors {
        *m.entry(e.clone()).or_default() += 1;
    }
    m
}

#[test]
fn corpus_queries_tune_in_place_check_clean_and_parse() {
    let base = scratch("corpus");
    let mut queries: Vec<(String, String)> = Vec::new();
    let (mut tuned, mut no_reference, mut invalid, mut over_limit) = (0, 0, 0, 0);
    // Large policies pass Sentinel's rule limit inline: `--mode auto` moves their lists
    // into watchlists exactly then.
    let watchlists = scratch("corpus-watchlists");
    let mut files = Vec::new();
    for policy_path in policy_files() {
        // A fresh copy per policy: fpx tunes a query with one policy per table.
        let copy = base.join(policy_path.file_stem().unwrap());
        copy_dir(&repo().join("tests/corpus"), &copy);
        files = yaml_files(&copy);
        assert!(files.len() >= 150, "the corpus has {} files", files.len());
        let policy = load(&policy_path);
        let table = policy.profile.table;
        for f in &files {
            let name = format!(
                "{}: {}",
                policy_path.file_name().unwrap().to_string_lossy(),
                f.strip_prefix(&copy).unwrap().display()
            );
            let original = std::fs::read_to_string(f).unwrap();
            let out = fpx()
                .args(["tune", "--in-place", "--mode", "auto", "--out"])
                .arg(&watchlists)
                .arg("--policy")
                .arg(&policy_path)
                .args(["--today", TODAY])
                .arg(f)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr).to_string();
            let parsed = RuleFile::parse(&original);
            let Ok(rule) = parsed else {
                assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
                assert!(
                    stderr.contains("not valid YAML") || stderr.contains("no indented content"),
                    "{name}: {stderr}"
                );
                invalid += 1;
                continue;
            };
            if tune::count_references(&rule.query(), table) == 0 {
                assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
                assert!(stderr.contains("never reads"), "{name}: {stderr}");
                no_reference += 1;
                continue;
            }
            if out.status.code() == Some(1) && stderr.contains("-character limit for analytics rules") {
                // Correct refusal: the policy is too large for one scheduled rule even with
                // its lists in watchlists (`--mode auto` tried them). The file is untouched.
                assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
                assert!(rule.is_analytics_rule(), "{name}: only analytics rules have the limit");
                assert!(stderr.contains("watchlists cannot make it fit"), "{name}: {stderr}");
                assert_eq!(std::fs::read_to_string(f).unwrap(), original, "{name}: refused file untouched");
                over_limit += 1;
                continue;
            }
            assert!(out.status.success(), "{name}: {stderr}");
            tuned += 1;
            let after = std::fs::read_to_string(f).unwrap();
            assert_ne!(after, original, "{name}");
            assert_eq!(
                strip_block(&after, policy.name.as_str()),
                original,
                "{name}: bytes outside the block changed"
            );
            // Idempotent: --check passes and tuning again changes nothing.
            let check = fpx()
                .args(["tune", "--check", "--mode", "auto", "--out"])
                .arg(&watchlists)
                .arg("--policy")
                .arg(&policy_path)
                .args(["--today", TODAY])
                .arg(f)
                .output()
                .unwrap();
            assert!(check.status.success(), "{name}: {}", String::from_utf8_lossy(&check.stderr));
            let new_rule = RuleFile::parse(&after).unwrap();
            queries.push((format!("original {name}"), rule.query()));
            queries.push((format!("tuned {name}"), new_rule.query()));
            // The same query with every exclusion active (no rule scope).
            let c = compiled(&policy, &[]);
            let b = block(&c, ListMode::Inline);
            let (edit, _) = tune::plan(&rule.query(), policy.name.as_str(), table, &b.text).unwrap();
            rule.splice(&edit).unwrap();
            queries.push((format!("all-active {name}"), edit.apply(&rule.query())));
        }
    }
    let parsed = parse_all(&queries, false);
    let by_name: BTreeMap<&str, &super::harness::Parsed> =
        parsed.iter().map(|p| (p.name.as_str(), p)).collect();
    let (mut clean, mut preexisting) = (0, Vec::new());
    for p in &parsed {
        let Some(file) = p.name.strip_prefix("original ") else { continue };
        let before = error_counts(&p.errors);
        for variant in ["tuned", "all-active"] {
            let after = error_counts(&by_name[format!("{variant} {file}").as_str()].errors);
            for (e, n) in &after {
                assert!(before.get(e).copied().unwrap_or(0) >= *n, "{variant} {file}: tuning added `{e}`");
            }
        }
        if p.errors.is_empty() {
            clean += 1;
        } else {
            preexisting.push(format!("{file}: {}", p.errors.join("; ")));
        }
    }
    eprintln!(
        "corpus: {} files: {tuned} tuned in place (and --check clean), {no_reference} never read the table (refused), {invalid} invalid YAML (refused), {over_limit} analytics rules over the 10,000-character limit (refused); {} queries parsed: {clean} originals analyse cleanly, {} had errors before tuning and tuning added none",
        files.len(),
        parsed.len(),
        preexisting.len()
    );
    for p in &preexisting {
        eprintln!("  pre-existing: {p}");
    }
    assert!(tuned >= 150, "only {tuned} corpus queries were tuned");
}
