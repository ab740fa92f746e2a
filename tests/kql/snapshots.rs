//! Snapshots of the KQL for every policy in `policies/`, and of the tuned seed query and rule.

use fpx::kql::emit::{ListMode, block};
use fpx::kql::hits;
use fpx::kql::tune;
use fpx::kql::yaml::RuleFile;

use super::harness::{compiled, load, repo};

const SEED: &str = "tests/corpus/seed/Bulk Emails by Sender Bulk Complaint level.yaml";

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(repo().join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}

#[test]
fn kql_of_every_policy() {
    settings().bind(|| {
        insta::glob!("../../policies", "*.toml", |path| {
            let policy = load(path);
            let stem = path.file_stem().unwrap().to_string_lossy().to_string();
            let c = compiled(&policy, &[]);
            insta::assert_snapshot!(format!("kql-{stem}"), block(&c, ListMode::Inline).text);
            insta::assert_snapshot!(format!("kql-hits-{stem}"), hits::query(&c, "14d", "TimeGenerated"));
            let w = block(&c, ListMode::Watchlist);
            let files: Vec<String> = w
                .watchlists
                .iter()
                .map(|l| format!("--- {}.csv ({})\n{}", l.alias, l.description, l.csv))
                .collect();
            insta::assert_snapshot!(
                format!("kql-watchlist-{stem}"),
                format!("{}\n\n{}", w.text, files.join("\n"))
            );
        });
    });
}

#[test]
fn tuned_seed_query_and_rule() {
    let policy = load(&repo().join("policies/bulk-email-fp.toml"));
    let source = std::fs::read_to_string(repo().join(SEED)).unwrap();
    let rule = RuleFile::parse(&source).unwrap();
    let scope: Vec<&str> = ["id", "name"].iter().filter_map(|k| rule.field(k)).collect();
    let c = compiled(&policy, &scope);
    assert_eq!(c.active.len(), 6);
    let b = block(&c, ListMode::Inline);
    let (edit, references) =
        tune::plan(&rule.query(), policy.name.as_str(), policy.profile.table, &b.text).unwrap();
    assert_eq!(references, 1);
    let tuned = rule.splice(&edit).unwrap();
    settings().bind(|| {
        insta::assert_snapshot!("tune-seed-query", edit.apply(&rule.query()));
        insta::assert_snapshot!("tune-seed-yaml", tuned);
    });
}

#[test]
fn folded_and_watchlist_forms_of_the_equivalence_policy() {
    let policy = super::harness::load_str(super::equivalence::POLICY);
    let c = compiled(&policy, &[]);
    let w = block(&c, ListMode::Watchlist);
    let files: Vec<String> =
        w.watchlists.iter().map(|l| format!("--- {}.csv ({})\n{}", l.alias, l.description, l.csv)).collect();
    settings().bind(|| {
        insta::assert_snapshot!("kql-equivalence", block(&c, ListMode::Inline).text);
        insta::assert_snapshot!("kql-watchlist-equivalence", format!("{}\n\n{}", w.text, files.join("\n")));
    });
}
