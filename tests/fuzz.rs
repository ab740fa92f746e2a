//! The fuzz targets of `fpx::fuzz` on stable Rust: every file of the seed corpus
//! (`fuzz/corpus/<target>/`) and of the crashes found so far (`fuzz/regressions/<target>/`),
//! then `FPX_FUZZ_CASES` generated inputs per target (default 600): seeds mutated a few
//! times (bytes replaced, inserted, deleted; tokens that matter to the formats spliced in)
//! and arbitrary bytes, from a fixed seed (`FPX_FUZZ_SEED=random` explores, `=N` replays);
//! a failure prints the seed and the input, shrunk. The coverage-guided runs use the same targets (`fuzz/README.md`).

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

use crate::common::root;

type Target = fn(&[u8]) -> Result<(), fpx::fuzz::Violation>;

/// Byte strings that matter to the formats, spliced into seeds.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"\\",
    b"\r\n",
    b"\n",
    b"\r",
    b",",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b"\xEF\xBB\xBF",
    b"\xFF",
    b"\"\"",
    b"\\u00e9",
    b"\\ud800",
    b"null",
    b"1e999",
    b"-0",
    b"@",
    b"*",
    b"?",
    b"\x00",
    b"\xC3",
    b"SenderFromAddress",
    b"Subject",
    b"Headers",
    b"X-A",
    b"a@b.c",
    b"10.1.2.3",
    b"Inbound",
];

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().is_file())
                .map(|e| (e.path().display().to_string(), std::fs::read(e.path()).unwrap()))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn mutate(seed: &[u8], edits: &[(u8, u16, u8)]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for &(op, at, byte) in edits {
        let at = if data.is_empty() { 0 } else { usize::from(at) % (data.len() + 1) };
        match op % 5 {
            0 if at < data.len() => data[at] = byte,
            1 => data.insert(at, byte),
            2 if at < data.len() => {
                let end = (at + 1 + usize::from(byte % 8)).min(data.len());
                data.drain(at..end);
            }
            3 | 4 => {
                let token = TOKENS[usize::from(byte) % TOKENS.len()];
                data.splice(at..at, token.iter().copied());
            }
            _ => {}
        }
    }
    data
}

fn cases() -> u32 {
    std::env::var("FPX_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(600)
}

/// Runs a target on its corpus and regressions, then on generated inputs.
fn fuzz(name: &str, target: Target) {
    let mut seeds = files(&root().join("fuzz/corpus").join(name));
    let regressions = files(&root().join("fuzz/regressions").join(name));
    for (file, data) in seeds.iter().chain(&regressions) {
        if let Err(v) = target(data) {
            panic!("{file}: {v}");
        }
    }
    assert!(!seeds.is_empty(), "no seeds for {name}");
    seeds.extend(regressions);
    // A fixed seed by default, so that `cargo test` (and CI) gives the same verdict every
    // run; `FPX_FUZZ_SEED=random` explores, `FPX_FUZZ_SEED=N` replays.
    let seed: u64 = match std::env::var("FPX_FUZZ_SEED").ok().as_deref() {
        None => 0x5eed_f9c5,
        Some("random") => {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
        }
        Some(n) => n.parse().expect("FPX_FUZZ_SEED is a number or `random`"),
    };
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config { cases: cases(), failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key));
    let bodies: Vec<Vec<u8>> = seeds.into_iter().map(|(_, d)| d).collect();
    let strategy = prop_oneof![
        4 => (prop::sample::select(bodies), prop::collection::vec((any::<u8>(), any::<u16>(), any::<u8>()), 1..8))
            .prop_map(|(seed, edits)| mutate(&seed, &edits)),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ];
    let started = std::time::Instant::now();
    let result = runner.run(&strategy, |data| target(&data).map_err(|v| TestCaseError::fail(v.0)));
    if let Err(e) = result {
        panic!("fuzz target `{name}` failed (FPX_FUZZ_SEED={seed}): {e}");
    }
    eprintln!("fuzz {name}: {} generated inputs in {:.1?}", cases(), started.elapsed());
}

#[test]
fn fuzz_policy() {
    fuzz("policy", fpx::fuzz::policy);
}

#[test]
fn fuzz_jsonl() {
    fuzz("jsonl", fpx::fuzz::jsonl);
}

#[test]
fn fuzz_csv() {
    fuzz("csv", fpx::fuzz::csv);
}

#[test]
fn fuzz_kql_literals() {
    fuzz("kql_literals", fpx::fuzz::kql_literals);
}
