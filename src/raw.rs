//! The policy as written: a mirror of the TOML document with a span on every value.
//!
//! This stage only checks structure (known keys, value types); meaning is checked by
//! [`crate::validate`]. It walks the spanned TOML tree itself instead of deriving serde,
//! so that every unknown key and wrong type in a file is reported in one run.

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use crate::diag::{Diagnostic, Span, did_you_mean};

/// A value with the span of its text in the policy file.
#[derive(Clone, Debug)]
pub struct Sp<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Sp<T> {
    pub fn new(value: T, span: Span) -> Self {
        Sp { value, span }
    }
}

/// A policy file's content, structurally checked.
#[derive(Clone, Debug, Default)]
pub struct RawPolicy {
    pub header: Option<RawHeader>,
    pub lists: Vec<RawList>,
    pub groups: Vec<RawGroup>,
    pub exclusions: Vec<RawExclusion>,
}

/// The `[policy]` table.
#[derive(Clone, Debug, Default)]
pub struct RawHeader {
    pub span: Span,
    pub name: Option<Sp<String>>,
    pub description: Option<Sp<String>>,
    pub table: Option<Sp<String>>,
    pub rules: Option<Sp<Vec<Sp<String>>>>,
    pub header_column: Option<Sp<String>>,
    /// Keys present with a structure error (already reported).
    pub broken: Vec<String>,
}

/// One entry of `[lists]`.
#[derive(Clone, Debug)]
pub struct RawList {
    pub name: Sp<String>,
    pub values: Sp<Vec<Sp<String>>>,
}

/// One `[groups.NAME]` table.
#[derive(Clone, Debug)]
pub struct RawGroup {
    pub name: Sp<String>,
    pub span: Span,
    pub address: Option<Sp<String>>,
    pub members: Vec<Sp<String>>,
}

/// A date as written (`expires = 2027-03-31`), not yet checked to be a real day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

/// One `[[exclusion]]` table.
#[derive(Clone, Debug, Default)]
pub struct RawExclusion {
    pub span: Span,
    pub id: Option<Sp<String>>,
    pub reason: Option<Sp<String>>,
    pub owner: Option<Sp<String>>,
    pub ticket: Option<Sp<String>>,
    pub expires: Option<Sp<RawDate>>,
    pub rules: Option<Sp<Vec<Sp<String>>>>,
    pub allow: Vec<RawAllow>,
    pub conditions: Vec<RawCondition>,
    /// Keys present with a structure error (already reported).
    pub broken: Vec<String>,
}

/// `allow = [{ code = "…", reason = "…" }]`: a lint finding accepted for one exclusion.
#[derive(Clone, Debug)]
pub struct RawAllow {
    pub span: Span,
    /// Keys present with a structure error (already reported).
    pub broken: Vec<String>,
    pub code: Option<Sp<String>>,
    pub reason: Option<Sp<String>>,
}

/// Which field a condition tests, as written.
#[derive(Clone, Debug)]
pub enum RawField {
    /// `sender`, `source_ip`, … (the key as written; validation knows the names).
    Named(Sp<String>),
    /// `header."Name"`.
    Header(Sp<String>),
    /// `[[exclusion.where]] column = "…"`; `None` when the key is missing.
    Where(Option<Sp<String>>),
}

/// One condition of an exclusion: a field and the values it is tested against (ORed).
#[derive(Clone, Debug)]
pub struct RawCondition {
    pub field: RawField,
    /// Some of its values had a structure error (already reported).
    pub broken: bool,
    /// Span of the whole condition (key and value).
    pub span: Span,
    pub values: Vec<RawValue>,
}

/// One value of a condition with its operator: `None` for a plain list (globs).
#[derive(Clone, Debug)]
pub struct RawValue {
    pub op: Option<Sp<String>>,
    pub text: Sp<String>,
}

/// The keys an `[[exclusion]]` may hold that are not conditions.
pub const EXCLUSION_META_KEYS: &[&str] = &["id", "reason", "owner", "ticket", "expires", "rules", "allow"];

/// Condition fields with a fixed column (and `header`, `where`).
pub const CONDITION_KEYS: &[&str] = &[
    "sender",
    "mail_from",
    "sender_domain",
    "recipient",
    "subject",
    "direction",
    "source_ip",
    "header",
    "where",
];

/// Operator keys of a text condition written as a table.
pub const OPERATOR_KEYS: &[&str] = &["equals", "starts_with", "ends_with", "contains", "glob", "regex"];

const TOP_KEYS: &[&str] = &["policy", "lists", "groups", "exclusion"];
const POLICY_KEYS: &[&str] = &["name", "description", "table", "rules", "header_column"];
const GROUP_KEYS: &[&str] = &["address", "members"];
const ALLOW_KEYS: &[&str] = &["code", "reason"];

/// Parses policy text into its raw form. Returns every syntax and structure problem found.
pub fn parse(source: &str) -> (RawPolicy, Vec<Diagnostic>) {
    let (doc, errors) = DeTable::parse_recoverable(source);
    let mut w = Walker { diags: Vec::new() };
    for e in errors {
        let mut d = Diagnostic::error("toml-syntax", toml_message(e.message()));
        if let Some(span) = e.span() {
            d = d.at(span.into());
        }
        w.diags.push(d);
    }
    if !w.diags.is_empty() {
        // A document with syntax errors is only partly recovered: checking its structure
        // would report consequences of the syntax error, not problems of their own.
        return (RawPolicy::default(), w.diags);
    }
    // Structure errors leave the rest of the document usable: the caller validates it too,
    // and skips the keys listed as `broken`.
    let policy = w.document(doc.get_ref());
    (policy, w.diags)
}

/// toml's messages are sentences; ours are lowercase without a final period.
fn toml_message(message: &str) -> String {
    let mut m = message.trim().trim_end_matches('.').to_string();
    if let Some(first) = m.get(..1) {
        if m.get(1..2).is_some_and(|s| s.chars().all(|c| !c.is_uppercase())) {
            m = first.to_lowercase() + m.get(1..).unwrap_or("");
        }
    }
    m
}

struct Walker {
    diags: Vec<Diagnostic>,
}

fn span_of<T>(s: &Spanned<T>) -> Span {
    s.span().into()
}

/// The name of a TOML value's type, as users know TOML.
fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl Walker {
    fn wrong_type(&mut self, key: &str, expected: &str, v: &Spanned<DeValue<'_>>) {
        self.diags.push(
            Diagnostic::error(
                "wrong-type",
                format!("`{key}` must be {expected}, found {}", type_name(v.get_ref())),
            )
            .at(span_of(v)),
        );
    }

    fn unknown_key(&mut self, key: &Spanned<std::borrow::Cow<'_, str>>, known: &[&str], what: &str) {
        let mut d = Diagnostic::error("unknown-key", format!("unknown key `{}` in {what}", key.get_ref()))
            .at(span_of(key));
        if let Some(s) = did_you_mean(key.get_ref(), known.iter().copied()) {
            d = d.help(format!("did you mean `{s}`?"));
        } else {
            d = d.help(format!("the keys allowed here are {}", quoted_list(known)));
        }
        self.diags.push(d);
    }

    fn string(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<Sp<String>> {
        match v.get_ref() {
            DeValue::String(s) => Some(Sp::new(s.to_string(), span_of(v))),
            _ => {
                self.wrong_type(key, "a string", v);
                None
            }
        }
    }

    /// A string or an array of strings (a single string is a one-element list).
    fn strings(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<Sp<Vec<Sp<String>>>> {
        match v.get_ref() {
            DeValue::String(s) => Some(Sp::new(vec![Sp::new(s.to_string(), span_of(v))], span_of(v))),
            DeValue::Array(items) => Some(Sp::new(self.string_items(key, items), span_of(v))),
            _ => {
                self.wrong_type(key, "an array of strings", v);
                None
            }
        }
    }

    fn string_items(&mut self, key: &str, items: &DeArray<'_>) -> Vec<Sp<String>> {
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) => out.push(Sp::new(s.to_string(), span_of(item))),
                _ => self.wrong_type(&format!("{key}[…]"), "a string", item),
            }
        }
        out
    }

    fn table<'a, 'i>(&mut self, key: &str, v: &'a Spanned<DeValue<'i>>) -> Option<&'a DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.wrong_type(key, "a table", v);
                None
            }
        }
    }

    fn document(&mut self, doc: &DeTable<'_>) -> RawPolicy {
        let mut p = RawPolicy::default();
        for (k, v) in doc.iter() {
            match k.get_ref().as_ref() {
                "policy" => {
                    if let Some(t) = self.table("policy", v) {
                        p.header = Some(self.header(t, span_of(v)));
                    }
                }
                "lists" => {
                    if let Some(t) = self.table("lists", v) {
                        for (name, values) in t.iter() {
                            let key = format!("lists.{}", name.get_ref());
                            if let Some(values) = self.strings(&key, values) {
                                p.lists.push(RawList {
                                    name: Sp::new(name.get_ref().to_string(), span_of(name)),
                                    values,
                                });
                            }
                        }
                    }
                }
                "groups" => {
                    if let Some(t) = self.table("groups", v) {
                        for (name, g) in t.iter() {
                            let key = format!("groups.{}", name.get_ref());
                            if let Some(gt) = self.table(&key, g) {
                                let name = Sp::new(name.get_ref().to_string(), span_of(name));
                                p.groups.push(self.group(name, gt, span_of(g)));
                            }
                        }
                    }
                }
                "exclusion" => match v.get_ref() {
                    DeValue::Array(items) => {
                        for item in items.iter() {
                            if let Some(t) = self.table("exclusion", item) {
                                p.exclusions.push(self.exclusion(t, span_of(item)));
                            }
                        }
                    }
                    _ => self.wrong_type("exclusion", "an array of tables (`[[exclusion]]`)", v),
                },
                _ => self.unknown_key(k, TOP_KEYS, "the policy file"),
            }
        }
        p
    }

    fn header(&mut self, t: &DeTable<'_>, span: Span) -> RawHeader {
        let mut h = RawHeader { span, ..RawHeader::default() };
        for (k, v) in t.iter() {
            let key = k.get_ref().as_ref();
            let before = self.diags.len();
            match key {
                "name" => h.name = self.string(key, v),
                "description" => h.description = self.string(key, v),
                "table" => h.table = self.string(key, v),
                "rules" => h.rules = self.strings(key, v),
                "header_column" => h.header_column = self.string(key, v),
                _ => self.unknown_key(k, POLICY_KEYS, "`[policy]`"),
            }
            if self.diags.len() > before {
                h.broken.push(key.to_string());
            }
        }
        h
    }

    fn group(&mut self, name: Sp<String>, t: &DeTable<'_>, span: Span) -> RawGroup {
        let mut g = RawGroup { name, span, address: None, members: Vec::new() };
        for (k, v) in t.iter() {
            let key = k.get_ref().as_ref();
            match key {
                "address" => g.address = self.string(key, v),
                "members" => {
                    if let Some(m) = self.strings(key, v) {
                        g.members = m.value;
                    }
                }
                _ => self.unknown_key(k, GROUP_KEYS, "a group"),
            }
        }
        g
    }

    fn exclusion(&mut self, t: &DeTable<'_>, span: Span) -> RawExclusion {
        let mut e = RawExclusion { span, ..RawExclusion::default() };
        for (k, v) in t.iter() {
            let key = k.get_ref().as_ref();
            let before = self.diags.len();
            let conditions_before = e.conditions.len();
            match key {
                "id" => e.id = self.string(key, v),
                "reason" => e.reason = self.string(key, v),
                "owner" => e.owner = self.string(key, v),
                "ticket" => e.ticket = self.string(key, v),
                "expires" => e.expires = self.date(key, v),
                "rules" => e.rules = self.strings(key, v),
                "allow" => e.allow = self.allows(v),
                "header" => {
                    if let Some(headers) = self.table("header", v) {
                        for (name, hv) in headers.iter() {
                            let field = RawField::Header(Sp::new(name.get_ref().to_string(), span_of(name)));
                            let whole = Span::new(span_of(name).start, span_of(hv).end);
                            let key = format!("header.\"{}\"", name.get_ref());
                            let values = self.value_form(&key, hv);
                            e.conditions.push(RawCondition { field, broken: false, span: whole, values });
                        }
                    }
                }
                "where" => match v.get_ref() {
                    DeValue::Array(items) => {
                        for item in items.iter() {
                            if let Some(wt) = self.table("where", item) {
                                e.conditions.push(self.where_condition(wt, span_of(item)));
                            }
                        }
                    }
                    _ => self.wrong_type("where", "an array of tables (`[[exclusion.where]]`)", v),
                },
                _ if CONDITION_KEYS.contains(&key) => {
                    let field = RawField::Named(Sp::new(key.to_string(), span_of(k)));
                    let whole = Span::new(span_of(k).start, span_of(v).end.max(span_of(k).end));
                    let values = self.value_form(key, v);
                    e.conditions.push(RawCondition { field, broken: false, span: whole, values });
                }
                _ => {
                    let known: Vec<&str> =
                        EXCLUSION_META_KEYS.iter().chain(CONDITION_KEYS).copied().collect();
                    self.unknown_key(k, &known, "an exclusion");
                }
            }
            if self.diags.len() > before {
                e.broken.push(key.to_string());
                for c in e.conditions.iter_mut().skip(conditions_before) {
                    c.broken = true;
                }
            }
        }
        e
    }

    fn where_condition(&mut self, t: &DeTable<'_>, span: Span) -> RawCondition {
        let mut column = None;
        let mut values = Vec::new();
        let before = self.diags.len();
        for (k, v) in t.iter() {
            let key = k.get_ref().as_ref();
            match key {
                "column" => column = self.string(key, v),
                "values" => values.extend(self.plain_values(key, v)),
                _ if OPERATOR_KEYS.contains(&key) => {
                    let op = Sp::new(key.to_string(), span_of(k));
                    values.extend(self.op_values(op, v));
                }
                _ if EXCLUSION_META_KEYS.contains(&key) || CONDITION_KEYS.contains(&key) => {
                    self.diags.push(
                        Diagnostic::error("unknown-key", format!("unknown key `{key}` in `[[exclusion.where]]`"))
                            .at(span_of(k))
                            .label("this line belongs to the `[[exclusion.where]]` table above it")
                            .help(format!("move `{key}` above the exclusion's first `[[exclusion.where]]`: in TOML, keys after a table header belong to that table")),
                    );
                }
                _ => {
                    let known: Vec<&str> =
                        ["column", "values"].iter().chain(OPERATOR_KEYS).copied().collect();
                    self.unknown_key(k, &known, "`[[exclusion.where]]`");
                }
            }
        }
        RawCondition { field: RawField::Where(column), broken: self.diags.len() > before, span, values }
    }

    /// A condition's values: a string, an array of strings (globs), or a table of operators.
    fn value_form(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Vec<RawValue> {
        match v.get_ref() {
            DeValue::Table(ops) => {
                let mut out = Vec::new();
                for (op, ov) in ops.iter() {
                    if OPERATOR_KEYS.contains(&op.get_ref().as_ref()) {
                        out.extend(self.op_values(Sp::new(op.get_ref().to_string(), span_of(op)), ov));
                    } else {
                        self.unknown_key(op, OPERATOR_KEYS, &format!("the operators of `{key}`"));
                    }
                }
                out
            }
            _ => self.plain_values(key, v),
        }
    }

    fn plain_values(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Vec<RawValue> {
        match v.get_ref() {
            DeValue::String(_) | DeValue::Array(_) => self
                .strings(key, v)
                .map(|s| s.value.into_iter().map(|text| RawValue { op: None, text }).collect())
                .unwrap_or_default(),
            _ => {
                self.wrong_type(key, "an array of strings or a table of operators", v);
                Vec::new()
            }
        }
    }

    fn op_values(&mut self, op: Sp<String>, v: &Spanned<DeValue<'_>>) -> Vec<RawValue> {
        self.strings(&op.value.clone(), v)
            .map(|s| s.value.into_iter().map(|text| RawValue { op: Some(op.clone()), text }).collect())
            .unwrap_or_default()
    }

    fn date(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<Sp<RawDate>> {
        match v.get_ref() {
            DeValue::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
                (Some(d), None, None) => {
                    Some(Sp::new(RawDate { year: d.year, month: d.month, day: d.day }, span_of(v)))
                }
                _ => {
                    self.diags.push(
                        Diagnostic::error("wrong-type", format!("`{key}` must be a date, found a date-time"))
                            .at(span_of(v))
                            .help("an exclusion is active through the whole of its `expires` day (UTC): write only the date, e.g. `expires = 2027-03-31`"),
                    );
                    None
                }
            },
            DeValue::String(s) => {
                self.diags.push(
                    Diagnostic::error("wrong-type", format!("`{key}` must be a date, found a string"))
                        .at(span_of(v))
                        .help(format!("write the date without quotes: `{key} = {s}`")),
                );
                None
            }
            _ => {
                self.wrong_type(key, "a date (`2027-03-31`)", v);
                None
            }
        }
    }

    fn allows(&mut self, v: &Spanned<DeValue<'_>>) -> Vec<RawAllow> {
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type("allow", "an array of tables (`[{ code = \"…\", reason = \"…\" }]`)", v);
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            let Some(t) = self.table("allow[…]", item) else { continue };
            let mut a = RawAllow { span: span_of(item), broken: Vec::new(), code: None, reason: None };
            for (k, av) in t.iter() {
                let key = k.get_ref().as_ref();
                let before = self.diags.len();
                match key {
                    "code" => a.code = self.string(key, av),
                    "reason" => a.reason = self.string(key, av),
                    _ => self.unknown_key(k, ALLOW_KEYS, "an `allow` entry"),
                }
                if self.diags.len() > before {
                    a.broken.push(key.to_string());
                }
            }
            out.push(a);
        }
        out
    }
}

/// `a`, `b` or `c`.
pub fn quoted_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("`{s}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}
