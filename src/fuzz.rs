//! Fuzz targets: one function per target, taking any bytes and checking what must hold for
//! every input, against models written independently of the code under test.
//!
//! - [`policy`]: policy text never makes validation panic; a valid policy compiles,
//!   builds a matcher, and its KQL, lint findings, Sigma export and summary are produced.
//! - [`jsonl`] and [`csv`]: an export through [`crate::filter::run_parallel`]. Nothing is
//!   lost (`kept + excluded == total`; every row once, kept byte for byte, in order), the
//!   output does not depend on threads or on how the input is cut into reads, rows longer
//!   than the maximum are passed through unread, and every verdict is the reference
//!   evaluator's on the row as `serde_json` (or the `csv` crate) reads it.
//! - [`kql_literals`]: values with any characters become KQL string literals that decode
//!   to exactly the values, and comments that cannot end early.
//!
//! The targets return the first property that failed instead of panicking, so that they
//! can live in the library; the drivers panic on an `Err`: `tests/fuzz.rs` (stable, proptest
//! with arbitrary bytes and a seed corpus) and `fuzz/` (cargo-fuzz, coverage-guided).

use std::collections::BTreeSet;
use std::fmt;
use std::sync::OnceLock;

use serde_json::Value;

use crate::compile::{Compiled, Selection};
use crate::event::{BatchReader, Format, read_json_row};
use crate::filter::{self, Sinks, Stats};
use crate::matcher::Matcher;
use crate::model::Policy;
use crate::reference::{self, JsonEvent};
use crate::semantics::{Cell, fold};

/// A property that did not hold, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation(pub String);

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Fails with a message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(Violation(format!($($msg)+)));
        }
    };
}

/// The day every target judges expiry on.
fn today() -> jiff::civil::Date {
    jiff::civil::date(2026, 12, 4)
}

/// Policy text: validation never panics, and a valid policy goes through every stage.
pub fn policy(data: &[u8]) -> Result<(), Violation> {
    let text = String::from_utf8_lossy(data);
    let Ok(policy) = crate::validate::load(&text) else { return Ok(()) };
    let compiled = Compiled::new(&policy, Selection { today: today(), rules: Vec::new() });
    let _ = Matcher::new(&compiled);
    for mode in [crate::kql::emit::ListMode::Inline, crate::kql::emit::ListMode::Watchlist] {
        let block = crate::kql::emit::block(&compiled, mode);
        kql_lexes(&block.text)?;
    }
    let options = crate::lint::Options { today: today(), soon_days: crate::lint::SOON_DAYS, sample: None };
    let _ = crate::lint::lint(&policy, &options);
    let _ = crate::export::sigma::export(&policy, today());
    let _ = crate::summary::model(&policy, today());
    Ok(())
}

/// The policy the event targets filter with: every kind of condition, lists and a group,
/// with short values that fuzzed rows can hit.
pub const EVENT_POLICY: &str = r#"
[policy]
name = "fuzz"
header_column = "Headers"

[lists]
senders = ["a@b.c", "*@x.y", "@staff"]
nets = ["10.0.0.0/8", "2001:db8::/32"]

[groups.staff]
address = "staff@b.c"
members = ["s?@b.c"]

[[exclusion]]
id = "by-sender"
reason = "r"
owner = "o"
sender = ["@senders"]

[[exclusion]]
id = "by-net"
reason = "r"
owner = "o"
source_ip = ["@nets", "192.0.2.7"]
direction = ["Inbound"]

[[exclusion]]
id = "by-subject"
reason = "r"
owner = "o"
subject = { contains = ["ab"], starts_with = ["[x]"], ends_with = ["z"], regex = ['^q+$', '(?i)w\.'] }

[[exclusion]]
id = "by-header"
reason = "r"
owner = "o"
header."X-A" = ["h*"]
recipient = ["*"]

[[exclusion]]
id = "by-where"
reason = "r"
owner = "o"
[[exclusion.where]]
column = "Connectors"
values = ["c?"]
"#;

struct EventPolicy {
    compiled: Compiled<'static>,
    matcher: Matcher,
}

/// The event policy, compiled once per process.
fn event_policy() -> Result<&'static EventPolicy, Violation> {
    static POLICY: OnceLock<Option<Policy>> = OnceLock::new();
    static COMPILED: OnceLock<Option<EventPolicy>> = OnceLock::new();
    let policy = POLICY.get_or_init(|| crate::validate::load(EVENT_POLICY).ok());
    let Some(policy) = policy.as_ref() else { return Err(Violation("the event policy is invalid".into())) };
    COMPILED
        .get_or_init(|| {
            let compiled = Compiled::new(policy, Selection { today: today(), rules: Vec::new() });
            Matcher::new(&compiled).ok().map(|matcher| EventPolicy { compiled, matcher })
        })
        .as_ref()
        .ok_or_else(|| Violation("the event policy does not compile".into()))
}

/// Read sizes the event targets cut the input into (the last one: the default 1 MiB).
const BLOCKS: [usize; 8] = [1, 2, 3, 5, 8, 13, 64, 1 << 20];
/// Maximum row lengths the event targets use (the first one: the default).
const MAX_ROWS: [usize; 4] = [crate::event::DEFAULT_MAX_ROW_BYTES, 300, 40, 4];

/// Everything one filter run wrote.
#[derive(Debug, PartialEq, Eq)]
struct Output {
    kept: Vec<u8>,
    excluded: Vec<u8>,
    unreadable: Vec<(u64, String)>,
    stats: Option<Stats>,
    error: Option<String>,
}

fn run_filter(
    events: &EventPolicy,
    body: &[u8],
    format: Format,
    block: usize,
    max_row: usize,
    threads: usize,
) -> Output {
    let mut kept = Vec::new();
    let mut excluded = Vec::new();
    let mut unreadable = Vec::new();
    let mut on_unreadable =
        |line: u64, e: &crate::event::RowError| unreadable.push((line, e.message.clone()));
    let input = BatchReader::new(body, format).block_size(block).max_row_bytes(max_row);
    let result = filter::run_parallel(
        &events.compiled,
        &events.matcher,
        input,
        format,
        Sinks { kept: &mut kept, excluded: Some(&mut excluded), unreadable: &mut on_unreadable },
        threads,
    );
    let (stats, error) = match result {
        Ok(s) => (Some(s), None),
        Err(
            filter::FilterError::Read(e)
            | filter::FilterError::Write(e)
            | filter::FilterError::WriteExcluded(e),
        ) => (None, Some(e.to_string())),
    };
    Output { kept, excluded, unreadable, stats, error }
}

/// Where two runs' outputs first differ, in words.
fn first_difference(a: &Output, b: &Output) -> String {
    let bytes = |name: &str, x: &[u8], y: &[u8]| {
        let at = x.iter().zip(y).position(|(p, q)| p != q).unwrap_or(x.len().min(y.len()));
        let around = |v: &[u8]| {
            String::from_utf8_lossy(v.get(at.saturating_sub(20)..(at + 20).min(v.len())).unwrap_or_default())
                .into_owned()
        };
        format!(
            "{name} differs at byte {at} ({} vs {} bytes): {:?} vs {:?}",
            x.len(),
            y.len(),
            around(x),
            around(y)
        )
    };
    if a.kept != b.kept {
        bytes("kept", &a.kept, &b.kept)
    } else if a.excluded != b.excluded {
        bytes("excluded", &a.excluded, &b.excluded)
    } else {
        format!(
            "unreadable {:?} vs {:?}; stats {:?} vs {:?}; error {:?} vs {:?}",
            a.unreadable, b.unreadable, a.stats, b.stats, a.error, b.error
        )
    }
}

/// The options byte of an event input: bits 0–2 the read size ([`BLOCKS`]), bits 3–4 the
/// maximum row length ([`MAX_ROWS`]), bit 5 two threads instead of one.
fn options(data: &[u8]) -> (usize, usize, usize, &[u8]) {
    let Some((&o, body)) = data.split_first() else { return (1 << 20, MAX_ROWS[0], 1, data) };
    let block = BLOCKS.get(usize::from(o & 7)).copied().unwrap_or(1 << 20);
    let max_row = MAX_ROWS.get(usize::from((o >> 3) & 3)).copied().unwrap_or(MAX_ROWS[0]);
    let threads = 1 + usize::from((o >> 5) & 1);
    (block, max_row, threads, body)
}

/// One excluded line: `{"line", "exclusions", "row"}`.
struct ExcludedLine {
    line: u64,
    exclusions: Vec<String>,
    row: Value,
}

fn excluded_lines(out: &[u8]) -> Result<Vec<ExcludedLine>, Violation> {
    let mut lines = Vec::new();
    ensure!(out.is_empty() || out.ends_with(b"\n"), "the excluded output does not end with a newline");
    for l in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: Value = serde_json::from_slice(l).map_err(|e| {
            Violation(format!("an excluded line is not JSON ({e}): {}", String::from_utf8_lossy(l)))
        })?;
        let line = v.get("line").and_then(Value::as_u64);
        let exclusions: Option<Vec<String>> = v
            .get("exclusions")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect());
        let row = v.get("row").cloned();
        match (line, exclusions, row) {
            (Some(line), Some(exclusions), Some(row)) if row.is_object() => {
                lines.push(ExcludedLine { line, exclusions, row })
            }
            _ => return Err(Violation(format!("malformed excluded line: {v}"))),
        }
    }
    Ok(lines)
}

/// A row as the model sees it: its first line, its bytes (terminator included).
struct ModelRow<'a> {
    line: u64,
    raw: &'a [u8],
}

/// Checks one run against the model's rows: counts, each row exactly once, kept bytes in
/// order, increasing line numbers, and over-long rows unread.
fn check_nothing_lost(
    out: &Output,
    rows: &[ModelRow<'_>],
    prefix: &[u8],
    max_row: usize,
) -> Result<(Vec<ExcludedLine>, Stats), Violation> {
    ensure!(out.error.is_none(), "the run failed: {:?}", out.error);
    let Some(stats) = out.stats.clone() else { return Err(Violation("no stats".into())) };
    ensure!(stats.total == stats.kept + stats.excluded, "total {} != kept + excluded", stats.total);
    ensure!(stats.total == rows.len() as u64, "total {} but the input has {} rows", stats.total, rows.len());
    ensure!(stats.unreadable == out.unreadable.len() as u64, "unreadable count differs from the reports");
    ensure!(stats.unreadable <= stats.kept, "more unreadable rows than kept rows");
    let excluded = excluded_lines(&out.excluded)?;
    ensure!(
        excluded.len() as u64 == stats.excluded,
        "{} excluded lines for {} excluded",
        excluded.len(),
        stats.excluded
    );
    let mut hits = 0;
    for e in &excluded {
        hits += e.exclusions.len() as u64;
    }
    ensure!(
        hits == stats.by_exclusion.iter().map(|(_, n)| n).sum::<u64>(),
        "hits by exclusion do not add up"
    );
    let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
    ensure!(lines.windows(2).all(|w| w.first() < w.get(1)), "model rows out of order");
    let excluded_set: BTreeSet<u64> = excluded.iter().map(|e| e.line).collect();
    ensure!(
        excluded.windows(2).all(|w| w.first().map(|a| a.line) < w.get(1).map(|b| b.line)),
        "excluded lines not increasing"
    );
    ensure!(excluded_set.iter().all(|l| lines.binary_search(l).is_ok()), "an excluded line is no row");
    let unread: Vec<u64> = out.unreadable.iter().map(|(l, _)| *l).collect();
    ensure!(unread.windows(2).all(|w| w.first() < w.get(1)), "unreadable lines not increasing: {unread:?}");
    ensure!(
        unread.iter().all(|l| lines.binary_search(l).is_ok() && !excluded_set.contains(l)),
        "an unreadable line is no kept row"
    );
    let mut expected = prefix.to_vec();
    for r in rows.iter().filter(|r| !excluded_set.contains(&r.line)) {
        expected.extend_from_slice(r.raw);
    }
    ensure!(
        out.kept == expected,
        "kept output is not the kept rows byte for byte:\n got {:?}\nwant {:?}",
        String::from_utf8_lossy(&out.kept),
        String::from_utf8_lossy(&expected)
    );
    let too_long =
        |l: u64| out.unreadable.iter().any(|(u, m)| *u == l && m.starts_with("row is longer than"));
    for r in rows {
        ensure!(
            too_long(r.line) == (r.raw.len() > max_row),
            "line {}: {} bytes, maximum {max_row}",
            r.line,
            r.raw.len()
        );
    }
    Ok((excluded, stats))
}

/// The text of a row as documented: no byte-order mark, no line terminator.
fn row_text(raw: &[u8]) -> &[u8] {
    let raw = raw.strip_prefix(crate::event::BOM).unwrap_or(raw);
    let end = raw.iter().rposition(|b| !matches!(b, b'\n' | b'\r')).map_or(0, |i| i + 1);
    raw.get(..end).unwrap_or_default()
}

fn ids(compiled: &Compiled<'_>, hits: &[usize]) -> Vec<String> {
    hits.iter().filter_map(|&i| compiled.policy.exclusions.get(i).map(|e| e.id.to_string())).collect()
}

/// Runs the input as the options byte says, and again on one thread reading it whole: the
/// outputs must be identical.
fn run_twice(events: &EventPolicy, data: &[u8], format: Format) -> Result<(Output, usize), Violation> {
    let (block, max_row, threads, body) = options(data);
    let out = run_filter(events, body, format, block, max_row, threads);
    let whole = run_filter(events, body, format, 1 << 20, max_row, 1);
    if out != whole {
        return Err(Violation(format!(
            "reading {block} bytes at a time on {threads} threads differs from one read on one thread: {}",
            first_difference(&out, &whole)
        )));
    }
    Ok((out, max_row))
}

/// JSON Lines bytes (after one options byte): nothing lost, and every verdict the reference
/// evaluator's on the row as `serde_json` reads it.
pub fn jsonl(data: &[u8]) -> Result<(), Violation> {
    let events = event_policy()?;
    let (out, max_row) = run_twice(events, data, Format::Jsonl)?;
    let body = options(data).3;
    // The model: lines split at `\n`; a line of only whitespace (after the file's
    // byte-order mark) is no row unless it is too long to read.
    let mut rows = Vec::new();
    for (i, raw) in body.split_inclusive(|&b| b == b'\n').enumerate() {
        let content = if i == 0 { raw.strip_prefix(crate::event::BOM).unwrap_or(raw) } else { raw };
        if raw.len() > max_row || !content.iter().all(u8::is_ascii_whitespace) {
            rows.push(ModelRow { line: i as u64 + 1, raw });
        }
    }
    let (excluded, _) = check_nothing_lost(&out, &rows, b"", max_row)?;
    let layout = events.matcher.layout();
    for r in rows.iter().filter(|r| r.raw.len() <= max_row) {
        let unreadable = out.unreadable.iter().any(|(l, _)| *l == r.line);
        let text = std::str::from_utf8(row_text(r.raw));
        let mut cells: Vec<Cell<'_>> = Vec::new();
        let readable = text.is_ok_and(|t| read_json_row(t, layout, &mut cells).is_ok());
        ensure!(
            readable != unreadable,
            "line {}: serde_json reads it: {readable}, fpx: {}",
            r.line,
            !unreadable
        );
        let Ok(text) = text else { continue };
        if !readable {
            continue;
        }
        let event = JsonEvent::parse(text).map_err(|e| {
            Violation(format!("line {}: the reference cannot read a readable row: {e}", r.line))
        })?;
        let want = ids(&events.compiled, &reference::matches(&events.compiled, &event));
        let got = excluded.iter().find(|e| e.line == r.line);
        ensure!(
            got.map(|e| e.exclusions.clone()).unwrap_or_default() == want,
            "line {}: fpx excludes by {:?}, the reference by {want:?}",
            r.line,
            got.map(|e| &e.exclusions)
        );
        if let Some(e) = got {
            let row: Value = serde_json::from_str(text).map_err(|err| Violation(err.to_string()))?;
            ensure!(e.row == row, "line {}: the excluded row is not the row", r.line);
        }
    }
    Ok(())
}

/// CSV bytes (after one options byte), header row included: nothing lost, as the `csv`
/// crate splits the records, and every verdict the reference evaluator's.
///
/// Line numbers count `\n`, so rows of a file that ends lines with `\r` alone share one:
/// rows are matched up by their order.
pub fn csv(data: &[u8]) -> Result<(), Violation> {
    let events = event_policy()?;
    let (out, max_row) = run_twice(events, data, Format::Csv)?;
    let body = options(data).3;
    // The model: the `csv` crate's records (it skips blank lines and the file's byte-order
    // mark), each with its first line and where it starts.
    let mut reader = ::csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(body);
    let mut records: Vec<(u64, usize, Vec<Vec<u8>>)> = Vec::new();
    let mut record = ::csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(|e| Violation(format!("the csv crate fails: {e}")))? {
        let (mut line, mut start) = record.position().map_or((0, 0), |p| (p.line(), p.byte() as usize));
        // The crate's position is where it started reading: before the blank lines (and the
        // `\n` of a `\r\n`) it skipped.
        while let Some(&b @ (b'\r' | b'\n')) = body.get(start) {
            line += u64::from(b == b'\n');
            start += 1;
        }
        records.push((line, start, record.iter().map(<[u8]>::to_vec).collect()));
    }
    // Each record's bytes: up to its last byte that is not a line break, and its terminator.
    let raw = |i: usize| -> &[u8] {
        let start = if i == 0 { 0 } else { records.get(i).map_or(0, |r| r.1) };
        let next = records.get(i + 1).map_or(body.len(), |r| r.1);
        let span = body.get(start..next).unwrap_or_default();
        let content = span.iter().rposition(|b| !matches!(b, b'\r' | b'\n')).map_or(0, |p| p + 1);
        let term = match span.get(content..).unwrap_or_default() {
            [b'\r', b'\n', ..] => 2,
            [] => 0,
            _ => 1,
        };
        span.get(..content + term).unwrap_or_default()
    };
    let Some((_, _, header)) = records.first() else {
        ensure!(
            out.kept.is_empty() && out.stats.as_ref().is_some_and(|s| s.total == 0),
            "rows without a header"
        );
        return Ok(());
    };
    if raw(0).len() > max_row {
        let failed = out.error.as_deref().is_some_and(|e| e.contains("header row is longer"));
        ensure!(
            failed && out.kept.is_empty(),
            "a header row longer than the maximum is read: {:?}",
            out.error
        );
        return Ok(());
    }
    ensure!(out.error.is_none(), "the run failed: {:?}", out.error);
    let Some(stats) = out.stats.clone() else { return Err(Violation("no stats".into())) };
    ensure!(stats.total == stats.kept + stats.excluded, "total {} != kept + excluded", stats.total);
    ensure!(stats.total + 1 == records.len() as u64, "total {} for {} rows", stats.total, records.len() - 1);
    ensure!(stats.unreadable == out.unreadable.len() as u64, "unreadable count differs from the reports");
    // What the model expects of each row: unreadable (and why), or the reference's verdict.
    let names: Vec<String> = header.iter().map(|n| String::from_utf8_lossy(n).trim().to_string()).collect();
    let layout = events.matcher.layout();
    let read = |n: &String| layout.column_slot(n).is_some() || layout.header_column.as_ref() == Some(n);
    let duplicate = names.iter().enumerate().any(|(i, n)| read(n) && names.iter().take(i).any(|m| m == n));
    let mut want_excluded: Vec<(u64, Vec<String>, Value)> = Vec::new();
    let mut want_unreadable: Vec<(u64, &str)> = Vec::new();
    let mut want_kept: Vec<Vec<Vec<u8>>> = vec![header.clone()];
    for (i, (line, _, fields)) in records.iter().enumerate().skip(1) {
        let raw = raw(i);
        let why = if raw.len() > max_row {
            Some("row is longer than")
        } else if i + 1 == records.len() && ends_in_quotes(raw) {
            Some("the input ends inside a quoted field")
        } else if std::str::from_utf8(row_text(raw)).is_err() {
            Some("invalid UTF-8")
        } else if duplicate {
            Some("the header row names column")
        } else if fields.len() != names.len() {
            Some("fields where the header row has")
        } else {
            None
        };
        if let Some(why) = why {
            want_unreadable.push((*line, why));
            want_kept.push(fields.clone());
            continue;
        }
        let mut map = serde_json::Map::new();
        for (n, f) in names.iter().zip(fields) {
            map.insert(n.clone(), Value::String(String::from_utf8_lossy(f).into_owned()));
        }
        // A header named twice in the header column's object: the only other reason.
        let bag = map.get("Headers").and_then(Value::as_str).unwrap_or_default();
        if out.unreadable.iter().any(|(l, m)| l == line && m.starts_with("headers: duplicate header"))
            && (bag.matches("\"X-A\"").count() > 1 || bag.contains('\\'))
        {
            want_unreadable.push((*line, "headers: duplicate header"));
            want_kept.push(fields.clone());
            continue;
        }
        let text = Value::Object(map.clone()).to_string();
        let event = JsonEvent::parse(&text).map_err(|e| Violation(e.to_string()))?;
        let hits = ids(&events.compiled, &reference::matches(&events.compiled, &event));
        if hits.is_empty() {
            want_kept.push(fields.clone());
        } else {
            want_excluded.push((*line, hits, Value::Object(map)));
        }
    }
    let got_unreadable: Vec<(u64, &str)> = out.unreadable.iter().map(|(l, m)| (*l, m.as_str())).collect();
    ensure!(
        got_unreadable.len() == want_unreadable.len()
            && got_unreadable.iter().zip(&want_unreadable).all(|(g, w)| g.0 == w.0 && g.1.contains(w.1)),
        "unreadable rows differ:\n got {got_unreadable:?}\nwant {want_unreadable:?}"
    );
    let excluded = excluded_lines(&out.excluded)?;
    let got_excluded: Vec<(u64, Vec<String>, Value)> =
        excluded.into_iter().map(|e| (e.line, e.exclusions, e.row)).collect();
    ensure!(
        got_excluded == want_excluded,
        "excluded rows differ:\n got {got_excluded:?}\nwant {want_excluded:?}"
    );
    // The kept output, read again, is the header and the kept rows; it has no byte the input
    // does not have, in the same order.
    let mut again =
        ::csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(out.kept.as_slice());
    let mut kept_records = Vec::new();
    while again.read_byte_record(&mut record).map_err(|e| Violation(e.to_string()))? {
        kept_records.push(record.iter().map(<[u8]>::to_vec).collect::<Vec<_>>());
    }
    ensure!(
        kept_records == want_kept,
        "the kept output reads as other records:\n got {kept_records:?}\nwant {want_kept:?}"
    );
    ensure!(is_subsequence(&out.kept, body), "the kept output has bytes the input does not");
    Ok(())
}

/// Whether a last row is cut inside a quoted field: the `csv` crate reads no more records
/// in it and a line more than in it alone. The row is read after a line of its own, as in
/// the file: the crate drops a byte-order mark at the start of its input only.
fn ends_in_quotes(raw: &[u8]) -> bool {
    let count = |tail: &[u8]| {
        let bytes = [b"p\n", raw, tail].concat();
        ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes.as_slice())
            .byte_records()
            .count()
    };
    count(b"\nx") == count(b"")
}

/// Whether `a` is `b` with some bytes left out.
fn is_subsequence(a: &[u8], b: &[u8]) -> bool {
    let mut it = b.iter();
    a.iter().all(|x| it.any(|y| y == x))
}

/// Values with any characters, cut from `data` at `0xFF` bytes (never UTF-8).
fn values(data: &[u8]) -> Vec<String> {
    data.split(|&b| b == 0xFF)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .filter(|v| !v.trim().is_empty())
        .take(8)
        .collect()
}

/// A TOML basic string (usable as a key too) for any text.
pub fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Values with any characters: every one is a KQL string literal that decodes to exactly
/// the value, and the query lexes with no literal or comment ending early.
pub fn kql_literals(data: &[u8]) -> Result<(), Violation> {
    let vs = values(data);
    if vs.is_empty() {
        return Ok(());
    }
    let list =
        |f: &dyn Fn(&String) -> String| vs.iter().map(|v| toml_str(&f(v))).collect::<Vec<_>>().join(", ");
    let literal = |v: &String| if v.starts_with('@') { format!("@{v}") } else { v.clone() };
    let header = |v: &String| {
        let h: String = v.chars().filter(|c| !c.is_control() && *c != ':').collect();
        if h.trim().is_empty() { "X".to_string() } else { h }
    };
    let first = vs.first().cloned().unwrap_or_default();
    let text = format!(
        "[policy]\nname = \"fuzz\"\nheader_column = \"Headers\"\n\n[[exclusion]]\nid = \"e\"\nreason = {r}\nowner = {r}\nticket = {r}\n\
         subject = {{ contains = [{c}], equals = [{c}], starts_with = [{c}], ends_with = [{c}], regex = [{re}] }}\n\
         header.{h} = {{ equals = [{c}] }}\n",
        r = toml_str(&first),
        c = list(&literal),
        re = list(&|v| literal(&regex_syntax::escape(v))),
        h = toml_str(&header(&first)),
    );
    let policy = crate::validate::load(&text)
        .map_err(|d| Violation(format!("generated policy invalid: {d:?}\n{text}")))?;
    let compiled = Compiled::new(&policy, Selection { today: today(), rules: Vec::new() });
    let block = crate::kql::emit::block(&compiled, crate::kql::emit::ListMode::Inline);
    let literals = kql_lexes(&block.text)?;
    for v in &vs {
        for want in [fold(v).into_owned(), regex_syntax::escape(v)] {
            ensure!(literals.contains(&want), "{want:?} is not a literal of:\n{}", block.text);
        }
    }
    ensure!(literals.contains(&header(&first)), "the header name is not a literal");
    Ok(())
}

/// Lexes KQL as far as literals and comments go, independently of the emitter: every string
/// literal closes on its line with known escapes, `//` comments run to the end of a line.
/// Returns the decoded string literals.
fn kql_lexes(text: &str) -> Result<Vec<String>, Violation> {
    let mut literals = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                    ensure!(
                        !c.is_control()
                            && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'),
                        "a comment holds {c:?}"
                    );
                }
            }
            '"' | '\'' => {
                let quote = c;
                let mut value = String::new();
                loop {
                    let Some(c) = chars.next() else {
                        return Err(Violation("a literal does not close".into()));
                    };
                    match c {
                        c if c == quote => break,
                        '\n' | '\r' => return Err(Violation("a line break in a literal".into())),
                        '\\' => match chars.next() {
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            Some('\'') => value.push('\''),
                            Some('n') => value.push('\n'),
                            Some('r') => value.push('\r'),
                            Some('t') => value.push('\t'),
                            Some('u') => {
                                let hex: String = chars.by_ref().take(4).collect();
                                let ch = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                                let Some(ch) = ch else {
                                    return Err(Violation(format!("bad escape \\u{hex}")));
                                };
                                value.push(ch);
                            }
                            other => return Err(Violation(format!("unknown escape {other:?}"))),
                        },
                        c => value.push(c),
                    }
                }
                literals.push(value);
            }
            '@' if matches!(chars.peek(), Some('"' | '\'')) => {
                return Err(Violation("a verbatim literal".into()));
            }
            _ => {}
        }
    }
    Ok(literals)
}
