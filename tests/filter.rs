//! `fpx filter` end to end: the seed scenarios over JSON Lines and CSV exports, near
//! misses, unreadable rows, and counts that add up.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::{TODAY, fpx, fpx_with_stdin, path, read, tempdir};

const POLICY: &str = "policies/bulk-email-fp.toml";

struct Filtered {
    kept: Vec<u8>,
    excluded: Vec<Value>,
    stats: Value,
    stderr: String,
    code: i32,
}

fn filter(args: &[&str], input: &str) -> Filtered {
    let dir = tempdir(&format!("filter-{}", input.replace(['/', '.'], "-")));
    let ex = dir.join("excluded.jsonl");
    let st = dir.join("stats.json");
    let mut all = vec!["filter", "--policy", POLICY, "--today", TODAY];
    all.extend_from_slice(args);
    let (ex_s, st_s) = (ex.to_string_lossy().into_owned(), st.to_string_lossy().into_owned());
    all.extend_from_slice(&["--excluded", &ex_s, "--stats", &st_s, input]);
    let run = fpx(&all);
    let excluded = std::fs::read_to_string(&ex)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("excluded line is JSON"))
        .collect();
    let stats =
        serde_json::from_str(&std::fs::read_to_string(&st).unwrap_or_else(|_| "null".into())).unwrap();
    Filtered { kept: run.stdout, excluded, stats, stderr: run.stderr, code: run.code }
}

/// `hit-<exclusion>-<n>` → the exclusion; `miss-…` → None.
fn expected_exclusion(message_id: &str) -> Option<String> {
    let rest = message_id.strip_prefix("hit-")?;
    Some(rest.rsplit_once('-').unwrap().0.to_string())
}

fn check_stats_add_up(stats: &Value) {
    let n = |k: &str| stats[k].as_u64().unwrap();
    assert_eq!(n("total"), n("kept") + n("excluded"), "{stats}");
    assert!(n("unreadable") <= n("kept"));
}

#[test]
fn jsonl_export_excludes_exactly_the_scenario_rows() {
    let f = filter(&[], "tests/data/bulk-email.jsonl");
    assert_eq!(f.code, 0, "{}", f.stderr);
    let input = read("tests/data/bulk-email.jsonl");
    let lines: Vec<&str> = input.lines().collect();

    // Kept rows are the input's `miss-` rows, byte for byte and in order.
    let expected_kept: String =
        input.split_inclusive('\n').filter(|l| l.contains("\"NetworkMessageId\":\"miss-")).collect();
    assert_eq!(String::from_utf8(f.kept).unwrap(), expected_kept);

    // Every `hit-` row is excluded by the exclusion its id names, with its line number.
    let hits: Vec<(usize, &str)> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("\"NetworkMessageId\":\"hit-"))
        .map(|(i, l)| (i + 1, *l))
        .collect();
    assert_eq!(f.excluded.len(), hits.len());
    for (ex, (line, text)) in f.excluded.iter().zip(&hits) {
        assert_eq!(ex["line"].as_u64().unwrap() as usize, *line);
        let row: Value = serde_json::from_str(text).unwrap();
        assert_eq!(ex["row"], row);
        let id = row["NetworkMessageId"].as_str().unwrap();
        assert_eq!(ex["exclusions"], serde_json::json!([expected_exclusion(id).unwrap()]), "{id}");
    }

    check_stats_add_up(&f.stats);
    assert_eq!(f.stats["total"], lines.len());
    assert_eq!(f.stats["excluded"], hits.len());
    assert_eq!(f.stats["unreadable"], 0);
    assert_eq!(f.stats["inactive"], serde_json::json!(["legacy-newsletter"]));
    assert_eq!(f.stats["out_of_scope"], serde_json::json!([]));
    let mut by: BTreeMap<String, u64> = BTreeMap::new();
    for (_, text) in &hits {
        let row: Value = serde_json::from_str(text).unwrap();
        *by.entry(expected_exclusion(row["NetworkMessageId"].as_str().unwrap()).unwrap()).or_default() += 1;
    }
    let by_stats: BTreeMap<String, u64> = serde_json::from_value(f.stats["by_exclusion"].clone()).unwrap();
    assert_eq!(by_stats, by);
    assert!(f.stderr.contains("exclusion `legacy-newsletter` expired on 2026-06-30"), "{}", f.stderr);
}

#[test]
fn csv_export_gives_the_same_verdicts_with_the_header_kept() {
    let csv_f = filter(&[], "tests/data/bulk-email.csv");
    let json_f = filter(&[], "tests/data/bulk-email.jsonl");
    assert_eq!(csv_f.code, 0, "{}", csv_f.stderr);
    assert_eq!(csv_f.stats, json_f.stats);

    let input = read("tests/data/bulk-email.csv");
    let expected: String = input
        .split_inclusive("\r\n")
        .enumerate()
        .filter(|(i, l)| *i == 0 || l.contains(",miss-"))
        .map(|(_, l)| l)
        .collect();
    assert_eq!(String::from_utf8(csv_f.kept).unwrap(), expected, "kept rows byte for byte, header first");

    for (c, j) in csv_f.excluded.iter().zip(&json_f.excluded) {
        // The CSV header is line 1, so each row is one line further down.
        assert_eq!(c["line"].as_u64().unwrap(), j["line"].as_u64().unwrap() + 1);
        assert_eq!(c["exclusions"], j["exclusions"]);
        assert_eq!(c["row"]["NetworkMessageId"], j["row"]["NetworkMessageId"]);
        assert_eq!(c["row"]["SenderFromAddress"], j["row"]["SenderFromAddress"]);
    }
}

#[test]
fn stdin_is_sniffed_and_format_can_be_forced() {
    let csv = read("tests/data/bulk-email.csv");
    let run = fpx_with_stdin(&["filter", "--policy", POLICY, "--today", TODAY], csv.as_bytes());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("39 rows: 28 kept, 11 excluded, 0 unreadable"), "{}", run.stderr);
    let jsonl = read("tests/data/bulk-email.jsonl");
    let run = fpx_with_stdin(
        &["filter", "--policy", POLICY, "--today", TODAY, "--format", "jsonl", "-"],
        jsonl.as_bytes(),
    );
    assert!(run.stderr.contains("39 rows: 28 kept, 11 excluded, 0 unreadable"), "{}", run.stderr);
}

#[test]
fn unreadable_rows_are_kept_reported_and_counted() {
    let dir = tempdir("unreadable");
    let good =
        r#"{"SenderFromAddress":"reports@company.com","SenderIPv4":"10.20.30.1","NetworkMessageId":"hit"}"#;
    let mut input: Vec<u8> = Vec::new();
    input.extend_from_slice(b"\xEF\xBB\xBF");
    input.extend_from_slice(good.as_bytes());
    input.extend_from_slice(b"\r\n"); // line 1: BOM + CRLF, excluded
    input.extend_from_slice(b"{\"SenderFromAddress\": \"a@b.c\",}\n"); // 2: bad JSON
    input.extend_from_slice(b"\n"); // 3: blank, ignored
    input.extend_from_slice(b"[1, 2, 3]\n"); // 4: not an object
    input.extend_from_slice(b"{\"Subject\": \"caf\xE9\"}\n"); // 5: invalid UTF-8
    input.extend_from_slice(b"{\"SenderFromAddress\":\"x@y.z\"}\n"); // 6: kept
    input.extend_from_slice(b"{\"SenderFromAddress\":\"a\",\"SenderFromAddress\":\"b\"}\n"); // 7: duplicate key
    input.extend_from_slice(good.as_bytes()); // 8: excluded, no terminator
    input.extend_from_slice(b"\n{\"SenderFromAddress\":\"reports@company.com\",\"SenderIPv4\":"); // 9: truncated
    let file = dir.join("events.jsonl");
    std::fs::write(&file, &input).unwrap();
    let file_s = file.to_string_lossy().into_owned();

    let f = filter(&[], &file_s);
    assert_eq!(f.code, 0, "{}", f.stderr);
    check_stats_add_up(&f.stats);
    assert_eq!(f.stats["total"], 8);
    assert_eq!(f.stats["excluded"], 2);
    assert_eq!(f.stats["unreadable"], 5);
    for line in [2, 4, 5, 7, 9] {
        assert!(f.stderr.contains(&format!("line {line}: ")), "line {line} reported:\n{}", f.stderr);
    }
    assert!(f.stderr.contains("duplicate key `SenderFromAddress`"), "{}", f.stderr);
    assert!(f.stderr.contains("invalid UTF-8"), "{}", f.stderr);
    let lines: Vec<u64> = f.excluded.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [1, 8]);
    // Kept: every unreadable row and the readable kept row, byte for byte.
    let mut expected: Vec<u8> = Vec::new();
    for part in
        input.split_inclusive(|&b| b == b'\n').enumerate().filter(|(i, _)| [1, 3, 4, 5, 6, 8].contains(i))
    {
        expected.extend_from_slice(part.1);
    }
    assert_eq!(String::from_utf8_lossy(&f.kept), String::from_utf8_lossy(&expected));
    assert_eq!(f.kept, expected);

    let strict = filter(&["--strict"], &file_s);
    assert_eq!(strict.code, 1);
}

#[test]
fn csv_quoted_newlines_keep_line_numbers_and_bytes() {
    let dir = tempdir("csv-quotes");
    let input = concat!(
        "SenderFromAddress,Subject,SenderIPv4\r\n",
        "reports@company.com,\"Nightly, \"\"quoted\"\"\nreport\",10.20.30.9\r\n",
        "alice@contoso.com,\"multi\nline\nsubject\",198.51.100.1\r\n",
        "reports@company.com,too,many,fields\r\n",
        "\r\n",
        "reports@company.com,plain,10.20.30.10"
    );
    let file = dir.join("events.csv");
    std::fs::write(&file, input).unwrap();
    let f = filter(&[], &file.to_string_lossy());
    assert_eq!(f.code, 0, "{}", f.stderr);
    check_stats_add_up(&f.stats);
    assert_eq!(f.stats["total"], 4);
    assert_eq!(f.stats["excluded"], 2);
    assert_eq!(f.stats["unreadable"], 1);
    let lines: Vec<u64> = f.excluded.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [2, 9]);
    assert_eq!(f.excluded[0]["row"]["Subject"], "Nightly, \"quoted\"\nreport");
    assert!(f.stderr.contains("line 7: 4 fields where the header row has 3"), "{}", f.stderr);
    assert_eq!(
        String::from_utf8(f.kept).unwrap(),
        concat!(
            "SenderFromAddress,Subject,SenderIPv4\r\n",
            "alice@contoso.com,\"multi\nline\nsubject\",198.51.100.1\r\n",
            "reports@company.com,too,many,fields\r\n",
        )
    );
}

#[test]
fn rule_scope_selects_exclusions() {
    let run = |rules: &[&str]| {
        let dir = tempdir(&format!("scope-{}", rules.len()));
        let st = dir.join("stats.json");
        let st_s = st.to_string_lossy().into_owned();
        let mut args = vec![
            "filter",
            "--policy",
            "policies/threat-intel-email-fp.toml",
            "--today",
            TODAY,
            "--stats",
            &st_s,
        ];
        for r in rules {
            args.extend_from_slice(&["--rule", r]);
        }
        args.push("tests/data/bulk-email.jsonl");
        let r = fpx(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let stats: Value = serde_json::from_str(&std::fs::read_to_string(&st).unwrap()).unwrap();
        stats
    };
    let all = run(&[]);
    assert_eq!(all["out_of_scope"], serde_json::json!([]));
    let domain = run(&["ti map domain entity to emailevents"]);
    assert_eq!(domain["out_of_scope"], serde_json::json!(["secops-mailbox"]));
    let email = run(&["11f7c6e3-f066-4b3c-9a81-b487ec0a6873", "TI map Email entity to EmailEvents"]);
    assert_eq!(email["out_of_scope"], serde_json::json!(["partner-connector"]));
    let other = run(&["some other rule"]);
    assert_eq!(other["by_exclusion"], serde_json::json!({}));
    assert_eq!(other["out_of_scope"].as_array().unwrap().len(), 5);
}

#[test]
fn closed_stdout_ends_quietly() {
    // Enough rows that fpx is still writing when the reader goes away.
    let row = read("tests/data/bulk-email.jsonl");
    let big: String = row.repeat(2000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_fpx"))
        .args(["filter", "--policy", POLICY, "--today", TODAY, "--format", "jsonl"])
        .current_dir(crate::common::root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(big.as_bytes());
    });
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.contains("miss-"));
    // stdout is dropped here: like `| head -1`.
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    let _ = writer.join();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn missing_input_is_a_usage_error() {
    let run = fpx(&["filter", "--policy", POLICY, "no/such/events.jsonl"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot read `no/such/events.jsonl`"), "{}", run.stderr);
    assert!(path(POLICY).exists());
}

/// Rows of the sample export with unreadable rows, blank lines and CRLF mixed in, enough of
/// them to fill many batches.
fn mixed_export() -> Vec<u8> {
    let sample = read("tests/data/bulk-email.jsonl");
    let rows: Vec<&str> = sample.lines().collect();
    let bad: [&[u8]; 6] = [
        b"{\"SenderFromAddress\": \"a@b.c\",}",
        b"[1, 2, 3]",
        b"{\"Subject\": \"caf\xE9\"}",
        b"{\"SenderFromAddress\":\"a\",\"SenderFromAddress\":\"b\"}",
        b"",
        b"{\"Headers\":{\"X-Campaign-Id\":\"a\",\"X-Campaign-Id\":\"b\"}}",
    ];
    let mut out = Vec::new();
    for i in 0..12_000usize {
        if i % 97 == 0 {
            out.extend_from_slice(bad[(i / 97) % bad.len()]);
        } else {
            out.extend_from_slice(rows[i % rows.len()].as_bytes());
        }
        out.extend_from_slice(if i % 5 == 0 { b"\r\n" } else { b"\n" });
    }
    out
}

#[test]
fn threads_do_not_change_any_output() {
    let dir = tempdir("threads");
    let jsonl = dir.join("mixed.jsonl");
    std::fs::write(&jsonl, mixed_export()).unwrap();
    // The CSV export repeated: many batches, with quoted newlines.
    let csv_text = read("tests/data/bulk-email.csv");
    let (header, body) = csv_text.split_once("\r\n").unwrap();
    let csv = dir.join("mixed.csv");
    std::fs::write(&csv, format!("{header}\r\n{}", body.repeat(400))).unwrap();
    for input in [&jsonl, &csv] {
        let run = |threads: &str| {
            let ex = dir.join(format!("ex-{threads}.jsonl"));
            let st = dir.join(format!("st-{threads}.json"));
            let (ex_s, st_s, in_s) = (
                ex.to_string_lossy().into_owned(),
                st.to_string_lossy().into_owned(),
                input.to_string_lossy().into_owned(),
            );
            let r = fpx(&[
                "filter",
                "--policy",
                POLICY,
                "--today",
                TODAY,
                "--threads",
                threads,
                "--excluded",
                &ex_s,
                "--stats",
                &st_s,
                &in_s,
            ]);
            assert_eq!(r.code, 0, "{}", r.stderr);
            (r.stdout, r.stderr, std::fs::read(ex).unwrap(), std::fs::read(st).unwrap())
        };
        let one = run("1");
        assert!(one.0.len() > 2_000_000, "several batches: {} bytes kept", one.0.len());
        for threads in ["2", "3", "8"] {
            let many = run(threads);
            assert!(one.0 == many.0, "kept rows differ with {threads} threads ({})", input.display());
            assert_eq!(one.1, many.1, "stderr differs with {threads} threads");
            assert!(one.2 == many.2, "excluded lines differ with {threads} threads");
            assert_eq!(one.3, many.3, "stats differ with {threads} threads");
        }
    }
}
