//! A sample of events as evidence for review: what a compiled policy excludes from an
//! export, through the same path as `fpx filter` ([`crate::filter::run`]).
//!
//! `fpx lint --events` reads hit counts from it, `fpx diff --events` compares two runs
//! row by row, and `fpx report --events` shows the counts.

use std::collections::BTreeMap;
use std::io;

use crate::compile::Compiled;
use crate::event::{BatchReader, Format};
use crate::filter::{self, FilterError, Sinks, Stats};
use crate::matcher::Matcher;

/// Events read into memory, with their format and a name to show.
#[derive(Clone, Debug)]
pub struct Events {
    /// The file name as given (shown in reports).
    pub name: String,
    pub format: Format,
    pub data: Vec<u8>,
}

/// One excluded row: its line number, the exclusions that matched, the row as JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct ExcludedRow {
    pub line: u64,
    pub exclusions: Vec<String>,
    pub row: serde_json::Value,
}

/// What a policy did to a sample.
#[derive(Clone, Debug)]
pub struct Run {
    pub stats: Stats,
    /// Excluded rows by line number.
    pub excluded: BTreeMap<u64, ExcludedRow>,
}

impl Run {
    /// Rows each active exclusion matched, by id.
    pub fn hits(&self) -> BTreeMap<&str, u64> {
        self.stats.by_exclusion.iter().map(|(id, n)| (id.as_str(), *n)).collect()
    }
}

/// Why a sample could not be run.
#[derive(Debug)]
pub enum SampleError {
    /// The policy's regexes do not fit in one matcher.
    Build(String),
    Io(io::Error),
}

impl std::fmt::Display for SampleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SampleError::Build(m) => f.write_str(m),
            SampleError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Runs `compiled` over the events, keeping every excluded row.
pub fn run(compiled: &Compiled<'_>, events: &Events) -> Result<Run, SampleError> {
    let matcher = Matcher::new(compiled).map_err(|e| SampleError::Build(e.to_string()))?;
    let mut excluded_out = Vec::new();
    let mut ignore = |_: u64, _: &crate::event::RowError| {};
    let stats = filter::run(
        compiled,
        &matcher,
        BatchReader::new(events.data.as_slice(), events.format),
        events.format,
        Sinks { kept: &mut io::sink(), excluded: Some(&mut excluded_out), unreadable: &mut ignore },
    )
    .map_err(|e| match e {
        FilterError::Read(e) | FilterError::Write(e) | FilterError::WriteExcluded(e) => SampleError::Io(e),
    })?;
    let mut excluded = BTreeMap::new();
    // The lines are `fpx filter --excluded` output: one JSON object per excluded row.
    for line in excluded_out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let mut v: serde_json::Value = serde_json::from_slice(line).map_err(|e| SampleError::Io(e.into()))?;
        let number = v.get("line").and_then(serde_json::Value::as_u64).unwrap_or(0);
        let exclusions = v
            .get("exclusions")
            .and_then(serde_json::Value::as_array)
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let row = v.get_mut("row").map(serde_json::Value::take).unwrap_or(serde_json::Value::Null);
        excluded.insert(number, ExcludedRow { line: number, exclusions, row });
    }
    Ok(Run { stats, excluded })
}
