//! From the policy as written ([`RawPolicy`]) to a [`Policy`] that only holds valid states.
//!
//! Every problem is collected: a file with three bad networks gets three errors in one run.

use std::collections::{HashMap, HashSet};

use ipnet::IpNet;
use jiff::civil::Date;

use crate::diag::{Diagnostic, Span, did_you_mean, shown};
use crate::model::{
    Allow, Condition, DIRECTIONS, Exclusion, Field, Group, KebabName, List, Policy, Scope, Test, Value,
};
use crate::profile::{ColumnType, EMAIL_EVENTS, Profile};
use crate::raw::{self, RawCondition, RawExclusion, RawField, RawPolicy, RawValue, Sp, quoted_list};
use crate::semantics::{TextOp, TextTest};

/// Every code a policy error can carry, with what it means. Each has a fixture
/// `tests/bad/<code>.toml` and an entry in `policies/README.md`.
pub const ERROR_CODES: &[(&str, &str)] = &[
    ("cidr-host-bits", "a network has bits set after its prefix length"),
    ("duplicate-id", "two exclusions share an id"),
    ("duplicate-name", "a list and a group share a name"),
    ("empty-value", "a required text, a list or a value is empty"),
    ("header-column-required", "a header that is not a column needs `header_column`"),
    ("invalid-cidr", "a `source_ip` value is not an address or network"),
    ("invalid-direction", "a `direction` is not Inbound, Outbound or Intra-org"),
    ("invalid-glob", "a glob is too large to compile"),
    ("invalid-name", "a name is not kebab-case, or not usable as a column or reference"),
    ("invalid-regex", "a regex does not parse, or uses syntax the KQL engines read differently"),
    ("missing-key", "a required key is absent"),
    ("no-condition", "an exclusion has no condition"),
    ("reference-cycle", "a list or group contains itself"),
    ("reference-type-mismatch", "a list or group is used in a field its values do not fit"),
    ("toml-syntax", "the file is not valid TOML"),
    ("unknown-column", "`[[exclusion.where]]` names a column the table does not have"),
    ("unknown-key", "a key fpx does not know (typos, misplaced keys)"),
    ("unknown-reference", "`@name` names no list or group"),
    ("unknown-table", "`table` names a table fpx has no column profile for"),
    ("unsupported-column", "`[[exclusion.where]]` names a column that is not a string"),
    ("unsupported-operator", "an operator table on `source_ip` or `direction`"),
    ("wrong-type", "a value of the wrong type"),
];

/// Parses and validates policy text.
pub fn load(source: &str) -> Result<Policy, Vec<Diagnostic>> {
    let (raw, mut diags) = raw::parse(source);
    if diags.iter().any(|d| d.code == "toml-syntax") {
        return Err(diags);
    }
    match validate(&raw, source) {
        Ok(p) if diags.is_empty() => Ok(p),
        Ok(_) => Err(diags),
        Err(mut more) => {
            diags.append(&mut more);
            diags.sort_by_key(|d| d.span.map(|s| s.start));
            Err(diags)
        }
    }
}

/// Checks the meaning of a structurally valid policy.
pub fn validate(raw: &RawPolicy, source: &str) -> Result<Policy, Vec<Diagnostic>> {
    let mut v = Validator {
        source,
        diags: Vec::new(),
        refs: HashMap::new(),
        network_lists: HashSet::new(),
        reported_cycles: HashSet::new(),
    };
    let policy = v.policy(raw);
    // A list used by several exclusions reports its problems once.
    let mut seen = HashSet::new();
    v.diags.retain(|d| seen.insert((d.code, d.span, d.message.clone())));
    match policy {
        Some(p) if v.diags.is_empty() => Ok(p),
        _ => Err(v.diags),
    }
}

/// What an `@name` refers to.
#[derive(Clone, Debug)]
enum RefTarget {
    List(usize),
    Group(usize),
}

/// An expanded value: its text, where it is written, and the references that led to it.
#[derive(Clone, Debug)]
struct Expanded {
    text: String,
    span: Span,
    via: Vec<(String, Span)>,
    from_group: bool,
}

struct Validator<'s> {
    source: &'s str,
    diags: Vec<Diagnostic>,
    refs: HashMap<String, (RefTarget, Span)>,
    /// Lists whose every literal value is an address or network.
    network_lists: HashSet<String>,
    /// Cycles already reported, by their sorted member names.
    reported_cycles: HashSet<Vec<String>>,
}

/// `@name` when `s` is a reference: `@` then letters, digits, `-` or `_`.
fn reference_name(s: &str) -> Option<&str> {
    let name = s.strip_prefix('@')?;
    let ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some(name)
}

/// The literal a value stands for: `@@x` is the literal `@x`.
fn unescape(s: &str) -> &str {
    if s.starts_with("@@") { s.get(1..).unwrap_or(s) } else { s }
}

/// How to write the literal text `s` as a policy value: a text that would read as a
/// reference (`@team`) or as an escape (`@@x`) gets one more `@`. The inverse of reading.
pub fn escape_literal(s: &str) -> std::borrow::Cow<'_, str> {
    if reference_name(s).is_some() || s.starts_with("@@") {
        std::borrow::Cow::Owned(format!("@{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Validator<'_> {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn missing(&mut self, key: &str, what: &str, span: Span, help: &str) {
        self.push(
            Diagnostic::error("missing-key", format!("{what} has no `{key}`"))
                .at(span)
                .help(help.to_string()),
        );
    }

    fn non_empty(&mut self, key: &str, v: &Sp<String>) -> Option<String> {
        if v.value.trim().is_empty() {
            self.push(
                Diagnostic::error("empty-value", format!("`{key}` is empty"))
                    .at(v.span)
                    .help(format!("say what `{key}` is; reviewers read it")),
            );
            None
        } else {
            Some(v.value.clone())
        }
    }

    fn kebab(&mut self, what: &str, v: &Sp<String>) -> Option<KebabName> {
        let name = KebabName::parse(&v.value);
        if name.is_none() {
            let mut d =
                Diagnostic::error("invalid-name", format!("{what} `{}` is not kebab-case", shown(&v.value)))
                    .at(v.span)
                    .label("lowercase letters and digits, separated by `-`");
            let suggestion = KebabName::suggest(&v.value);
            if !suggestion.is_empty() {
                d = d.help(format!("did you mean `{suggestion}`?"));
            }
            self.push(d);
        }
        name
    }

    fn rules(&mut self, rules: &Sp<Vec<Sp<String>>>) -> Vec<String> {
        let mut out = Vec::new();
        for r in &rules.value {
            if let Some(r) = self.non_empty("rules[…]", r) {
                out.push(r.trim().to_string());
            }
        }
        out
    }

    fn policy(&mut self, raw: &RawPolicy) -> Option<Policy> {
        let header = raw.header.clone().unwrap_or_default();
        let name = match (&raw.header, &header.name) {
            (None, _) => {
                self.push(
                    Diagnostic::error("missing-key", "the policy has no `[policy]` table")
                        .at(Span::new(0, 0))
                        .help("start the file with `[policy]` and `name = \"…\"`"),
                );
                None
            }
            (Some(h), None) => {
                if !h.broken.iter().any(|k| k == "name") {
                    self.missing("name", "`[policy]`", h.span, "add `name = \"…\"` in kebab-case");
                }
                None
            }
            (Some(_), Some(n)) => self.kebab("policy name", n),
        };
        let profile = match &header.table {
            None => Some(EMAIL_EVENTS),
            Some(t) => {
                let p = Profile::named(&t.value);
                if p.is_none() {
                    let known: Vec<&str> = crate::profile::PROFILES.iter().map(|p| p.table).collect();
                    let mut d = Diagnostic::error(
                        "unknown-table",
                        format!("no column profile for table `{}`", shown(&t.value)),
                    )
                    .at(t.span);
                    d = match did_you_mean(&t.value, known.iter().copied()) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help(format!("the tables fpx knows are {}", quoted_list(&known))),
                    };
                    self.push(d);
                }
                p
            }
        };
        let rules = header.rules.as_ref().map(|r| self.rules(r)).unwrap_or_default();
        let header_column = header.header_column.as_ref().and_then(|h| {
            if is_identifier(&h.value) {
                Some(h.value.clone())
            } else {
                self.push(
                    Diagnostic::error("invalid-name", format!("`{}` is not a column name", shown(&h.value)))
                        .at(h.span)
                        .help("a column name is letters, digits and `_`, not starting with a digit"),
                );
                None
            }
        });
        let profile_for_checks = profile.unwrap_or(EMAIL_EVENTS);

        let lists = self.lists(raw);
        let groups = self.groups(raw);
        // Every list and group is expanded once, so that unknown references and cycles are
        // found even in lists no exclusion uses.
        for l in &raw.lists {
            for v in &l.values.value {
                self.expand(raw, v, &mut vec![(l.name.value.clone(), l.name.span)], &mut Vec::new());
            }
        }
        for g in &raw.groups {
            for v in g.address.iter().chain(&g.members) {
                self.expand(raw, v, &mut vec![(g.name.value.clone(), g.name.span)], &mut Vec::new());
            }
        }
        let mut seen_ids: HashMap<&str, Span> = HashMap::new();
        for id in raw.exclusions.iter().filter_map(|e| e.id.as_ref()) {
            if let Some(first) = seen_ids.get(id.value.as_str()) {
                self.push(
                    Diagnostic::error("duplicate-id", format!("exclusion id `{}` is used twice", id.value))
                        .at(id.span)
                        .also(*first, "first used here")
                        .help("ids name exclusions in hits, reports and KQL comments: make each unique"),
                );
            } else {
                seen_ids.insert(&id.value, id.span);
            }
        }
        let mut exclusions = Vec::new();
        for e in &raw.exclusions {
            if let Some(x) = self.exclusion(e, &rules, header_column.as_deref(), &profile_for_checks, raw) {
                exclusions.push(x);
            }
        }
        Some(Policy {
            name: name?,
            description: header.description.map(|d| d.value),
            profile: profile?,
            rules,
            header_column,
            lists,
            groups,
            exclusions,
        })
    }

    /// A group's address or member: like a list value, any text but the empty one.
    fn group_value(&mut self, group: &str, what: &str, v: &Sp<String>) -> Option<(String, Span)> {
        if v.value.is_empty() {
            self.push(
                Diagnostic::error("empty-value", format!("group `{group}` has an empty {what}"))
                    .at(v.span)
                    .help("an empty value would match nothing: remove it"),
            );
            return None;
        }
        Some((v.value.clone(), v.span))
    }

    fn lists(&mut self, raw: &RawPolicy) -> Vec<List> {
        let mut out = Vec::new();
        for (i, l) in raw.lists.iter().enumerate() {
            if self.reference_target_name("list", &l.name, RefTarget::List(i)) {
                let mut values = Vec::new();
                for v in &l.values.value {
                    if v.value.is_empty() {
                        self.push(
                            Diagnostic::error(
                                "empty-value",
                                format!("list `{}` holds an empty value", l.name.value),
                            )
                            .at(v.span)
                            .help("an empty value would match nothing: remove it"),
                        );
                    } else {
                        values.push((v.value.clone(), v.span));
                    }
                }
                if l.values.value.is_empty() {
                    self.push(
                        Diagnostic::error("empty-value", format!("list `{}` is empty", l.name.value))
                            .at(l.values.span)
                            .help("remove the list, or add its values"),
                    );
                }
                let literals: Vec<&(String, Span)> =
                    values.iter().filter(|(t, _)| reference_name(t).is_none()).collect();
                if !literals.is_empty() && literals.iter().all(|(t, _)| is_network(t)) {
                    self.network_lists.insert(l.name.value.clone());
                }
                out.push(List { name: l.name.value.clone(), span: l.name.span, values });
            }
        }
        out
    }

    fn groups(&mut self, raw: &RawPolicy) -> Vec<Group> {
        let mut out = Vec::new();
        for (i, g) in raw.groups.iter().enumerate() {
            if !self.reference_target_name("group", &g.name, RefTarget::Group(i)) {
                continue;
            }
            if g.address.is_none() && g.members.is_empty() {
                self.push(
                    Diagnostic::error(
                        "empty-value",
                        format!("group `{}` has no address and no members", g.name.value),
                    )
                    .at(g.name.span)
                    .help("give the group's own `address` and its `members`"),
                );
            }
            let name = &g.name.value;
            let address = g.address.as_ref().and_then(|a| self.group_value(name, "address", a));
            let members = g.members.iter().filter_map(|m| self.group_value(name, "member", m)).collect();
            out.push(Group { name: g.name.value.clone(), span: g.name.span, address, members });
        }
        out
    }

    /// Registers a list or group name for `@name` references.
    fn reference_target_name(&mut self, what: &str, name: &Sp<String>, target: RefTarget) -> bool {
        if reference_name(&format!("@{}", name.value)).is_none() {
            self.push(
                Diagnostic::error(
                    "invalid-name",
                    format!("{what} name `{}` cannot be referenced", shown(&name.value)),
                )
                .at(name.span)
                .help(
                    "a list or group name is letters, digits, `-` and `_`, so that `@name` can refer to it",
                ),
            );
            return false;
        }
        if let Some((_, first)) = self.refs.get(&name.value) {
            let first = *first;
            self.push(
                Diagnostic::error(
                    "duplicate-name",
                    format!("`{}` names both a list and a group", name.value),
                )
                .at(name.span)
                .also(first, "first defined here")
                .help("`@name` must refer to one thing: rename one of them"),
            );
            return false;
        }
        self.refs.insert(name.value.clone(), (target, name.span));
        true
    }

    /// Expands `@name` references recursively, reporting unknown names and cycles.
    fn expand(
        &mut self,
        raw: &RawPolicy,
        value: &Sp<String>,
        stack: &mut Vec<(String, Span)>,
        out: &mut Vec<Expanded>,
    ) {
        let Some(name) = reference_name(&value.value) else {
            out.push(Expanded {
                text: unescape(&value.value).to_string(),
                span: value.span,
                via: stack.clone(),
                from_group: false,
            });
            return;
        };
        if let Some(pos) = stack.iter().position(|(n, _)| n == name) {
            let members = stack.get(pos..).unwrap_or_default();
            let chain: Vec<String> = members.iter().map(|(n, _)| format!("`{n}`")).collect();
            let mut key: Vec<String> = members.iter().map(|(n, _)| n.clone()).collect();
            key.sort();
            if !self.reported_cycles.insert(key) {
                return;
            }
            self.push(
                Diagnostic::error(
                    "reference-cycle",
                    format!("`@{name}` refers to itself through {}", chain.join(" -> ")),
                )
                .at(value.span)
                .help("a list or group cannot contain itself, directly or through others"),
            );
            return;
        }
        let Some((target, _)) = self.refs.get(name).cloned() else {
            let mut d = Diagnostic::error("unknown-reference", format!("no list or group named `{name}`"))
                .at(value.span);
            let names: Vec<String> = self.refs.keys().cloned().collect();
            d = match did_you_mean(name, names.iter().map(String::as_str)) {
                Some(s) => d.help(format!("did you mean `@{s}`?")),
                None => d.help(format!(
                    "define it under `[lists]`, or write `@{}` for a literal value starting with `@`",
                    value.value
                )),
            };
            self.push(d);
            return;
        };
        stack.push((name.to_string(), value.span));
        match target {
            RefTarget::List(i) => {
                if let Some(list) = raw.lists.get(i) {
                    for v in &list.values.value {
                        self.expand(raw, v, stack, out);
                    }
                }
            }
            RefTarget::Group(i) => {
                if let Some(g) = raw.groups.get(i) {
                    let start = out.len();
                    for v in g.address.iter().chain(g.members.iter()) {
                        self.expand(raw, v, stack, out);
                    }
                    for e in out.iter_mut().skip(start) {
                        e.from_group = true;
                    }
                }
            }
        }
        stack.pop();
    }

    fn exclusion(
        &mut self,
        e: &RawExclusion,
        default_rules: &[String],
        header_column: Option<&str>,
        profile: &Profile,
        raw: &RawPolicy,
    ) -> Option<Exclusion> {
        let id = match &e.id {
            Some(id) => self.kebab("exclusion id", id),
            None => {
                if !e.broken.iter().any(|k| k == "id") {
                    self.missing("id", "an exclusion", e.span, "add `id = \"…\"`, unique and in kebab-case");
                }
                None
            }
        };
        let what = id.as_ref().map_or("an exclusion".to_string(), |i| format!("exclusion `{i}`"));
        let reason = match &e.reason {
            Some(r) => self.non_empty("reason", r),
            None if e.broken.iter().any(|k| k == "reason") => None,
            None => {
                self.missing(
                    "reason",
                    &what,
                    e.id.as_ref().map_or(e.span, |i| i.span),
                    "say why these events are false positives: reviewers read it",
                );
                None
            }
        };
        let owner = match &e.owner {
            Some(o) => self.non_empty("owner", o),
            None if e.broken.iter().any(|k| k == "owner") => None,
            None => {
                self.missing(
                    "owner",
                    &what,
                    e.id.as_ref().map_or(e.span, |i| i.span),
                    "name who answers for this exclusion, e.g. `owner = \"soc-lead@company.com\"`",
                );
                None
            }
        };
        let ticket = e.ticket.as_ref().and_then(|t| self.non_empty("ticket", t));
        // TOML has already checked that the date is a day of the calendar.
        let expires = e
            .expires
            .as_ref()
            .and_then(|d| Date::new(d.value.year as i16, d.value.month as i8, d.value.day as i8).ok());
        let scope = match &e.rules {
            Some(r) => Scope { rules: self.rules(r), inherited: false },
            None => Scope { rules: default_rules.to_vec(), inherited: true },
        };
        let allow = e
            .allow
            .iter()
            .filter_map(|a| {
                let code = match &a.code {
                    Some(c) => Some(c),
                    None if a.broken.iter().any(|k| k == "code") => None,
                    None => {
                        self.missing(
                            "code",
                            "an `allow` entry",
                            a.span,
                            "name the finding code it allows, e.g. `code = \"spoofable\"`",
                        );
                        None
                    }
                };
                let reason = match &a.reason {
                    Some(r) => self.non_empty("reason", r),
                    None if a.broken.iter().any(|k| k == "reason") => None,
                    None => {
                        self.missing("reason", "an `allow` entry", a.span, "say why the finding is accepted");
                        None
                    }
                };
                Some(Allow {
                    code: code?.value.clone(),
                    code_span: code?.span,
                    reason: reason?,
                    span: a.span,
                })
            })
            .collect();
        if e.conditions.is_empty() && e.broken.is_empty() {
            self.push(
                Diagnostic::error("no-condition", format!("{what} has no condition"))
                    .at(e.id.as_ref().map_or(e.span, |i| i.span))
                    .help("an exclusion without conditions would hide every event: add `sender`, `source_ip`, `subject`, …"),
            );
        }
        let mut conditions = Vec::new();
        for c in e.conditions.iter().filter(|c| !c.broken) {
            if let Some(c) = self.condition(c, header_column, profile, raw) {
                conditions.push(c);
            }
        }
        Some(Exclusion {
            id: id?,
            span: e.span,
            id_span: e.id.as_ref().map_or(e.span, |i| i.span),
            reason: reason?,
            owner: owner?,
            ticket,
            expires,
            expires_span: e.expires.as_ref().map(|d| d.span),
            scope,
            conditions,
            allow,
        })
    }

    fn field(&mut self, c: &RawCondition, header_column: Option<&str>, profile: &Profile) -> Option<Field> {
        match &c.field {
            RawField::Named(k) => Field::named(&k.value),
            RawField::Header(name) => {
                if name.value.is_empty() || name.value.chars().any(|ch| ch.is_control() || ch == ':') {
                    self.push(
                        Diagnostic::error(
                            "invalid-name",
                            format!("`{}` is not a header name", shown(&name.value)),
                        )
                        .at(name.span),
                    );
                    return None;
                }
                if Field::well_known_header(&name.value).is_none() && header_column.is_none() {
                    let columns: Vec<String> = crate::model::WELL_KNOWN_HEADERS
                        .iter()
                        .map(|(h, c)| format!("`{h}` ({c})"))
                        .collect();
                    self.push(
                        Diagnostic::error("header-column-required", format!("header `{}` needs `header_column`", shown(&name.value)))
                            .at(name.span)
                            .label("EmailEvents carries no message headers")
                            .help(format!("only {} are columns of EmailEvents", columns.join(", ")))
                            .help("export the headers as a JSON object column (for example by joining the message trace) and name it in `[policy] header_column = \"Headers\"`"),
                    );
                    return None;
                }
                Some(Field::Header(name.value.clone()))
            }
            RawField::Where(None) => {
                self.missing(
                    "column",
                    "`[[exclusion.where]]`",
                    c.span,
                    "name the column, e.g. `column = \"Connectors\"`",
                );
                None
            }
            RawField::Where(Some(col)) => match profile.column_type(&col.value) {
                Some(ColumnType::String) => {
                    profile.columns.iter().find(|(n, _)| *n == col.value).map(|(n, _)| Field::Column(n))
                }
                Some(t) => {
                    self.push(
                        Diagnostic::error(
                            "unsupported-column",
                            format!("column `{}` is {t}, not string", col.value),
                        )
                        .at(col.span)
                        .help("`[[exclusion.where]]` compares text; it can only name string columns"),
                    );
                    None
                }
                None => {
                    let mut d = Diagnostic::error(
                        "unknown-column",
                        format!("`{}` has no column `{}`", profile.table, shown(&col.value)),
                    )
                    .at(col.span);
                    if let Some(s) = did_you_mean(&col.value, profile.column_names()) {
                        d = d.help(format!("did you mean `{s}`?"));
                    }
                    self.push(d);
                    None
                }
            },
        }
    }

    fn condition(
        &mut self,
        c: &RawCondition,
        header_column: Option<&str>,
        profile: &Profile,
        raw: &RawPolicy,
    ) -> Option<Condition> {
        let field = self.field(c, header_column, profile)?;
        if c.values.is_empty() {
            self.push(
                Diagnostic::error("empty-value", format!("`{}` has no values", field.key()))
                    .at(c.span)
                    .help("a condition without values matches nothing: give it values or remove it"),
            );
            return None;
        }
        let mut values = Vec::new();
        let mut ok = true;
        for rv in &c.values {
            ok &= self.values(&field, rv, raw, &mut values);
        }
        ok.then_some(Condition { field, span: c.span, values })
    }

    fn op(&mut self, field: &Field, rv: &RawValue) -> Option<TextOp> {
        let Some(op) = &rv.op else { return Some(TextOp::Glob) };
        if matches!(field, Field::SourceIp | Field::Direction) {
            self.push(
                Diagnostic::error("unsupported-operator", format!("`{}` takes no operators", field.key()))
                    .at(op.span)
                    .help(match field {
                        Field::SourceIp => {
                            "write addresses and networks as a plain list: `source_ip = [\"10.20.30.0/24\"]`"
                        }
                        _ => "write the directions as a plain list: `direction = [\"Inbound\"]`",
                    }),
            );
            return None;
        }
        TextOp::from_key(&op.value)
    }

    /// Validates one written value (expanding references) into `out`.
    fn values(&mut self, field: &Field, rv: &RawValue, raw: &RawPolicy, out: &mut Vec<Value>) -> bool {
        let Some(op) = self.op(field, rv) else { return false };
        let mut expanded = Vec::new();
        self.expand(raw, &rv.text, &mut Vec::new(), &mut expanded);
        let mut ok = true;
        for x in expanded {
            match self.value(field, op, &x) {
                Some(test) => out.push(Value {
                    test,
                    op,
                    text: x.text.clone(),
                    span: x.span,
                    via: x.via.iter().map(|(n, _)| n.clone()).collect(),
                }),
                None => ok = false,
            }
        }
        ok
    }

    fn value(&mut self, field: &Field, op: TextOp, x: &Expanded) -> Option<Test> {
        let via = x.via.first().map(|(n, s)| (n.clone(), *s));
        let with_via = |d: Diagnostic| match &via {
            Some((n, s)) if *s != x.span => d.also(*s, format!("reached through `@{n}`")),
            _ => d,
        };
        if x.text.is_empty() {
            self.push(with_via(
                Diagnostic::error("empty-value", format!("`{}` has an empty value", field.key()))
                    .at(x.span)
                    .help("an empty value never matches (empty fields never match): remove it"),
            ));
            return None;
        }
        match field {
            Field::SourceIp => {
                if let (Some((name, span)), true) = (&via, x.from_group) {
                    self.push(
                        Diagnostic::error(
                            "reference-type-mismatch",
                            format!("group `{name}` holds mail addresses, not networks"),
                        )
                        .at(*span)
                        .help("`source_ip` takes IPv4 and IPv6 addresses and networks"),
                    );
                    return None;
                }
                self.net(x, via.as_ref()).map(Test::Net)
            }
            Field::Direction => match DIRECTIONS.iter().find(|d| d.eq_ignore_ascii_case(&x.text)) {
                Some(d) => TextTest::new(TextOp::Equals, d).ok().map(Test::Text),
                None => {
                    let mut d = Diagnostic::error(
                        "invalid-direction",
                        format!("`{}` is not a mail direction", shown(&x.text)),
                    )
                    .at(x.span)
                    .help(format!("EmailDirection is one of {}", quoted_list(DIRECTIONS)));
                    if let Some(s) = did_you_mean(&x.text, DIRECTIONS.iter().copied()) {
                        d = d.help(format!("did you mean `{s}`?"));
                    }
                    self.push(with_via(d));
                    None
                }
            },
            _ => {
                if let Some((name, span)) = &via {
                    if !x.from_group && self.is_network_list(name) {
                        self.push(
                            Diagnostic::error(
                                "reference-type-mismatch",
                                format!("list `{name}` holds networks, not text"),
                            )
                            .at(*span)
                            .help(format!("`{}` compares text; use the list in `source_ip`", field.key())),
                        );
                        return None;
                    }
                }
                match TextTest::new(op, &x.text) {
                    Ok(t) => Some(Test::Text(t)),
                    Err(p) => {
                        let span = match p.offset {
                            Some((a, b)) => x.span.inner(self.source, a, b),
                            None => x.span,
                        };
                        let (code, what) = if op == TextOp::Regex {
                            ("invalid-regex", "regex")
                        } else {
                            ("invalid-glob", "glob")
                        };
                        let mut d =
                            Diagnostic::error(code, format!("{what} `{}`: {}", shown(&x.text), p.message))
                                .at(span);
                        if let Some(h) = p.help {
                            d = d.help(h);
                        }
                        self.push(with_via(d));
                        None
                    }
                }
            }
        }
    }

    fn is_network_list(&self, name: &str) -> bool {
        self.network_lists.contains(name)
    }

    fn net(&mut self, x: &Expanded, via: Option<&(String, Span)>) -> Option<IpNet> {
        let text = x.text.trim();
        let parsed =
            text.parse::<IpNet>().ok().or_else(|| text.parse::<std::net::IpAddr>().ok().map(IpNet::from));
        match parsed {
            Some(net) if net.trunc() == net => Some(net),
            Some(net) => {
                let slash = text.find('/').unwrap_or(0);
                let mut d =
                    Diagnostic::error("cidr-host-bits", format!("`{}` has host bits set", shown(text)))
                        .at(x.span.inner(self.source, 0, slash))
                        .label("bits after the prefix length are not zero")
                        .help(format!("did you mean `{}`?", net.trunc()));
                if let Some((name, span)) = via {
                    d = d.also(*span, format!("reached through `@{name}`"));
                }
                self.push(d);
                None
            }
            None => {
                let mut d = match via {
                    Some((name, span)) => Diagnostic::error(
                        "reference-type-mismatch",
                        format!("`{}` from list `{name}` is not an address or network", shown(text)),
                    )
                    .at(x.span)
                    .also(*span, "used in `source_ip` here"),
                    None => Diagnostic::error(
                        "invalid-cidr",
                        format!("`{}` is not an IP address or network", shown(text)),
                    )
                    .at(x.span),
                };
                d = d.help("write an IPv4 or IPv6 address (`10.20.30.5`, `2001:db8::5`) or network (`10.20.30.0/24`, `2001:db8:20::/48`)");
                self.push(d);
                None
            }
        }
    }
}

/// Whether a written value is an address or network (`10.0.0.1`, `2001:db8::/32`).
fn is_network(text: &str) -> bool {
    let t = text.trim();
    t.parse::<IpNet>().is_ok() || t.parse::<std::net::IpAddr>().is_ok()
}
