"""Runs fpx's KQL in an independent executor: duckdb-kql (KQL translated to DuckDB SQL).

stdin: {"events": [{column: JSON value}], "columns": [...], "block": "...", "hits": "...",
        "in_lists": [[literal, ...]], "cells": [text, ...]}
stdout: {"kept": [NetworkMessageId...], "counts": {exclusion: n, "Rows": n},
         "null_predicates": n, "in_mismatches": [...]}

duckdb-kql has no mapping for ipv4_is_in_any_range, ipv6_is_in_any_range and
column_ifexists. They are added here, implementing Microsoft's documentation:
- ipv4/ipv6_is_in_any_range(address, range, ...): true if the address is in any range,
  false otherwise, null "if conversion for one of the two ... strings wasn't successful"
  (the address or a range). Conversion uses Python's ipaddress module; Kusto's own
  parser may accept more texts, which fpx's strict guard keeps away from the call.
- column_ifexists(name, default): the column when the table has it, else default.
- Case-insensitive operators (`=~`, `in~`, `startswith`, `endswith`, `contains`): Microsoft
  documents them for ASCII only ("case-insensitive operators are currently supported only
  for ASCII-text"); duckdb-kql folds with DuckDB's Unicode `lower()`. The translated SQL's
  `lower(` is replaced by an ASCII-only lowering, and its `ILIKE`-based `contains`,
  `startswith` and `endswith` by `LIKE` over ASCII-lowered texts, as documented.
Rows are loaded as Kusto would hold them: string columns are never null (a JSON null or
missing value is the empty string); non-string JSON scalars keep their JSON text; the
header column holds the object's JSON text (or the string, when it is one).
"""
import dataclasses
import ipaddress
import json
import re
import sys

import duckdb_kql
from duckdb_kql.translate import functions as F
import duckdb_kql.translate as T

TABLE = "EmailEvents"


def _parse(cls, text):
    try:
        return cls(text)
    except (ValueError, TypeError):
        return None


def _in_any(addr_cls, net_cls):
    def fn(args):
        if args is None or len(args) < 2:
            return None
        addr = _parse(addr_cls, args[0]) if isinstance(args[0], str) else None
        nets = []
        for r in args[1:]:
            n = _parse(lambda t: net_cls(t, strict=False), r) if isinstance(r, str) else None
            if n is None:
                return None
            nets.append(n)
        if addr is None:
            return None
        return any(addr in n for n in nets)
    return fn


def install(con, columns):
    import duckdb
    texts = duckdb.list_type(duckdb.sqltype("VARCHAR"))
    boolean = duckdb.sqltype("BOOLEAN")
    con.create_function("fpx_ipv4_any", _in_any(ipaddress.IPv4Address, ipaddress.IPv4Network),
                        [texts], boolean, null_handling="special")
    con.create_function("fpx_ipv6_any", _in_any(ipaddress.IPv6Address, ipaddress.IPv6Network),
                        [texts], boolean, null_handling="special")
    F.SCALAR_FUNCTIONS["ipv4_is_in_any_range"] = F._f("ipv4_is_in_any_range", "template", "fpx_ipv4_any([{}])")
    F.SCALAR_FUNCTIONS["ipv6_is_in_any_range"] = F._f("ipv6_is_in_any_range", "template", "fpx_ipv6_any([{}])")

    def column_ifexists(node):
        name = getattr(node.args[0], "value", None)
        if name in columns:
            return '"' + name.replace('"', '""') + '"'
        return T.render_expr(node.args[1])
    T._SPECIAL_FORMS["column_ifexists"] = column_ifexists

    ascii_upper = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
    con.create_function("fpx_ascii_lower", lambda s: s.translate(ascii_upper),
                        [duckdb.sqltype("VARCHAR")], duckdb.sqltype("VARCHAR"))
    # `contains`, `startswith`, `endswith` are LIKE patterns under DuckDB's Unicode ILIKE:
    # compare ASCII-lowered texts with LIKE instead.
    like = {
        "contains": "'%' || {e} || '%'",
        "startswith": "{e} || '%'",
        "endswith": "'%' || {e}",
    }
    for op, pattern in like.items():
        body = ("(fpx_ascii_lower({0}) LIKE fpx_ascii_lower(" + pattern.format(e=F._escape_like("{1}"))
                + ")" + F._LIKE_ESCAPE + ")")
        for name, template in ((op, body), ("!" + op, "NOT " + body)):
            spec = F.BINARY_OPERATORS[name]
            F.BINARY_OPERATORS[name] = dataclasses.replace(spec, template=template)
    engine = sys.modules["duckdb_kql.engine"]
    prepare = engine._prepare

    def ascii_prepare(*args, **kwargs):
        translated, bound = prepare(*args, **kwargs)
        return re.sub(r"\blower\(", "fpx_ascii_lower(", translated), bound
    engine._prepare = ascii_prepare


def cell(v):
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def main():
    data = json.load(sys.stdin)
    columns = data["columns"]
    con = duckdb_kql.connect()
    install(con, set(columns))
    cols_sql = ", ".join(f'"{c}" VARCHAR' for c in columns)
    con.sql(f'CREATE TABLE {TABLE} ({cols_sql}, TimeGenerated TIMESTAMP)')
    rows = [[cell(e.get(c)) for c in columns] for e in data["events"]]
    placeholders = ", ".join("?" for _ in columns)
    con.executemany(f"INSERT INTO {TABLE} VALUES ({placeholders}, now())", rows)
    out = {}
    kept = duckdb_kql.kql(con, f"{TABLE}\n{data['block']}\n| project NetworkMessageId").fetchall()
    out["kept"] = sorted(r[0] for r in kept)
    # Totality: the predicate inside not(...) is never null.
    totality = data["block"].replace("| where not(", "| extend fpx_p = not(", 1)
    nulls = duckdb_kql.kql(con, f"{TABLE}\n{totality}\n| where isnull(fpx_p) | count").fetchall()
    out["null_predicates"] = nulls[0][0]
    res = duckdb_kql.kql(con, data["hits"])
    names = [d[0] for d in res.description]
    values = res.fetchall()[0]
    out["counts"] = dict(zip(names, values))
    # `s in~ (a, b, ...)` is `s =~ a or s =~ b or ...` for every cell and list.
    mismatches = []
    for lits in data["in_lists"]:
        lit = ", ".join(json.dumps(x, ensure_ascii=False) for x in lits)
        ors = " or ".join(f"s =~ {json.dumps(x, ensure_ascii=False)}" for x in lits)
        for c in data["cells"]:
            q = f"print s = {json.dumps(c, ensure_ascii=False)} | project a = s in~ ({lit}), b = {ors}"
            a, b = duckdb_kql.kql(con, q).fetchall()[0]
            if a != b:
                mismatches.append([c, lits, a, b])
    out["in_mismatches"] = mismatches
    out["in_checks"] = len(data["in_lists"]) * len(data["cells"])
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
