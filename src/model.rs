//! The validated policy: only states that mean something can be built.
//!
//! A [`Policy`] comes only from [`crate::validate`], which has checked every name,
//! reference, address and pattern; later stages never re-check input.

use std::fmt;

use ipnet::IpNet;
use jiff::civil::Date;

use crate::diag::Span;
use crate::profile::Profile;
use crate::semantics::{TextOp, TextTest};

/// A kebab-case identifier: lowercase ASCII letters and digits in `-`-separated words.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KebabName(String);

impl KebabName {
    /// `Some` when `s` is kebab-case (`scheduled-reports`, `siem-2`).
    pub fn parse(s: &str) -> Option<KebabName> {
        let ok = !s.is_empty()
            && s.split('-')
                .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        ok.then(|| KebabName(s.to_string()))
    }

    /// The kebab-case spelling of a name, for "did you mean" help.
    pub fn suggest(s: &str) -> String {
        let mut out = String::new();
        let mut prev_lower = false;
        for c in s.trim().chars() {
            if c.is_ascii_alphanumeric() {
                if c.is_ascii_uppercase() && prev_lower {
                    out.push('-');
                }
                prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
                out.push(c.to_ascii_lowercase());
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
                prev_lower = false;
            }
        }
        out.trim_end_matches('-').to_string()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KebabName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An exclusion's id: kebab-case and unique in its policy.
pub type ExclusionId = KebabName;

/// A validated policy.
#[derive(Clone, Debug)]
pub struct Policy {
    pub name: KebabName,
    pub description: Option<String>,
    pub profile: Profile,
    /// The default scope of exclusions that name none (empty: every rule).
    pub rules: Vec<String>,
    /// The column holding message headers as a JSON object, if any.
    pub header_column: Option<String>,
    pub lists: Vec<List>,
    pub groups: Vec<Group>,
    pub exclusions: Vec<Exclusion>,
}

/// A named list of values (`[lists]`).
#[derive(Clone, Debug)]
pub struct List {
    pub name: String,
    pub span: Span,
    pub values: Vec<(String, Span)>,
}

/// An internal group: its own address and its members (`[groups.NAME]`).
#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    pub span: Span,
    pub address: Option<(String, Span)>,
    pub members: Vec<(String, Span)>,
}

/// One exclusion, with everything a reviewer asks about it.
#[derive(Clone, Debug)]
pub struct Exclusion {
    pub id: ExclusionId,
    pub span: Span,
    pub id_span: Span,
    pub reason: String,
    pub owner: String,
    pub ticket: Option<String>,
    /// Last day the exclusion applies (UTC), inclusive.
    pub expires: Option<Date>,
    pub expires_span: Option<Span>,
    pub scope: Scope,
    /// ANDed: the exclusion matches when every condition matches.
    pub conditions: Vec<Condition>,
    pub allow: Vec<Allow>,
}

/// Which rules an exclusion applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// Rule ids or names; empty means every rule.
    pub rules: Vec<String>,
    /// True when the rules come from `[policy].rules` rather than the exclusion.
    pub inherited: bool,
}

impl Scope {
    /// Whether the exclusion applies when running for any of `selected` (rule ids and
    /// names, compared ignoring case). No selection selects every exclusion.
    pub fn applies_to(&self, selected: &[String]) -> bool {
        selected.is_empty()
            || self.rules.is_empty()
            || self.rules.iter().any(|r| selected.iter().any(|s| s.to_lowercase() == r.to_lowercase()))
    }
}

/// A finding accepted for one exclusion, with the reason it is accepted.
#[derive(Clone, Debug)]
pub struct Allow {
    pub code: String,
    pub code_span: Span,
    pub reason: String,
    pub span: Span,
}

/// What a condition tests.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Sender,
    MailFrom,
    SenderDomain,
    Recipient,
    Subject,
    Direction,
    SourceIp,
    /// `header."Name"`: a well-known header is a column, any other is looked up in the
    /// policy's `header_column`.
    Header(String),
    /// `[[exclusion.where]]`: any string column of the table profile.
    Column(&'static str),
}

/// Where a text field's value is read from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    Column(&'static str),
    /// A header looked up by its exact name in a column holding a JSON object.
    Header {
        column: String,
        name: String,
    },
}

/// Headers that EmailEvents carries as columns.
pub const WELL_KNOWN_HEADERS: &[(&str, &str)] = &[
    ("From", "SenderFromAddress"),
    ("Return-Path", "SenderMailFromAddress"),
    ("Subject", "Subject"),
    ("Message-ID", "InternetMessageId"),
];

/// The allowed values of `direction`, as EmailEvents spells them.
pub const DIRECTIONS: &[&str] = &["Inbound", "Outbound", "Intra-org"];

pub const SOURCE_IPV4_COLUMN: &str = "SenderIPv4";
pub const SOURCE_IPV6_COLUMN: &str = "SenderIPv6";

impl Field {
    /// The field as a policy writes it.
    pub fn key(&self) -> String {
        match self {
            Field::Sender => "sender".into(),
            Field::MailFrom => "mail_from".into(),
            Field::SenderDomain => "sender_domain".into(),
            Field::Recipient => "recipient".into(),
            Field::Subject => "subject".into(),
            Field::Direction => "direction".into(),
            Field::SourceIp => "source_ip".into(),
            Field::Header(name) => format!("header.\"{name}\""),
            Field::Column(c) => format!("where `{c}`"),
        }
    }

    /// The field named by a condition key, for fields with a fixed column.
    pub fn named(key: &str) -> Option<Field> {
        Some(match key {
            "sender" => Field::Sender,
            "mail_from" => Field::MailFrom,
            "sender_domain" => Field::SenderDomain,
            "recipient" => Field::Recipient,
            "subject" => Field::Subject,
            "direction" => Field::Direction,
            "source_ip" => Field::SourceIp,
            _ => return None,
        })
    }

    /// The column of a well-known header (compared ignoring case, as mail headers are).
    pub fn well_known_header(name: &str) -> Option<&'static str> {
        WELL_KNOWN_HEADERS.iter().find(|(h, _)| h.eq_ignore_ascii_case(name)).map(|(_, c)| *c)
    }

    /// Where a text field reads its value; `None` for `source_ip`, which reads two columns.
    pub fn target(&self, header_column: Option<&str>) -> Option<Target> {
        Some(Target::Column(match self {
            Field::Sender => "SenderFromAddress",
            Field::MailFrom => "SenderMailFromAddress",
            Field::SenderDomain => "SenderFromDomain",
            Field::Recipient => "RecipientEmailAddress",
            Field::Subject => "Subject",
            Field::Direction => "EmailDirection",
            Field::SourceIp => return None,
            Field::Column(c) => c,
            Field::Header(name) => match Field::well_known_header(name) {
                Some(c) => c,
                None => {
                    return Some(Target::Header { column: header_column?.to_string(), name: name.clone() });
                }
            },
        }))
    }

    /// Whether the sender of a message chooses this field's value (so it can be forged).
    pub fn sender_controlled(&self) -> bool {
        match self {
            Field::Sender | Field::MailFrom | Field::SenderDomain | Field::Subject | Field::Header(_) => true,
            Field::Column(c) => matches!(
                *c,
                "SenderFromAddress"
                    | "SenderMailFromAddress"
                    | "SenderFromDomain"
                    | "SenderMailFromDomain"
                    | "SenderDisplayName"
                    | "Subject"
                    | "InternetMessageId"
            ),
            Field::Recipient | Field::Direction | Field::SourceIp => false,
        }
    }
}

/// One condition: a field and the values it is tested against (ORed).
#[derive(Clone, Debug)]
pub struct Condition {
    pub field: Field,
    pub span: Span,
    pub values: Vec<Value>,
}

/// One value of a condition, after references are expanded.
#[derive(Clone, Debug)]
pub struct Value {
    pub test: Test,
    /// The operator it was written with (`Glob` for plain values and addresses).
    pub op: TextOp,
    /// The value as written (without its `@@` escape).
    pub text: String,
    /// Where the value is written (in the exclusion, or in the list it comes from).
    pub span: Span,
    /// The lists and groups it was reached through, outermost first.
    pub via: Vec<String>,
}

/// What a value tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Test {
    Text(TextTest),
    /// An address or network; `source_ip` only.
    Net(IpNet),
}

impl Policy {
    pub fn exclusion(&self, id: &str) -> Option<&Exclusion> {
        self.exclusions.iter().find(|e| e.id.as_str() == id)
    }
}
