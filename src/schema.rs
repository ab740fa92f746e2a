//! `fpx schema`: the JSON Schema of the policy format, for editors.
//!
//! Taplo (Even Better TOML) completes and checks keys from a JSON Schema named by a
//! `#:schema` directive on a policy's first line. Taplo validates with JSON Schema
//! draft-07, so this is draft-07. It is built from the parser's own key lists
//! ([`crate::raw`]), column profile and lint codes, and tests check that it accepts every
//! example policy and rejects documents the parser rejects. It cannot say everything the
//! validator does (references, networks, regex dialect): `fpx check` stays the authority.

use serde_json::{Value, json};

use crate::lint::LINT_CODES;
use crate::model::DIRECTIONS;
use crate::profile::{ColumnType, EMAIL_EVENTS, PROFILES};
use crate::raw::{CONDITION_KEYS, OPERATOR_KEYS};
use crate::semantics::TextOp;

/// A regex alternative matching `word` in any case: `[Ii][Nn]…`.
fn any_case(word: &str) -> String {
    word.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase())
            } else if c.is_ascii_alphanumeric() || c == '-' {
                c.to_string()
            } else {
                regex_syntax::escape(&c.to_string())
            }
        })
        .collect()
}

fn strings(description: &str) -> Value {
    json!({
        "description": description,
        "anyOf": [
            { "type": "string", "minLength": 1 },
            { "type": "array", "items": { "type": "string", "minLength": 1 } },
        ],
    })
}

fn operator_description(op: TextOp) -> &'static str {
    match op {
        TextOp::Equals => "The whole value, ignoring case.",
        TextOp::StartsWith => "A prefix, ignoring case.",
        TextOp::EndsWith => "A suffix, ignoring case.",
        TextOp::Contains => "A substring, ignoring case.",
        TextOp::Glob => "Whole-value globs, ignoring case: `*` any run of characters, `?` one character.",
        TextOp::Regex => {
            "Unanchored regexes, case-sensitive unless `(?i)`; only syntax every KQL engine reads alike."
        }
    }
}

fn operators() -> serde_json::Map<String, Value> {
    OPERATOR_KEYS
        .iter()
        .filter_map(|k| TextOp::from_key(k).map(|op| (k.to_string(), strings(operator_description(op)))))
        .collect()
}

/// A text condition: globs, or a table of operators (defined once, in `definitions`).
fn text_condition(description: &str) -> Value {
    json!({ "description": description, "allOf": [{ "$ref": "#/definitions/text" }] })
}

fn text_definition() -> Value {
    json!({
        "anyOf": [
            { "type": "string", "minLength": 1 },
            { "type": "array", "items": { "type": "string", "minLength": 1 } },
            { "type": "object", "properties": operators(), "additionalProperties": false, "minProperties": 1 },
        ],
    })
}

/// The JSON Schema (draft-07) of a policy file.
pub fn policy_schema() -> Value {
    let kebab = "^[a-z0-9]+(-[a-z0-9]+)*$";
    let reference = "^[A-Za-z0-9_-]+$";
    let directions: Vec<String> = DIRECTIONS.iter().map(|d| any_case(d)).collect();
    let direction = json!({ "type": "string", "pattern": format!("^({})$", directions.join("|")) });
    let string_columns: Vec<&str> =
        EMAIL_EVENTS.columns.iter().filter(|(_, t)| *t == ColumnType::String).map(|(n, _)| *n).collect();
    let lint_codes: Vec<&str> = LINT_CODES.iter().filter(|c| c.allowable).map(|c| c.code).collect();

    let mut conditions = serde_json::Map::new();
    for key in CONDITION_KEYS {
        let v = match *key {
            "sender" => text_condition("Sender address (SenderFromAddress)."),
            "mail_from" => text_condition("Envelope sender (SenderMailFromAddress)."),
            "sender_domain" => text_condition("Sender domain (SenderFromDomain)."),
            "recipient" => {
                text_condition("Recipient address (RecipientEmailAddress); `@group` expands a group.")
            }
            "subject" => text_condition("Subject."),
            "direction" => json!({
                "description": "EmailDirection: Inbound, Outbound or Intra-org (any case).",
                "anyOf": [direction, { "type": "array", "items": direction }],
            }),
            "source_ip" => json!({
                "description": "IPv4 and IPv6 addresses and networks (SenderIPv4, SenderIPv6), or `@list`.",
                "anyOf": [
                    { "type": "string", "minLength": 1 },
                    { "type": "array", "items": { "type": "string", "minLength": 1 } },
                ],
            }),
            "header" => json!({
                "description": "Message headers by name: From, Return-Path, Subject and Message-ID are columns; others need `[policy] header_column`.",
                "type": "object",
                "minProperties": 1,
                "additionalProperties": text_condition("Header value."),
            }),
            "where" => {
                let mut props = operators();
                props.insert(
                    "column".into(),
                    json!({ "description": "A string column of the table.", "enum": string_columns }),
                );
                props.insert("values".into(), strings("Whole-value globs, ignoring case."));
                json!({
                    "description": "Conditions on any string column (`[[exclusion.where]]`).",
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": props,
                        "required": ["column"],
                        "additionalProperties": false,
                    },
                })
            }
            _ => continue,
        };
        conditions.insert(key.to_string(), v);
    }
    let mut exclusion_props = serde_json::Map::new();
    exclusion_props.insert(
        "id".into(),
        json!({ "description": "Unique kebab-case id.", "type": "string", "pattern": kebab }),
    );
    exclusion_props.insert(
        "reason".into(),
        json!({ "description": "Why these events are false positives.", "type": "string", "minLength": 1 }),
    );
    exclusion_props.insert(
        "owner".into(),
        json!({ "description": "Who answers for the exclusion.", "type": "string", "minLength": 1 }),
    );
    exclusion_props.insert(
        "ticket".into(),
        json!({ "description": "The change or request it came from.", "type": "string", "minLength": 1 }),
    );
    exclusion_props.insert(
        "expires".into(),
        json!({
            "description": "Last day the exclusion applies (UTC), a TOML date without quotes: `expires = 2027-03-31`.",
            "type": "string",
            "format": "date",
        }),
    );
    exclusion_props.insert("rules".into(), strings("Rule ids or names; overrides `[policy] rules`."));
    exclusion_props.insert(
        "allow".into(),
        json!({
            "description": "Lint findings accepted for this exclusion, each with a reason.",
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": { "description": "A lint code.", "type": "string", "examples": lint_codes },
                    "reason": { "description": "Why the finding is accepted.", "type": "string", "minLength": 1 },
                },
                "required": ["code", "reason"],
                "additionalProperties": false,
            },
        }),
    );
    exclusion_props.extend(conditions);
    let any_condition: Vec<Value> = CONDITION_KEYS.iter().map(|k| json!({ "required": [k] })).collect();
    let tables: Vec<&str> = PROFILES.iter().map(|p| p.table).collect();

    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "fpx exclusion policy",
        "description": "A false-positive exclusion policy for Microsoft Sentinel and Defender XDR (see policies/README.md).",
        "type": "object",
        "properties": {
            "policy": {
                "description": "The policy header.",
                "type": "object",
                "properties": {
                    "name": { "description": "The policy's kebab-case name.", "type": "string", "pattern": kebab },
                    "description": { "description": "Free text for reviewers.", "type": "string" },
                    "table": { "description": "The column profile.", "enum": tables },
                    "rules": strings("Default scope of exclusions that name none: rule ids or display names."),
                    "header_column": {
                        "description": "A column holding message headers as a JSON object.",
                        "type": "string",
                        "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                    },
                },
                "required": ["name"],
                "additionalProperties": false,
            },
            "lists": {
                "description": "Named lists of values, used as `@name`.",
                "type": "object",
                "propertyNames": { "pattern": reference },
                "additionalProperties": strings("The list's values (and `@other` lists)."),
            },
            "groups": {
                "description": "Internal groups: `@name` stands for the address and every member.",
                "type": "object",
                "propertyNames": { "pattern": reference },
                "additionalProperties": {
                    "type": "object",
                    "properties": {
                        "address": { "description": "The group's own address.", "type": "string", "minLength": 1 },
                        "members": strings("Member addresses."),
                    },
                    "additionalProperties": false,
                    "anyOf": [{ "required": ["address"] }, { "required": ["members"] }],
                },
            },
            "exclusion": {
                "description": "The exclusions: an event is excluded when every condition of one of them matches.",
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": exclusion_props,
                    "required": ["id", "reason", "owner"],
                    "additionalProperties": false,
                    "anyOf": any_condition,
                },
            },
        },
        "required": ["policy"],
        "additionalProperties": false,
        "definitions": { "text": text_definition() },
    })
}

/// The schema as the text written to `schema/fpx-policy.schema.json`.
pub fn text() -> String {
    serde_json::to_string_pretty(&policy_schema()).unwrap_or_default() + "\n"
}
