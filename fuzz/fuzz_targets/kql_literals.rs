#![no_main]
//! `fpx::fuzz::kql_literals` under libFuzzer: a violated property is a crash.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(v) = fpx::fuzz::kql_literals(data) {
        panic!("{v}");
    }
});
