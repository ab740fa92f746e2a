//! A 100,000-entry policy emits a query that Microsoft's parser analyses with default
//! settings: same-shape exclusions fold into one `in~` list and one range list per family,
//! and the rest is a balanced tree of shallow `or` chains.

use std::fmt::Write as _;

use fpx::kql::emit::{ListMode, block};

use super::harness::{compiled, load_str, parse_all};

#[test]
fn a_100000_entry_policy_parses_with_default_settings() {
    let mut toml = String::from("[policy]\nname = \"large\"\n");
    let mut entries = 0;
    // 60,000 senders, 20,000 networks, 20,000 two-condition exclusions.
    for i in 0..60_000 {
        let _ = write!(
            toml,
            "[[exclusion]]\nid = \"s-{i}\"\nreason = \"r\"\nowner = \"o\"\nsender = [\"user{i}@example.com\"]\n"
        );
        entries += 1;
    }
    for i in 0..20_000u32 {
        let (a, b) = (i / 256, i % 256);
        let _ = write!(
            toml,
            "[[exclusion]]\nid = \"n-{i}\"\nreason = \"r\"\nowner = \"o\"\nsource_ip = [\"10.{a}.{b}.0/24\"]\n"
        );
        entries += 1;
    }
    for i in 0..20_000 {
        let _ = write!(
            toml,
            "[[exclusion]]\nid = \"m-{i}\"\nreason = \"r\"\nowner = \"o\"\nsender_domain = [\"d{i}.example\"]\nsubject.contains = [\"ticket {i}\"]\n"
        );
        entries += 1;
    }
    let policy = load_str(&toml);
    let c = compiled(&policy, &[]);
    let b = block(&c, ListMode::Inline);
    let query = format!("EmailEvents\n{}\n| count", b.text);
    let parsed = parse_all(&[("large".into(), query)], false);
    assert!(parsed[0].errors.is_empty(), "{:?}", parsed[0].errors.iter().take(5).collect::<Vec<_>>());
    eprintln!("large: a {entries}-entry policy emits {} characters that analyse with no error", b.chars());
}
