"""An fpx policy, flattened for the benchmark's other contenders (DuckDB and plain Python).

Reads the policy TOML (lists, groups, `@` references, operator tables, headers,
`[[exclusion.where]]`, expiry) into active exclusions whose conditions are lists of
normalised tests, with the meaning of `src/semantics.rs`: case-insensitive text compares
folded text, a glob takes its cheapest form (`a`, `a*`, `*a`, `*a*`, `*`, else an anchored
case-insensitive pattern), empty or missing cells never match, `regex` is an unanchored
case-sensitive search. It covers what the benchmark policies use; it is not a validator.
"""
import datetime
import ipaddress
import re
import tomllib

COLUMNS = {
    "sender": "SenderFromAddress",
    "mail_from": "SenderMailFromAddress",
    "sender_domain": "SenderFromDomain",
    "recipient": "RecipientEmailAddress",
    "subject": "Subject",
    "direction": "EmailDirection",
}
WELL_KNOWN_HEADERS = {"from": "SenderFromAddress", "return-path": "SenderMailFromAddress",
                      "subject": "Subject", "message-id": "InternetMessageId"}
OPERATORS = ("equals", "starts_with", "ends_with", "contains", "glob", "regex")
REF = re.compile(r"^@[A-Za-z0-9_-]+$")


def fold_char(c):
    u = c.upper()
    if len(u) != 1:
        u = c
    lo = u.lower()
    return lo if len(lo) == 1 else u


def fold(s):
    """semantics::fold: each character to the lowercase of its uppercase (simple mappings)."""
    if s.isascii():
        return s.lower()
    return "".join(fold_char(c) for c in s)


def glob_test(g):
    """semantics::TextTest::glob: (kind, value)."""
    tokens = []
    for c in g:
        if c == "*":
            if not tokens or tokens[-1] != "*":
                tokens.append("*")
        elif c == "?":
            if tokens and tokens[-1] == "*":
                tokens.insert(len(tokens) - 1, "?")
            else:
                tokens.append("?")
        elif tokens and tokens[-1] not in ("*", "?"):
            tokens[-1] += c
        else:
            tokens.append(c if c not in ("*", "?") else c)
    lit = lambda t: t not in ("*", "?")
    if not tokens:
        return ("eq", "")
    if len(tokens) == 1 and lit(tokens[0]):
        return ("eq", fold(tokens[0]))
    if len(tokens) == 2 and lit(tokens[0]) and tokens[1] == "*":
        return ("pre", fold(tokens[0]))
    if len(tokens) == 2 and tokens[0] == "*" and lit(tokens[1]):
        return ("suf", fold(tokens[1]))
    if len(tokens) == 3 and tokens[0] == "*" and lit(tokens[1]) and tokens[2] == "*":
        return ("con", fold(tokens[1]))
    if tokens in (["*"], ["*", "?"], ["?", "*"], ["*", "?", "*"]):
        return ("nonempty", None)
    return ("wild", tokens)


def text_test(op, value):
    if op == "glob":
        return glob_test(value)
    if op == "regex":
        return ("re", value)
    return ({"equals": "eq", "starts_with": "pre", "ends_with": "suf", "contains": "con"}[op], fold(value))


class Policy:
    def __init__(self, path, today):
        with open(path, "rb") as f:
            doc = tomllib.load(f)
        self.header_column = doc["policy"].get("header_column")
        self.lists = doc.get("lists", {})
        self.groups = doc.get("groups", {})
        today = datetime.date.fromisoformat(today)
        self.exclusions = []  # (id, [(target, [test, ...]), ...])
        for e in doc.get("exclusion", []):
            if e.get("expires") is not None and e["expires"] < today:
                continue
            conds = []
            for key, value in e.items():
                if key in COLUMNS:
                    conds.append(self.condition(("col", COLUMNS[key]), value, key == "direction"))
                elif key == "source_ip":
                    conds.append((("ip",), [self.net(v) for v in self.expand(value)]))
                elif key == "header":
                    for name, v in value.items():
                        col = WELL_KNOWN_HEADERS.get(name.lower())
                        target = ("col", col) if col else ("hdr", self.header_column, name)
                        conds.append(self.condition(target, v, False))
                elif key == "where":
                    for w in value:
                        ops = {k: v for k, v in w.items() if k != "column"}
                        if "values" in ops:
                            ops["glob"] = list(ops.pop("values")) + list(ops.get("glob", []))
                        conds.append(self.condition(("col", w["column"]), ops, False))
            self.exclusions.append((e["id"], conds))

    def expand(self, values, seen=()):
        if isinstance(values, str):
            values = [values]
        out = []
        for v in values:
            if REF.match(v):
                name = v[1:]
                if name in self.lists:
                    out.extend(self.expand(self.lists[name], seen + (name,)))
                else:
                    g = self.groups[name]
                    if "address" in g:
                        out.append(g["address"])
                    out.extend(self.expand(g.get("members", []), seen + (name,)))
            elif v.startswith("@@"):
                out.append(v[1:])
            else:
                out.append(v)
        return out

    def condition(self, target, value, direction):
        tests = []
        if isinstance(value, dict):
            for op in OPERATORS:
                for v in self.expand(value.get(op, [])):
                    tests.append(text_test(op, v))
        else:
            for v in self.expand(value):
                tests.append(("eq", fold(v)) if direction else glob_test(v))
        return (target, tests)

    @staticmethod
    def net(v):
        n = ipaddress.ip_network(v, strict=True)
        return ("net%d" % n.version, int(n.network_address), n.prefixlen)

    def header_names(self):
        return sorted({t[2] for _, conds in self.exclusions for t, _ in conds if t[0] == "hdr"})


def wild_regex(tokens):
    """The regex a glob means (`(?is)^…$`), in the common RE2 / Python syntax."""
    out = "(?is)^"
    for t in tokens:
        out += ".*" if t == "*" else "." if t == "?" else re.escape(t)
    return out + "$"
