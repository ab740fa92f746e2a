"""The same policy as DuckDB SQL, in its best formulation we found.

`python duckdb_filter.py POLICY TODAY EVENTS.jsonl OUT THREADS [--sql]`

The export is loaded once into a table; every condition becomes (row, condition) pairs:
hash joins on folded values for exact tests and on `left`/`right` of the folded value for
each distinct prefix/suffix length, one hash join per prefix length for networks (IPv4 as
an integer, IPv6 as 32 hex digits), and RE2 (`regexp_matches`) for phrases, globs and
regexes, each behind one combined pattern that skips rows no pattern can match. A row is
excluded when some exclusion has all its conditions; the kept rows are written as JSON
Lines. `NetworkMessageId` (unique in the generated exports) identifies rows.
"""
import sys
import time

import duckdb

from policy import Policy, wild_regex

STRING_COLUMNS = [
    "Timestamp", "NetworkMessageId", "InternetMessageId", "SenderMailFromAddress", "SenderFromAddress",
    "SenderDisplayName", "SenderMailFromDomain", "SenderFromDomain", "SenderIPv4", "SenderIPv6",
    "RecipientEmailAddress", "Subject", "EmailDirection", "DeliveryAction", "DeliveryLocation",
    "ThreatTypes", "ConfidenceLevel", "EmailAction", "AuthenticationDetails", "EmailLanguage", "Connectors",
]
INT_COLUMNS = ["BulkComplaintLevel", "AttachmentCount", "UrlCount"]
ORDER = [
    "Timestamp", "NetworkMessageId", "InternetMessageId", "SenderMailFromAddress", "SenderFromAddress",
    "SenderDisplayName", "SenderMailFromDomain", "SenderFromDomain", "SenderIPv4", "SenderIPv6",
    "RecipientEmailAddress", "Subject", "EmailDirection", "DeliveryAction", "DeliveryLocation", "ThreatTypes",
    "ConfidenceLevel", "BulkComplaintLevel", "EmailAction", "AuthenticationDetails", "AttachmentCount",
    "UrlCount", "EmailLanguage", "Connectors", "Headers",
]


def q(s):
    return "'" + s.replace("'", "''") + "'"


def re2_alternation(patterns):
    return "|".join("(?:%s)" % p for p in patterns)


def sql_for(policy):
    """(setup statements, the query of excluded row ids)."""
    setup = []
    setup_late = []  # statements that need the table `k`
    cond_excl = []  # (cond, excl, n)
    pairs = []  # SELECT id, cond ... statements
    slot_cols = {}  # target -> SQL column name in `k`

    def slot(target):
        if target not in slot_cols:
            name = "s%d" % len(slot_cols)
            if target[0] == "col":
                expr = 'NULLIF("%s", \'\')' % target[1]
            else:
                path = '$."%s"' % target[2].replace('"', '\\"')
                expr = ("CASE WHEN json_type(\"%s\", %s) = 'VARCHAR' THEN NULLIF(json_extract_string(\"%s\", %s), '') END"
                        % (target[1], q(path), target[1], q(path)))
            slot_cols[target] = (name, expr)
        return slot_cols[target][0]

    by_kind = {}  # (slot, kind) -> [(value, cond)]
    nets = {}  # (family, plen) -> [(value, cond)]
    cid = 0
    for xi, (_, conds) in enumerate(policy.exclusions):
        for target, tests in conds:
            cid += 1
            cond_excl.append((cid, xi, len(conds)))
            if target[0] == "ip":
                for kind, addr, plen in tests:
                    if kind == "net4":
                        nets.setdefault(("v4", plen), []).append((addr >> (32 - plen), cid))
                    else:
                        if plen % 4:
                            raise SystemExit("IPv6 prefix lengths must be multiples of 4 here")
                        nets.setdefault(("v6", plen), []).append((("%032x" % addr)[: plen // 4], cid))
                continue
            s = slot(target)
            for kind, v in tests:
                if kind in ("pre", "suf"):
                    by_kind.setdefault((s, kind, len(v)), []).append((v, cid))
                elif kind == "wild":
                    by_kind.setdefault((s, "re", 0), []).append((wild_regex(v), cid))
                elif kind == "re":
                    by_kind.setdefault((s, "rawre", 0), []).append((v, cid))
                else:
                    by_kind.setdefault((s, kind, 0), []).append((v, cid))

    def values_table(name, rows, types):
        cols = ", ".join("%s %s" % (c, t) for c, t in types)
        setup.append("CREATE TEMP TABLE %s (%s)" % (name, cols))
        for i in range(0, len(rows), 5000):
            chunk = rows[i:i + 5000]
            setup.append("INSERT INTO %s VALUES %s" % (name, ", ".join(
                "(%s)" % ", ".join(q(x) if isinstance(x, str) else str(x) for x in r) for r in chunk)))

    values_table("cond_excl", cond_excl, [("cond", "INTEGER"), ("excl", "INTEGER"), ("n", "INTEGER")])
    for n, ((s, kind, length), rows) in enumerate(sorted(by_kind.items())):
        t = "v%d" % n
        if kind in ("eq", "pre", "suf"):
            values_table(t, rows, [("v", "VARCHAR"), ("cond", "INTEGER")])
            key = {"eq": "l%s" % s, "pre": "left(l%s, %d)" % (s, length), "suf": "right(l%s, %d)" % (s, length)}[kind]
            pairs.append("SELECT k.id, %s.cond FROM k JOIN %s ON %s = %s.v" % (t, t, key, t))
        elif kind == "nonempty":
            for _, c in rows:
                pairs.append("SELECT id, %d FROM k WHERE %s IS NOT NULL" % (c, s))
        elif kind == "con":
            # Phrases: one RE2 pass over the folded text finds the candidate rows.
            import re as _re
            alt = re2_alternation(_re.escape(v) for v, _ in rows)
            values_table(t, rows, [("v", "VARCHAR"), ("cond", "INTEGER")])
            pairs.append("SELECT c.id, %s.cond FROM (SELECT id, l%s AS x FROM k WHERE regexp_matches(l%s, %s)) c "
                         "JOIN %s ON contains(c.x, %s.v)" % (t, s, s, q(alt), t, t))
        else:
            # Globs (case-insensitive, anchored) and regexes: one combined pattern finds the
            # candidate rows, then each pattern (a constant, compiled once) runs on those.
            col = ("l%s" % s) if kind == "re" else s
            setup_late.append("CREATE TEMP TABLE c%s AS SELECT id, %s AS x FROM k WHERE regexp_matches(%s, %s)"
                              % (t, col, col, q(re2_alternation(v for v, _ in rows))))
            for v, c in rows:
                pairs.append("SELECT id, %d FROM c%s WHERE regexp_matches(x, %s)" % (c, t, q(v)))
    for n, ((fam, plen), rows) in enumerate(sorted(nets.items())):
        t = "n%d" % n
        if fam == "v4":
            values_table(t, rows, [("v", "UBIGINT"), ("cond", "INTEGER")])
            pairs.append("SELECT k.id, %s.cond FROM k JOIN %s ON (k.ip4 >> %d) = %s.v" % (t, t, 32 - plen, t))
        else:
            values_table(t, rows, [("v", "VARCHAR"), ("cond", "INTEGER")])
            pairs.append("SELECT k.id, %s.cond FROM k JOIN %s ON left(k.ip6, %d) = %s.v" % (t, t, plen // 4, t))

    slots = ",\n  ".join("%s AS %s, lower(%s) AS l%s" % (expr, name, expr, name) for name, expr in slot_cols.values())
    v4 = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
    ip4 = ("CASE WHEN regexp_full_match(SenderIPv4, '%s(\\.%s){3}') THEN "
           "list_reduce(list_transform(string_split(SenderIPv4, '.'), lambda x: x::UBIGINT), lambda a, b: a * 256 + b) END"
           % (v4, v4))
    # IPv6 text to 32 hex digits (the exports use RFC 5952 text; no embedded IPv4).
    ip6 = ("CASE WHEN SenderIPv6 <> '' THEN array_to_string(list_transform("
           "CASE WHEN contains(SenderIPv6, '::') THEN "
           "list_concat(list_concat(string_split(NULLIF(split_part(SenderIPv6, '::', 1), ''), ':'), "
           "list_transform(range(8 - len(string_split(NULLIF(split_part(SenderIPv6, '::', 1), ''), ':')) "
           "- len(string_split(NULLIF(split_part(SenderIPv6, '::', 2), ''), ':'))), lambda x: '0')), "
           "string_split(NULLIF(split_part(SenderIPv6, '::', 2), ''), ':')) "
           "ELSE string_split(SenderIPv6, ':') END, lambda g: lpad(lower(g), 4, '0')), '') END")
    k = "CREATE TEMP TABLE k AS SELECT NetworkMessageId AS id,\n  %s,\n  %s AS ip4,\n  %s AS ip6\nFROM ev" % (
        slots, ip4, ip6)
    setup.append(k)
    setup.extend(setup_late)
    excluded = ("SELECT DISTINCT id FROM (SELECT h.id, ce.excl, count(DISTINCT h.cond) AS got, any_value(ce.n) AS n "
                "FROM (%s) h JOIN cond_excl ce ON ce.cond = h.cond GROUP BY h.id, ce.excl) WHERE got = n"
                % "\nUNION ALL ".join(pairs))
    return setup, excluded


def main():
    policy_path, today, events, out, threads = sys.argv[1:6]
    policy = Policy(policy_path, today)
    setup, excluded = sql_for(policy)
    if "--sql" in sys.argv:
        print(";\n".join(setup + [excluded]))
        return
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET threads = %d" % int(threads))
    con.execute("SET preserve_insertion_order = true")
    cols = ", ".join("%s: 'VARCHAR'" % q(c) for c in STRING_COLUMNS)
    cols += ", " + ", ".join("%s: 'BIGINT'" % q(c) for c in INT_COLUMNS) + ", 'Headers': 'JSON'"
    con.execute("CREATE TEMP TABLE ev AS SELECT * FROM read_json(%s, format = 'newline_delimited', "
                "columns = {%s})" % (q(events), cols))
    for stmt in setup:
        con.execute(stmt)
    con.execute("CREATE TEMP TABLE x AS %s" % excluded)
    con.execute("COPY (SELECT %s FROM ev ANTI JOIN x ON ev.NetworkMessageId = x.id) TO %s (FORMAT JSON)"
                % (", ".join('"%s"' % c for c in ORDER), q(out)))
    n = con.execute("SELECT count(*) FROM x").fetchone()[0]
    print("duckdb: %d excluded in %.2f s" % (n, time.perf_counter() - t0), file=sys.stderr)


if __name__ == "__main__":
    main()
