//! The reference evaluator: a plain loop over the validated policy, written for clarity.
//!
//! It reads the same [`crate::semantics`] definitions as the fast matcher but none of its
//! indexes; tests compare the two on generated events. `fpx explain` uses it to say which
//! condition decided each exclusion.

use std::collections::BTreeMap;

use ipnet::IpNet;
use serde_json::value::RawValue;

use crate::compile::Compiled;
use crate::model::{Condition, Exclusion, SOURCE_IPV4_COLUMN, SOURCE_IPV6_COLUMN, Target, Test};
use crate::semantics::{self, Cell};

/// An event as conditions read it.
pub trait Event {
    /// A column's cell.
    fn column(&self, name: &str) -> Cell<'_>;
    /// A header's cell, looked up by its exact name in the object held by `column`.
    fn header(&self, column: &str, name: &str) -> Cell<'_>;
}

/// A JSON object event: column name → raw JSON value.
#[derive(Debug)]
pub struct JsonEvent<'a> {
    fields: BTreeMap<String, &'a RawValue>,
}

impl<'a> JsonEvent<'a> {
    pub fn parse(text: &'a str) -> Result<JsonEvent<'a>, serde_json::Error> {
        Ok(JsonEvent { fields: serde_json::from_str(text)? })
    }
}

impl Event for JsonEvent<'_> {
    fn column(&self, name: &str) -> Cell<'_> {
        self.fields.get(name).and_then(|raw| Cell::from_json(raw.get())).unwrap_or(Cell::Absent)
    }

    fn header(&self, column: &str, name: &str) -> Cell<'_> {
        let Some(raw) = self.fields.get(column) else { return Cell::Absent };
        header_in(raw.get(), name)
    }
}

/// A header value from the JSON text of a header column (an object, or a string holding one).
pub fn header_in(raw: &str, name: &str) -> Cell<'static> {
    let object_text: String = if raw.trim_start().starts_with('"') {
        match serde_json::from_str::<String>(raw) {
            Ok(s) => s,
            Err(_) => return Cell::Absent,
        }
    } else {
        raw.to_string()
    };
    let Ok(map) = serde_json::from_str::<BTreeMap<String, Box<RawValue>>>(&object_text) else {
        return Cell::Absent;
    };
    match map.get(name).and_then(|v| Cell::header_from_json(v.get())) {
        Some(Cell::Text(t)) => Cell::Text(t.into_owned().into()),
        _ => Cell::Absent,
    }
}

/// A CSV event: column name → field text (the header bag holds JSON text).
impl Event for BTreeMap<String, String> {
    fn column(&self, name: &str) -> Cell<'_> {
        self.get(name).map_or(Cell::Absent, |s| Cell::text(s.as_str()))
    }

    fn header(&self, column: &str, name: &str) -> Cell<'_> {
        match self.get(column) {
            // In CSV the bag is text: as a JSON value, that is a string holding the object.
            Some(text) => serde_json::to_string(text).map_or(Cell::Absent, |raw| header_in(&raw, name)),
            None => Cell::Absent,
        }
    }
}

/// How one condition fared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionOutcome {
    /// The index of the first value that matched, if any.
    pub matched_value: Option<usize>,
}

/// Evaluates one condition: does any of its values match the event?
pub fn condition(c: &Condition, header_column: Option<&str>, event: &dyn Event) -> ConditionOutcome {
    let target = c.field.target(header_column);
    let cell = match &target {
        Some(Target::Column(col)) => Some(event.column(col)),
        Some(Target::Header { column, name }) => Some(event.header(column, name)),
        None => None,
    };
    let v4 = event.column(SOURCE_IPV4_COLUMN);
    let v6 = event.column(SOURCE_IPV6_COLUMN);
    let matched_value = c.values.iter().position(|v| match (&v.test, &cell) {
        (Test::Text(t), Some(cell)) => t.matches_cell(cell),
        (Test::Net(IpNet::V4(n)), _) => {
            v4.as_text().and_then(semantics::parse_ipv4).is_some_and(|a| n.contains(&a))
        }
        (Test::Net(IpNet::V6(n)), _) => {
            v6.as_text().and_then(semantics::parse_ipv6).is_some_and(|a| n.contains(&a))
        }
        (Test::Text(_), None) => false,
    });
    ConditionOutcome { matched_value }
}

/// Evaluates every condition of an exclusion; it matches when all of them match.
pub fn exclusion(e: &Exclusion, header_column: Option<&str>, event: &dyn Event) -> Vec<ConditionOutcome> {
    e.conditions.iter().map(|c| condition(c, header_column, event)).collect()
}

/// The policy indices of the active exclusions an event matches, ascending.
pub fn matches(compiled: &Compiled<'_>, event: &dyn Event) -> Vec<usize> {
    let hc = compiled.policy.header_column.as_deref();
    compiled
        .active
        .iter()
        .copied()
        .filter(|&i| {
            compiled
                .policy
                .exclusions
                .get(i)
                .is_some_and(|e| e.conditions.iter().all(|c| condition(c, hc, event).matched_value.is_some()))
        })
        .collect()
}
