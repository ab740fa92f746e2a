//! Every block fpx emits for the policies in `policies/` parses and analyses with zero errors
//! in Microsoft's Kusto language service: inline, watchlist mode and the hit-count query.

use fpx::kql::emit::{ListMode, block};
use fpx::kql::hits;

use super::harness::{compiled, load, parse_all, policy_files};

#[test]
fn emitted_blocks_watchlists_and_hit_counts_parse_cleanly() {
    let mut queries = Vec::new();
    for path in policy_files() {
        let policy = load(&path);
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let table = policy.profile.table;
        let rule_sets: Vec<Vec<&str>> =
            vec![vec![], policy.rules.iter().map(String::as_str).collect(), vec!["some-other-rule"]];
        for (k, rules) in rule_sets.iter().enumerate() {
            let c = compiled(&policy, rules);
            for mode in [ListMode::Inline, ListMode::Watchlist] {
                let b = block(&c, mode);
                queries.push((format!("{name} {mode:?} rules#{k}"), format!("{table}\n{}\n| count", b.text)));
            }
            for time in ["TimeGenerated", "Timestamp"] {
                queries.push((format!("{name} hits {time} rules#{k}"), hits::query(&c, "14d", time)));
            }
        }
    }
    let parsed = parse_all(&queries, false);
    for p in &parsed {
        assert!(p.errors.is_empty(), "{}: {:?}", p.name, p.errors);
    }
    eprintln!(
        "parser: {} emitted queries (blocks, watchlist blocks, hit counts) parse and analyse with no error",
        parsed.len()
    );
}
