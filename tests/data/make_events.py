#!/usr/bin/env python3
"""Writes bulk-email.jsonl and bulk-email.csv: EmailEvents rows for the seed policy.

Each row's NetworkMessageId says what the policy must do with it: `hit-<exclusion>-…` rows
are excluded by that exclusion, `miss-…` rows are near misses that must be kept. Run it
again after changing the rows; the tests read the files, not this script.
"""
import csv, json, hashlib

COLUMNS = ["Timestamp", "NetworkMessageId", "InternetMessageId", "SenderMailFromAddress",
    "SenderFromAddress", "SenderDisplayName", "SenderObjectId", "SenderMailFromDomain",
    "SenderFromDomain", "SenderIPv4", "SenderIPv6", "RecipientEmailAddress", "RecipientObjectId",
    "Subject", "EmailClusterId", "EmailDirection", "DeliveryAction", "DeliveryLocation",
    "ThreatTypes", "ThreatNames", "DetectionMethods", "ConfidenceLevel", "BulkComplaintLevel",
    "EmailAction", "EmailActionPolicy", "EmailActionPolicyGuid", "AuthenticationDetails",
    "AttachmentCount", "UrlCount", "EmailLanguage", "Connectors", "OrgLevelAction",
    "OrgLevelPolicy", "UserLevelAction", "UserLevelPolicy", "ReportId", "AdditionalFields",
    "Headers"]

def row(nid, sender, ipv4="", ipv6="", recipient="soc@company.com", subject="Weekly digest",
        direction="Inbound", headers=None, bcl=6, mail_from=None, **extra):
    h = hashlib.sha1(nid.encode()).hexdigest()
    domain = sender.split("@")[-1] if sender and "@" in sender else ""
    r = {
        "Timestamp": "2026-11-%02dT%02d:%02d:11.5230000Z" % (1 + int(h[0:2], 16) % 28, int(h[2:4], 16) % 24, int(h[4:6], 16) % 60),
        "NetworkMessageId": nid,
        "InternetMessageId": "<%s@mail.company.com>" % h[:20],
        "SenderMailFromAddress": sender if mail_from is None else mail_from,
        "SenderFromAddress": sender,
        "SenderDisplayName": (sender or "").split("@")[0].replace("-", " ").title(),
        "SenderObjectId": "",
        "SenderMailFromDomain": domain,
        "SenderFromDomain": domain,
        "SenderIPv4": ipv4,
        "SenderIPv6": ipv6,
        "RecipientEmailAddress": recipient,
        "RecipientObjectId": "0f1e2d3c-%s-4b5a-9c8d-%s" % (h[6:10], h[10:22]),
        "Subject": subject,
        "EmailClusterId": int(h[22:30], 16),
        "EmailDirection": direction,
        "DeliveryAction": "Delivered",
        "DeliveryLocation": "Inbox/folder",
        "ThreatTypes": "",
        "ThreatNames": "",
        "DetectionMethods": "",
        "ConfidenceLevel": "{\"Spam\":\"Normal\"}",
        "BulkComplaintLevel": bcl,
        "EmailAction": "No action taken",
        "EmailActionPolicy": "",
        "EmailActionPolicyGuid": "",
        "AuthenticationDetails": "{\"SPF\":\"pass\",\"DKIM\":\"pass\",\"DMARC\":\"pass\",\"CompAuth\":\"pass\"}",
        "AttachmentCount": 0,
        "UrlCount": int(h[30:32], 16) % 7,
        "EmailLanguage": "en",
        "Connectors": "",
        "OrgLevelAction": "",
        "OrgLevelPolicy": "",
        "UserLevelAction": "",
        "UserLevelPolicy": "",
        "ReportId": "%s-%s" % (h[:8], h[8:16]),
        "AdditionalFields": "{}",
        "Headers": headers if headers is not None else {"X-Mailer": "Microsoft Outlook 16.0"},
    }
    r.update(extra)
    return r

RELAY4, RELAY6 = "10.20.30.15", "2001:db8:20::25"
SYS = {"X-Company-System-Generated": "true"}
ROWS = [
    # scheduled-reports: sender list AND relay network (v4 or v6)
    row("hit-scheduled-reports-1", "reports@company.com", ipv4=RELAY4, subject="Nightly sales report"),
    row("hit-scheduled-reports-2", "REPORTS@Company.com", ipv4="10.20.30.255", subject="Nightly KPI report"),
    row("hit-scheduled-reports-3", "scheduled-reports@company.com", ipv6=RELAY6, subject="Weekly pipeline report"),
    row("miss-reports-outside-cidr", "reports@company.com", ipv4="10.20.31.15", subject="Nightly sales report"),
    row("miss-reports-lookalike-domain", "reports@company.com.evil.test", ipv4=RELAY4, subject="Nightly sales report"),
    row("miss-reports-ipv6-outside", "reports@company.com", ipv6="2001:db8:21::25", subject="Nightly sales report"),
    row("miss-reports-no-ip", "reports@company.com", subject="Nightly sales report"),
    row("miss-reports-null-ip", "reports@company.com", ipv4=None, ipv6=None, subject="Nightly sales report"),
    row("miss-reports-malformed-ip", "reports@company.com", ipv4="10.20.30", subject="Nightly sales report"),
    row("miss-reports-external-sender", "reports@company-reports.net", ipv4=RELAY4),
    # password-reset: exact subjects, sender, relay
    row("hit-password-reset-1", "password-reset@company.com", ipv4="10.20.30.40", subject="Password Reset"),
    row("hit-password-reset-2", "password-reset@company.com", ipv4="10.20.30.40", subject="reset your password"),
    row("miss-password-reset-longer-subject", "password-reset@company.com", ipv4="10.20.30.40", subject="Password Reset Required"),
    row("miss-password-reset-lookalike", "password-reset@company.co", ipv4="10.20.30.40", subject="Password Reset"),
    row("miss-password-reset-external-ip", "password-reset@company.com", ipv4="203.0.113.9", subject="Password Reset"),
    # SIEM notifications: sender from relay; or internal system header on intra-org mail
    row("hit-siem-notifications-1", "siem-notifications@company.com", ipv4="10.20.30.7", subject="[SIEM] 14 new alerts"),
    row("hit-siem-internal-header-1", "scanner@company.com", direction="Intra-org", headers=SYS, subject="Scan finished"),
    row("miss-siem-header-inbound", "scanner@company.com", direction="Inbound", headers=SYS, subject="Scan finished"),
    row("miss-siem-header-false", "scanner@company.com", direction="Intra-org", headers={"X-Company-System-Generated": "false"}),
    row("miss-siem-header-missing", "scanner@company.com", direction="Intra-org", headers={}),
    row("miss-siem-header-name-case", "scanner@company.com", direction="Intra-org", headers={"x-company-system-generated": "true"}),
    row("miss-siem-header-null", "scanner@company.com", direction="Intra-org", headers=None, Headers=None),
    # marketing platform: sender domain and campaign header
    row("hit-marketing-platform-1", "newsletter@news.company.com", ipv4="198.51.100.10", headers={"X-Campaign-Id": "cmp-2026-11"}, subject="November news"),
    row("hit-marketing-platform-2", "offers@news.company.com", ipv4="198.51.100.63", headers={"X-Campaign-Id": "CMP-7", "X-Mailer": "Mailchimp"}, subject="Offers"),
    row("miss-marketing-lookalike-domain", "newsletter@news.company.com.attacker.io", ipv4="198.51.100.10", headers={"X-Campaign-Id": "cmp-1"}),
    row("miss-marketing-no-campaign", "newsletter@news.company.com", ipv4="198.51.100.10", headers={"X-Mailer": "Mailchimp"}),
    row("miss-marketing-campaign-not-string", "newsletter@news.company.com", ipv4="198.51.100.10", headers={"X-Campaign-Id": 42}),
    row("miss-marketing-forged-elsewhere", "newsletter@news.company.com", ipv4="198.51.100.64", headers={"X-Campaign-Id": "cmp-2026-11"}),
    # internal distribution group
    row("hit-project-team-list-1", "bob@company.com", recipient="alice@company.com", direction="Intra-org", subject="Sprint status"),
    row("hit-project-team-list-2", "carol@company.com", recipient="Project-Team@company.com", direction="Intra-org", subject="Standup notes"),
    row("miss-project-team-outsider", "bob@company.com", recipient="carol@company.com", direction="Intra-org"),
    row("miss-project-team-external-sender", "bob@company.com.evil.test", recipient="alice@company.com", direction="Intra-org"),
    row("miss-project-team-inbound", "bob@company.com", recipient="alice@company.com", direction="Inbound"),
    # expired exclusion: no longer applied
    row("miss-legacy-newsletter-expired", "newsletter@legacy-mailer.company.com", subject="Legacy digest"),
    # ordinary mail and empty fields
    row("miss-ordinary-1", "partner@contoso.com", ipv4="198.51.100.20", subject="Contract"),
    row("miss-ordinary-2", "news@fabrikam.example", ipv6="2001:db8:99::1", subject="Fabrikam news"),
    row("miss-empty-sender", "", ipv4=RELAY4, subject="Password Reset"),
    row("miss-null-sender", None, ipv4=RELAY4, subject="Password Reset", SenderFromAddress=None),
    row("miss-unicode-subject", "marketing@contoso.com", subject="Réinitialisez votre mot de passe ✉"),
]

def main():
    with open("bulk-email.jsonl", "w", newline="\n") as f:
        for r in ROWS:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
    with open("bulk-email.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(COLUMNS)
        for r in ROWS:
            cells = []
            for c in COLUMNS:
                v = r.get(c)
                if v is None:
                    cells.append("")
                elif isinstance(v, (dict, list)):
                    cells.append(json.dumps(v, separators=(",", ":")))
                else:
                    cells.append(str(v))
            w.writerow(cells)

if __name__ == "__main__":
    main()
