//! `fpx export sigma`: each active exclusion as a Sigma v2 filter with the same meaning.
//!
//! A filter holds one selection per condition and `condition: not (a and b …)`, because
//! pySigma appends a filter to a rule as `(rule) and (filter condition)`. Within a
//! selection the values are ORed: values of one Sigma key are a list, and values needing
//! different keys (a prefix and a suffix, IPv4 and IPv6 networks) are a list of maps.
//!
//! | fpx | Sigma |
//! |---|---|
//! | `equals` / a glob without wildcards | the value, with `*`, `?` and `\` escaped |
//! | `starts_with`, `ends_with`, `contains` (or the globs `a*`, `*a`, `*a*`) | `\|startswith`, `\|endswith`, `\|contains` |
//! | any other glob | `\|re` with the anchored regex fpx compiles it to, `(?s)^…$` |
//! | `*` (any non-empty value) | `\|re: '(?s).'` (Sigma's `*` also matches an empty field) |
//! | `regex` | `\|re`, unchanged (both are case-sensitive searches) |
//! | `source_ip` | `SenderIPv4\|cidr` / `SenderIPv6\|cidr` |
//! | `direction` | `EmailDirection` |
//! | `header."From"` … | its column; other headers have no Sigma field and are refused |
//!
//! The filter's `id` is a UUID v5 of `urn:fpx:<policy>:<exclusion>` in the URL namespace:
//! exporting the same exclusion again gives the same id. Expired exclusions are not
//! exported (Sigma has no expiry); an exclusion without rules applies to `rules: any`.
//!
//! Case: fpx ignores the case of ASCII letters only; Sigma says matching ignores case and
//! leaves the details to the backend. The Kusto backend's `=~`, `in~` and `contains` fold
//! ASCII only, as fpx does; a backend that folds Unicode case (`É` with `é`) matches more.

use std::fmt::Write as _;

use jiff::civil::Date;
use uuid::Uuid;

use crate::compile::{Selection, Status};
use crate::model::{Condition, DIRECTIONS, Exclusion, Field, Policy, Test, Value};
use crate::semantics::{TextOp, TextTest};
use crate::sigma::{FIELDS, LOGSOURCE, escape};

/// One exported filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// The exclusion it comes from.
    pub exclusion: String,
    /// `mf_<policy>_<exclusion>.yml`, as Sigma names filter files.
    pub file_name: String,
    pub yaml: String,
}

/// An exclusion that was not exported, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub exclusion: String,
    pub message: String,
    pub help: String,
}

/// The result of an export.
#[derive(Clone, Debug, Default)]
pub struct Exported {
    pub filters: Vec<Filter>,
    pub refused: Vec<Refusal>,
    /// Expired exclusions, left out.
    pub expired: Vec<String>,
}

/// Exports every exclusion active on `today`.
pub fn export(policy: &Policy, today: Date) -> Exported {
    let selection = Selection { today, rules: Vec::new() };
    let mut out = Exported::default();
    for e in &policy.exclusions {
        if Status::of(e, &selection) == Status::Expired {
            out.expired.push(e.id.to_string());
            continue;
        }
        match filter(policy, e) {
            Ok(yaml) => out.filters.push(Filter {
                exclusion: e.id.to_string(),
                file_name: format!("mf_{}_{}.yml", policy.name, e.id).replace('-', "_"),
                yaml,
            }),
            Err(r) => out.refused.push(r),
        }
    }
    out
}

/// The filter's id: a UUID v5 of the policy and exclusion names.
pub fn filter_id(policy: &str, exclusion: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, format!("urn:fpx:{policy}:{exclusion}").as_bytes())
}

/// One selection: `(key, values)` maps ORed with each other.
type Maps = Vec<(String, Vec<String>)>;

fn filter(policy: &Policy, e: &Exclusion) -> Result<String, Refusal> {
    let mut selections: Vec<(String, Maps)> = Vec::new();
    for c in &e.conditions {
        let mut name = selection_name(&c.field);
        let base = name.clone();
        let mut n = 2;
        while selections.iter().any(|(s, _)| *s == name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        selections.push((name, selection(policy, e, c)?));
    }
    let mut y = String::new();
    let _ = writeln!(y, "title: {}", yaml_str(&format!("{}: {}", policy.name, e.id)));
    let _ = writeln!(y, "id: {}", filter_id(policy.name.as_str(), e.id.as_str()));
    let mut description = e.reason.clone();
    let _ = write!(description, " (fpx policy `{}`, exclusion `{}`; owner {}", policy.name, e.id, e.owner);
    if let Some(t) = &e.ticket {
        let _ = write!(description, "; ticket {t}");
    }
    if let Some(d) = e.expires {
        let _ =
            write!(description, "; fpx applies it through {d}: Sigma has no expiry, export again after it");
    }
    description.push(')');
    let _ = writeln!(y, "description: {}", yaml_str(&description));
    let _ = writeln!(y, "author: {}", yaml_str(&e.owner));
    y.push_str("logsource:\n");
    for (k, v) in LOGSOURCE {
        let _ = writeln!(y, "    {k}: {v}");
    }
    y.push_str("filter:\n");
    if e.scope.rules.is_empty() {
        y.push_str("    rules: any\n");
    } else {
        y.push_str("    rules:\n");
        for r in &e.scope.rules {
            let _ = writeln!(y, "        - {}", yaml_str(r));
        }
    }
    for (name, maps) in &selections {
        let _ = writeln!(y, "    {name}:");
        match maps.as_slice() {
            [(key, values)] => write_entry(&mut y, 8, key, values),
            _ => {
                for (key, values) in maps {
                    let _ = write!(y, "        - ");
                    write_entry_inline(&mut y, 12, key, values);
                }
            }
        }
    }
    let names: Vec<&str> = selections.iter().map(|(n, _)| n.as_str()).collect();
    let condition = match names.as_slice() {
        [one] => format!("not {one}"),
        many => format!("not ({})", many.join(" and ")),
    };
    let _ = writeln!(y, "    condition: {condition}");
    Ok(y)
}

fn write_entry(y: &mut String, indent: usize, key: &str, values: &[String]) {
    let pad = " ".repeat(indent);
    let _ = write!(y, "{pad}");
    write_entry_inline(y, indent + 4, key, values);
}

/// `key: value` or `key:` and a list, the key already indented.
fn write_entry_inline(y: &mut String, list_indent: usize, key: &str, values: &[String]) {
    match values {
        [one] => {
            let _ = writeln!(y, "{key}: {}", yaml_str(one));
        }
        many => {
            let _ = writeln!(y, "{key}:");
            let pad = " ".repeat(list_indent);
            for v in many {
                let _ = writeln!(y, "{pad}- {}", yaml_str(v));
            }
        }
    }
}

fn selection_name(field: &Field) -> String {
    let raw = match field {
        Field::Header(h) => format!("header_{h}"),
        Field::Column(c) => format!("where_{c}"),
        f => f.key(),
    };
    let mut name: String =
        raw.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

fn selection(policy: &Policy, e: &Exclusion, c: &Condition) -> Result<Maps, Refusal> {
    let mut maps: Maps = Vec::new();
    for v in &c.values {
        let (key, value) = entry(policy, e, &c.field, v)?;
        match maps.iter_mut().find(|(k, _)| *k == key) {
            Some((_, vs)) => {
                if !vs.contains(&value) {
                    vs.push(value);
                }
            }
            None => maps.push((key, vec![value])),
        }
    }
    Ok(maps)
}

/// The Sigma key (field and modifiers) and value of one fpx value.
fn entry(policy: &Policy, e: &Exclusion, field: &Field, v: &Value) -> Result<(String, String), Refusal> {
    let column = match field {
        Field::SourceIp => {
            return match &v.test {
                Test::Net(net) => {
                    let column = match net {
                        ipnet::IpNet::V4(_) => "SenderIPv4",
                        ipnet::IpNet::V6(_) => "SenderIPv6",
                    };
                    Ok((format!("{column}|cidr"), net.to_string()))
                }
                Test::Text(_) => Err(refusal(e, "a text value in `source_ip`", "")),
            };
        }
        Field::Direction => {
            let d = DIRECTIONS.iter().find(|d| d.eq_ignore_ascii_case(&v.text)).copied().unwrap_or(&v.text);
            return Ok(("EmailDirection".into(), escape(d)));
        }
        Field::Header(name) => match Field::well_known_header(name) {
            Some(c) => c.to_string(),
            None => {
                return Err(refusal(
                    e,
                    &format!(
                        "`header.\"{name}\"` is read from the `{}` column's JSON, which has no Sigma field",
                        policy.header_column.as_deref().unwrap_or("header")
                    ),
                    "Sigma fields are columns: keep this exclusion in fpx, or test a column instead",
                ));
            }
        },
        Field::Column(c) => (*c).to_string(),
        named => match FIELDS.iter().find(|(k, _)| *k == named.key()) {
            Some((_, c)) => (*c).to_string(),
            None => return Err(refusal(e, &format!("`{}` has no Sigma field", named.key()), "")),
        },
    };
    let Test::Text(test) = &v.test else {
        return Err(refusal(e, &format!("a network in `{}`", field.key()), ""));
    };
    Ok(match (v.op, test) {
        (TextOp::Regex, _) => (format!("{column}|re"), v.text.clone()),
        (TextOp::Equals, _) => (column, escape(&v.text)),
        (TextOp::StartsWith, _) => (format!("{column}|startswith"), escape(&v.text)),
        (TextOp::EndsWith, _) => (format!("{column}|endswith"), escape(&v.text)),
        (TextOp::Contains, _) => (format!("{column}|contains"), escape(&v.text)),
        // A glob, by the shape fpx normalised it to; its text keeps the written case.
        (TextOp::Glob, TextTest::Equals(_)) => (column, escape(&v.text)),
        (TextOp::Glob, TextTest::StartsWith(_)) => {
            (format!("{column}|startswith"), escape(v.text.trim_end_matches('*')))
        }
        (TextOp::Glob, TextTest::EndsWith(_)) => {
            (format!("{column}|endswith"), escape(v.text.trim_start_matches('*')))
        }
        (TextOp::Glob, TextTest::Contains(_)) => {
            (format!("{column}|contains"), escape(v.text.trim_matches('*')))
        }
        (TextOp::Glob, TextTest::NonEmpty) => (format!("{column}|re"), "(?s).".to_string()),
        // The very regex the matcher runs (and the KQL emits) for this glob (a glob never
        // normalises to a user regex).
        (TextOp::Glob, TextTest::Wildcard(re) | TextTest::Regex(re)) => {
            (format!("{column}|re"), re.as_str().to_string())
        }
    })
}

fn refusal(e: &Exclusion, message: &str, help: &str) -> Refusal {
    Refusal { exclusion: e.id.to_string(), message: message.to_string(), help: help.to_string() }
}

/// Whether PyYAML reads `c` as itself inside a single-quoted scalar.
fn printable(c: char) -> bool {
    matches!(c, '\x20'..='\x7e' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}')
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// A YAML string scalar holding exactly `s`: single-quoted when every character is
/// printable, else double-quoted with escapes.
pub fn yaml_str(s: &str) -> String {
    if s.chars().all(printable) {
        return format!("'{}'", s.replace('\'', "''"));
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if printable(c) => out.push(c),
            c if (c as u32) <= 0xffff => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08X}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_strings_quote_everything() {
        assert_eq!(yaml_str("it's"), "'it''s'");
        assert_eq!(yaml_str(r"a\*b"), r"'a\*b'");
        assert_eq!(yaml_str("tab\there\u{2028}"), "\"tab\\there\\u2028\"");
    }

    #[test]
    fn filter_ids_are_stable() {
        assert_eq!(filter_id("p", "e"), filter_id("p", "e"));
        assert_ne!(filter_id("p", "e"), filter_id("p", "f"));
        assert_eq!(filter_id("p", "e").get_version_num(), 5);
    }
}
