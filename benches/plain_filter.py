"""A plain Python filter of an fpx policy: what a SOC engineer would script.

`python3 plain_filter.py POLICY TODAY EVENTS.jsonl > kept.jsonl`

Indexed the obvious way (dicts for exact values, one dict per prefix/suffix length and per
network prefix length, a loop over phrases and compiled regexes), one process, one thread.
Kept rows are written byte for byte; unreadable rows are kept.
"""
import json
import re
import sys
from collections import defaultdict

from policy import Policy, fold, wild_regex


class Slot:
    def __init__(self):
        self.eq, self.pre, self.suf = defaultdict(list), defaultdict(dict), defaultdict(dict)
        self.con, self.regex, self.nonempty = [], [], []


def build(policy):
    slots, v4, v6 = {}, defaultdict(dict), defaultdict(dict)
    owner, need = [], []
    for xi, (_, conds) in enumerate(policy.exclusions):
        need.append(len(conds))
        for target, tests in conds:
            c = len(owner)
            owner.append(xi)
            if target[0] == "ip":
                for kind, addr, plen in tests:
                    bits = 32 if kind == "net4" else 128
                    (v4 if kind == "net4" else v6)[plen].setdefault(addr >> (bits - plen), []).append(c)
                continue
            s = slots.setdefault(target, Slot())
            for kind, v in tests:
                if kind == "eq":
                    s.eq[v].append(c)
                elif kind in ("pre", "suf"):
                    getattr(s, kind)[len(v)].setdefault(v, []).append(c)
                elif kind == "con":
                    s.con.append((v, c))
                elif kind == "nonempty":
                    s.nonempty.append(c)
                elif kind == "wild":
                    s.regex.append((re.compile(wild_regex(v)), c))
                else:
                    s.regex.append((re.compile(v), c))
    return slots, v4, v6, owner, need


def cell(row, target, header_column):
    if target[0] == "col":
        v = row.get(target[1])
    else:
        bag = row.get(target[1])
        if isinstance(bag, str):
            try:
                bag = json.loads(bag)
            except ValueError:
                bag = None
        v = bag.get(target[2]) if isinstance(bag, dict) else None
        if not isinstance(v, str):
            return None
    if v is None or isinstance(v, (dict, list)):
        return None
    if isinstance(v, bool):
        v = "true" if v else "false"
    elif not isinstance(v, str):
        v = json.dumps(v)
    return v or None


def main():
    policy = Policy(sys.argv[1], sys.argv[2])
    slots, v4, v6, owner, need = build(policy)
    import ipaddress
    out = sys.stdout.buffer
    kept = excluded = 0
    with open(sys.argv[3], "rb") as f:
        for raw in f:
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
                assert isinstance(row, dict)
            except Exception:
                out.write(raw)
                kept += 1
                continue
            hit = set()
            for target, s in slots.items():
                text = cell(row, target, policy.header_column)
                if text is None:
                    continue
                f_ = fold(text)
                hit.update(s.nonempty)
                hit.update(s.eq.get(f_, ()))
                for n, m in s.pre.items():
                    hit.update(m.get(f_[:n], ()))
                for n, m in s.suf.items():
                    if len(f_) >= n:
                        hit.update(m.get(f_[len(f_) - n:], ()))
                for v, c in s.con:
                    if v in f_:
                        hit.add(c)
                for r, c in s.regex:
                    if r.search(text):
                        hit.add(c)
            for col, nets, bits, parse in (("SenderIPv4", v4, 32, ipaddress.IPv4Address),
                                           ("SenderIPv6", v6, 128, ipaddress.IPv6Address)):
                text = row.get(col)
                if nets and isinstance(text, str) and text:
                    try:
                        a = int(parse(text))
                    except ValueError:
                        continue
                    for plen, m in nets.items():
                        hit.update(m.get(a >> (bits - plen), ()))
            counts = defaultdict(int)
            for c in hit:
                counts[owner[c]] += 1
            if any(n == need[x] for x, n in counts.items()):
                excluded += 1
            else:
                kept += 1
                out.write(raw)
    print(f"plain-python: {kept} kept, {excluded} excluded", file=sys.stderr)


if __name__ == "__main__":
    main()
