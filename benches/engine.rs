//! Micro-benchmarks: the matcher per event, reading + matching per row, and compiling
//! policies of growing size. `cargo bench --bench engine`.
//!
//! The large benchmark policy (`benches/data/large.toml`, written by `benches/run.py`) is
//! used when it exists; the seed policy and generated N-exclusion policies always are.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::hint::black_box;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fpx::compile::{Compiled, Selection};
use fpx::event::JsonRowReader;
use fpx::matcher::Matcher;
use fpx::semantics::Cell;

const TODAY: &str = "2026-12-04";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn selection() -> Selection {
    Selection { today: TODAY.parse().unwrap(), rules: vec![] }
}

/// A policy of `n` exclusions: exact senders, domain suffixes, relays with networks, and
/// recipients sharing one sender domain, like a large tenant's.
fn generated_policy(n: usize) -> String {
    let mut p = String::from("[policy]\nname = \"generated\"\n");
    for i in 0..n {
        p.push_str(&format!(
            "\n[[exclusion]]\nid = \"e{i}\"\nreason = \"generated\"\nowner = \"soc@company.com\"\nexpires = 2027-12-31\n"
        ));
        p.push_str(&match i % 4 {
            0 => format!("sender = [\"notify{i}@vendor{}.example\"]\n", i % 997),
            1 => format!("sender = [\"*@vendor{i}.example\"]\n"),
            2 => format!(
                "sender_domain = [\"relay{i}.example\"]\nsource_ip = [\"{}.{}.{}.0/24\"]\n",
                40 + i % 150,
                (i / 150) % 256,
                i % 256
            ),
            _ => format!("recipient = [\"team{i}@company.com\"]\nsender = [\"*@company.com\"]\n"),
        });
    }
    p
}

fn policies() -> Vec<(String, String)> {
    let mut out = vec![(
        "seed".to_string(),
        std::fs::read_to_string(root().join("policies/bulk-email-fp.toml")).unwrap(),
    )];
    if let Ok(large) = std::fs::read_to_string(root().join("benches/data/large.toml")) {
        out.push(("large".to_string(), large));
    }
    out
}

fn events() -> Vec<String> {
    let sample = std::fs::read_to_string(root().join("tests/data/bulk-email.jsonl")).unwrap();
    let mut rows: Vec<String> = sample.lines().map(str::to_string).collect();
    if let Ok(more) = std::fs::read_to_string(root().join("benches/data/events-20k.jsonl")) {
        rows.extend(more.lines().take(2000).map(str::to_string));
    }
    rows
}

fn matcher(c: &mut Criterion) {
    let rows = events();
    let mut group = c.benchmark_group("matcher");
    group.throughput(Throughput::Elements(rows.len() as u64));
    for (name, text) in policies() {
        let policy = fpx::validate::load(&text).unwrap();
        let compiled = Compiled::new(&policy, selection());
        let m = Matcher::new(&compiled).unwrap();
        let reader = JsonRowReader::new(m.layout());
        let mut scratch = m.scratch();
        let mut hits = Vec::new();
        // The matcher alone, on rows decoded once.
        let decoded: Vec<Vec<Cell<'_>>> = rows
            .iter()
            .map(|r| {
                let mut cells = Vec::new();
                reader.read(r, &mut cells).unwrap();
                cells
            })
            .collect();
        group.bench_function(BenchmarkId::new("match", &name), |b| {
            b.iter(|| {
                for cells in &decoded {
                    m.matches(black_box(cells), &mut scratch, &mut hits);
                }
            })
        });
        // Reading the policy's columns and matching, per row.
        group.bench_function(BenchmarkId::new("read+match", &name), |b| {
            let mut cells = Vec::new();
            b.iter(|| {
                for r in &rows {
                    reader.read(black_box(r), &mut cells).unwrap();
                    m.matches(&cells, &mut scratch, &mut hits);
                }
            })
        });
    }
    group.finish();
}

fn compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    let mut inputs = policies();
    for n in [1_000, 10_000, 100_000] {
        inputs.push((format!("generated-{n}"), generated_policy(n)));
    }
    for (name, text) in &inputs {
        let policy = fpx::validate::load(text).unwrap();
        // Selecting what applies and building the indexes, from a validated policy.
        group.bench_function(BenchmarkId::new("index", name), |b| {
            b.iter(|| {
                let compiled = Compiled::new(&policy, selection());
                Matcher::new(black_box(&compiled)).unwrap()
            })
        });
        // From text: parse, validate, select and index (what `fpx filter` does first).
        group.bench_function(BenchmarkId::new("load+index", name), |b| {
            b.iter(|| {
                let policy = fpx::validate::load(black_box(text)).unwrap();
                let compiled = Compiled::new(&policy, selection());
                Matcher::new(&compiled).unwrap();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, matcher, compile);
criterion_main!(benches);
