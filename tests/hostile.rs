//! Hostile input: each fixture in `tests/hostile/` (and the large ones generated here) with
//! its outcome, a coded error or a documented pass-through (README, "Hostile input").
//!
//! Every event fixture is filtered by the binary (exit status, messages, the kept bytes,
//! the excluded lines, the counts), and also fed to the fuzz targets with every read size,
//! maximum row length and thread count, which check that nothing is lost and that every
//! verdict is the reference evaluator's.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use fpx::event::{BatchReader, Format};
use serde_json::Value;

use crate::common::{TODAY, fpx, path, tempdir};

/// The fuzz targets' event policy (`fpx::fuzz::EVENT_POLICY`): every kind of condition.
const POLICY: &str = "tests/hostile/policy.toml";

#[test]
fn the_fixture_policy_is_the_fuzz_policy() {
    assert_eq!(crate::common::read(POLICY), fpx::fuzz::EVENT_POLICY);
}

struct Filtered {
    code: i32,
    kept: Vec<u8>,
    excluded: Vec<Value>,
    stats: Value,
    stderr: String,
}

fn filter_with(policy: &str, input: &Path, extra: &[&str]) -> Filtered {
    let dir = tempdir(&format!("hostile-{}", input.file_name().unwrap().to_string_lossy()));
    let (ex, st) = (dir.join("excluded.jsonl"), dir.join("stats.json"));
    let (ex_s, st_s, in_s) =
        (ex.display().to_string(), st.display().to_string(), input.display().to_string());
    let mut args =
        vec!["filter", "--policy", policy, "--today", TODAY, "--excluded", &ex_s, "--stats", &st_s];
    args.extend_from_slice(extra);
    args.push(&in_s);
    let run = fpx(&args);
    let excluded = std::fs::read_to_string(&ex)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("an excluded line is JSON"))
        .collect();
    let stats = std::fs::read_to_string(&st).map_or(Value::Null, |s| serde_json::from_str(&s).unwrap());
    Filtered { code: run.code, kept: run.stdout, excluded, stats, stderr: run.stderr }
}

/// What a fixture must give: excluded rows (line, exclusion), unreadable rows (line, part of
/// the message), and the kept output byte for byte.
struct Expect<'a> {
    excluded: &'a [(u64, &'a str)],
    unreadable: &'a [(u64, &'a str)],
    kept: &'a [u8],
}

fn check(policy: &str, fixture: &str, want: Expect<'_>) -> Filtered {
    let input = path(fixture);
    let f = filter_with(policy, &input, &[]);
    assert_eq!(f.code, 0, "{fixture}: {}", f.stderr);
    let n = |k: &str| f.stats[k].as_u64().unwrap();
    assert_eq!(n("total"), n("kept") + n("excluded"), "{fixture}: {}", f.stats);
    assert_eq!(n("excluded"), want.excluded.len() as u64, "{fixture}: {}", f.stats);
    assert_eq!(n("unreadable"), want.unreadable.len() as u64, "{fixture}: {}", f.stderr);
    let got: Vec<(u64, String)> = f
        .excluded
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["exclusions"][0].as_str().unwrap().to_string()))
        .collect();
    let expected: Vec<(u64, String)> = want.excluded.iter().map(|(l, e)| (*l, e.to_string())).collect();
    assert_eq!(got, expected, "{fixture}");
    for (line, message) in want.unreadable {
        assert!(
            f.stderr.contains(&format!("line {line}: ")),
            "{fixture}: line {line} reported:\n{}",
            f.stderr
        );
        let reported = f.stderr.lines().find(|l| l.contains(&format!("line {line}: "))).unwrap();
        assert!(reported.contains(message), "{fixture}: line {line}: {reported}");
    }
    assert!(
        f.kept == want.kept,
        "{fixture}: kept\n{:?}\nwant\n{:?}",
        String::from_utf8_lossy(&f.kept),
        String::from_utf8_lossy(want.kept)
    );
    // Every read size, maximum row length and thread count, against the models.
    let bytes = std::fs::read(&input).unwrap();
    if policy == POLICY {
        let target = if fixture.ends_with(".csv") { fpx::fuzz::csv } else { fpx::fuzz::jsonl };
        for options in 0..64u8 {
            let mut data = vec![options];
            data.extend_from_slice(&bytes);
            if let Err(v) = target(&data) {
                panic!("{fixture} with options byte {options:#04x}: {v}");
            }
        }
    }
    f
}

#[test]
fn invalid_utf8_rows_are_kept_unread() {
    check(
        POLICY,
        "tests/hostile/invalid-utf8.jsonl",
        Expect {
            excluded: &[(1, "by-sender")],
            // Invalid UTF-8 anywhere in a row, even in a column the policy does not read.
            unreadable: &[(2, "invalid UTF-8 at byte 16"), (3, "invalid UTF-8 at byte 11")],
            kept: b"{\"Subject\":\"caf\xe9 ab\"}\n{\"Other\":\"\xff\xfe\",\"SenderFromAddress\":\"a@b.c\"}\n{\"SenderFromAddress\":\"x@y.z\"}\n",
        },
    );
    check(
        POLICY,
        "tests/hostile/invalid-utf8.csv",
        Expect {
            excluded: &[(2, "by-sender")],
            unreadable: &[(3, "invalid UTF-8"), (4, "invalid UTF-8")],
            kept: b"SenderFromAddress,Subject\nx@y.z,caf\xe9 ab\n\xff,x\nx@y.z,ok\n",
        },
    );
}

#[test]
fn a_byte_order_mark_is_read_past_and_kept() {
    check(
        POLICY,
        "tests/hostile/bom.jsonl",
        Expect {
            excluded: &[(2, "by-sender")],
            unreadable: &[],
            kept: b"\xef\xbb\xbf{\"SenderFromAddress\":\"x@y.z\"}\n",
        },
    );
    let f = check(
        POLICY,
        "tests/hostile/bom.csv",
        Expect {
            excluded: &[(3, "by-sender")],
            unreadable: &[],
            kept: b"\xef\xbb\xbfSenderFromAddress,Subject\nx@y.z,x\n",
        },
    );
    // The first column's name is read without the mark.
    assert!(f.excluded[0]["row"].get("SenderFromAddress").is_some(), "{:?}", f.excluded);
}

#[test]
fn crlf_rows_are_read_and_kept_with_their_line_ends() {
    check(
        POLICY,
        "tests/hostile/crlf.jsonl",
        Expect {
            excluded: &[(1, "by-sender"), (4, "by-subject")],
            unreadable: &[],
            kept: b"{\"SenderFromAddress\":\"x@y.z\"}\r\n",
        },
    );
    let f = check(
        POLICY,
        "tests/hostile/crlf.csv",
        Expect {
            excluded: &[(2, "by-sender"), (6, "by-subject")],
            unreadable: &[],
            kept: b"SenderFromAddress,Subject\r\nx@y.z,\"two\r\nlines\"\r\n",
        },
    );
    assert_eq!(f.excluded[1]["row"]["Subject"], "ab");
}

#[test]
fn deeply_nested_rows_are_kept_unread() {
    check(
        POLICY,
        "tests/hostile/deep-nesting.jsonl",
        Expect {
            // 100 levels (the object and 99 arrays) are read; deeper rows are not, whether
            // or not the policy reads the deep column.
            excluded: &[(1, "by-subject"), (4, "by-subject")],
            unreadable: &[(2, "nested more than 100 levels deep"), (3, "nested more than 100 levels deep")],
            kept: &std::fs::read(path("tests/hostile/deep-nesting.jsonl"))
                .unwrap()
                .split_inclusive(|&b| b == b'\n')
                .skip(1)
                .take(2)
                .flatten()
                .copied()
                .collect::<Vec<u8>>(),
        },
    );
}

#[test]
fn duplicate_keys_fpx_reads_make_a_row_unreadable() {
    check(
        POLICY,
        "tests/hostile/duplicate-keys.jsonl",
        Expect {
            // A duplicate of a column fpx does not read is not looked at (line 2).
            excluded: &[(2, "by-sender"), (4, "by-subject")],
            unreadable: &[(1, "duplicate key `SenderFromAddress`"), (3, "headers: duplicate header `X-A`")],
            kept: b"{\"SenderFromAddress\":\"x@y.z\",\"SenderFromAddress\":\"a@b.c\"}\n{\"Headers\":{\"X-A\":\"h1\",\"X-A\":\"h2\"},\"RecipientEmailAddress\":\"r\"}\n",
        },
    );
}

#[test]
fn numbers_and_booleans_are_compared_as_their_json_text() {
    check(
        "tests/hostile/numbers.toml",
        "tests/hostile/numbers.jsonl",
        Expect {
            excluded: &[(1, "number-subject"), (3, "boolean-sender")],
            unreadable: &[],
            kept: b"{\"Subject\":12.5}\n{\"SenderFromAddress\":1e2}\n{\"Subject\":[\"12.50\"]}\n{\"Subject\":null}\n",
        },
    );
}

#[test]
fn csv_quotes_and_newlines_inside_fields() {
    let f = check(
        POLICY,
        "tests/hostile/csv-quotes.csv",
        Expect {
            excluded: &[(2, "by-sender"), (4, "by-subject")],
            unreadable: &[],
            kept: b"SenderFromAddress,Subject\r\nx@y.z,\"\"\"quoted\"\"\"\r\n",
        },
    );
    assert_eq!(f.excluded[0]["row"]["Subject"], "line one\nline \"two\", with comma");
    assert_eq!(f.excluded[1]["row"]["Subject"], "ab\r\n\r\nstill the subject");
}

#[test]
fn csv_header_rows_with_unknown_or_duplicate_columns() {
    // Columns the policy does not read are ignored, duplicates of them too.
    for fixture in
        ["tests/hostile/header-unknown-columns.csv", "tests/hostile/header-duplicate-unread-column.csv"]
    {
        let text = crate::common::read(fixture);
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        check(
            POLICY,
            fixture,
            Expect {
                excluded: &[(2, "by-sender")],
                unreadable: &[],
                kept: format!("{}{}", lines[0], lines[2]).as_bytes(),
            },
        );
    }
    // A column the policy reads, named twice: no row can be read, and every one is kept.
    check(
        POLICY,
        "tests/hostile/header-duplicate-column.csv",
        Expect {
            excluded: &[],
            unreadable: &[
                (2, "the header row names column `SenderFromAddress` twice"),
                (3, "the header row names column `SenderFromAddress` twice"),
            ],
            kept: &std::fs::read(path("tests/hostile/header-duplicate-column.csv")).unwrap(),
        },
    );
}

#[test]
fn a_truncated_last_row_is_kept_unread() {
    check(
        POLICY,
        "tests/hostile/truncated.jsonl",
        Expect {
            excluded: &[(1, "by-sender")],
            unreadable: &[(2, "EOF while parsing")],
            kept: b"{\"SenderFromAddress\":\"a@b.c\",\"Subj",
        },
    );
    // csv-core would close the open quote at the end of the input; fpx does not judge the
    // part of a row it has.
    check(
        POLICY,
        "tests/hostile/truncated.csv",
        Expect {
            excluded: &[(2, "by-sender")],
            unreadable: &[(3, "the input ends inside a quoted field of this row")],
            kept: b"SenderFromAddress,Subject\na@b.c,\"unterminated\nsubject",
        },
    );
}

#[test]
fn an_empty_file_has_no_rows() {
    for fixture in ["tests/hostile/empty.jsonl", "tests/hostile/empty.csv"] {
        let f = check(POLICY, fixture, Expect { excluded: &[], unreadable: &[], kept: b"" });
        assert_eq!(f.stats["total"], 0);
        assert!(f.stderr.contains("0 rows: 0 kept, 0 excluded, 0 unreadable"), "{}", f.stderr);
    }
}

#[test]
fn a_policy_that_references_itself_is_a_coded_error() {
    let run = fpx(&["check", "tests/bad/reference-cycle.toml"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("error[reference-cycle]"), "{}", run.stderr);
}

/// A policy with one exclusion whose condition is `condition` (TOML).
fn one_exclusion(dir: &Path, condition: &str) -> PathBuf {
    let p = dir.join("policy.toml");
    std::fs::write(&p, format!("[policy]\nname = \"big\"\n\n[[exclusion]]\nid = \"big\"\nreason = \"r\"\nowner = \"o\"\n{condition}\n"))
        .unwrap();
    p
}

#[test]
fn a_policy_value_of_one_megabyte() {
    let dir = tempdir("big-value");
    let value = "b".repeat(1 << 20);
    // Text values of any length are accepted and matched (Aho-Corasick, hashing: linear).
    let policy = one_exclusion(&dir, &format!("subject.contains = [\"{value}\"]"));
    let events = dir.join("events.jsonl");
    std::fs::write(&events, format!("{{\"Subject\":\"x{value}y\"}}\n{{\"Subject\":\"x{}\"}}\n", &value[1..]))
        .unwrap();
    let f = filter_with(&policy.display().to_string(), &events, &[]);
    assert_eq!(f.code, 0, "{}", f.stderr);
    assert_eq!(f.stats["excluded"], 1);
    assert_eq!(f.stats["kept"], 1);
    // A pattern (regex or glob) longer than 256 KiB is refused before it is parsed.
    for (condition, code) in [
        (format!("subject.regex = [\"{value}\"]"), "invalid-regex"),
        (format!("subject = [\"a?{value}\"]"), "invalid-glob"),
    ] {
        let policy = one_exclusion(&dir, &condition);
        let run = fpx(&["check", &policy.display().to_string()]);
        assert_eq!(run.code, 1);
        assert!(run.stderr.contains(&format!("error[{code}]")), "{}", &run.stderr[..200]);
        assert!(run.stderr.contains("pattern is longer than 256 KiB"), "{}", &run.stderr[..200]);
    }
}

#[test]
fn patterns_that_explode_backtracking_engines_run_in_linear_time() {
    // Rust's regex guarantees time linear in the subject: 100 KB near misses of `^(a+)+$`,
    // `(a|a)*b`, `(.*a){20}x`, `^(a|aa)+$` and a glob of 1,000 stars between letters finish
    // like any other row (a backtracking engine would not finish).
    let dir = tempdir("redos");
    let near_miss = format!("{}!", "a".repeat(100_000));
    let events = dir.join("events.jsonl");
    std::fs::write(
        &events,
        format!(
            "{{\"Subject\":\"{near_miss}\",\"SenderFromAddress\":\"{}\"}}\n{{\"Subject\":\"aaa\",\"SenderFromAddress\":\"{}\"}}\n",
            "a".repeat(1000),
            "a".repeat(1001)
        ),
    )
    .unwrap();
    let f = filter_with("tests/hostile/redos.toml", &events, &[]);
    assert_eq!(f.code, 0, "{}", f.stderr);
    assert_eq!(f.stats["by_exclusion"]["nested-plus"], 1, "{}", f.stats);
    assert_eq!(f.excluded[0]["line"], 2);
    // 1,000 stars in a row are one `*`: any non-empty subject. 1,000 stars between 1,001
    // letters need at least 1,001 letters.
    let f = filter_with("tests/hostile/many-stars.toml", &events, &[]);
    assert_eq!(f.code, 0, "{}", f.stderr);
    assert_eq!(f.stats["by_exclusion"], serde_json::json!({"stars-only": 2, "stars-between": 1}));
}

/// A reader of `head`, then `left` bytes of `fill`, then `tail`, made as it is read.
struct Generated {
    head: Vec<u8>,
    fill: u8,
    left: u64,
    tail: Vec<u8>,
}

impl Generated {
    fn new(head: &[u8], fill: u8, left: u64, tail: &[u8]) -> Generated {
        Generated { head: head.to_vec(), fill, left, tail: tail.to_vec() }
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let part = if !self.head.is_empty() {
            &mut self.head
        } else if self.left > 0 {
            let n = self.left.min(buf.len() as u64) as usize;
            buf[..n].fill(self.fill);
            self.left -= n as u64;
            return Ok(n);
        } else {
            &mut self.tail
        };
        let n = part.len().min(buf.len());
        buf[..n].copy_from_slice(&part[..n]);
        part.drain(..n);
        Ok(n)
    }
}

#[test]
fn an_over_long_row_is_never_held_whole() {
    // 100 MB in one row, made as it is read: the reader hands it out in pieces, never
    // holding more than the maximum row length and two reads.
    const MAX: usize = 1 << 20;
    let len = 100_000_000u64;
    for (format, head, tail) in [
        (Format::Jsonl, &b"{\"Subject\":\"ab\"}\n{\"Subject\":\""[..], &b"\"}\n{\"Subject\":\"cd\"}\n"[..]),
        (Format::Csv, &b"Subject,Other\r\nab,1\r\n\"x"[..], &b"\"\"\r\n\",2\r\ncd,3\r\n"[..]),
    ] {
        let mut reader = BatchReader::new(Generated::new(head, b'a', len, tail), format).max_row_bytes(MAX);
        let (mut pieces, mut bytes, mut most, mut rows) = (0, 0u64, 0usize, Vec::new());
        while let Some(batch) = reader.next_batch().unwrap() {
            most = most.max(batch.data.capacity());
            for r in &batch.records {
                match r.part {
                    fpx::event::Part::More => pieces += 1,
                    part => rows.push((r.line, part)),
                }
                bytes += batch.raw(r).len() as u64;
            }
            reader.recycle(batch);
        }
        use fpx::event::Part::{Row, TooLong};
        let header_lines = u64::from(format == Format::Csv);
        assert_eq!(
            rows,
            [
                (1 + header_lines, Row),
                (2 + header_lines, TooLong),
                (3 + header_lines + u64::from(format == Format::Csv), Row)
            ],
            "{format:?}"
        );
        assert!(pieces > 90, "{format:?}: the long row came in {pieces} pieces");
        assert!(most <= 2 * MAX + 4 * (1 << 20), "{format:?}: a batch held {most} bytes");
        let header = if format == Format::Csv { b"Subject,Other\r\n".len() as u64 } else { 0 };
        assert_eq!(
            bytes + header,
            head.len() as u64 + len + tail.len() as u64,
            "{format:?}: every byte once"
        );
    }
}

/// Runs `fpx filter` on `input` with stdout collected, sampling the child's peak memory
/// (`VmHWM` in `/proc/<pid>/status`) while it runs: (stdout, stderr, status, peak KiB).
fn filter_measured(input: &Path, extra: &[&str]) -> (Vec<u8>, String, i32, Option<u64>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fpx"))
        .args(["filter", "--policy", POLICY, "--today", TODAY])
        .args(extra)
        .arg(input)
        .current_dir(crate::common::root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).unwrap();
        out
    });
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).unwrap();
        s
    });
    let mut peak = None;
    let code = loop {
        if let Some(hwm) = std::fs::read_to_string(&status_file).ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        }) {
            peak = Some(peak.unwrap_or(0).max(hwm));
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    (reader.join().unwrap(), err_reader.join().unwrap(), code, peak)
}

#[test]
fn a_100_megabyte_line_is_passed_through_in_bounded_memory() {
    let dir = tempdir("100mb");
    let long = format!("{{\"SenderFromAddress\":\"a@b.c\",\"Subject\":\"{}\"}}\n", "a".repeat(100_000_000));
    let jsonl = dir.join("long.jsonl");
    std::fs::write(&jsonl, format!("{{\"SenderFromAddress\":\"a@b.c\"}}\n{long}{{\"Subject\":\"ab\"}}\n"))
        .unwrap();
    let (kept, stderr, code, peak) = filter_measured(&jsonl, &["--max-line-bytes", "1048576"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(kept == long.as_bytes(), "the long row is kept byte for byte ({} bytes kept)", kept.len());
    assert!(stderr.contains("line 2: row is longer than 1048576 bytes; row kept unread"), "{stderr}");
    assert!(stderr.contains("3 rows: 1 kept, 2 excluded, 1 unreadable"), "{stderr}");
    if let Some(kib) = peak {
        assert!(kib < 64 * 1024, "fpx peaked at {kib} KiB for a 100 MB row");
    }
    drop((kept, long));

    // CSV: a quoted field of 100 MB with line breaks and doubled quotes.
    let field = "ab\"\"\r\n".repeat(16_000_000);
    let csv = dir.join("long.csv");
    let row = format!("x@y.z,\"{field}\"\r\n");
    std::fs::write(&csv, format!("SenderFromAddress,Subject\r\n{row}a@b.c,x\r\n")).unwrap();
    let (kept, stderr, code, peak) =
        filter_measured(&csv, &["--max-line-bytes", "1048576", "--threads", "2"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(kept == format!("SenderFromAddress,Subject\r\n{row}").as_bytes(), "{} bytes kept", kept.len());
    assert!(stderr.contains("line 2: row is longer than 1048576 bytes"), "{stderr}");
    assert!(stderr.contains("2 rows: 1 kept, 1 excluded, 1 unreadable"), "{stderr}");
    if let Some(kib) = peak {
        assert!(kib < 64 * 1024, "fpx peaked at {kib} KiB for a 100 MB row");
    }
}
