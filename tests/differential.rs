//! The compiled matcher agrees with the reference evaluator on events built from each
//! example policy's own values: exact hits, case changes, one character off, network
//! edges, and empty, null or missing fields.

use std::collections::BTreeMap;
use std::net::IpAddr;

use fpx::compile::{Compiled, Selection};
use fpx::event::read_json_row;
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
    let policy = fpx::validate::load(&crate::common::read(rel)).unwrap();
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
