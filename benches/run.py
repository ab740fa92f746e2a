#!/usr/bin/env python3
"""fpx's benchmark: fpx filter against DuckDB, a plain Python filter, the serde parse-only
floor and `cat`, side by side in one run on the same files.

    python3 benches/run.py            # everything (about 20 minutes on 2 cores)
    python3 benches/run.py --quick    # 1 run after the warm-up, no Python, no 5M-row file

Builds the release binaries, generates the data under benches/data/ when missing (git-
ignored), creates benches/data/venv with DuckDB from PyPI, runs each contender once to
warm the page cache and then --runs times, and prints the medians: wall time, rows/s,
MB/s, peak RSS, the ratios and one pass/fail line per target. The table also goes into
benches/RESULTS.md (between the results markers) and benches/data/results.md.

Every contender reads the same file from the page cache and writes its kept rows to
/dev/null (DuckDB writes them as JSON to /dev/null too); the kept rows of DuckDB and of
the Python filter are checked against fpx's (as NetworkMessageId sets) in a separate,
untimed run, and the benchmark fails loudly when they differ.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benches")
DATA = os.path.join(BENCH, "data")
TODAY = "2026-12-04"
FPX = os.path.join(ROOT, "target", "release", "fpx")
GEN = os.path.join(ROOT, "target", "release", "fpx-gen")
FLOOR = os.path.join(ROOT, "target", "release", "parse-floor")
SEED = os.path.join(ROOT, "policies", "bulk-email-fp.toml")
SCALES = [10, 1000, 10000, 100000]


def data(name):
    return os.path.join(DATA, name)


def sh(cmd, **kw):
    print("+ " + " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, **kw)


def generate(name, args):
    path = data(name)
    if not os.path.exists(path):
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            sh([GEN] + args, stdout=f)
        os.replace(tmp, path)
    return path


def measure(cmd, stdout="/dev/null"):
    """(wall seconds, peak RSS in MiB, user + system CPU seconds) of one run.

    The peak RSS comes from GNU time: a child forked from this (large) Python process
    would count the parent's pages in its ru_maxrss until it execs.
    """
    rss_file = data("rss.txt")
    with open(stdout, "wb") as out, open(data("stderr.log"), "ab") as err:
        t0 = time.perf_counter()
        status = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", rss_file] + cmd, stdout=out, stderr=err,
                                cwd=BENCH).returncode
        wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit("failed (%s): %s (see benches/data/stderr.log)" % (status, " ".join(cmd)))
    with open(rss_file) as f:
        rss, user, system = f.read().split()[-3:]
    return wall, int(rss) / 1024, float(user) + float(system)


class Bench:
    def __init__(self, runs):
        self.runs = runs
        self.rows = {}  # key -> (label, median wall, peak rss, rows, bytes)

    def run(self, key, label, cmd, rows, size, runs=None, warm=True, stdout="/dev/null"):
        runs = self.runs if runs is None else runs
        if warm:
            measure(cmd)  # warm-up: page cache, lazy loading
        results = [measure(cmd, stdout=stdout) for _ in range(runs)]
        wall = statistics.median(r[0] for r in results)
        rss = max(r[1] for r in results)
        cpu = statistics.median(r[2] for r in results)
        self.rows[key] = (label, wall, rss, rows, size, [round(r[0], 2) for r in results], cpu)
        print("%-44s %8.2f s  %7.0f MiB  cpu %6.2f s  runs %s" % (label, wall, rss, cpu, self.rows[key][5]),
              file=sys.stderr)
        return wall

    def wall(self, key):
        return self.rows[key][1] if key in self.rows else None


def kept_ids(path):
    ids = set()
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                ids.add(json.loads(line)["NetworkMessageId"])
    return ids


def fpx_cmd(policy, events, threads, *extra):
    return [FPX, "filter", "--today", TODAY, "--policy", policy, "--threads", str(threads), *extra, events]


LOAD_AT_START = os.getloadavg()[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="1 run, no Python filter, no 5M-row file")
    ap.add_argument("--no-python", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.runs, args.no_python = 1, True
    os.makedirs(DATA, exist_ok=True)
    open(data("stderr.log"), "wb").close()
    free = shutil.disk_usage(DATA).free / 2**30
    need = 2.0 * args.rows / 1e6 * (1 if args.quick else 6)
    if free < need + 2:
        raise SystemExit("benches/data needs about %.0f GiB free, %.0f GiB left" % (need + 2, free))

    sh(["cargo", "build", "--release", "--quiet", "-p", "fpx", "-p", "fpx-bench-kit"], cwd=ROOT)
    n = args.rows
    tag = "%dk" % (n // 1000) if n < 1_000_000 else "%dm" % (n // 1_000_000)
    jsonl = generate("events-%s.jsonl" % tag, ["events", str(n), "jsonl"])
    csv = generate("events-%s.csv" % tag, ["events", str(n), "csv"])
    large = generate("large.toml", ["policy", "large"])
    scales = {s: generate("scale-%d.toml" % s, ["policy", "scale", str(s)]) for s in SCALES}
    venv_py = os.path.join(DATA, "venv", "bin", "python")
    if not os.path.exists(venv_py):
        sh([sys.executable, "-m", "venv", os.path.join(DATA, "venv")])
        sh([venv_py, "-m", "pip", "install", "--quiet", "duckdb"])
    duck_version = subprocess.run([venv_py, "-c", "import duckdb; print(duckdb.__version__)"],
                                  capture_output=True, text=True, check=True).stdout.strip()

    size = os.path.getsize(jsonl)
    csv_size = os.path.getsize(csv)
    b = Bench(args.runs)
    policies = {"seed": SEED, "large": large}

    # Correctness first (untimed): DuckDB's and Python's kept rows are fpx's.
    checks = []
    for name, pol in policies.items():
        fpx_out, duck_out = data("kept-fpx.jsonl"), data("kept-duckdb.jsonl")
        measure(fpx_cmd(pol, jsonl, 2), stdout=fpx_out)
        measure([venv_py, "duckdb_filter.py", pol, TODAY, jsonl, duck_out, "2"])
        want = kept_ids(fpx_out)
        got = kept_ids(duck_out)
        checks.append(("DuckDB keeps the rows fpx keeps (%s policy, %d rows)" % (name, len(want)), got == want))
        with open(data("kept-fpx-%s.ids" % name), "w") as f:
            f.write("\n".join(sorted(want)))
    for label, ok in checks:
        print(("ok  " if ok else "FAIL") + "  " + label, file=sys.stderr)
    if not all(ok for _, ok in checks):
        raise SystemExit("contenders disagree with fpx: the comparison is void")

    b.run("cat", "cat (I/O floor)", ["cat", jsonl], n, size)
    b.run("floor", "parse-only floor (serde_json, 1 thread)", [FLOOR, jsonl], n, size)
    for name, pol in policies.items():
        b.run("fpx1-" + name, "fpx, %s policy, 1 thread" % name, fpx_cmd(pol, jsonl, 1), n, size)
        b.run("fpx2-" + name, "fpx, %s policy, 2 threads" % name, fpx_cmd(pol, jsonl, 2), n, size)
        b.run("duck-" + name, "DuckDB %s, %s policy, 2 threads" % (duck_version, name),
              [venv_py, "duckdb_filter.py", pol, TODAY, jsonl, "/dev/null", "2"], n, size)
        if not args.no_python:
            # One run (about a minute), its kept rows checked against fpx's afterwards.
            py_out = data("kept-python.jsonl")
            b.run("py-" + name, "plain Python, %s policy (1 run)" % name,
                  [sys.executable, "plain_filter.py", pol, TODAY, jsonl], n, size, runs=1, warm=False,
                  stdout=py_out)
            with open(data("kept-fpx-%s.ids" % name)) as f:
                want = set(f.read().split("\n"))
            ok = kept_ids(py_out) == want
            checks.append(("Python keeps the rows fpx keeps (%s policy)" % name, ok))
            if not ok:
                raise SystemExit("the Python filter disagrees with fpx: the comparison is void")
    b.run("csv1-large", "fpx CSV, large policy, 1 thread", fpx_cmd(large, csv, 1), n, csv_size)
    b.run("csv2-large", "fpx CSV, large policy, 2 threads", fpx_cmd(large, csv, 2), n, csv_size)
    for s, pol in scales.items():
        b.run("scale-%d" % s, "fpx, %d-exclusion policy, 2 threads" % s, fpx_cmd(pol, jsonl, 2), n, size)
    empty = data("empty.jsonl")
    open(empty, "wb").close()
    b.run("policy-large", "fpx: the large policy alone (empty input)", fpx_cmd(large, empty, 2), 0, 0)
    b.run("compile-100k", "fpx: load + compile the 100k policy", fpx_cmd(scales[100000], empty, 1), 0, 0)
    kql = subprocess.run([FPX, "kql", "--help"], capture_output=True).returncode == 0
    if kql:
        b.run("kql-100k", "fpx kql, 100k policy", [FPX, "kql", "--today", TODAY, "--policy", scales[100000]], 0, 0)
    big = None
    if not args.quick:
        big = generate("events-5m.jsonl", ["events", str(5 * n), "jsonl"])
        b.run("fpx2-large-5x", "fpx, large policy, 2 threads, 5x rows", fpx_cmd(large, big, 2), 5 * n,
              os.path.getsize(big), runs=1)

    report(b, checks, kql, duck_version, n, size, args)


def report(b, checks, kql, duck_version, n, size, args):
    w = b.wall
    lines = []
    lines.append("Rows: %d (%.0f MB JSON Lines, %.0f bytes a row); %s; median of %d runs after a warm-up run, "
                 "warm page cache, output to /dev/null. CPU is user + system time (median), which other "
                 "processes on the machine do not inflate the way they inflate wall time."
                 % (n, size / 1e6, size / n, machine(), args.runs))
    lines.append("")
    lines.append("| contender | wall (s) | rows/s | MB/s | peak RSS (MiB) | vs floor | CPU (s) | runs (s) |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---|")
    floor = w("floor")
    for key, (label, wall, rss, rows, sz, runs, cpu) in b.rows.items():
        rps = "%.2fM" % (rows / wall / 1e6) if rows else ""
        mbs = "%.0f" % (sz / wall / 1e6) if sz else ""
        ratio = "%.2f×" % (wall / floor) if rows and floor else ""
        lines.append("| %s | %.2f | %s | %s | %.0f | %s | %.2f | %s |" % (
            label, wall, rps, mbs, rss, ratio, cpu, ", ".join("%.2f" % r for r in runs)))
    lines.append("")
    targets = []

    def target(text, value, ok):
        targets.append("%s %s: %s" % ("PASS" if ok else "FAIL", text, value))

    for p in ("seed", "large"):
        f2, d = w("fpx2-" + p), w("duck-" + p)
        target("fpx at least 2.5× faster than DuckDB (2 threads), %s policy" % p, "%.2f×" % (d / f2), d / f2 >= 2.5)
    for p, lim in (("seed", 1.2), ("large", 1.3)):
        f2 = w("fpx2-" + p)
        target("fpx within %.1f× of the parse-only floor, %s policy" % (lim, p), "%.2f×" % (f2 / floor),
               f2 / floor <= lim)
    for p in ("seed", "large"):
        if w("py-" + p):
            r = w("py-" + p) / w("fpx2-" + p)
            target("fpx at least 10× faster than plain Python, %s policy" % p, "%.1f×" % r, r >= 10)
    r = w("csv2-large") / w("fpx2-large")
    target("CSV within 1.5× of JSON Lines per row (large policy, 2 threads)", "%.2f×" % r, r <= 1.5)
    r = w("scale-100000") / w("scale-10")
    target("100,000-exclusion policy within 1.2× of a 10-exclusion one", "%.2f×" % r, r <= 1.2)
    target("compiling a 100,000-exclusion policy under 1 s (load, validate, index)", "%.2f s" % w("compile-100k"),
           w("compile-100k") < 1)
    if kql:
        target("fpx kql for the 100,000-exclusion policy under 1 s", "%.2f s" % w("kql-100k"), w("kql-100k") < 1)
    else:
        targets.append("skipped: fpx kql not available in this build")
    if "fpx2-large-5x" in b.rows:
        r1, r5 = b.rows["fpx2-large"][2], b.rows["fpx2-large-5x"][2]
        target("peak RSS flat in input size (5× rows within 10%)", "%.0f vs %.0f MiB" % (r5, r1), r5 <= r1 * 1.1)
    rss, policy = b.rows["fpx2-large"][2], b.rows["policy-large"][2]
    target("peak RSS under 100 MB plus the policy's own (large policy, 2 threads)",
           "%.0f MiB = %.0f MiB policy + %.0f MiB" % (rss, policy, rss - policy), rss - policy < 100)
    t1, t2 = w("fpx1-large"), w("fpx2-large")
    targets.append("info: 2 threads vs 1, large policy: %.2f×; seed policy: %.2f×" % (
        t1 / t2, w("fpx1-seed") / w("fpx2-seed")))
    for label, ok in checks:
        targets.append("%s %s" % ("PASS" if ok else "FAIL", label))
    lines.append("```")
    lines.extend(targets)
    lines.append("```")
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    with open(data("results.md"), "w") as f:
        f.write(text)
    results = os.path.join(BENCH, "RESULTS.md")
    if os.path.exists(results):
        doc = open(results).read()
        start, end = "<!-- results:start -->\n", "<!-- results:end -->"
        if start in doc and end in doc:
            doc = doc[: doc.index(start) + len(start)] + text + doc[doc.index(end):]
            with open(results, "w") as f:
                f.write(doc)


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0]
    return "%d cores (%s), load average %.1f at the start and %.1f at the end" % (
        os.cpu_count(), cpu, LOAD_AT_START, load)


if __name__ == "__main__":
    main()
