//! The lint rules, each a function of the validated policy.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::{Finding, Options, finding};
use crate::compile::{Selection, Status};
use crate::diag::{Span, shown};
use crate::model::{Condition, Exclusion, Field, Policy, Target, Test, Value};
use crate::semantics::{TextTest, fold};
use crate::subsume;

pub(super) fn run(policy: &Policy, options: &Options<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let hc = policy.header_column.as_deref();
    let list_duplicates = duplicates_in_lists(policy, &mut out);
    let selection = Selection { today: options.today, rules: Vec::new() };
    for e in &policy.exclusions {
        placeholder(e, &mut out);
        expiry(e, options, &mut out);
        // An expired exclusion no longer applies: `expired` says all there is to say, and
        // renewing it is a change reviewed like a new one.
        if Status::of(e, &selection) == Status::Expired {
            continue;
        }
        spoofable(e, &mut out);
        for c in &e.conditions {
            for v in &c.values {
                if let Some(f) = over_broad(e, &c.field, hc, v) {
                    out.push(f);
                }
            }
            duplicates_in_condition(e, c, &list_duplicates, &mut out);
        }
    }
    shadowed(policy, options, &mut out);
    unused(policy, &mut out);
    if let Some((name, stats)) = options.sample {
        unmatched(policy, options, name, stats, &mut out);
    }
    out
}

fn via(v: &Value) -> String {
    match v.via.first() {
        Some(list) => format!(" (via `@{list}`)"),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------
// over-broad

/// What kind of text a field holds, for deciding what "everything" looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Address,
    Domain,
    Text,
}

fn kind(field: &Field, header_column: Option<&str>) -> Option<Kind> {
    if matches!(field, Field::Direction | Field::SourceIp) {
        return None;
    }
    Some(match field.target(header_column)? {
        Target::Column("SenderFromAddress" | "SenderMailFromAddress" | "RecipientEmailAddress") => {
            Kind::Address
        }
        Target::Column("SenderFromDomain" | "SenderMailFromDomain" | "RecipientDomain") => Kind::Domain,
        _ => Kind::Text,
    })
}

/// Mail domains anyone can get an address at, or send through. A leading `.` stands for
/// every subdomain (each Microsoft 365 tenant has its own `tenant.onmicrosoft.com`).
const PROVIDERS: &[(&str, &str)] = &[
    ("gmail.com", "a public mail provider"),
    ("googlemail.com", "a public mail provider"),
    ("outlook.com", "a public mail provider"),
    ("hotmail.com", "a public mail provider"),
    ("live.com", "a public mail provider"),
    ("msn.com", "a public mail provider"),
    ("yahoo.com", "a public mail provider"),
    ("ymail.com", "a public mail provider"),
    ("aol.com", "a public mail provider"),
    ("icloud.com", "a public mail provider"),
    ("me.com", "a public mail provider"),
    ("proton.me", "a public mail provider"),
    ("protonmail.com", "a public mail provider"),
    ("gmx.com", "a public mail provider"),
    ("gmx.de", "a public mail provider"),
    ("gmx.net", "a public mail provider"),
    ("web.de", "a public mail provider"),
    ("mail.com", "a public mail provider"),
    ("zoho.com", "a public mail provider"),
    ("yandex.com", "a public mail provider"),
    ("yandex.ru", "a public mail provider"),
    ("mail.ru", "a public mail provider"),
    ("qq.com", "a public mail provider"),
    ("163.com", "a public mail provider"),
    ("fastmail.com", "a public mail provider"),
    ("tutanota.com", "a public mail provider"),
    (".onmicrosoft.com", "every Microsoft 365 tenant's default domain"),
    ("amazonses.com", "a shared sending service"),
    ("sendgrid.net", "a shared sending service"),
    ("mailgun.org", "a shared sending service"),
    ("mcsv.net", "a shared sending service"),
    ("mandrillapp.com", "a shared sending service"),
    ("sparkpostmail.com", "a shared sending service"),
];

/// Top-level domains and public suffixes: a value covering one covers countless senders.
const SUFFIXES: &[&str] = &[
    "com", "net", "org", "edu", "gov", "io", "co", "info", "biz", "de", "uk", "co.uk", "fr", "nl", "ru",
    "cn", "jp", "br", "in", "au", "com.au", "eu", "us", "ca", "it", "es",
];

/// Values no real exclusion matches all of, by kind.
const ANY_ADDRESS: &[&str] = &[
    "j.doe@example.org",
    "x9k2@corp-mail.test",
    "no-reply@billing.example.net",
    "Ana.Lopez@sub.example.co.uk",
];
const ANY_DOMAIN: &[&str] = &["example.org", "corp-mail.test", "billing.example.net", "sub.example.co.uk"];
const ANY_TEXT: &[&str] = &[
    "Invoice 4471 overdue",
    "Re: lunch on friday?",
    "Ihre Bestellung wurde versandt",
    "[EXTERNAL] Q3 board deck",
    "x",
];

fn matches_all(t: &TextTest, probes: impl IntoIterator<Item = String>) -> bool {
    probes.into_iter().all(|p| t.matches(&p, &fold(&p)))
}

/// Address (or domain) probes at a domain: two unrelated mailboxes.
fn at(kind: Kind, domain: &str) -> Vec<String> {
    match kind {
        Kind::Domain => vec![domain.to_string()],
        _ => vec![format!("k3v.q@{domain}"), format!("r.moreau77@{domain}")],
    }
}

fn over_broad(e: &Exclusion, field: &Field, hc: Option<&str>, v: &Value) -> Option<Finding> {
    let key = field.key();
    let (message, label) = match &v.test {
        Test::Net(net) => over_broad_net(net)?,
        Test::Text(t) => over_broad_text(t, kind(field, hc)?, &key, &v.text)?,
    };
    let d = finding("over-broad", format!("{message}{}", via(v)))
        .at(v.span)
        .label(label)
        .help(format!("exclusion `{}` would hide far more than the false positive it is for: name the exact senders, domains or networks", e.id));
    Some(Finding::of(e.id.as_str(), d))
}

fn over_broad_text(t: &TextTest, kind: Kind, key: &str, text: &str) -> Option<(String, String)> {
    let (any, what) = match kind {
        Kind::Address => (ANY_ADDRESS, "address"),
        Kind::Domain => (ANY_DOMAIN, "domain"),
        Kind::Text => (ANY_TEXT, "value"),
    };
    let text = shown(text);
    if let TextTest::Regex(re) = t {
        if re.regex().is_match("") {
            return Some((
                format!("regex `{text}` in `{key}` matches the empty string"),
                "so it matches every value".into(),
            ));
        }
    }
    if matches_all(t, any.iter().map(|s| s.to_string())) {
        return Some((
            format!("`{text}` in `{key}` matches nearly every {what}"),
            "matches nearly everything".into(),
        ));
    }
    if kind != Kind::Text {
        if let Some(sfx) = SUFFIXES.iter().find(|s| matches_all(t, covered_suffix(kind, s))) {
            return Some((
                format!("`{text}` in `{key}` covers every {what} under `.{sfx}`"),
                "a whole top-level domain".into(),
            ));
        }
        if let Some((domain, whose)) =
            PROVIDERS.iter().find(|(d, _)| matches_all(t, provider_probes(kind, d)))
        {
            let domain = if domain.starts_with('.') { format!("*{domain}") } else { domain.to_string() };
            return Some((
                format!("`{text}` in `{key}` covers all of `{domain}`"),
                format!("{whose}: anyone can send from it"),
            ));
        }
    }
    if let TextTest::Contains(s) = t {
        if s.chars().count() < 4 {
            return Some((
                format!("`contains` value `{text}` in `{key}` is shorter than 4 characters"),
                "matches many unrelated values".into(),
            ));
        }
    }
    None
}

fn provider_probes(kind: Kind, domain: &str) -> Vec<String> {
    if domain.starts_with('.') {
        let mut out = at(kind, &format!("tenant-q7x{domain}"));
        out.extend(at(kind, &format!("corp-z2k{domain}")));
        out
    } else {
        at(kind, domain)
    }
}

/// Probes under a suffix: two unrelated domains.
fn covered_suffix(kind: Kind, suffix: &str) -> Vec<String> {
    let mut out = at(kind, &format!("qzx7-mail.{suffix}"));
    out.extend(at(kind, &format!("w9v2.{suffix}")));
    out
}

/// Networks that are not on the public internet.
fn private(net: &IpNet) -> bool {
    const V4: &[(Ipv4Addr, u8)] = &[
        (Ipv4Addr::new(10, 0, 0, 0), 8),
        (Ipv4Addr::new(172, 16, 0, 0), 12),
        (Ipv4Addr::new(192, 168, 0, 0), 16),
        (Ipv4Addr::new(100, 64, 0, 0), 10),
        (Ipv4Addr::new(127, 0, 0, 0), 8),
        (Ipv4Addr::new(169, 254, 0, 0), 16),
    ];
    const V6: &[(Ipv6Addr, u8)] = &[
        (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7),
        (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),
        (Ipv6Addr::LOCALHOST, 128),
    ];
    let inside = |addr: IpAddr, len: u8| IpNet::new(addr, len).is_ok_and(|p| p.contains(net));
    V4.iter().any(|(a, l)| inside(IpAddr::V4(*a), *l)) || V6.iter().any(|(a, l)| inside(IpAddr::V6(*a), *l))
}

fn over_broad_net(net: &IpNet) -> Option<(String, String)> {
    let (family, widest) = match net {
        IpNet::V4(_) => ("IPv4", 16),
        IpNet::V6(_) => ("IPv6", 32),
    };
    if net.prefix_len() == 0 {
        return Some((format!("`{net}` matches every {family} address"), "the whole address space".into()));
    }
    if net.prefix_len() < widest && !private(net) {
        return Some((
            format!("`{net}` is a public network wider than /{widest}"),
            "covers many unrelated senders".into(),
        ));
    }
    None
}

// ---------------------------------------------------------------------------------------
// spoofable

fn spoofable(e: &Exclusion, out: &mut Vec<Finding>) {
    if e.conditions.is_empty() || !e.conditions.iter().all(|c| c.field.sender_controlled()) {
        return;
    }
    let mut fields: Vec<String> = e.conditions.iter().map(|c| format!("`{}`", c.field.key())).collect();
    fields.dedup();
    let d = finding("spoofable", format!("exclusion `{}` tests only what the sender chooses", e.id))
        .at(e.id_span)
        .label(format!("anyone can send mail with matching {}", and_list(&fields)))
        .help("add a condition the sender cannot forge: `source_ip`, `recipient` or `direction`")
        .help("or accept the risk with `allow = [{ code = \"spoofable\", reason = \"…\" }]`");
    out.push(Finding::of(e.id.as_str(), d));
}

/// `a`, `b` and `c`.
fn and_list(items: &[String]) -> String {
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

// ---------------------------------------------------------------------------------------
// placeholder

/// Whether an `owner`, `reason` or `ticket` is still the placeholder an import wrote
/// ([`crate::import::PLACEHOLDER`]): it starts with `TODO`, in any case.
pub(crate) fn is_placeholder(text: &str) -> bool {
    text.trim_start()
        .get(..crate::import::PLACEHOLDER.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(crate::import::PLACEHOLDER))
}

fn placeholder(e: &Exclusion, out: &mut Vec<Finding>) {
    let fields = [("owner", Some(&e.owner)), ("reason", Some(&e.reason)), ("ticket", e.ticket.as_ref())];
    for (key, text) in fields {
        let Some(text) = text.filter(|t| is_placeholder(t)) else { continue };
        let d = finding("placeholder", format!("exclusion `{}` has a placeholder `{key}`", e.id))
            .at(e.id_span)
            .label(format!("`{key} = \"{}\"` is a placeholder left for a reviewer", shown(text)))
            .help(format!("replace the placeholder with the real {key} before merging"));
        out.push(Finding::of(e.id.as_str(), d));
    }
}

// ---------------------------------------------------------------------------------------
// expiry

fn expiry(e: &Exclusion, options: &Options<'_>, out: &mut Vec<Finding>) {
    let Some(expires) = e.expires else {
        let d = finding("no-expiry", format!("exclusion `{}` never expires", e.id))
            .at(e.id_span)
            .help("add `expires = YYYY-MM-DD` so that the exclusion is reviewed again");
        out.push(Finding::of(e.id.as_str(), d));
        return;
    };
    let span = e.expires_span.unwrap_or(e.id_span);
    let days = options.today.until(expires).map(|s| s.get_days()).unwrap_or(0);
    if days < 0 {
        let ago = -days;
        let d = finding("expired", format!("exclusion `{}` expired on {expires}", e.id))
            .at(span)
            .label(format!("{ago} day{} ago, so it no longer applies", if ago == 1 { "" } else { "s" }))
            .help("remove the exclusion, or renew it with a new `expires` and a ticket");
        out.push(Finding::of(e.id.as_str(), d));
    } else if days <= options.soon_days {
        let when = match days {
            0 => "today".to_string(),
            1 => "in 1 day".to_string(),
            n => format!("in {n} days"),
        };
        let d = finding("expires-soon", format!("exclusion `{}` expires {when}, on {expires}", e.id))
            .at(span)
            .label("the last day it applies")
            .help("renew it (with the ticket that justifies it) or let it lapse on purpose");
        out.push(Finding::of(e.id.as_str(), d));
    }
}

// ---------------------------------------------------------------------------------------
// duplicate-value

/// Reports values written twice in a list or a group; returns their spans.
fn duplicates_in_lists(policy: &Policy, out: &mut Vec<Finding>) -> HashSet<Span> {
    let mut reported = HashSet::new();
    let mut check = |what: String, values: Vec<&(String, Span)>, fold_case: bool, out: &mut Vec<Finding>| {
        let mut seen: Vec<(String, Span)> = Vec::new();
        for (text, span) in values {
            let key = if fold_case { fold(text.trim()).into_owned() } else { text.trim().to_string() };
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
                let d = finding("duplicate-value", format!("`{}` is written twice in {what}", shown(text)))
                    .at(*span)
                    .also(*first, "first written here")
                    .help("remove one of them");
                out.push(Finding::of_policy(d));
                reported.insert(*span);
            } else {
                seen.push((key, *span));
            }
        }
    };
    for l in &policy.lists {
        // A list's values are read by the field that uses it (a regex is case-sensitive):
        // only the same text is surely the same value.
        check(format!("list `{}`", l.name), l.values.iter().collect(), false, out);
    }
    for g in &policy.groups {
        check(format!("group `{}`", g.name), g.address.iter().chain(&g.members).collect(), true, out);
    }
    reported
}

fn duplicates_in_condition(e: &Exclusion, c: &Condition, reported: &HashSet<Span>, out: &mut Vec<Finding>) {
    for (i, v) in c.values.iter().enumerate() {
        if reported.contains(&v.span) {
            continue;
        }
        let first = c.values.iter().take(i).find(|w| w.test == v.test && w.span != v.span);
        if let Some(w) = first {
            let same = if w.text == v.text { "" } else { " (the same value)" };
            let d = finding(
                "duplicate-value",
                format!(
                    "`{}` repeats `{}` in `{}`{same}{}",
                    shown(&v.text),
                    shown(&w.text),
                    c.field.key(),
                    via(v)
                ),
            )
            .at(v.span)
            .also(w.span, "already here")
            .help(format!("remove one of them from exclusion `{}`", e.id));
            out.push(Finding::of(e.id.as_str(), d));
        }
    }
}

// ---------------------------------------------------------------------------------------
// unused-list, unused-group

fn unused(policy: &Policy, out: &mut Vec<Finding>) {
    let used: HashSet<&str> = policy
        .exclusions
        .iter()
        .flat_map(|e| &e.conditions)
        .flat_map(|c| &c.values)
        .flat_map(|v| v.via.iter().map(String::as_str))
        .collect();
    for l in policy.lists.iter().filter(|l| !used.contains(l.name.as_str())) {
        let d = finding("unused-list", format!("list `{}` is not used by any exclusion", l.name))
            .at(l.span)
            .help(format!("use it as `@{}` in a condition, or remove it", l.name));
        out.push(Finding::of_policy(d));
    }
    for g in policy.groups.iter().filter(|g| !used.contains(g.name.as_str())) {
        let d = finding("unused-group", format!("group `{}` is not used by any exclusion", g.name))
            .at(g.span)
            .help(format!("use it as `@{}` in a condition, or remove it", g.name));
        out.push(Finding::of_policy(d));
    }
}

// ---------------------------------------------------------------------------------------
// shadowed

/// Whether `b` applies to every rule `a` applies to. Rule ids and names are compared as
/// written (ignoring case): an id and a name of the same rule are not known to be equal.
fn scope_covers(b: &Exclusion, a: &Exclusion) -> bool {
    b.scope.rules.is_empty()
        || (!a.scope.rules.is_empty()
            && a.scope
                .rules
                .iter()
                .all(|r| b.scope.rules.iter().any(|s| s.to_lowercase() == r.to_lowercase())))
}

/// Whether `b` applies on every day `a` does.
fn lasts_as_long(b: &Exclusion, a: &Exclusion) -> bool {
    match (b.expires, a.expires) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(eb), Some(ea)) => eb >= ea,
    }
}

/// An exclusion is shadowed by another that matches everything it matches, applies to
/// every rule it applies to and lasts at least as long: removing it changes nothing. Two
/// exclusions that shadow each other report the later one only. Expired exclusions
/// neither shadow nor are shadowed (they are reported as expired).
fn shadowed(policy: &Policy, options: &Options<'_>, out: &mut Vec<Finding>) {
    let hc = policy.header_column.as_deref();
    let selection = Selection { today: options.today, rules: Vec::new() };
    let live: Vec<(usize, &Exclusion)> = policy
        .exclusions
        .iter()
        .enumerate()
        .filter(|(_, e)| Status::of(e, &selection) != Status::Expired)
        .collect();
    // What each exclusion reads; `b` can only cover `a` if `a` reads all that `b` reads.
    let reads: Vec<Vec<subsume::Reads>> = live
        .iter()
        .map(|(_, e)| {
            let mut r: Vec<subsume::Reads> =
                e.conditions.iter().map(|c| subsume::reads(&c.field, hc)).collect();
            r.sort();
            r.dedup();
            r
        })
        .collect();
    for (ai, (a_index, a)) in live.iter().enumerate() {
        let Some(ra) = reads.get(ai) else { continue };
        for (bi, (b_index, b)) in live.iter().enumerate() {
            let Some(rb) = reads.get(bi) else { continue };
            if ai == bi || !rb.iter().all(|r| ra.contains(r)) {
                continue;
            }
            if !(scope_covers(b, a) && lasts_as_long(b, a) && subsume::exclusion_implies(a, b, hc)) {
                continue;
            }
            // Mutual cover: only the later of the two is reported.
            let mutual = scope_covers(a, b) && lasts_as_long(a, b) && subsume::exclusion_implies(b, a, hc);
            if mutual && b_index > a_index {
                continue;
            }
            let d = finding("shadowed", format!("exclusion `{}` is shadowed by `{}`", a.id, b.id))
                .at(a.id_span)
                .label("every event it matches is already excluded")
                .also(b.id_span, "which matches all of them, for the same rules and at least as long")
                .help(format!("remove `{}`, or narrow `{}` if it is too broad", a.id, b.id));
            out.push(Finding::of(a.id.as_str(), d));
            break;
        }
    }
}

// ---------------------------------------------------------------------------------------
// unmatched-exclusion

fn unmatched(
    policy: &Policy,
    options: &Options<'_>,
    name: &str,
    stats: &crate::filter::Stats,
    out: &mut Vec<Finding>,
) {
    for e in &policy.exclusions {
        let hits = stats.by_exclusion.iter().find(|(id, _)| id == e.id.as_str()).map(|(_, n)| *n);
        let active = Status::of(e, &Selection { today: options.today, rules: Vec::new() }) == Status::Active;
        if active && hits == Some(0) {
            let d = finding(
                "unmatched-exclusion",
                format!("exclusion `{}` matched none of the {} events in `{name}`", e.id, stats.total),
            )
            .at(e.id_span)
            .label("0 hits")
            .help("check that its values still match the events as they look today, or remove it");
            out.push(Finding::of(e.id.as_str(), d));
        }
    }
}
