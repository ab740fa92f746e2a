//! The compiled matcher agrees with the reference evaluator on events built from each
//! example policy's own values: exact hits, case changes, one character off, network
//! edges, and empty, null or missing fields.

use std::collections::BTreeMap;
use std::net::IpAddr;

use fpx::compile::{Compiled, Selection};
use fpx::event::{JsonRowReader, read_json_row};
use fpx::matcher::Matcher;
use fpx::model::{Exclusion, Field, Policy, Target, Test};
use fpx::reference::{self, JsonEvent};
use fpx::semantics::{Cell, TextOp};
use ipnet::IpNet;
use serde_json::{Map, Value, json};

/// Strings that a value matches, and strings close to it that it may not.
fn text_variants(op: TextOp, text: &str) -> Vec<String> {
    let base = match op {
        TextOp::Glob => text.replace('*', "").replace('?', "q"),
        _ => text.to_string(),
    };
    let mut out = vec![
        base.clone(),
        base.to_uppercase(),
        base.to_lowercase(),
        format!("x{base}"),
        format!("{base}x"),
        format!("x{base}x"),
        text.replace('*', "STAR"),
        String::new(),
    ];
    if let Some(c) = base.chars().last() {
        let mut off = base.clone();
        off.pop();
        off.push(if c == 'a' { 'b' } else { 'a' });
        out.push(off);
    }
    if base.chars().count() > 1 {
        out.push(base.chars().skip(1).collect());
    }
    out
}

fn net_variants(net: &IpNet) -> Vec<String> {
    let mut out = vec![net.network().to_string(), net.broadcast().to_string()];
    match (net.network(), net.broadcast()) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            out.push(std::net::Ipv4Addr::from(u32::from(a).wrapping_sub(1)).to_string());
            out.push(std::net::Ipv4Addr::from(u32::from(b).wrapping_add(1)).to_string());
            out.push(format!("::ffff:{a}"));
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            out.push(std::net::Ipv6Addr::from(u128::from(a).wrapping_sub(1)).to_string());
            out.push(std::net::Ipv6Addr::from(u128::from(b).wrapping_add(1)).to_string());
        }
        _ => {}
    }
    out.extend(["".to_string(), "10.20.30".to_string(), "not an address".to_string()]);
    out
}

/// Sets a field's value on an event (`None` writes JSON null).
fn set(event: &mut Map<String, Value>, policy: &Policy, field: &Field, value: Option<&str>, v6: bool) {
    let v = value.map_or(Value::Null, |s| Value::String(s.to_string()));
    match field.target(policy.header_column.as_deref()) {
        Some(Target::Column(c)) => {
            event.insert(c.to_string(), v);
        }
        Some(Target::Header { column, name }) => {
            let bag = event.entry(column).or_insert_with(|| json!({}));
            if let Value::Object(m) = bag {
                m.insert(name, v);
            }
        }
        None => {
            event.insert(if v6 { "SenderIPv6" } else { "SenderIPv4" }.to_string(), v);
        }
    }
}

/// Per condition: the values to try (value, is-v6 for addresses).
fn condition_candidates(e: &Exclusion) -> Vec<Vec<(Option<String>, bool)>> {
    e.conditions
        .iter()
        .map(|c| {
            let mut vals: Vec<(Option<String>, bool)> = vec![(None, false)];
            for v in &c.values {
                match &v.test {
                    Test::Text(_) => {
                        vals.extend(text_variants(v.op, &v.text).into_iter().map(|s| (Some(s), false)))
                    }
                    Test::Net(n) => {
                        let v6 = matches!(n, IpNet::V6(_));
                        vals.extend(net_variants(n).into_iter().map(|s| (Some(s), v6)));
                    }
                }
            }
            vals
        })
        .collect()
}

fn events_for(policy: &Policy) -> Vec<String> {
    let mut events = Vec::new();
    for e in &policy.exclusions {
        let cands = condition_candidates(e);
        // The first matching-looking candidate of every condition, then vary one condition
        // at a time through all its candidates.
        let base: Vec<(Option<String>, bool)> =
            cands.iter().map(|c| c.get(1).cloned().unwrap_or((None, false))).collect();
        for (ci, cand) in cands.iter().enumerate() {
            for alt in cand {
                let mut ev = Map::new();
                ev.insert("NetworkMessageId".into(), json!(format!("{}-{ci}", e.id)));
                for (cj, (c, (v, v6))) in e.conditions.iter().zip(&base).enumerate() {
                    let (v, v6) = if cj == ci { (alt.0.as_deref(), alt.1) } else { (v.as_deref(), *v6) };
                    set(&mut ev, policy, &c.field, v, v6);
                }
                events.push(Value::Object(ev).to_string());
            }
        }
    }
    // Events that mix values of different exclusions.
    let all: Vec<Map<String, Value>> = events.iter().map(|s| serde_json::from_str(s).unwrap()).collect();
    for (i, a) in all.iter().enumerate() {
        let b = &all[(i * 7 + 3) % all.len()];
        let mut m = a.clone();
        for (k, v) in b {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
        events.push(Value::Object(m).to_string());
    }
    events
}

fn check_policy(rel: &str) -> (usize, usize) {
    check_policy_text(rel, &crate::common::read(rel))
}

fn check_policy_text(rel: &str, text: &str) -> (usize, usize) {
    let policy = fpx::validate::load(text).unwrap_or_else(|d| panic!("{rel}: {d:?}"));
    let compiled =
        Compiled::new(&policy, Selection { today: crate::common::TODAY.parse().unwrap(), rules: vec![] });
    let matcher = Matcher::new(&compiled).unwrap();
    let mut scratch = matcher.scratch();
    let (mut checked, mut matched) = (0, 0);
    let mut hits = Vec::new();
    let events = events_for(&policy);
    for text in &events {
        let mut cells: Vec<Cell<'_>> = Vec::new();
        read_json_row(text, matcher.layout(), &mut cells).unwrap();
        matcher.matches(&cells, &mut scratch, &mut hits);
        let reference = reference::matches(&compiled, &JsonEvent::parse(text).unwrap());
        assert_eq!(hits, reference, "{rel}: matcher and reference disagree on {text}");
        checked += 1;
        matched += usize::from(!hits.is_empty());
    }
    (checked, matched)
}

#[test]
fn matcher_agrees_with_reference_on_example_policies() {
    for rel in ["policies/bulk-email-fp.toml", "policies/threat-intel-email-fp.toml"] {
        let (checked, matched) = check_policy(rel);
        assert!(checked > 100, "{rel}: {checked} events");
        // Not vacuous: a fair share of the generated events is excluded, and a fair share kept.
        assert!(matched * 10 > checked, "{rel}: only {matched} of {checked} matched");
        assert!(matched * 10 < checked * 9, "{rel}: {matched} of {checked} matched");
    }
}

#[test]
fn csv_and_json_cells_agree() {
    let policy = fpx::validate::load(&crate::common::read("policies/bulk-email-fp.toml")).unwrap();
    let compiled =
        Compiled::new(&policy, Selection { today: crate::common::TODAY.parse().unwrap(), rules: vec![] });
    for text in events_for(&policy) {
        let json: Map<String, Value> = serde_json::from_str(&text).unwrap();
        let csv: BTreeMap<String, String> = json
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    match v {
                        Value::String(s) => s.clone(),
                        Value::Null => String::new(),
                        other => other.to_string(),
                    },
                )
            })
            .collect();
        let a = reference::matches(&compiled, &JsonEvent::parse(&text).unwrap());
        let b = reference::matches(&compiled, &csv);
        assert_eq!(a, b, "{text}");
    }
}

/// A small deterministic generator for the tests below.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A policy that stresses the fast paths: many overlapping networks of both families
/// (nested, repeated across exclusions, /0 to /32 and /128), prefixes and suffixes of many
/// lengths sharing first and last bytes, phrases, wildcard globs and regexes with and
/// without literals, on columns and headers.
fn stress_policy() -> String {
    let mut rng = Lcg(7);
    let mut p = String::from("[policy]\nname = \"stress\"\nheader_column = \"Headers\"\n");
    let v4 = |rng: &mut Lcg| {
        let len = [0u32, 8, 12, 16, 20, 23, 24, 24, 25, 28, 31, 32][rng.below(12)];
        let a: u32 = 0x0A00_0000 | (rng.next() as u32 & 0x00FF_FFFF);
        let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
        format!("{}/{len}", std::net::Ipv4Addr::from(a & mask))
    };
    let v6 = |rng: &mut Lcg| {
        let len = [0u32, 32, 48, 56, 63, 64, 100, 127, 128][rng.below(9)];
        let a: u128 =
            (0x2001_0db8u128 << 96) | (u128::from(rng.next() as u16 & 0x3) << 80) | u128::from(rng.next());
        let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
        format!("{}/{len}", std::net::Ipv6Addr::from(a & mask))
    };
    let words =
        ["ab", "abc", "a.b", "@x.com", ".com", "x", "Reset", "ſtraße", "ΣΑΣ", "b-c", "*a*", "a*b", "?x"];
    for i in 0..60 {
        p.push_str(&format!("\n[[exclusion]]\nid = \"e{i}\"\nreason = \"r\"\nowner = \"o\"\n"));
        let w = |rng: &mut Lcg| words[rng.below(words.len())].to_string();
        match i % 6 {
            0 => {
                let nets: Vec<String> = (0..1 + rng.below(4))
                    .map(|_| if rng.below(3) == 0 { v6(&mut rng) } else { v4(&mut rng) })
                    .collect();
                p.push_str(&format!("source_ip = {nets:?}\n"));
            }
            1 => {
                let (a, b) = (w(&mut rng), w(&mut rng));
                p.push_str(&format!(
                    "sender = [\"{a}*\", \"*{b}\", \"{a}{b}\"]\nsource_ip = [\"{}\"]\n",
                    v4(&mut rng)
                ));
            }
            2 => {
                let (a, b, c) = (w(&mut rng), w(&mut rng), w(&mut rng));
                p.push_str(&format!(
                    "subject.contains = [\"{a}\", \"{b}{c}\"]\nsubject.starts_with = [\"{b}\"]\nsender_domain = [\"*{c}\"]\n"
                ));
            }
            3 => {
                let re =
                    ["^Re(set|SET) [0-9]+", "(?i)straße", "a|b", "x?", "^$", "[A-Z]{2}-[0-9]"][rng.below(6)];
                p.push_str(&format!("subject.regex = [{re:?}]\n"));
            }
            4 => {
                let (a, b) = (w(&mut rng), w(&mut rng));
                p.push_str(&format!(
                    "header.\"X-Tag\" = [\"{a}?{b}*\", \"*{b}\"]\nrecipient = [\"*{a}*\"]\n"
                ));
            }
            _ => {
                let (a, b) = (w(&mut rng), w(&mut rng));
                p.push_str(&format!(
                    "sender = [\"*{a}*{b}*\", \"{b}\"]\nsource_ip = [\"{}\", \"{}\"]\n",
                    v6(&mut rng),
                    v4(&mut rng)
                ));
            }
        }
    }
    p
}

#[test]
fn matcher_agrees_with_reference_on_a_stress_policy() {
    let (checked, matched) = check_policy_text("stress", &stress_policy());
    assert!(checked > 1000, "{checked} events");
    assert!(matched * 20 > checked, "only {matched} of {checked} matched");
}

/// Many exclusions sharing values (an entry held by more than 8 conditions is "shared" in
/// the matcher): with an unshared condition beside it, with only shared conditions, and a
/// condition whose values are both shared and not.
fn shared_policy() -> String {
    let mut p = String::from("[policy]\nname = \"shared\"\n");
    for i in 0..48 {
        p.push_str(&format!("\n[[exclusion]]\nid = \"e{i}\"\nreason = \"r\"\nowner = \"o\"\n"));
        p.push_str(&match i % 4 {
            0 => format!("recipient = [\"r{i}@company.com\"]\nsender = [\"*@company.com\"]\n"),
            1 => format!("direction = [\"Inbound\"]\nsender = [\"*@company.com\", \"*@c{}.com\"]\n", i % 3),
            2 => format!(
                "source_ip = [\"10.0.0.0/8\", \"2001:db8::/32\"]\nsubject.contains = [\"x{i}\", \"shared\"]\n"
            ),
            _ => format!("sender = [\"*@company.com\", \"a{i}@company.com\"]\ndirection = [\"Inbound\"]\n"),
        });
    }
    p
}

#[test]
fn matcher_agrees_with_reference_on_shared_values() {
    let (checked, matched) = check_policy_text("shared", &shared_policy());
    assert!(checked > 500, "{checked} events");
    assert!(matched * 10 > checked, "only {matched} of {checked} matched");
}

/// Rows the JSON scanner must read exactly as serde_json does.
fn scanner_rows() -> Vec<String> {
    let mut rows: Vec<String> =
        crate::common::read("tests/data/bulk-email.jsonl").lines().map(str::to_string).collect();
    rows.extend(
        [
            r#"{}"#,
            r#"  { "SenderFromAddress" : "a@b.c" , "SenderIPv4":"10.20.30.1" }  "#,
            r#"{"SenderFromAddress":"caf\u00e9@b.c","Subject":"\ud83d\ude00 x","SenderIPv4":"10.20.30.1"}"#,
            r#"{"SenderFromAddress":"\ud800","SenderIPv4":"10.20.30.1"}"#,
            r#"{"Sender\u0046romAddress":"reports@company.com","SenderIPv4":"10.20.30.1"}"#,
            r#"{"SenderFromAddress":12.5e-3,"Subject":true,"EmailDirection":null,"X":[1,{"a":[]}]}"#,
            r#"{"SenderFromAddress":-0,"Subject":1E+9,"RecipientEmailAddress":false}"#,
            r#"{"Headers":"{\"X-Campaign-Id\":\"cmp-1\"}","SenderFromDomain":"news.company.com"}"#,
            r#"{"Headers":{"X-Campaign-Id":"cmp-1","X-Campaign-Id":"cmp-2"},"SenderFromDomain":"news.company.com"}"#,
            r#"{"Headers":{"X-Campaign-Id":"cmp-1"},"Headers":{},"SenderFromDomain":"news.company.com"}"#,
            r#"{"Headers":{"X-Company-System-Generated":true},"EmailDirection":"Intra-org"}"#,
            r#"{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"#,
        ]
        .map(str::to_string),
    );
    rows
}

#[test]
fn json_scanner_agrees_with_serde_on_mutated_rows() {
    let policy = fpx::validate::load(&crate::common::read("policies/bulk-email-fp.toml")).unwrap();
    let compiled =
        Compiled::new(&policy, Selection { today: crate::common::TODAY.parse().unwrap(), rules: vec![] });
    let layout = &compiled.layout;
    let reader = JsonRowReader::new(layout);
    let inserts = [
        "\"",
        "\\",
        ",",
        ":",
        "}",
        "{",
        "[",
        "]",
        " ",
        "0",
        "-",
        ".",
        "e",
        "\u{1}",
        "\t",
        "\\u00",
        "\\x",
        "01",
        "null",
        "tru",
        "\"SenderFromAddress\":\"x\",",
        "é",
    ];
    let mut rng = Lcg(42);
    let (mut checked, mut accepted) = (0, 0);
    for row in scanner_rows() {
        let mut variants = vec![row.clone()];
        let cuts: Vec<usize> = (0..=row.len()).filter(|&i| row.is_char_boundary(i)).collect();
        for _ in 0..150 {
            let at = cuts[rng.below(cuts.len())];
            let mut v = row.clone();
            match rng.below(3) {
                0 => v.insert_str(at, inserts[rng.below(inserts.len())]),
                1 => {
                    if let Some(&end) = cuts.iter().find(|&&e| e > at) {
                        v.replace_range(at..end, "");
                    }
                }
                _ => v.truncate(at),
            }
            variants.push(v);
        }
        for v in &variants {
            let mut fast = Vec::new();
            let mut slow = Vec::new();
            let a = reader.read(v, &mut fast);
            let b = read_json_row(v, layout, &mut slow);
            assert_eq!(a, b, "{v}");
            if b.is_ok() {
                assert_eq!(fast, slow, "{v}");
                accepted += 1;
            }
            checked += 1;
        }
    }
    assert!(checked > 5000 && accepted > 500 && accepted < checked, "{accepted} of {checked}");
}
