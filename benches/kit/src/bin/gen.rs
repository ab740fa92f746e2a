//! Deterministic generator of EmailEvents exports and policies for fpx's benchmarks.
//!
//! ```text
//! fpx-gen policy large            > large.toml     # seed policy + ~2,500 realistic exclusions
//! fpx-gen policy scale N          > scale-N.toml   # N exclusions (10 hit the events, the rest never do)
//! fpx-gen events ROWS jsonl|csv   > events.jsonl   # ~900-byte rows, 15-30% hit `large`
//! ```
//!
//! Everything derives from one fixed seed, so the same command always writes the same bytes.
//! The events are drawn from the same vocabulary as the large policy: about a fifth of the
//! rows hit one of its exclusions (exact senders, domain and mid-string globs, relay
//! networks in both families, subject regexes and phrases, headers, recipients, connectors),
//! about a tenth are near misses (the right sender from the wrong network, a look-alike
//! domain, a subject one word off), the rest is background mail from many senders.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};

const SEED: u64 = 0x5EED_F00D_2026_1204;

/// SplitMix64: small, fast and reproducible everywhere.
struct Rng(u64);

impl Rng {
    fn new(stream: u64) -> Rng {
        Rng(SEED ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    /// Skewed towards small indices (a few senders send most mail).
    fn skewed(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((u * u * u) * n as f64) as usize % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            let _ = write!(s, "{:016x}", self.next());
        }
        s.truncate(n);
        s
    }
    fn guid(&mut self) -> String {
        let h = self.hex(32);
        format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
    }
}

const SYLLABLES: &[&str] = &[
    "vel", "tra", "no", "mar", "ko", "lin", "qua", "sen", "dor", "ax", "bri", "cel", "dyn", "ex", "fin",
    "gal", "hex", "ion", "jo", "ka", "lum", "mer", "nex", "or", "pax", "qui", "ros", "sol", "tek", "ul",
    "ver", "wen", "xi", "yor", "zen", "ar", "bel", "cor", "del", "est",
];
const TLDS: &[&str] = &["com", "net", "io", "org", "co.uk", "de", "fr", "example", "cloud", "app"];
const FIRST: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj",
    "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yusuf", "zoe", "amir", "bea", "chen",
    "dmitri", "elif", "fatima", "goran", "hana", "igor", "jonas", "kenji", "lena", "marta",
];
const LAST: &[&str] = &[
    "smith", "jones", "garcia", "muller", "rossi", "novak", "kowalski", "nguyen", "tanaka", "silva",
    "larsen", "dubois", "schmidt", "ivanova", "okafor", "haddad", "kim", "patel", "santos", "berg",
];
const WORDS: &[&str] = &[
    "quarterly",
    "report",
    "meeting",
    "invoice",
    "update",
    "project",
    "status",
    "review",
    "budget",
    "schedule",
    "proposal",
    "contract",
    "renewal",
    "reminder",
    "training",
    "security",
    "access",
    "policy",
    "account",
    "payment",
    "shipment",
    "delivery",
    "order",
    "confirmation",
    "survey",
    "webinar",
    "newsletter",
    "announcement",
    "roadmap",
    "release",
    "deployment",
    "incident",
    "maintenance",
    "migration",
    "onboarding",
    "offboarding",
    "benefits",
    "payroll",
    "holiday",
    "agenda",
    "minutes",
    "draft",
    "final",
    "urgent",
    "follow-up",
    "feedback",
    "summary",
    "forecast",
    "pipeline",
    "customer",
    "partner",
    "vendor",
    "license",
    "subscription",
    "trial",
    "demo",
    "workshop",
    "conference",
    "travel",
    "expense",
    "approval",
    "request",
    "ticket",
    "escalation",
    "outage",
    "backup",
    "audit",
    "compliance",
];
/// A few non-ASCII subjects, as real tenants have.
const INTL: &[&str] = &[
    "Réunion d'équipe",
    "Größenänderung der Bestellung",
    "Pedido confirmado ✅",
    "Счёт на оплату",
    "会議の議事録",
    "Ödeme hatırlatması",
    "Änderung Ihres Passworts",
    "Zamówienie wysłane 📦",
];
const PHRASE_TOPICS: &[&str] = &[
    "maintenance notice",
    "service advisory",
    "usage summary",
    "billing statement",
    "security bulletin",
    "release notes",
    "status digest",
    "capacity alert",
    "renewal notice",
    "compliance attestation",
];
const REGEX_PREFIXES: &[&str] = &["TICKET", "INC", "CHG", "REQ", "ALERT", "JOB", "CASE", "TASK"];
const CONNECTORS: &[&str] = &["", "", "", "", "Partner-Inbound-01", "Partner-Inbound-02", "OnPrem-Relay"];

fn word(rng: &mut Rng, parts: usize) -> String {
    (0..parts).map(|_| *rng.pick(SYLLABLES)).collect()
}

/// Everything the policies and the events are drawn from.
struct Vocab {
    /// Vendor domains; the first ones carry exclusions.
    domains: Vec<String>,
    /// External senders: (localpart, domain index).
    senders: Vec<(String, usize)>,
    /// Internal users at company.com.
    internal: Vec<String>,
}

impl Vocab {
    fn new() -> Vocab {
        let mut rng = Rng::new(1);
        let mut domains = Vec::new();
        let mut seen = std::collections::HashSet::new();
        while domains.len() < 6000 {
            let parts = 2 + rng.below(2);
            let d = format!("{}.{}", word(&mut rng, parts), rng.pick(TLDS));
            if seen.insert(d.clone()) {
                domains.push(d);
            }
        }
        let mut senders = Vec::new();
        for i in 0..60_000 {
            let local = match i % 5 {
                0 => format!("{}.{}", rng.pick(FIRST), rng.pick(LAST)),
                1 => format!("{}{}", rng.pick(FIRST), rng.below(1000)),
                2 => format!(
                    "{}-{}",
                    rng.pick(&["noreply", "no-reply", "info", "news", "billing", "support"]),
                    word(&mut rng, 1)
                ),
                3 => format!("{}.{}{}", rng.pick(LAST), rng.pick(FIRST), rng.below(100)),
                _ => word(&mut rng, 2),
            };
            senders.push((local, rng.skewed(domains.len())));
        }
        let internal = (0..4000)
            .map(|i| format!("{}.{}{}@company.com", FIRST[i % FIRST.len()], LAST[(i / 7) % LAST.len()], i))
            .collect();
        Vocab { domains, senders, internal }
    }
}

/// An IPv4 network.
#[derive(Clone, Copy)]
struct Net4 {
    addr: u32,
    len: u8,
}

impl Net4 {
    fn size(self) -> u64 {
        1u64 << (32 - u32::from(self.len))
    }
    fn text(self) -> String {
        if self.len == 32 { ip4(self.addr) } else { format!("{}/{}", ip4(self.addr), self.len) }
    }
}

fn ip4(a: u32) -> String {
    std::net::Ipv4Addr::from(a).to_string()
}

fn ip6(a: u128) -> String {
    std::net::Ipv6Addr::from(a).to_string()
}

/// How an exclusion is hit (and nearly missed) by a generated row.
enum Kind {
    Seed(usize),
    /// sender = exact addresses (some with a recipient group).
    Senders {
        senders: Vec<String>,
        recipients: Option<Vec<String>>,
    },
    /// sender = "*@domain" (optionally from networks).
    Domain {
        domain: String,
        nets: Vec<Net4>,
    },
    /// sender = mid-string glob; `example` builds a matching address from a random word.
    MidGlob {
        prefix: String,
        domain: String,
    },
    /// sender_domain and source_ip networks (both families).
    Relay {
        domain: String,
        nets: Vec<Net4>,
        nets6: Vec<(u128, u8)>,
    },
    SubjectRegex {
        tag: String,
        domain: Option<String>,
    },
    Phrases {
        phrases: Vec<String>,
        domain: Option<String>,
    },
    Header {
        campaign: String,
        domain: String,
    },
    Connector {
        connector: String,
        domain: String,
    },
}

struct Spec {
    id: String,
    kind: Kind,
}

const SEED_POLICY_LISTS: &str = r#"report-senders = ["reports@company.com", "scheduled-reports@company.com"]
mail-servers = ["10.20.30.0/24", "2001:db8:20::/48"]
password-reset-subjects = ["Password Reset", "Reset Your Password"]
siem-senders = ["siem-notifications@company.com"]
"#;

const SEED_POLICY_GROUPS: &str = r#"[groups.project-team]
address = "project-team@company.com"
members = ["alice@company.com", "bob@company.com"]
"#;

/// The seed policy's exclusions (policies/bulk-email-fp.toml), so `large` contains it.
const SEED_EXCLUSIONS: &str = r#"
[[exclusion]]
id = "scheduled-reports"
reason = "Nightly BI report job on the internal relay"
owner = "soc-lead@company.com"
ticket = "SOC-1042"
expires = 2027-03-31
sender = ["@report-senders"]
source_ip = ["@mail-servers"]

[[exclusion]]
id = "password-reset"
reason = "Self-service password reset notifications, sent by the identity platform through the relay"
owner = "iam-team@company.com"
ticket = "SOC-1057"
expires = 2027-06-30
sender = ["password-reset@company.com"]
subject.equals = ["@password-reset-subjects"]
source_ip = ["@mail-servers"]

[[exclusion]]
id = "siem-notifications"
reason = "SIEM alert digests mailed to the SOC from the internal relay"
owner = "soc-lead@company.com"
ticket = "SOC-1063"
expires = 2027-03-31
sender = ["@siem-senders"]
source_ip = ["@mail-servers"]

[[exclusion]]
id = "siem-internal-header"
reason = "Internal system-generated mail marked by the transport rule header"
owner = "messaging-team@company.com"
ticket = "SOC-1064"
expires = 2027-01-31
direction = ["Intra-org"]
header."X-Company-System-Generated" = ["true"]

[[exclusion]]
id = "marketing-platform"
reason = "Newsletters from the marketing platform, which sends under its own subdomain"
owner = "marketing-ops@company.com"
ticket = "SOC-1071"
expires = 2027-02-28
sender_domain = ["news.company.com"]
header."X-Campaign-Id" = ["cmp-*"]

[[exclusion]]
id = "project-team-list"
reason = "Internal distribution list project-team@company.com fans out status mail"
owner = "soc-lead@company.com"
ticket = "SOC-1080"
expires = 2027-04-30
direction = ["Intra-org"]
recipient = ["@project-team"]
sender = ["*@company.com"]

[[exclusion]]
id = "legacy-newsletter"
reason = "Old newsletter tool, decommissioned"
owner = "marketing-ops@company.com"
ticket = "SOC-0931"
expires = 2026-06-30
sender = ["newsletter@legacy-mailer.company.com"]
"#;

/// The large policy's exclusions, in order.
fn large_specs(v: &Vocab) -> Vec<Spec> {
    let mut rng = Rng::new(2);
    let mut specs: Vec<Spec> = (0..6).map(|i| Spec { id: String::new(), kind: Kind::Seed(i) }).collect();
    // Excluded vendors start past the few domains that send most background mail.
    let mut next_domain = 400usize;
    let mut domain = || {
        next_domain += 1;
        v.domains[next_domain - 1].clone()
    };
    // ~1,300 exclusions of exact senders: ~3,200 addresses.
    for i in 0..1300 {
        let n = 1 + rng.below(4);
        let senders: Vec<String> = (0..n)
            .map(|_| {
                let (local, d) = &v.senders[rng.below(v.senders.len())];
                format!("{local}@{}", v.domains[*d])
            })
            .collect();
        let recipients = (i % 13 == 0).then(|| (0..3).map(|_| rng.pick(&v.internal).clone()).collect());
        specs.push(Spec { id: format!("vendor-senders-{i}"), kind: Kind::Senders { senders, recipients } });
    }
    // ~300 domain globs, a third of them only from the vendor's networks.
    for i in 0..300 {
        let d = domain();
        let nets = if i % 3 == 0 { random_nets(&mut rng, 2) } else { Vec::new() };
        specs.push(Spec { id: format!("vendor-domain-{i}"), kind: Kind::Domain { domain: d, nets } });
    }
    // ~100 mid-string globs.
    for i in 0..100 {
        let prefix = rng.pick(&["alerts-", "noreply-", "bounce+", "notify.", "job-"]).to_string();
        specs.push(Spec {
            id: format!("vendor-pattern-{i}"),
            kind: Kind::MidGlob { prefix, domain: domain() },
        });
    }
    // 400 relays with 5 IPv4 networks each (2,000 CIDRs); 50 of them also 2 IPv6 networks.
    for i in 0..400 {
        let nets = random_nets(&mut rng, 5);
        let nets6 = if i % 8 == 0 {
            (0..2)
                .map(|_| {
                    let len = *rng.pick(&[48u8, 56, 64]);
                    let a = (0x2001_0db8u128 << 96) | (u128::from(rng.next() as u32 & 0xffff) << 80);
                    let a = a | (u128::from(rng.next() as u16) << 64);
                    (a & (u128::MAX << (128 - u32::from(len))), len)
                })
                .collect()
        } else {
            Vec::new()
        };
        specs.push(Spec {
            id: format!("partner-relay-{i}"),
            kind: Kind::Relay { domain: domain(), nets, nets6 },
        });
    }
    // ~100 subject regexes, half of them for one sender domain.
    for i in 0..100 {
        let tag = format!("{}{}", rng.pick(REGEX_PREFIXES), word(&mut rng, 1).to_uppercase());
        let d = (i % 2 == 0).then(&mut domain);
        specs
            .push(Spec { id: format!("ticketing-subject-{i}"), kind: Kind::SubjectRegex { tag, domain: d } });
    }
    // 40 exclusions with 5 subject phrases each (200 phrases).
    for i in 0..40 {
        let brand = word(&mut rng, 2);
        let phrases =
            (0..5).map(|j| format!("{brand} {}", PHRASE_TOPICS[(i + j * 3) % PHRASE_TOPICS.len()])).collect();
        let d = (i % 2 == 0).then(&mut domain);
        specs.push(Spec { id: format!("vendor-notices-{i}"), kind: Kind::Phrases { phrases, domain: d } });
    }
    // 50 campaign headers, 20 connectors.
    for i in 0..50 {
        specs.push(Spec {
            id: format!("campaign-{i}"),
            kind: Kind::Header { campaign: format!("cmp-{}-", word(&mut rng, 2)), domain: domain() },
        });
    }
    for i in 0..20 {
        specs.push(Spec {
            id: format!("connector-{i}"),
            kind: Kind::Connector { connector: format!("Partner-{}-", word(&mut rng, 2)), domain: domain() },
        });
    }
    specs
}

/// Random networks with a realistic spread of prefix lengths, in public-looking space.
fn random_nets(rng: &mut Rng, n: usize) -> Vec<Net4> {
    (0..n)
        .map(|_| {
            let len = *rng.pick(&[16u8, 20, 22, 24, 24, 24, 24, 26, 28, 29, 32, 32]);
            // 40.0.0.0 - 199.255.255.255, away from the background's 1.x-39.x range.
            let a = 0x2800_0000u32 + (rng.next() as u32 % 0xA000_0000);
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            Net4 { addr: a & mask, len }
        })
        .collect()
}

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn toml_list(items: &[String]) -> String {
    let v: Vec<String> = items.iter().map(|s| toml_str(s)).collect();
    format!("[{}]", v.join(", "))
}

fn header(out: &mut String, name: &str, description: &str) {
    let _ = writeln!(
        out,
        "[policy]\nname = \"{name}\"\ndescription = \"{description}\"\ntable = \"EmailEvents\""
    );
    let _ = writeln!(
        out,
        "rules = [\"46837704-62cb-4e37-ae25-eecced47c0f4\", \"Bulk Emails by Sender Bulk Complaint level\"]"
    );
    let _ = writeln!(out, "header_column = \"Headers\"\n");
}

fn exclusion_head(out: &mut String, id: &str, reason: &str, n: usize) {
    let _ = writeln!(
        out,
        "\n[[exclusion]]\nid = \"{id}\"\nreason = \"{reason}\"\nowner = \"soc-team-{}@company.com\"\nticket = \"SOC-{}\"\nexpires = 2027-{:02}-28",
        n % 7,
        2000 + n,
        1 + n % 12
    );
}

fn large_policy(v: &Vocab) -> String {
    let specs = large_specs(v);
    let mut out = String::new();
    header(&mut out, "large-bench", "The seed policy plus ~2,500 realistic exclusions of a large tenant");
    out.push_str("[lists]\n");
    out.push_str(SEED_POLICY_LISTS);
    out.push('\n');
    out.push_str(SEED_POLICY_GROUPS);
    // Recipient groups live in [groups].
    for (i, s) in specs.iter().enumerate() {
        if let Kind::Senders { recipients: Some(r), .. } = &s.kind {
            let _ = writeln!(
                out,
                "\n[groups.team-{i}]\naddress = \"team-{i}@company.com\"\nmembers = {}",
                toml_list(r)
            );
        }
    }
    out.push_str(SEED_EXCLUSIONS);
    for (n, s) in specs.iter().enumerate() {
        match &s.kind {
            Kind::Seed(_) => {}
            Kind::Senders { senders, recipients } => {
                exclusion_head(&mut out, &s.id, "Vendor notification senders", n);
                let _ = writeln!(out, "sender = {}", toml_list(senders));
                if recipients.is_some() {
                    let _ = writeln!(out, "recipient = [\"@team-{n}\"]");
                }
            }
            Kind::Domain { domain, nets } => {
                exclusion_head(&mut out, &s.id, "Vendor domain", n);
                let _ = writeln!(out, "sender = [\"*@{domain}\"]");
                if !nets.is_empty() {
                    let v: Vec<String> = nets.iter().map(|n| n.text()).collect();
                    let _ = writeln!(out, "source_ip = {}", toml_list(&v));
                }
            }
            Kind::MidGlob { prefix, domain } => {
                exclusion_head(&mut out, &s.id, "Vendor automation addresses", n);
                let _ = writeln!(out, "sender = [\"{prefix}*@*.{domain}\", \"{prefix}*@{domain}\"]");
            }
            Kind::Relay { domain, nets, nets6 } => {
                exclusion_head(&mut out, &s.id, "Partner mail relays", n);
                let _ = writeln!(out, "sender_domain = [\"{domain}\", \"*.{domain}\"]");
                let mut v: Vec<String> = nets.iter().map(|n| n.text()).collect();
                v.extend(nets6.iter().map(|(a, l)| format!("{}/{l}", ip6(*a))));
                let _ = writeln!(out, "source_ip = {}", toml_list(&v));
            }
            Kind::SubjectRegex { tag, domain } => {
                exclusion_head(&mut out, &s.id, "Ticketing system notifications", n);
                let re = format!("^\\[{tag}-[0-9]{{4,7}}\\] (Created|Updated|Resolved)");
                let _ = writeln!(out, "subject.regex = [{}]", toml_str(&re));
                if let Some(d) = domain {
                    let _ = writeln!(out, "sender_domain = [\"{d}\"]");
                }
            }
            Kind::Phrases { phrases, domain } => {
                exclusion_head(&mut out, &s.id, "Vendor service notices", n);
                let _ = writeln!(out, "subject.contains = {}", toml_list(phrases));
                if let Some(d) = domain {
                    let _ = writeln!(out, "sender = [\"*@{d}\"]");
                }
            }
            Kind::Header { campaign, domain } => {
                exclusion_head(&mut out, &s.id, "Marketing campaign", n);
                let _ = writeln!(out, "sender_domain = [\"{domain}\"]");
                let _ = writeln!(out, "header.\"X-Campaign-Id\" = [\"{campaign}*\"]");
            }
            Kind::Connector { connector, domain } => {
                exclusion_head(&mut out, &s.id, "Partner connector", n);
                let _ = writeln!(out, "sender_domain = [\"{domain}\"]");
                let _ = writeln!(
                    out,
                    "\n[[exclusion.where]]\ncolumn = \"Connectors\"\nstarts_with = [\"{connector}\"]"
                );
            }
        }
    }
    out
}

/// N exclusions: the first 10 hit the events (exact senders, domains, relays); the others
/// are realistic values (senders, domains, networks) that never occur in the events, so
/// every scale policy keeps the same rows and only the size of the indexes changes.
fn scale_policy(v: &Vocab, n: usize) -> String {
    let mut rng = Rng::new(3);
    let specs = large_specs(v);
    let mut out = String::new();
    header(&mut out, &format!("scale-{n}"), "A policy of N exclusions for the scale benchmark");
    let hitters: Vec<&Spec> = specs
        .iter()
        .filter(|s| {
            matches!(
                s.kind,
                Kind::Senders { recipients: None, .. } | Kind::Domain { .. } | Kind::Relay { .. }
            )
        })
        .step_by(97)
        .take(10.min(n))
        .collect();
    for (i, s) in hitters.iter().enumerate() {
        exclusion_head(&mut out, &s.id, "Hits the benchmark events", i);
        match &s.kind {
            Kind::Senders { senders, .. } => {
                let _ = writeln!(out, "sender = {}", toml_list(senders));
            }
            Kind::Domain { domain, .. } => {
                let _ = writeln!(out, "sender = [\"*@{domain}\"]");
            }
            Kind::Relay { domain, nets, .. } => {
                let _ = writeln!(out, "sender_domain = [\"{domain}\"]");
                let v: Vec<String> = nets.iter().map(|n| n.text()).collect();
                let _ = writeln!(out, "source_ip = {}", toml_list(&v));
            }
            _ => {}
        }
    }
    for i in hitters.len()..n {
        exclusion_head(&mut out, &format!("filler-{i}"), "Never occurs in the benchmark events", i);
        // Fillers use a reserved TLD and network range the events never contain.
        let d = format!("{}{i}.invalid", word(&mut rng, 2));
        match i % 10 {
            0..=6 => {
                let _ = writeln!(out, "sender = [\"{}.{}@{d}\"]", rng.pick(FIRST), rng.pick(LAST));
            }
            7 => {
                let _ = writeln!(out, "sender = [\"*@{d}\"]");
            }
            8 => {
                let len = *rng.pick(&[24u8, 28, 32]);
                let a = 0xF000_0000u32 | (rng.next() as u32 & 0x0FFF_FFFF);
                let net = Net4 { addr: a & (u32::MAX << (32 - u32::from(len))), len };
                let _ = writeln!(out, "sender_domain = [\"{d}\"]\nsource_ip = [\"{}\"]", net.text());
            }
            _ => {
                let _ =
                    writeln!(out, "recipient = [\"{}@{d}\"]\nsender = [\"*@company.com\"]", rng.pick(FIRST));
            }
        }
    }
    out
}

/// One generated row (only the columns we vary; the rest is filled in when written).
struct Row {
    sender: String,
    mail_from: Option<String>,
    recipient: String,
    subject: String,
    direction: &'static str,
    ipv4: String,
    ipv6: String,
    headers: Vec<(&'static str, String)>,
    connectors: String,
}

fn background(v: &Vocab, rng: &mut Rng) -> Row {
    let sender = if rng.chance(0.15) {
        rng.pick(&v.internal).clone()
    } else {
        let (local, d) = &v.senders[rng.skewed(v.senders.len())];
        format!("{local}@{}", v.domains[*d])
    };
    let internal = sender.ends_with("@company.com");
    let direction = if internal { if rng.chance(0.7) { "Intra-org" } else { "Outbound" } } else { "Inbound" };
    let (ipv4, ipv6) = if rng.chance(0.08) {
        (
            String::new(),
            ip6((0x2603_1036u128 << 96) | u128::from(rng.next()) << 32 | u128::from(rng.next() as u32)),
        )
    } else {
        // 1.0.0.0 - 39.255.255.255: never inside a generated exclusion network.
        (ip4(0x0100_0000 + (rng.next() as u32 % 0x2700_0000)), String::new())
    };
    let subject = if rng.chance(0.04) {
        format!("{} - {}", rng.pick(INTL), rng.pick(WORDS))
    } else {
        let n = 3 + rng.below(9);
        let mut s: String = (0..n).map(|_| *rng.pick(WORDS)).collect::<Vec<_>>().join(" ");
        if let Some(c) = s.get_mut(0..1) {
            c.make_ascii_uppercase();
        }
        if rng.chance(0.1) {
            s = format!("RE: \"{s}\"");
        }
        s
    };
    let mut headers = vec![(
        "X-Mailer",
        rng.pick(&["Microsoft Outlook 16.0", "Postfix", "Amazon SES", "Mailchimp"]).to_string(),
    )];
    if rng.chance(0.1) {
        headers.push(("X-Campaign-Id", format!("cmp-{}-{}", word(rng, 2), rng.below(999))));
    }
    if internal && rng.chance(0.05) {
        headers
            .push(("X-Company-System-Generated", if rng.chance(0.5) { "true" } else { "false" }.to_string()));
    }
    Row {
        sender,
        mail_from: None,
        recipient: if rng.chance(0.9) { rng.pick(&v.internal).clone() } else { "soc@company.com".into() },
        subject,
        direction,
        ipv4,
        ipv6,
        headers,
        connectors: rng.pick(CONNECTORS).to_string(),
    }
}

fn set_header(row: &mut Row, name: &'static str, value: String) {
    row.headers.retain(|(n, _)| *n != name);
    row.headers.push((name, value));
}

fn in_net(rng: &mut Rng, n: Net4) -> String {
    ip4(n.addr.wrapping_add((rng.next() % n.size()) as u32))
}

fn sender_at(rng: &mut Rng, domain: &str) -> String {
    format!("{}.{}@{domain}", rng.pick(FIRST), rng.pick(LAST))
}

fn vary_case(rng: &mut Rng, s: &str) -> String {
    if rng.chance(0.05) { s.to_uppercase() } else { s.to_string() }
}

/// Makes `row` hit `spec` (or, with `near`, nearly hit it).
fn apply(v: &Vocab, spec: &Spec, row: &mut Row, rng: &mut Rng, near: bool) {
    match &spec.kind {
        Kind::Seed(i) => {
            let relay = if near && rng.chance(0.5) {
                "10.20.31.7".to_string()
            } else {
                format!("10.20.30.{}", rng.below(256))
            };
            match i {
                0 => {
                    let s = *rng.pick(&["reports@company.com", "scheduled-reports@company.com"]);
                    row.sender = vary_case(rng, s);
                    row.ipv4 = relay;
                    row.ipv6.clear();
                }
                1 => {
                    row.sender = "password-reset@company.com".into();
                    row.subject =
                        if near { "Password Reset Required".into() } else { "Reset Your Password".into() };
                    row.ipv4 = relay;
                    row.ipv6.clear();
                }
                2 => {
                    row.sender = "siem-notifications@company.com".into();
                    row.ipv4.clear();
                    row.ipv6 = format!("2001:db8:{}::{:x}", if near { 21 } else { 20 }, rng.below(65535));
                }
                3 => {
                    row.direction = if near { "Inbound" } else { "Intra-org" };
                    set_header(row, "X-Company-System-Generated", "true".into());
                }
                4 => {
                    row.sender = format!("{}@news.company.com", rng.pick(WORDS));
                    set_header(
                        row,
                        "X-Campaign-Id",
                        if near { "campaign-7".into() } else { format!("cmp-{}", rng.below(9999)) },
                    );
                }
                _ => {
                    row.direction = "Intra-org";
                    row.recipient = rng
                        .pick(&["project-team@company.com", "alice@company.com", "bob@company.com"])
                        .to_string();
                    row.sender = if near {
                        sender_at(rng, "company.com.evil.example")
                    } else {
                        rng.pick(&v.internal).clone()
                    };
                }
            }
        }
        Kind::Senders { senders, recipients } => {
            let s = rng.pick(senders).clone();
            row.sender = vary_case(rng, &s);
            if near {
                row.sender = format!("{}x", row.sender);
            }
            if let Some(r) = recipients {
                row.recipient = rng.pick(r).clone();
            }
        }
        Kind::Domain { domain, nets } => {
            row.sender =
                if near { sender_at(rng, &format!("{domain}.evil.example")) } else { sender_at(rng, domain) };
            if let Some(n) = nets.first() {
                row.ipv4 = in_net(rng, *n);
                row.ipv6.clear();
            }
        }
        Kind::MidGlob { prefix, domain } => {
            let host = if rng.chance(0.5) { format!("mx{}.{domain}", rng.below(9)) } else { domain.clone() };
            let p = if near { prefix.trim_end_matches(['-', '+', '.']).to_string() } else { prefix.clone() };
            row.sender = format!("{p}{}@{host}", word(rng, 2));
        }
        Kind::Relay { domain, nets, nets6 } => {
            if !near && !nets6.is_empty() && rng.chance(0.5) {
                let (a, l) = nets6[rng.below(nets6.len())];
                let host = u128::from(rng.next()) & (u128::MAX >> u32::from(l));
                row.ipv4.clear();
                row.ipv6 = ip6(a | host);
            } else {
                let n = nets[rng.below(nets.len())];
                row.ipv4 = if near { ip4(n.addr.wrapping_add(n.size() as u32)) } else { in_net(rng, n) };
                row.ipv6.clear();
            }
            row.sender = sender_at(rng, domain);
        }
        Kind::SubjectRegex { tag, domain } => {
            let action = rng.pick(&["Created", "Updated", "Resolved"]);
            let num = 1000 + rng.below(9_000_000);
            row.subject = if near {
                format!("[{tag}-{num}] Closed: {}", rng.pick(WORDS))
            } else {
                format!("[{tag}-{num}] {action}: {} {}", rng.pick(WORDS), rng.pick(WORDS))
            };
            if let Some(d) = domain {
                row.sender = sender_at(rng, d);
            }
        }
        Kind::Phrases { phrases, domain } => {
            let p = rng.pick(phrases);
            let p = if near { p.replacen(' ', "  ", 1) } else { vary_case(rng, p) };
            row.subject = format!("{}: {p} for {}", rng.pick(WORDS), rng.pick(WORDS));
            if let Some(d) = domain {
                row.sender = sender_at(rng, d);
            }
        }
        Kind::Header { campaign, domain } => {
            row.sender = sender_at(rng, domain);
            let c =
                if near { campaign.replace("cmp-", "cmq-") } else { format!("{campaign}{}", rng.below(999)) };
            set_header(row, "X-Campaign-Id", c);
        }
        Kind::Connector { connector, domain } => {
            row.sender = sender_at(rng, domain);
            row.connectors =
                if near { format!("X-{connector}") } else { format!("{connector}{}", rng.below(9)) };
        }
    }
}

const COLUMNS: &[&str] = &[
    "Timestamp",
    "NetworkMessageId",
    "InternetMessageId",
    "SenderMailFromAddress",
    "SenderFromAddress",
    "SenderDisplayName",
    "SenderMailFromDomain",
    "SenderFromDomain",
    "SenderIPv4",
    "SenderIPv6",
    "RecipientEmailAddress",
    "Subject",
    "EmailDirection",
    "DeliveryAction",
    "DeliveryLocation",
    "ThreatTypes",
    "ConfidenceLevel",
    "BulkComplaintLevel",
    "EmailAction",
    "AuthenticationDetails",
    "AttachmentCount",
    "UrlCount",
    "EmailLanguage",
    "Connectors",
    "Headers",
];

enum Val {
    Str(String),
    Num(u64),
    /// JSON object text (the Headers column).
    Obj(String),
}

fn values(row: Row, i: u64, rng: &mut Rng) -> Vec<Val> {
    use Val::{Num, Obj, Str};
    let domain = |a: &str| a.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_default();
    let mail_from = row.mail_from.unwrap_or_else(|| row.sender.clone());
    let display = row.sender.split('@').next().unwrap_or("").replace(['.', '-'], " ");
    let threat = rng.chance(0.03);
    let mut headers = String::from("{");
    for (k, (name, value)) in row.headers.iter().enumerate() {
        if k > 0 {
            headers.push(',');
        }
        let _ = write!(headers, "{}:{}", toml_str(name), toml_str(value));
    }
    headers.push('}');
    let secs = i * 2 + rng.below(2) as u64;
    vec![
        Str(format!(
            "2026-11-{:02}T{:02}:{:02}:{:02}.{:07}Z",
            1 + (secs / 86400) % 28,
            (secs / 3600) % 24,
            (secs / 60) % 60,
            secs % 60,
            rng.below(10_000_000)
        )),
        Str(rng.guid()),
        Str(format!("<{}@{}.outlook.com>", rng.hex(16), rng.hex(6).to_uppercase())),
        Str(mail_from.clone()),
        Str(row.sender.clone()),
        Str(display),
        Str(domain(&mail_from)),
        Str(domain(&row.sender)),
        Str(row.ipv4),
        Str(row.ipv6),
        Str(row.recipient),
        Str(row.subject),
        Str(row.direction.to_string()),
        Str(if threat { "Blocked" } else { "Delivered" }.into()),
        Str(if threat { "Quarantine" } else { "Inbox/folder" }.into()),
        Str(if threat { "Phish" } else { "" }.into()),
        Str(if threat { "{\"Phish\":\"High\"}" } else { "{\"Spam\":\"Normal\"}" }.into()),
        Num(rng.below(10) as u64),
        Str(if threat { "Send to quarantine" } else { "No action taken" }.into()),
        Str("{\"SPF\":\"pass\",\"DKIM\":\"pass\",\"DMARC\":\"pass\"}".into()),
        Num(rng.below(3) as u64),
        Num(rng.below(7) as u64),
        Str("en".into()),
        Str(row.connectors),
        Obj(headers),
    ]
}

fn write_json(out: &mut Vec<u8>, vals: &[Val]) {
    out.push(b'{');
    for (k, (name, v)) in COLUMNS.iter().zip(vals).enumerate() {
        if k > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        match v {
            Val::Str(s) => {
                let _ = serde_json::to_writer(&mut *out, s);
            }
            Val::Num(n) => {
                let _ = write!(out, "{n}");
            }
            Val::Obj(o) => out.extend_from_slice(o.as_bytes()),
        }
    }
    out.extend_from_slice(b"}\n");
}

fn csv_field(out: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        out.extend_from_slice(s.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

fn write_csv(out: &mut Vec<u8>, vals: &[Val]) {
    for (k, v) in vals.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        match v {
            Val::Str(s) | Val::Obj(s) => csv_field(out, s),
            Val::Num(n) => {
                let _ = write!(out, "{n}");
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}

fn events(v: &Vocab, rows: u64, csv: bool, out: &mut dyn Write) -> io::Result<()> {
    let specs = large_specs(v);
    let mut rng = Rng::new(4);
    let mut buf = Vec::with_capacity(1 << 20);
    if csv {
        buf.extend_from_slice(COLUMNS.join(",").as_bytes());
        buf.extend_from_slice(b"\r\n");
    }
    for i in 0..rows {
        let mut row = background(v, &mut rng);
        let roll = rng.below(100);
        if roll < 16 {
            // A hit; the seed exclusions get a larger share than their count.
            let spec = if rng.chance(0.15) { &specs[rng.below(6)] } else { &specs[rng.below(specs.len())] };
            apply(v, spec, &mut row, &mut rng, false);
        } else if roll < 26 {
            let spec = &specs[rng.below(specs.len())];
            apply(v, spec, &mut row, &mut rng, true);
        }
        let vals = values(row, i, &mut rng);
        if csv {
            write_csv(&mut buf, &vals)
        } else {
            write_json(&mut buf, &vals)
        }
        if buf.len() > (1 << 20) - 4096 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    out.flush()
}

fn usage() -> io::Error {
    io::Error::other("usage: fpx-gen policy large | policy scale N | events ROWS jsonl|csv")
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let v = Vocab::new();
    match args.as_slice() {
        ["policy", "large"] => out.write_all(large_policy(&v).as_bytes())?,
        ["policy", "scale", n] => {
            out.write_all(scale_policy(&v, n.parse().map_err(|_| usage())?).as_bytes())?
        }
        ["events", n, fmt @ ("jsonl" | "csv")] => {
            events(&v, n.parse().map_err(|_| usage())?, *fmt == "csv", &mut out)?
        }
        _ => return Err(usage()),
    }
    out.flush()
}
