#![no_main]
//! `fpx::fuzz::jsonl` under libFuzzer: a violated property is a crash.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(v) = fpx::fuzz::jsonl(data) {
        panic!("{v}");
    }
});
