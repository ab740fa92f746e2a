//! Property tests: random policies (every condition kind, lists, groups, globs full of
//! metacharacters, networks of both families, regexes from a safe generator) and events
//! built from each policy's own values. The compiled matcher must agree with the reference
//! evaluator on every event, JSON Lines and CSV must agree, and a policy written as TOML
//! text must read back as the values it was written with.
//!
//! The case budget is `PROPTEST_CASES` (default 256 per property).

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use fpx::compile::{Compiled, Selection};
use fpx::event::{CsvColumns, JsonRowReader, read_csv_row, read_json_row};
use fpx::matcher::Matcher;
use fpx::model::Policy;
use fpx::reference::{self, JsonEvent};
use fpx::semantics::Cell;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::Config;
use serde_json::{Map, Value, json};

/// Characters that stress case folding, glob and regex metacharacters, and escaping.
const ALPHABET: &[char] = &[
    'a', 'b', 'B', 'x', 'Z', 's', 'S', '@', '.', '-', '_', '*', '?', '[', ']', '\\', '(', '+', '"', '\'',
    ' ', '\n', 'é', 'É', 'ß', 'Σ', 'σ', 'ς', 'ſ', '\u{212A}', 'k', 'K', 'İ', 'i', '✉',
];

const TEXT_FIELDS: &[&str] = &["sender", "mail_from", "sender_domain", "recipient", "subject"];
const HEADERS: &[&str] = &["X-A", "X-Campaign"];
const WHERE_COLUMNS: &[&str] = &["Connectors", "OrgLevelPolicy"];
const OPS: &[Option<&str>] =
    &[None, Some("equals"), Some("starts_with"), Some("ends_with"), Some("contains"), Some("glob")];

#[derive(Clone, Debug)]
enum Field {
    Text(&'static str),
    Direction,
    SourceIp,
    Header(&'static str),
    Where(&'static str),
}

#[derive(Clone, Debug)]
enum GenValue {
    Text(Option<&'static str>, String),
    Net(IpNet),
    /// A reference to list `i` (text lists for text fields, network lists for `source_ip`).
    List(usize),
    /// A reference to group `i`.
    Group(usize),
}

/// A group member: an address, a text list, or an earlier group (so that no group
/// contains itself).
#[derive(Clone, Debug)]
enum Member {
    Text(String),
    List(usize),
    Group(usize),
}

#[derive(Clone, Debug)]
struct GenGroup {
    address: Option<String>,
    members: Vec<Member>,
}

#[derive(Clone, Debug)]
struct GenPolicy {
    text_lists: Vec<Vec<String>>,
    net_lists: Vec<Vec<IpNet>>,
    groups: Vec<GenGroup>,
    exclusions: Vec<Vec<(Field, Vec<GenValue>)>>,
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 1..7).prop_map(|cs| cs.into_iter().collect())
}

/// Regexes in the dialect fpx accepts, built from safe pieces.
fn regex() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        text().prop_map(|t| regex_syntax::escape(&t)),
        Just(".".to_string()),
        Just("[a-z]".to_string()),
        Just("[^x]".to_string()),
        Just("s*".to_string()),
        Just("(ab|é)".to_string()),
        Just("B?".to_string()),
        Just("[0-9]{1,3}".to_string()),
    ];
    (any::<bool>(), any::<bool>(), prop::collection::vec(piece, 1..4), any::<bool>()).prop_map(
        |(ci, start, ps, end)| {
            format!(
                "{}{}{}{}",
                if ci { "(?i)" } else { "" },
                if start { "^" } else { "" },
                ps.concat(),
                if end { "$" } else { "" }
            )
        },
    )
}

fn net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<u32>(), 8u8..=32)
            .prop_map(|(a, p)| IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), p).unwrap().trunc())),
        (any::<u128>(), 16u8..=128)
            .prop_map(|(a, p)| IpNet::V6(Ipv6Net::new(Ipv6Addr::from(a), p).unwrap().trunc())),
        // Networks near the sample's relay, so that events often fall inside.
        (0u8..=255, 20u8..=32)
            .prop_map(|(h, p)| IpNet::V4(Ipv4Net::new(Ipv4Addr::new(10, 20, 30, h), p).unwrap().trunc())),
    ]
}

fn text_value(n_lists: usize, n_groups: usize) -> impl Strategy<Value = GenValue> {
    prop_oneof![
        6 => (prop::sample::select(OPS), text()).prop_map(|(op, t)| GenValue::Text(op, t)),
        2 => regex().prop_map(|r| GenValue::Text(Some("regex"), r)),
        1 => (0..n_lists.max(1)).prop_map(GenValue::List),
        1 => (0..n_groups.max(1)).prop_map(GenValue::Group),
    ]
}

/// Groups whose members are addresses, text lists and earlier groups.
fn groups(n_text: usize) -> impl Strategy<Value = Vec<GenGroup>> {
    let member = prop_oneof![
        4 => text().prop_map(Member::Text),
        1 => (0..n_text).prop_map(Member::List),
        1 => any::<usize>().prop_map(Member::Group),
    ];
    prop::collection::vec((prop::option::of(text()), prop::collection::vec(member, 0..4)), 1..3).prop_map(
        |gs| {
            gs.into_iter()
                .enumerate()
                .map(|(i, (address, members))| {
                    let members: Vec<Member> = members
                        .into_iter()
                        .map(|m| match m {
                            Member::Group(_) if i == 0 => Member::Text("first@company.com".into()),
                            Member::Group(j) => Member::Group(j % i),
                            m => m,
                        })
                        .collect();
                    let address = match (&address, members.is_empty()) {
                        (None, true) => Some(format!("group-{i}@company.com")),
                        _ => address,
                    };
                    GenGroup { address, members }
                })
                .collect()
        },
    )
}

fn condition(n_text: usize, n_net: usize, n_groups: usize) -> impl Strategy<Value = (Field, Vec<GenValue>)> {
    let text_field = prop_oneof![
        prop::sample::select(TEXT_FIELDS).prop_map(Field::Text),
        prop::sample::select(HEADERS).prop_map(Field::Header),
        prop::sample::select(WHERE_COLUMNS).prop_map(Field::Where),
    ];
    prop_oneof![
        4 => (text_field, prop::collection::vec(text_value(n_text, n_groups), 1..4)),
        1 => prop::collection::vec(prop::sample::select(&["Inbound", "outbound", "INTRA-ORG"][..]), 1..3)
            .prop_map(|ds| (Field::Direction, ds.into_iter().map(|d| GenValue::Text(None, d.to_string())).collect())),
        2 => prop::collection::vec(
                prop_oneof![3 => net().prop_map(GenValue::Net), 1 => (0..n_net.max(1)).prop_map(GenValue::List)],
                1..4,
            )
            .prop_map(|vs| (Field::SourceIp, vs)),
    ]
}

fn policy() -> impl Strategy<Value = GenPolicy> {
    (
        prop::collection::vec(prop::collection::vec(text(), 1..4), 1..3),
        prop::collection::vec(prop::collection::vec(net(), 1..4), 1..3),
    )
        .prop_flat_map(|(text_lists, net_lists)| {
            let nt = text_lists.len();
            (Just(text_lists), Just(net_lists), groups(nt))
        })
        .prop_flat_map(|(text_lists, net_lists, groups)| {
            let (nt, nn, ng) = (text_lists.len(), net_lists.len(), groups.len());
            // TOML allows each key once per exclusion: one condition per field (several
            // `[[exclusion.where]]` tables may name the same column).
            let exclusion = prop::collection::vec(condition(nt, nn, ng), 1..4).prop_map(|conds| {
                let mut seen = Vec::new();
                conds
                    .into_iter()
                    .filter(|(f, _)| {
                        let key = format!("{f:?}");
                        matches!(f, Field::Where(_)) || {
                            let new = !seen.contains(&key);
                            seen.push(key);
                            new
                        }
                    })
                    .collect::<Vec<_>>()
            });
            (Just(text_lists), Just(net_lists), Just(groups), prop::collection::vec(exclusion, 1..6))
        })
        .prop_map(|(text_lists, net_lists, groups, exclusions)| GenPolicy {
            text_lists,
            net_lists,
            groups,
            exclusions,
        })
}

/// A TOML basic string for any text.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// How a literal is written: a leading `@` is doubled so it is not a reference.
fn written(s: &str) -> String {
    if s.starts_with('@') { format!("@{s}") } else { s.to_string() }
}

impl GenPolicy {
    fn to_toml(&self) -> String {
        let mut t = String::from("[policy]\nname = \"generated\"\nheader_column = \"Headers\"\n\n[lists]\n");
        for (i, l) in self.text_lists.iter().enumerate() {
            let vals: Vec<String> = l.iter().map(|v| toml_str(&written(v))).collect();
            let _ = writeln!(t, "text-{i} = [{}]", vals.join(", "));
        }
        for (i, l) in self.net_lists.iter().enumerate() {
            let vals: Vec<String> = l.iter().map(|v| toml_str(&v.to_string())).collect();
            let _ = writeln!(t, "nets-{i} = [{}]", vals.join(", "));
        }
        for (i, g) in self.groups.iter().enumerate() {
            let _ = writeln!(t, "\n[groups.group-{i}]");
            if let Some(a) = &g.address {
                let _ = writeln!(t, "address = {}", toml_str(&written(a)));
            }
            let members: Vec<String> = g
                .members
                .iter()
                .map(|m| match m {
                    Member::Text(s) => toml_str(&written(s)),
                    Member::List(j) => toml_str(&format!("@text-{j}")),
                    Member::Group(j) => toml_str(&format!("@group-{j}")),
                })
                .collect();
            let _ = writeln!(t, "members = [{}]", members.join(", "));
        }
        for (n, conds) in self.exclusions.iter().enumerate() {
            let _ = write!(
                t,
                "\n[[exclusion]]\nid = \"e{n}\"\nreason = \"generated\"\nowner = \"soc@company.com\"\n"
            );
            let mut wheres = String::new();
            for (field, values) in conds {
                let key = match field {
                    Field::Text(k) => k.to_string(),
                    Field::Direction => "direction".into(),
                    Field::SourceIp => "source_ip".into(),
                    Field::Header(h) => format!("header.{}", toml_str(h)),
                    Field::Where(_) => String::new(),
                };
                // Group values by operator: one key per operator.
                let mut by_op: Vec<(Option<&str>, Vec<String>)> = Vec::new();
                for v in values {
                    let (op, lit) = match v {
                        GenValue::Text(op, s) => (*op, toml_str(&written(s))),
                        GenValue::Net(n) => (None, toml_str(&n.to_string())),
                        GenValue::List(i) => match field {
                            Field::SourceIp => (None, toml_str(&format!("@nets-{i}"))),
                            _ => (None, toml_str(&format!("@text-{i}"))),
                        },
                        GenValue::Group(i) => (None, toml_str(&format!("@group-{i}"))),
                    };
                    // `glob = [...]` and a plain list mean the same; in an inline table
                    // they share the key `glob`.
                    let op = match (op, field) {
                        (Some("glob"), _) if by_op.iter().any(|(o, _)| o.is_none()) => None,
                        (None, _) if by_op.iter().any(|(o, _)| *o == Some("glob")) => Some("glob"),
                        _ => op,
                    };
                    match by_op.iter_mut().find(|(o, _)| *o == op) {
                        Some((_, vs)) => vs.push(lit),
                        None => by_op.push((op, vec![lit])),
                    }
                }
                if let Field::Where(col) = field {
                    let _ = write!(wheres, "[[exclusion.where]]\ncolumn = \"{col}\"\n");
                    for (op, vs) in by_op {
                        let _ = writeln!(wheres, "{} = [{}]", op.unwrap_or("values"), vs.join(", "));
                    }
                    continue;
                }
                let ops: Vec<String> = by_op
                    .iter()
                    .map(|(op, vs)| format!("{} = [{}]", op.unwrap_or("glob"), vs.join(", ")))
                    .collect();
                if by_op.len() == 1 && by_op[0].0.is_none() {
                    let _ = writeln!(t, "{key} = [{}]", by_op[0].1.join(", "));
                } else {
                    let _ = writeln!(t, "{key} = {{ {} }}", ops.join(", "));
                }
            }
            t.push_str(&wheres);
        }
        t
    }

    /// Every text `@group-i` stands for: its address and its members, references expanded.
    fn group_texts(&self, i: usize) -> Vec<String> {
        let g = &self.groups[i];
        let mut out: Vec<String> = g.address.iter().cloned().collect();
        for m in &g.members {
            match m {
                Member::Text(s) => out.push(s.clone()),
                Member::List(j) => out.extend(self.text_lists[*j].iter().cloned()),
                Member::Group(j) => out.extend(self.group_texts(*j)),
            }
        }
        out
    }

    /// Every text a value of the policy holds (lists expanded), and every network.
    fn texts_and_nets(&self) -> (Vec<String>, Vec<IpNet>) {
        let mut texts: Vec<String> = self.text_lists.iter().flatten().cloned().collect();
        let mut nets: Vec<IpNet> = self.net_lists.iter().flatten().copied().collect();
        for g in &self.groups {
            texts.extend(g.address.iter().cloned());
            texts.extend(g.members.iter().filter_map(|m| match m {
                Member::Text(s) => Some(s.clone()),
                _ => None,
            }));
        }
        for conds in &self.exclusions {
            for (_, vs) in conds {
                for v in vs {
                    match v {
                        GenValue::Text(_, s) => texts.push(s.clone()),
                        GenValue::Net(n) => nets.push(*n),
                        GenValue::List(_) | GenValue::Group(_) => {}
                    }
                }
            }
        }
        (texts, nets)
    }
}

/// A small deterministic generator for event variations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// A string near `s`: itself, a case change, one character off, or a glob filled in.
fn near(s: &str, rng: &mut Rng) -> String {
    let filled: String = s
        .chars()
        .map(|c| match c {
            '*' => 'q',
            '?' => 'é',
            c => c,
        })
        .collect();
    match rng.below(11) {
        0 | 1 => s.to_string(),
        2 => s.to_uppercase(),
        3 => s.to_lowercase(),
        4 => format!("x{s}"),
        5 => format!("{s}Σ"),
        6 => s.chars().skip(1).collect(),
        7 => {
            let mut t: String = s.to_string();
            t.pop();
            t
        }
        8 => filled,
        9 => s.replace('*', "").replace('?', "ab"),
        _ => format!("{}{}", s.chars().rev().collect::<String>(), s),
    }
}

fn address_near(n: &IpNet, rng: &mut Rng) -> String {
    match n {
        IpNet::V4(n) => {
            let (lo, hi) = (u32::from(n.network()), u32::from(n.broadcast()));
            let a = match rng.below(6) {
                0 => lo,
                1 => hi,
                2 => lo.wrapping_sub(1),
                3 => hi.wrapping_add(1),
                4 => lo + (rng.next() as u32) % (hi - lo).saturating_add(1).max(1),
                _ => return format!("::ffff:{}", Ipv4Addr::from(lo)),
            };
            Ipv4Addr::from(a).to_string()
        }
        IpNet::V6(n) => {
            let (lo, hi) = (u128::from(n.network()), u128::from(n.broadcast()));
            let a = match rng.below(5) {
                0 => lo,
                1 => hi,
                2 => lo.wrapping_sub(1),
                3 => hi.wrapping_add(1),
                _ => lo | (u128::from(rng.next()) & (hi - lo)),
            };
            Ipv6Addr::from(a).to_string()
        }
    }
}

/// One value for a text column: a string near a policy value, or an odd JSON value.
fn cell_value(texts: &[String], rng: &mut Rng) -> Value {
    match rng.below(14) {
        0 => Value::Null,
        1 => json!(""),
        2 => json!(42),
        3 => json!(true),
        4 => json!({"a": "b"}),
        5 => json!(["x"]),
        _ => {
            let t = rng.pick(texts).clone();
            json!(near(&t, rng))
        }
    }
}

fn events(p: &GenPolicy, seed: u64, n: usize) -> Vec<String> {
    let (mut texts, nets) = p.texts_and_nets();
    texts.extend(["Inbound", "Outbound", "Intra-org", "inbound"].map(String::from));
    let mut rng = Rng(seed | 1);
    let columns = [
        "SenderFromAddress",
        "SenderMailFromAddress",
        "SenderFromDomain",
        "RecipientEmailAddress",
        "Subject",
        "EmailDirection",
        "Connectors",
        "OrgLevelPolicy",
    ];
    (0..n)
        .map(|_| {
            let mut ev = Map::new();
            for c in columns {
                if rng.below(4) > 0 {
                    ev.insert(c.to_string(), cell_value(&texts, &mut rng));
                }
            }
            for (col, v6) in [("SenderIPv4", false), ("SenderIPv6", true)] {
                if rng.below(3) > 0 && !nets.is_empty() {
                    let fam: Vec<&IpNet> = nets.iter().filter(|n| matches!(n, IpNet::V6(_)) == v6).collect();
                    let v = match (rng.below(6), fam.is_empty()) {
                        (0, _) => json!(""),
                        (1, _) => Value::Null,
                        (2, _) => json!("10.20.30"),
                        (_, true) => {
                            let n = *rng.pick(&nets);
                            json!(address_near(&n, &mut rng))
                        }
                        (_, false) => {
                            let n = **rng.pick(&fam);
                            json!(address_near(&n, &mut rng))
                        }
                    };
                    ev.insert(col.to_string(), v);
                }
            }
            if rng.below(4) > 0 {
                let mut bag = Map::new();
                for h in HEADERS {
                    if rng.below(3) > 0 {
                        let key = if rng.below(8) == 0 { h.to_lowercase() } else { h.to_string() };
                        bag.insert(key, cell_value(&texts, &mut rng));
                    }
                }
                let bag = Value::Object(bag);
                // The header column holds an object, or (as in CSV exports) its JSON text.
                ev.insert("Headers".into(), if rng.below(3) == 0 { json!(bag.to_string()) } else { bag });
            }
            Value::Object(ev).to_string()
        })
        .collect()
}

fn today() -> Selection {
    Selection { today: "2026-12-04".parse().unwrap(), rules: vec![] }
}

fn load(p: &GenPolicy) -> Policy {
    let text = p.to_toml();
    fpx::validate::load(&text).unwrap_or_else(|d| panic!("generated policy is invalid: {d:#?}\n{text}"))
}

/// The matcher's verdict on a JSON Lines row, read as `fpx filter` reads it (the fast
/// scanner), which must decode the same cells as the serde reader.
fn json_verdict(matcher: &Matcher, text: &str) -> Vec<usize> {
    let mut cells: Vec<Cell<'_>> = Vec::new();
    JsonRowReader::new(matcher.layout()).read(text, &mut cells).unwrap();
    let mut slow: Vec<Cell<'_>> = Vec::new();
    read_json_row(text, matcher.layout(), &mut slow).unwrap();
    assert_eq!(cells, slow, "scanner and serde reader disagree on {text}");
    let mut out = Vec::new();
    matcher.matches(&cells, &mut matcher.scratch(), &mut out);
    out
}

fn config() -> Config {
    Config {
        failure_persistence: None,
        ..Config::with_cases(std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(256))
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn matcher_agrees_with_reference(p in policy(), seed in any::<u64>()) {
        let policy = load(&p);
        let compiled = Compiled::new(&policy, today());
        let matcher = Matcher::new(&compiled).unwrap();
        for ev in events(&p, seed, 60) {
            let fast = json_verdict(&matcher, &ev);
            let slow = reference::matches(&compiled, &JsonEvent::parse(&ev).unwrap());
            prop_assert_eq!(fast, slow, "event {}\npolicy:\n{}", ev, p.to_toml());
        }
    }

    #[test]
    fn csv_rows_get_the_json_verdict(p in policy(), seed in any::<u64>()) {
        let policy = load(&p);
        let compiled = Compiled::new(&policy, today());
        let matcher = Matcher::new(&compiled).unwrap();
        let names: Vec<String> = matcher.layout().columns.iter().cloned()
            .chain(matcher.layout().header_column.iter().cloned()).collect();
        let columns = CsvColumns::new(names.clone(), matcher.layout());
        for ev in events(&p, seed, 40) {
            let obj: Map<String, Value> = serde_json::from_str(&ev).unwrap();
            // CSV has no objects or arrays in text columns: those rows are not comparable.
            if names.iter().any(|n| n != "Headers" && matches!(obj.get(n), Some(Value::Object(_) | Value::Array(_)))) {
                continue;
            }
            let mut fields = Vec::new();
            let mut ends = Vec::new();
            for n in &names {
                let text = match obj.get(n) {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                };
                fields.extend_from_slice(text.as_bytes());
                ends.push(fields.len());
            }
            let mut cells: Vec<Cell<'_>> = Vec::new();
            read_csv_row(&fields, &ends, &columns, matcher.layout(), &mut cells).unwrap();
            let mut csv = Vec::new();
            matcher.matches(&cells, &mut matcher.scratch(), &mut csv);
            prop_assert_eq!(csv, json_verdict(&matcher, &ev), "event {}", ev);
        }
    }

    #[test]
    fn policy_text_reads_back_as_written(p in policy()) {
        let policy = load(&p);
        prop_assert_eq!(policy.exclusions.len(), p.exclusions.len());
        for (e, conds) in policy.exclusions.iter().zip(&p.exclusions) {
            let expected: Vec<String> = conds.iter().flat_map(|(_, vs)| vs.iter().flat_map(|v| match v {
                GenValue::Text(_, s) => vec![s.clone()],
                GenValue::Net(n) => vec![n.to_string()],
                GenValue::List(i) => match conds.iter().find(|(_, x)| std::ptr::eq(x, vs)).map(|(f, _)| f) {
                    Some(Field::SourceIp) => p.net_lists[*i].iter().map(ToString::to_string).collect(),
                    _ => p.text_lists[*i].clone(),
                },
                GenValue::Group(i) => p.group_texts(*i),
            })).collect();
            let mut got: Vec<String> = e.conditions.iter().flat_map(|c| c.values.iter().map(|v| v.text.clone())).collect();
            let mut want = expected;
            got.sort();
            want.sort();
            prop_assert_eq!(got, want);
        }
    }
}

#[test]
fn generated_events_exercise_both_verdicts() {
    // The properties above are not vacuous: over a few fixed policies, the generated
    // events are excluded often and kept often.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut hit, mut total) = (0usize, 0usize);
    for _ in 0..40 {
        let p = policy().new_tree(&mut runner).unwrap().current();
        let policy = load(&p);
        let compiled = Compiled::new(&policy, today());
        let matcher = Matcher::new(&compiled).unwrap();
        for ev in events(&p, 7, 50) {
            total += 1;
            hit += usize::from(!json_verdict(&matcher, &ev).is_empty());
        }
    }
    assert!(hit * 20 > total, "{hit} of {total} events matched");
    assert!(hit < total, "{hit} of {total} events matched");
}

#[test]
fn address_edges() {
    let n: IpNet = "10.20.30.0/24".parse().unwrap();
    let mut rng = Rng(3);
    let got: Vec<String> = (0..30).map(|_| address_near(&n, &mut rng)).collect();
    assert!(got.iter().any(|a| a == "10.20.29.255"));
    assert!(got.iter().any(|a| a == "10.20.31.0"));
    assert!(got.iter().all(|a| a.parse::<IpAddr>().is_ok()));
}
