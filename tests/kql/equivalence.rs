//! Matcher == KQL: a table of events run through `fpx filter` and through the emitted KQL in
//! an independent executor (duckdb-kql, see `executor/run.py`), for every condition kind,
//! with empty, null, missing, malformed and wrong-family cells.
//!
//! Covered by execution: `=~`, `in~`, `startswith`, `endswith`, `contains`,
//! `matches regex` (duckdb-kql maps it to RE2-family `regexp_matches`), `isnotempty`,
//! `parse_json`, `gettype`, `tostring`, `iff`, `coalesce`, `not`/`and`/`or`, `countif`.
//! `ipv4_is_in_any_range`, `ipv6_is_in_any_range` and `column_ifexists` have no duckdb-kql
//! mapping: `run.py` adds them from Microsoft's documented semantics (null on a failed
//! conversion). Their inputs are only texts the strict guards accept, which are tested to be
//! exactly Rust's parser (`semantics::tests::kql_address_guards_accept_what_the_matcher_parses`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::harness::{TODAY, execute, fpx, scratch};

/// Every condition kind, folded and unfolded forms, and all address families.
pub const POLICY: &str = r#"
[policy]
name = "equivalence"
header_column = "Headers"

[lists]
nets = ["10.20.30.0/24", "192.0.2.7", "2001:db8:20::/48", "2001:db8:ff::1"]

[[exclusion]]
id = "glob-forms"
reason = "every glob shape"
owner = "t"
sender = ["alice@example.com", "noreply@*", "*@partner.example", "*invoice*", "a?c*z@*.example"]

[[exclusion]]
id = "operators"
reason = "every operator"
owner = "t"
subject = { equals = ["Quarterly Report", "Weekly Report"], starts_with = ["[ext]"], ends_with = ["(fwd)"], contains = ["unsubscribe"], glob = ["re: *?"], regex = ["^Reset [0-9]+$", "^x*$"] }

[[exclusion]]
id = "case-sensitive-regex"
reason = "regex is case-sensitive"
owner = "t"
mail_from.regex = ["Bounce"]

[[exclusion]]
id = "non-ascii"
reason = "cased and uncased non-ASCII literals"
owner = "t"
sender = ["rené@example.com", "报告@例子.公司", "*ümlaut*", "straße*"]

[[exclusion]]
id = "non-empty"
reason = "any non-empty subject, outbound"
owner = "t"
direction = ["Outbound"]
subject = ["*"]

[[exclusion]]
id = "domain-recipient"
reason = "sender domain and recipient"
owner = "t"
sender_domain = ["news.example"]
recipient = ["team@example.com", "*@list.example"]

[[exclusion]]
id = "networks"
reason = "both families"
owner = "t"
mail_from = ["relay@example.com"]
source_ip = ["@nets"]

[[exclusion]]
id = "headers"
reason = "header values are JSON strings only"
owner = "t"
header."X-Flag" = ["yes"]
header."X-Campaign" = ["cmp-*"]

[[exclusion]]
id = "where-column"
reason = "any string column"
owner = "t"
[[exclusion.where]]
column = "Connectors"
contains = ["partner-connector"]

[[exclusion]]
id = "fold-a"
reason = "same shape as fold-b"
owner = "t"
sender = ["fold-a@example.com"]

[[exclusion]]
id = "fold-b"
reason = "same shape as fold-a"
owner = "t"
sender = ["FOLD-B@example.com", "fold-a@example.com"]

[[exclusion]]
id = "fold-net-a"
reason = "networks only"
owner = "t"
source_ip = ["198.51.100.0/24"]

[[exclusion]]
id = "fold-net-b"
reason = "networks only"
owner = "t"
source_ip = ["2001:db8:99::/64", "203.0.113.9"]

[[exclusion]]
id = "expired"
reason = "not applied"
owner = "t"
expires = 2020-01-01
sender = ["expired@example.com"]
"#;

/// (field, values) variations applied one at a time to a benign base event.
fn variations() -> Vec<(&'static str, Vec<Value>)> {
    let null = Value::Null;
    let s = |v: &str| json!(v);
    vec![
        (
            "SenderFromAddress",
            vec![
                s("alice@example.com"),
                s("ALICE@Example.COM"),
                s(" alice@example.com"),
                s("alice@example.com.evil"),
                s("noreply@x.test"),
                s("NOREPLY@"),
                s("bob@partner.example"),
                s("bob@PARTNER.EXAMPLE"),
                s("bob@partner.example.evil"),
                s("my-invoice-2024@x.test"),
                s("INVOICE@x"),
                s("abcz@y.example"),
                s("aXc\nz@y.example"),
                s("ac@y.example"),
                s("rené@example.com"),
                s("RENÉ@EXAMPLE.COM"),
                s("rene@example.com"),
                s("报告@例子.公司"),
                s("x-ÜMLAUT-y"),
                s("STRASSE@x"),
                s("straße-x"),
                s("fold-a@example.com"),
                s("Fold-B@Example.com"),
                s("expired@example.com"),
                s(""),
                null.clone(),
                json!(12),
                json!(true),
            ],
        ),
        (
            "Subject",
            vec![
                s("Quarterly Report"),
                s("quarterly report"),
                s("Quarterly Report 2"),
                s("[EXT] hello"),
                s("hello (FWD)"),
                s("please UNSUBSCRIBE"),
                s("Re: x"),
                s("re: "),
                s("Reset 42"),
                s("reset 42"),
                s("Reset 42\n"),
                s("xxx"),
                s("y"),
                s(""),
                null.clone(),
            ],
        ),
        (
            "SenderMailFromAddress",
            vec![s("Bounce@x"), s("bounce@x"), s("relay@example.com"), s(""), null.clone()],
        ),
        ("EmailDirection", vec![s("Outbound"), s("outbound"), s("Inbound"), s(""), null.clone()]),
        ("SenderFromDomain", vec![s("news.example"), s("NEWS.example"), s("news.example.evil")]),
        (
            "RecipientEmailAddress",
            vec![s("team@example.com"), s("x@list.example"), s("x@LIST.example"), s("team@example.com.x")],
        ),
        ("Connectors", vec![s("Partner-Connector-1"), s("partner connector"), s(""), null.clone()]),
        (
            "SenderIPv4",
            vec![
                s("10.20.30.5"),
                s("10.20.30.255"),
                s("10.20.31.1"),
                s("192.0.2.7"),
                s("192.0.2.8"),
                s("198.51.100.200"),
                s("203.0.113.9"),
                s("010.20.30.5"),
                s("10.20.30.5/8"),
                s(" 10.20.30.5"),
                s("10.20.30"),
                s("10.20.30.256"),
                s("::ffff:10.20.30.5"),
                s("2001:db8:20::1"),
                s("garbage"),
                s(""),
                null.clone(),
            ],
        ),
        (
            "SenderIPv6",
            vec![
                s("2001:db8:20::1"),
                s("2001:DB8:20:0:0:0:0:1"),
                s("2001:db8:21::1"),
                s("2001:db8:ff::1"),
                s("2001:db8:ff::2"),
                s("2001:db8:99::abcd"),
                s("::ffff:10.20.30.5"),
                s("10.20.30.5"),
                s("2001:db8:20::1/64"),
                s("fe80::1%eth0"),
                s("[2001:db8:20::1]"),
                s("2001:db8:20::1::"),
                s("garbage"),
                s(""),
                null.clone(),
            ],
        ),
        (
            "Headers",
            vec![
                json!({"X-Flag": "yes"}),
                json!({"X-Flag": "YES"}),
                json!({"x-flag": "yes"}),
                json!({"X-Flag": true}),
                json!({"X-Flag": 1}),
                json!({"X-Flag": ["yes"]}),
                json!({"X-Flag": {"v": "yes"}}),
                json!({"X-Flag": null}),
                json!({"X-Flag": ""}),
                json!({"X-Campaign": "cmp-1"}),
                json!({"X-Flag": "yes", "X-Campaign": "CMP-2"}),
                json!({"X-Flag": "yes", "X-Campaign": 7}),
                json!("{\"X-Flag\":\"yes\",\"X-Campaign\":\"cmp-3\"}"),
                json!("not json"),
                json!("[1,2]"),
                json!({}),
                null.clone(),
            ],
        ),
    ]
}

/// Fields the variations pair up (address with relay sender, both header conditions…).
fn base() -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    for (k, v) in [
        ("SenderFromAddress", "someone@elsewhere.test"),
        ("SenderMailFromAddress", "relay@example.com"),
        ("SenderFromDomain", "elsewhere.test"),
        ("RecipientEmailAddress", "soc@example.com"),
        ("Subject", "hello"),
        ("EmailDirection", "Inbound"),
        ("SenderIPv4", "203.0.113.200"),
        ("SenderIPv6", ""),
        ("Connectors", ""),
    ] {
        m.insert(k.to_string(), json!(v));
    }
    m.insert("Headers".into(), json!({"X-Campaign": "cmp-0"}));
    m
}

#[test]
fn matcher_and_kql_agree_on_every_condition_kind() {
    let dir = scratch("equivalence");
    let policy_path = dir.join("equivalence.toml");
    std::fs::write(&policy_path, POLICY).unwrap();
    let mut events: Vec<Value> = Vec::new();
    for (field, values) in variations() {
        for (i, v) in values.into_iter().enumerate() {
            let mut e = base();
            match v {
                // A missing key, as well as null.
                Value::Null if i % 2 == 0 => {
                    e.remove(field);
                }
                v => {
                    e.insert(field.to_string(), v);
                }
            }
            e.insert("NetworkMessageId".into(), json!(format!("{field}-{i}")));
            events.push(json!(e));
        }
    }
    // Combinations that need two fields at once.
    for (i, (v4, v6)) in [
        ("10.20.30.9", ""),
        ("", "2001:db8:20::9"),
        ("garbage", "2001:db8:20::9"),
        ("10.20.30.9", "garbage"),
        ("", ""),
    ]
    .iter()
    .enumerate()
    {
        let mut e = base();
        e.insert("SenderIPv4".into(), json!(v4));
        e.insert("SenderIPv6".into(), json!(v6));
        e.insert("NetworkMessageId".into(), json!(format!("pair-{i}")));
        events.push(json!(e));
    }
    let jsonl: String = events.iter().map(|e| format!("{e}\n")).collect();
    let events_path = dir.join("events.jsonl");
    std::fs::write(&events_path, &jsonl).unwrap();

    // fpx filter's verdicts and per-exclusion counts.
    let stats_path = dir.join("stats.json");
    let out = fpx()
        .args(["filter", "--policy"])
        .arg(&policy_path)
        .args(["--today", TODAY, "--stats"])
        .arg(&stats_path)
        .arg(&events_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut kept: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["NetworkMessageId"].as_str().unwrap().to_string())
        .collect();
    kept.sort();
    let stats: Value = serde_json::from_slice(&std::fs::read(&stats_path).unwrap()).unwrap();

    // The same through KQL.
    let kql = |extra: &[&str]| {
        let out = fpx()
            .args(["kql", "--policy"])
            .arg(&policy_path)
            .args(["--today", TODAY])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let block = kql(&[]);
    let hits = kql(&["--hits"]);
    let policy = super::harness::load(&policy_path);
    let in_lists: Vec<Vec<String>> = vec![
        vec!["quarterly report".into(), "weekly report".into()],
        vec!["fold-a@example.com".into(), "fold-b@example.com".into()],
    ];
    let mut cells: Vec<String> = vec![
        "Quarterly Report".into(),
        "WEEKLY REPORT".into(),
        "weekly report ".into(),
        "".into(),
        "FOLD-A@EXAMPLE.COM".into(),
        "fold-b@example.com".into(),
        "x".into(),
    ];
    cells.extend(policy.exclusions.iter().map(|e| e.id.to_string()));
    let mut columns: Vec<String> = vec!["NetworkMessageId".into()];
    columns.extend(base().keys().cloned());
    let result = execute(&json!({
        "events": events, "columns": columns, "block": block, "hits": hits, "in_lists": in_lists, "cells": cells,
    }));

    let kql_kept: Vec<String> =
        result["kept"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    let only_fpx: Vec<&String> = kept.iter().filter(|k| !kql_kept.contains(k)).collect();
    let only_kql: Vec<&String> = kql_kept.iter().filter(|k| !kept.contains(k)).collect();
    assert!(
        only_fpx.is_empty() && only_kql.is_empty(),
        "kept only by fpx: {only_fpx:?}; kept only by KQL: {only_kql:?}"
    );
    assert_eq!(result["null_predicates"], 0, "some exclusion predicate is null");
    for (id, n) in stats["by_exclusion"].as_object().unwrap() {
        assert_eq!(&result["counts"][id], n, "hit count of `{id}`");
    }
    assert_eq!(result["counts"]["Rows"], events.len());
    assert_eq!(result["in_mismatches"].as_array().unwrap().len(), 0, "{}", result["in_mismatches"]);
    let excluded = events.len() - kept.len();
    assert!(excluded > 20 && kept.len() > 20, "the table should exercise both verdicts");
    eprintln!(
        "equivalence: {} events ({} excluded, {} kept) agree between fpx filter and the KQL in duckdb-kql; {} per-exclusion counts agree; {} in~ == or-of-=~ checks; 0 null predicates",
        events.len(),
        excluded,
        kept.len(),
        stats["by_exclusion"].as_object().unwrap().len(),
        result["in_checks"]
    );
}
