//! `fpx filter`: stream rows through the matcher, write kept rows byte for byte and
//! excluded rows with the exclusions that hit them, and count everything.
//!
//! Invariant: every row is either kept or excluded (`total == kept + excluded`); a row
//! that cannot be read is kept and counted as unreadable.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::compile::{Compiled, Status};
use crate::event::{
    Batch, BatchReader, CsvColumns, Format, JsonRowReader, Part, Record, RowError, read_csv_row,
};
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
    /// More bytes of the over-long row before it ([`Part::More`]): kept, not counted again.
    More,
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
    /// Writing the kept rows failed.
    Write(io::Error),
    /// Writing the excluded rows failed.
    WriteExcluded(io::Error),
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
    let json = JsonRowReader::new(layout);
    let mut cells: Vec<Cell<'_>> = Vec::with_capacity(layout.slots());
    let mut hits = Vec::new();
    batch
        .records
        .iter()
        .map(|r| {
            if r.part == Part::More {
                return Verdict::More;
            }
            if let Some(e) = batch.unread(r.part) {
                return Verdict::Unreadable(e);
            }
            let read = match (format, csv) {
                (Format::Jsonl, _) => batch.text(r).and_then(|text| json.read(text, &mut cells)),
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

/// Streams `input` through the policy on the calling thread.
pub fn run<R: Read>(
    compiled: &Compiled<'_>,
    matcher: &Matcher,
    input: BatchReader<R>,
    format: Format,
    sinks: Sinks<'_>,
) -> Result<Stats, FilterError> {
    run_parallel(compiled, matcher, input, format, sinks, 1)
}

/// Batches read ahead of the writer, per worker: bounds memory (a batch is about one
/// input block) while keeping every worker busy.
const IN_FLIGHT_PER_WORKER: usize = 2;

/// A batch and the columns of its CSV header row.
type Chunk = (Batch, Option<Arc<CsvColumns>>);
/// A judged chunk.
type Judged = (Batch, Option<Arc<CsvColumns>>, Vec<Verdict>);
/// A chunk to judge, numbered in input order.
type Job = (u64, Chunk);
/// A judged chunk, back from a worker.
type Done = (u64, Judged);

/// Streams `input` through the policy with `threads` workers judging batches, while the
/// calling thread reads the input and writes the results in input order.
///
/// The output (kept rows, excluded lines, unreadable reports, stats) is the same for any
/// number of threads; `threads <= 1` judges on the calling thread. Memory stays bounded:
/// at most [`IN_FLIGHT_PER_WORKER`] batches per worker are read ahead of the writer.
pub fn run_parallel<R: Read>(
    compiled: &Compiled<'_>,
    matcher: &Matcher,
    input: BatchReader<R>,
    format: Format,
    sinks: Sinks<'_>,
    threads: usize,
) -> Result<Stats, FilterError> {
    let mut source = Source { input, format, csv: None, header_written: false };
    let mut out = Output::new(compiled, sinks);
    if threads <= 1 {
        let mut scratch = matcher.scratch();
        while let Some((batch, csv)) = source.next(matcher, &mut out)? {
            let verdicts = judge(&batch, format, csv.as_deref(), matcher, &mut scratch);
            out.write(&batch, csv.as_deref(), &verdicts)?;
            source.input.recycle(batch);
        }
    } else {
        let (job_tx, job_rx) = mpsc::sync_channel::<Job>(threads);
        let job_rx = Mutex::new(job_rx);
        let (done_tx, done_rx) = mpsc::sync_channel::<Done>(threads);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let done_tx = done_tx.clone();
                let job_rx = &job_rx;
                scope.spawn(move || {
                    let mut scratch = matcher.scratch();
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match job_rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok((seq, (batch, csv))) = job else { return };
                        let verdicts = judge(&batch, format, csv.as_deref(), matcher, &mut scratch);
                        if done_tx.send((seq, (batch, csv, verdicts))).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(done_tx);
            // Returning drops both channel ends, which stops the workers (also on errors).
            pipeline(&mut source, &mut out, matcher, job_tx, done_rx, threads * IN_FLIGHT_PER_WORKER)
        })?;
    }
    source.finish(&mut out)?;
    out.finish()
}

/// The calling thread's part of [`run_parallel`]: reads batches into `jobs`, and writes
/// judged batches in input order as they come back.
fn pipeline<R: Read>(
    source: &mut Source<R>,
    out: &mut Output<'_, '_>,
    matcher: &Matcher,
    jobs: SyncSender<Job>,
    done: Receiver<Done>,
    max_in_flight: usize,
) -> Result<(), FilterError> {
    let (mut sent, mut written) = (0u64, 0u64);
    let mut eof = false;
    // Judged batches that arrived before an earlier one; at most `max_in_flight`.
    let mut waiting: BTreeMap<u64, Judged> = BTreeMap::new();
    loop {
        while !eof && sent - written < max_in_flight as u64 {
            match source.next(matcher, out)? {
                Some(chunk) => {
                    if jobs.send((sent, chunk)).is_err() {
                        // Every worker has stopped; nothing more can be judged.
                        eof = true;
                        break;
                    }
                    sent += 1;
                }
                None => eof = true,
            }
        }
        if written == sent {
            return Ok(());
        }
        let Ok((seq, judged)) = done.recv() else {
            // The workers are gone with batches unjudged: cannot happen unless one panicked.
            return Err(FilterError::Read(io::Error::other("a filter worker stopped")));
        };
        waiting.insert(seq, judged);
        while let Some((batch, csv, verdicts)) = waiting.remove(&written) {
            out.write(&batch, csv.as_deref(), &verdicts)?;
            source.input.recycle(batch);
            written += 1;
        }
    }
}

/// The input side of a run: batches, and the CSV header row (written once, first).
struct Source<R> {
    input: BatchReader<R>,
    format: Format,
    csv: Option<Arc<CsvColumns>>,
    header_written: bool,
}

impl<R: Read> Source<R> {
    fn next(&mut self, matcher: &Matcher, out: &mut Output<'_, '_>) -> Result<Option<Chunk>, FilterError> {
        let Some(batch) = self.input.next_batch().map_err(FilterError::Read)? else { return Ok(None) };
        if self.format == Format::Csv && self.csv.is_none() {
            if let Some((raw, names)) = self.input.csv_header() {
                out.kept.write_all(raw).map_err(FilterError::Write)?;
                self.header_written = true;
                self.csv = Some(Arc::new(CsvColumns::new(names.clone(), matcher.layout())));
            }
        }
        Ok(Some((batch, self.csv.clone())))
    }

    /// A CSV file with a header row and no rows: the header is still kept.
    fn finish(&mut self, out: &mut Output<'_, '_>) -> Result<(), FilterError> {
        if self.format == Format::Csv && !self.header_written {
            if let Some((raw, _)) = self.input.csv_header() {
                out.kept.write_all(raw).map_err(FilterError::Write)?;
                self.header_written = true;
            }
        }
        Ok(())
    }
}

/// The output side of a run: the sinks and the counts.
struct Output<'c, 's> {
    compiled: &'c Compiled<'c>,
    stats: Stats,
    kept: &'s mut dyn Write,
    excluded: Option<&'s mut dyn Write>,
    unreadable: &'s mut dyn FnMut(u64, &RowError),
    /// Position of each policy exclusion in `stats.by_exclusion`.
    position: Vec<usize>,
}

impl<'c, 's> Output<'c, 's> {
    fn new(compiled: &'c Compiled<'c>, sinks: Sinks<'s>) -> Self {
        let mut position = vec![usize::MAX; compiled.policy.exclusions.len()];
        for (pos, &i) in compiled.active.iter().enumerate() {
            if let Some(p) = position.get_mut(i) {
                *p = pos;
            }
        }
        let Sinks { kept, excluded, unreadable } = sinks;
        Output { compiled, stats: Stats::new(compiled), kept, excluded, unreadable, position }
    }

    fn write(
        &mut self,
        batch: &Batch,
        csv: Option<&CsvColumns>,
        verdicts: &[Verdict],
    ) -> Result<(), FilterError> {
        let stats = &mut self.stats;
        for (r, v) in batch.records.iter().zip(verdicts) {
            if *v != Verdict::More {
                stats.total += 1;
            }
            match v {
                Verdict::Kept => {
                    stats.kept += 1;
                    self.kept.write_all(batch.raw(r)).map_err(FilterError::Write)?;
                }
                Verdict::More => {
                    self.kept.write_all(batch.raw(r)).map_err(FilterError::Write)?;
                }
                Verdict::Unreadable(e) => {
                    stats.kept += 1;
                    stats.unreadable += 1;
                    (self.unreadable)(r.line, e);
                    self.kept.write_all(batch.raw(r)).map_err(FilterError::Write)?;
                }
                Verdict::Excluded(hits) => {
                    stats.excluded += 1;
                    for &i in hits {
                        if let Some((_, n)) =
                            self.position.get(i).and_then(|&p| stats.by_exclusion.get_mut(p))
                        {
                            *n += 1;
                        }
                    }
                    if let Some(out) = self.excluded.as_deref_mut() {
                        write_excluded(out, self.compiled, batch, r, hits, csv)
                            .map_err(FilterError::WriteExcluded)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Stats, FilterError> {
        self.kept.flush().map_err(FilterError::Write)?;
        if let Some(out) = self.excluded {
            out.flush().map_err(FilterError::WriteExcluded)?;
        }
        Ok(self.stats)
    }
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
