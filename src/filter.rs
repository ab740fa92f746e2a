//! `fpx filter`: stream rows through the matcher, write kept rows byte for byte and
//! excluded rows with the exclusions that hit them, and count everything.
//!
//! Invariant: every row is either kept or excluded (`total == kept + excluded`); a row
//! that cannot be read is kept and counted as unreadable.

use std::io::{self, Read, Write};

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::compile::{Compiled, Status};
use crate::event::{Batch, BatchReader, CsvColumns, Format, Record, RowError, read_csv_row, read_json_row};
use crate::matcher::{Matcher, Scratch};
use crate::semantics::Cell;

/// What happened to one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Kept,
    /// Policy indices of every matching exclusion, ascending.
    Excluded(Vec<usize>),
    /// Kept because it could not be read.
    Unreadable(RowError),
}

/// The counts of a filter run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    pub total: u64,
    pub kept: u64,
    pub excluded: u64,
    /// Rows that could not be read (all of them kept).
    pub unreadable: u64,
    /// Rows matched by each active exclusion, in policy order (0 included).
    pub by_exclusion: Vec<(String, u64)>,
    /// Expired exclusions.
    pub inactive: Vec<String>,
    /// Exclusions scoped to other rules.
    pub out_of_scope: Vec<String>,
}

impl Stats {
    pub fn new(compiled: &Compiled<'_>) -> Stats {
        let ids = |s: Status| compiled.with_status(s).map(|e| e.id.to_string()).collect();
        Stats {
            total: 0,
            kept: 0,
            excluded: 0,
            unreadable: 0,
            by_exclusion: compiled.active_exclusions().map(|e| (e.id.to_string(), 0)).collect(),
            inactive: ids(Status::Expired),
            out_of_scope: ids(Status::OutOfScope),
        }
    }
}

impl Serialize for Stats {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct ByExclusion<'a>(&'a [(String, u64)]);
        impl Serialize for ByExclusion<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (id, n) in self.0 {
                    m.serialize_entry(id, n)?;
                }
                m.end()
            }
        }
        let mut m = s.serialize_map(Some(7))?;
        m.serialize_entry("total", &self.total)?;
        m.serialize_entry("kept", &self.kept)?;
        m.serialize_entry("excluded", &self.excluded)?;
        m.serialize_entry("unreadable", &self.unreadable)?;
        m.serialize_entry("by_exclusion", &ByExclusion(&self.by_exclusion))?;
        m.serialize_entry("inactive", &self.inactive)?;
        m.serialize_entry("out_of_scope", &self.out_of_scope)?;
        m.end()
    }
}

/// Why a filter run stopped.
#[derive(Debug)]
pub enum FilterError {
    Read(io::Error),
    Write(io::Error),
}

/// Where rows go.
pub struct Sinks<'a> {
    pub kept: &'a mut dyn Write,
    /// One JSON line per excluded row: `{"line", "exclusions", "row"}`.
    pub excluded: Option<&'a mut dyn Write>,
    /// Told about each unreadable row (line, reason).
    pub unreadable: &'a mut dyn FnMut(u64, &RowError),
}

/// Judges every row of a batch.
pub fn judge(
    batch: &Batch,
    format: Format,
    csv: Option<&CsvColumns>,
    matcher: &Matcher,
    scratch: &mut Scratch,
) -> Vec<Verdict> {
    let layout = matcher.layout();
    let mut cells: Vec<Cell<'_>> = Vec::with_capacity(layout.slots());
    let mut hits = Vec::new();
    batch
        .records
        .iter()
        .map(|r| {
            let read = match (format, csv) {
                (Format::Jsonl, _) => batch.text(r).and_then(|text| read_json_row(text, layout, &mut cells)),
                (Format::Csv, Some(columns)) => batch.text(r).and_then(|_| {
                    let (fields, ends) = batch.csv_fields(r);
                    read_csv_row(fields, ends, columns, layout, &mut cells)
                }),
                (Format::Csv, None) => Err(RowError { message: "no header row".into() }),
            };
            match read {
                Err(e) => Verdict::Unreadable(e),
                Ok(()) => {
                    matcher.matches(&cells, scratch, &mut hits);
                    if hits.is_empty() { Verdict::Kept } else { Verdict::Excluded(hits.clone()) }
                }
            }
        })
        .collect()
}

/// Streams `input` through the policy.
pub fn run<R: Read>(
    compiled: &Compiled<'_>,
    matcher: &Matcher,
    input: BatchReader<R>,
    format: Format,
    sinks: Sinks<'_>,
) -> Result<Stats, FilterError> {
    let mut input = input;
    let mut stats = Stats::new(compiled);
    let mut scratch = matcher.scratch();
    let mut csv: Option<CsvColumns> = None;
    let Sinks { kept, mut excluded, unreadable } = sinks;
    // Position of each policy exclusion in `stats.by_exclusion`.
    let mut position = vec![usize::MAX; compiled.policy.exclusions.len()];
    for (pos, &i) in compiled.active.iter().enumerate() {
        if let Some(p) = position.get_mut(i) {
            *p = pos;
        }
    }
    while let Some(batch) = input.next_batch().map_err(FilterError::Read)? {
        if format == Format::Csv && csv.is_none() {
            if let Some((raw, names)) = input.csv_header() {
                kept.write_all(raw).map_err(FilterError::Write)?;
                csv = Some(CsvColumns::new(names.clone(), matcher.layout()));
            }
        }
        let verdicts = judge(&batch, format, csv.as_ref(), matcher, &mut scratch);
        for (r, v) in batch.records.iter().zip(&verdicts) {
            stats.total += 1;
            match v {
                Verdict::Kept => {
                    stats.kept += 1;
                    kept.write_all(batch.raw(r)).map_err(FilterError::Write)?;
                }
                Verdict::Unreadable(e) => {
                    stats.kept += 1;
                    stats.unreadable += 1;
                    unreadable(r.line, e);
                    kept.write_all(batch.raw(r)).map_err(FilterError::Write)?;
                }
                Verdict::Excluded(hits) => {
                    stats.excluded += 1;
                    for &i in hits {
                        if let Some((_, n)) = position.get(i).and_then(|&p| stats.by_exclusion.get_mut(p)) {
                            *n += 1;
                        }
                    }
                    if let Some(out) = excluded.as_deref_mut() {
                        write_excluded(out, compiled, &batch, r, hits, csv.as_ref())
                            .map_err(FilterError::Write)?;
                    }
                }
            }
        }
    }
    // A CSV file with a header row and no rows: the header is still kept.
    if format == Format::Csv && csv.is_none() {
        if let Some((raw, _)) = input.csv_header() {
            kept.write_all(raw).map_err(FilterError::Write)?;
        }
    }
    kept.flush().map_err(FilterError::Write)?;
    if let Some(out) = excluded {
        out.flush().map_err(FilterError::Write)?;
    }
    Ok(stats)
}

/// `{"line": N, "exclusions": ["id", …], "row": {…}}`
fn write_excluded(
    out: &mut dyn Write,
    compiled: &Compiled<'_>,
    batch: &Batch,
    r: &Record,
    hits: &[usize],
    csv: Option<&CsvColumns>,
) -> io::Result<()> {
    let ids: Vec<&str> =
        hits.iter().filter_map(|&i| compiled.policy.exclusions.get(i).map(|e| e.id.as_str())).collect();
    write!(out, "{{\"line\":{},\"exclusions\":", r.line)?;
    serde_json::to_writer(&mut *out, &ids)?;
    out.write_all(b",\"row\":")?;
    match csv {
        None => {
            // The row parsed as a JSON object: it is written as it was read.
            let text = batch.text(r).unwrap_or("{}");
            out.write_all(text.trim().as_bytes())?;
        }
        Some(columns) => {
            let (fields, ends) = batch.csv_fields(r);
            let mut map = serde_json::Map::new();
            let mut start = 0;
            for (name, &end) in columns.names.iter().zip(ends) {
                let value = String::from_utf8_lossy(fields.get(start..end).unwrap_or_default());
                map.insert(name.clone(), serde_json::Value::String(value.into_owned()));
                start = end;
            }
            serde_json::to_writer(&mut *out, &map)?;
        }
    }
    out.write_all(b"}\n")
}
