#!/usr/bin/env python3
"""Writes policies/large-tenant.toml: the exclusion policy of a large (fictional) tenant.

Deterministic: the same script writes the same file. Run from the repository root:

    python3 tests/data/make_large_tenant.py > policies/large-tenant.toml

The tenant has SaaS vendors that send notifications and billing mail from documented
ranges, regional sites with their own relays, distribution lists, security tools that
stamp a header, and partners that connect through inbound connectors. Addresses use the
documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) and
the private 10.0.0.0/8.
"""

import datetime

VENDORS = [
    ("servicedesk", "Service desk SaaS", "it-service@company.com"),
    ("hrportal", "HR portal", "hr-it@company.com"),
    ("crmcloud", "CRM", "sales-ops@company.com"),
    ("ticketly", "Customer support desk", "support-ops@company.com"),
    ("trackboard", "Issue tracker", "eng-tools@company.com"),
    ("signflow", "E-signature service", "legal-ops@company.com"),
    ("chatwork", "Team chat", "it-collab@company.com"),
    ("meetspace", "Video meetings", "it-collab@company.com"),
    ("codehub", "Source hosting", "eng-tools@company.com"),
    ("pagealert", "On-call paging", "sre@company.com"),
    ("metricsdog", "Monitoring SaaS", "sre@company.com"),
    ("idgate", "Identity provider", "iam-team@company.com"),
    ("expensely", "Expense management", "finance-it@company.com"),
    ("paystream", "Payroll provider", "finance-it@company.com"),
    ("procurely", "Procurement suite", "finance-it@company.com"),
    ("learnhub", "Learning platform", "hr-it@company.com"),
    ("surveyor", "Survey tool", "hr-it@company.com"),
    ("docvault", "Document management", "it-collab@company.com"),
    ("filedrop", "File transfer", "it-collab@company.com"),
    ("buildbot", "CI service", "eng-tools@company.com"),
    ("statuscast", "Status pages", "sre@company.com"),
    ("travelbook", "Travel booking", "finance-it@company.com"),
    ("benefitsplus", "Benefits administration", "hr-it@company.com"),
    ("assetwise", "Asset management", "it-service@company.com"),
    ("backupsafe", "Backup service", "it-infra@company.com"),
    ("vulnscan", "Vulnerability scanner SaaS", "secops@company.com"),
    ("phishcoach", "Security awareness", "awareness-team@company.com"),
    ("contractly", "Contract management", "legal-ops@company.com"),
    ("invoicer", "Accounts payable automation", "finance-it@company.com"),
    ("newsroom", "Internal newsletter tool", "comms@company.com"),
    ("eventbrite-like", "Event registration", "comms@company.com"),
    ("shipfast", "Logistics notifications", "supply-chain@company.com"),
    ("fleetview", "Fleet telematics", "supply-chain@company.com"),
    ("planwise", "Project planning", "pmo@company.com"),
    ("designboard", "Design collaboration", "marketing-ops@company.com"),
    ("adsmanager", "Advertising platform", "marketing-ops@company.com"),
    ("socialpost", "Social publishing", "marketing-ops@company.com"),
    ("crmmailer", "Marketing automation", "marketing-ops@company.com"),
    ("wikiplace", "Knowledge base", "it-collab@company.com"),
    ("passkeep", "Password manager", "iam-team@company.com"),
    ("devicemgr", "Device management", "it-infra@company.com"),
    ("printcloud", "Cloud printing", "it-infra@company.com"),
    ("visitorlog", "Visitor management", "facilities@company.com"),
    ("roombook", "Room booking", "facilities@company.com"),
    ("energywatch", "Building energy monitoring", "facilities@company.com"),
    ("legalhold", "eDiscovery service", "legal-ops@company.com"),
    ("taxfiler", "Tax filing service", "finance-it@company.com"),
    ("treasurynet", "Treasury platform", "finance-it@company.com"),
    ("recruitly", "Applicant tracking", "hr-it@company.com"),
    ("onboardr", "Employee onboarding", "hr-it@company.com"),
]

SITES = [
    ("ams", "Amsterdam"), ("atl", "Atlanta"), ("bcn", "Barcelona"), ("ber", "Berlin"),
    ("bom", "Mumbai"), ("bos", "Boston"), ("cdg", "Paris"), ("chi", "Chicago"),
    ("cph", "Copenhagen"), ("dfw", "Dallas"), ("dub", "Dublin"), ("dus", "Düsseldorf"),
    ("fra", "Frankfurt"), ("gru", "São Paulo"), ("hel", "Helsinki"), ("hkg", "Hong Kong"),
    ("iad", "Washington"), ("ist", "Istanbul"), ("jnb", "Johannesburg"), ("lax", "Los Angeles"),
    ("lhr", "London"), ("lis", "Lisbon"), ("mad", "Madrid"), ("man", "Manchester"),
    ("mel", "Melbourne"), ("mex", "Mexico City"), ("mil", "Milan"), ("muc", "Munich"),
    ("nyc", "New York"), ("osl", "Oslo"), ("prg", "Prague"), ("sea", "Seattle"),
    ("sfo", "San Francisco"), ("sin", "Singapore"), ("sto", "Stockholm"), ("syd", "Sydney"),
    ("tlv", "Tel Aviv"), ("tyo", "Tokyo"), ("vie", "Vienna"), ("waw", "Warsaw"),
    ("yul", "Montreal"), ("yyz", "Toronto"), ("zrh", "Zurich"), ("zag", "Zagreb"),
    ("bud", "Budapest"), ("ath", "Athens"), ("bru", "Brussels"), ("lux", "Luxembourg"),
]

DEPARTMENTS = [
    "finance", "legal", "hr", "sales", "marketing", "engineering", "support", "procurement",
    "facilities", "security", "it", "research", "operations", "comms", "executive",
    "treasury", "audit", "risk", "compliance", "supply-chain", "logistics", "pmo",
    "design", "data", "analytics", "product", "partnerships", "investor-relations",
]

SCANNERS = [
    ("mail-gateway", "X-Gateway-Scan", "clean-*", "messaging-team@company.com"),
    ("dlp-engine", "X-DLP-Verdict", "pass", "secops@company.com"),
    ("sandbox", "X-Sandbox-Result", "benign", "secops@company.com"),
    ("journaling", "X-Journal-Copy", "true", "messaging-team@company.com"),
    ("archiver", "X-Archive-Id", "arc-*", "it-infra@company.com"),
    ("signature-tool", "X-Signature-Applied", "yes", "comms@company.com"),
    ("encryption-gw", "X-Encrypted-By", "company-tls-gw", "secops@company.com"),
    ("ticket-bridge", "X-Ticket-Bridge", "sd-*", "it-service@company.com"),
]

PARTNERS = [
    "Logistics", "Bank", "Insurer", "Auditor", "LawFirm", "Distributor", "Reseller",
    "Manufacturer", "Agency", "Consultancy", "Payroll", "Benefits", "Travel", "Catering",
    "Cleaning", "Security", "Telecom", "Energy", "Recruiting", "Research",
]


def date(i, start="2027-01-15", step=9, span=540):
    d = datetime.date.fromisoformat(start) + datetime.timedelta(days=(i * step) % span)
    return d.isoformat()


def q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def arr(items):
    return "[" + ", ".join(q(i) for i in items) + "]"


out = []
w = out.append
w("#:schema ../schema/fpx-policy.schema.json")
w("# The exclusion policy of a large tenant: SaaS vendors, regional relays, distribution")
w("# lists, security tools that stamp headers, and partner connectors. Generated by")
w("# tests/data/make_large_tenant.py (deterministic); reviewed like any other policy.")
w("")
w("[policy]")
w('name = "large-tenant"')
w('description = "Bulk and system mail of Company Inc. that fires the bulk-complaint and TI email detections"')
w('table = "EmailEvents"')
w('rules = ["46837704-62cb-4e37-ae25-eecced47c0f4", "Bulk Emails by Sender Bulk Complaint level"]')
w('header_column = "Headers"')
w("")
w("[lists]")
for i, (v, _, _) in enumerate(VENDORS):
    w(f"{v}-ranges = {arr([f'203.0.113.{i * 4}/30', f'2001:db8:{0x5000 + i:x}::/48'])}")
for i, (s, _) in enumerate(SITES):
    w(f"{s}-relays = {arr([f'10.{100 + i}.25.0/24', f'2001:db8:{0x1000 + i:x}:25::/64'])}")
w(f"partner-connectors = {arr(['Partner-' + p for p in PARTNERS])}")
w('security-mailboxes = ["secops@company.com", "phish-report@company.com", "abuse@company.com"]')
w("")
for i, d in enumerate(DEPARTMENTS):
    w(f"[groups.{d}-all]")
    w(f"address = {q(d + '-all@company.com')}")
    members = [f"{d}-lead@company.com", f"{d}-ops@company.com", f"{d}-team{i % 3 + 1}@company.com"]
    w(f"members = {arr(members)}")
    w("")

n = 0


def exclusion(id_, reason, owner, ticket, expires, lines, rules=None, allow=None):
    global n
    n += 1
    w("[[exclusion]]")
    w(f"id = {q(id_)}")
    w(f"reason = {q(reason)}")
    w(f"owner = {q(owner)}")
    w(f"ticket = {q(ticket)}")
    w(f"expires = {expires}")
    if rules:
        w(f"rules = {arr(rules)}")
    if allow:
        w("allow = [{ code = " + q(allow[0]) + ", reason = " + q(allow[1]) + " }]")
    out.extend(lines)
    w("")


for i, (v, what, owner) in enumerate(VENDORS):
    exclusion(
        f"{v}-notifications",
        f"{what} notifications ({v}) from the vendor's documented sending ranges",
        owner,
        f"SOC-{3000 + i}",
        date(i),
        [
            f"sender = {arr([f'noreply@notify.{v}.example', f'alerts@notify.{v}.example'])}",
            f'source_ip = ["@{v}-ranges"]',
            'direction = ["Inbound"]',
        ],
    )
    exclusion(
        f"{v}-billing",
        f"Invoices and renewal notices from {what} ({v})",
        "finance-it@company.com",
        f"SOC-{3100 + i}",
        date(i + 7),
        [
            f"mail_from = {arr([f'billing@{v}.example'])}",
            f'subject.starts_with = ["Your {v} invoice", "Renewal notice"]',
            f'source_ip = ["@{v}-ranges"]',
            'recipient = ["ap@company.com", "finance-it@company.com"]',
        ],
    )

for i, (s, city) in enumerate(SITES):
    exclusion(
        f"{s}-site-relay",
        f"Printers, scanners and building systems at the {city} site, through the site relay",
        "messaging-team@company.com",
        f"SOC-{4000 + i}",
        date(i, step=11),
        [
            f"sender = {arr([f'*@{s}.company.com'])}",
            f'source_ip = ["@{s}-relays"]',
            'direction = ["Intra-org"]',
        ],
    )
    exclusion(
        f"{s}-site-monitoring",
        f"Environmental monitoring alerts from the {city} data room",
        "facilities@company.com",
        f"SOC-{4100 + i}",
        date(i + 3, step=13),
        [
            f"sender = {arr([f'dataroom-{s}@monitoring.company.com'])}",
            'subject.regex = ["^\\\\[(INFO|WARN)\\\\] "]',
            f'source_ip = ["@{s}-relays"]',
        ],
    )

for i, d in enumerate(DEPARTMENTS):
    exclusion(
        f"{d}-distribution-list",
        f"The {d}-all distribution list fans out internal announcements",
        "messaging-team@company.com",
        f"SOC-{5000 + i}",
        date(i, step=17),
        [
            'direction = ["Intra-org"]',
            f'recipient = ["@{d}-all"]',
            'sender = ["*@company.com"]',
        ],
    )

for i, (tool, header, value, owner) in enumerate(SCANNERS):
    exclusion(
        f"{tool}-stamped",
        f"Copies and reports generated by the {tool} after scanning; it stamps {header}",
        owner,
        f"SOC-{6000 + i}",
        date(i, step=23),
        [
            'direction = ["Intra-org"]',
            f'header.{q(header)} = [{q(value)}]',
        ],
    )
exclusion(
    "gateway-quarantine-digest",
    "Quarantine digests the mail gateway sends as postmaster",
    "messaging-team@company.com",
    "SOC-6100",
    "2027-05-31",
    [
        'sender = ["quarantine-digest@company.com"]',
        'subject.starts_with = ["Quarantine digest"]',
    ],
    allow=("spoofable", "company.com publishes DMARC p=reject: outside senders cannot use this From"),
)

for i, p in enumerate(PARTNERS):
    exclusion(
        f"partner-{p.lower()}-connector",
        f"Mail relayed by the {p} partner's inbound connector, scanned by the partner gateway first",
        "messaging-team@company.com",
        f"SEC-{7000 + i}",
        date(i, step=29),
        [
            f'source_ip = ["192.0.2.{i * 8}/29"]',
            "[[exclusion.where]]",
            'column = "Connectors"',
            f"equals = [{q('Partner-' + p)}]",
        ],
        rules=["TI map Domain entity to EmailEvents"],
    )

exclusion(
    "reported-phish-forwarding",
    "Reported phish forwarded to the security mailboxes quotes the indicator on purpose",
    "soc-lead@company.com",
    "SEC-7100",
    "2027-06-30",
    [
        'recipient = ["@security-mailboxes"]',
        'direction = ["Intra-org"]',
    ],
    rules=["TI map Email entity to EmailEvents"],
)
exclusion(
    "partner-connectors-ti",
    "Partner connector traffic is scanned twice; TI matches on it are reviewed by the partner desk",
    "messaging-team@company.com",
    "SEC-7101",
    "2027-03-31",
    [
        'direction = ["Inbound"]',
        "[[exclusion.where]]",
        'column = "Connectors"',
        'values = ["@partner-connectors"]',
        "[[exclusion.where]]",
        'column = "OrgLevelAction"',
        'equals = ["Allow"]',
    ],
    rules=["TI map Email entity to EmailEvents"],
)

print("\n".join(out).rstrip() + "\n", end="")
