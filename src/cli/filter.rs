//! `fpx filter`: stream an export through a policy.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use super::{Exit, FormatArg, SelectArgs, Ui, create, io_reason, load_policy, selection, warn_inactive};
use crate::compile::Compiled;
use crate::event::{BatchReader, Format};
use crate::filter::{self, FilterError, Sinks};
use crate::matcher::Matcher;

/// At most this many unreadable rows are reported one by one.
const UNREADABLE_REPORTED: u64 = 20;
/// The default number of filter threads is the available cores, at most this many.
const MAX_DEFAULT_THREADS: usize = 8;

/// The options of `fpx filter`.
pub(crate) struct FilterArgs<'a> {
    pub select: &'a SelectArgs,
    pub format: FormatArg,
    pub excluded: Option<&'a Path>,
    pub stats: Option<&'a Path>,
    pub strict: bool,
    pub threads: Option<u16>,
    pub max_line_bytes: usize,
    pub input: Option<&'a Path>,
}

pub(crate) fn run(args: &FilterArgs<'_>, ui: &Ui) -> Exit {
    let FilterArgs { select, format, excluded, stats: stats_path, strict, threads, max_line_bytes, input } =
        *args;
    let threads = threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_DEFAULT_THREADS)),
        usize::from,
    );
    let policy = match load_policy(&select.policy, ui) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let compiled = Compiled::new(&policy, selection(select));
    warn_inactive(&compiled, ui);
    let matcher = match Matcher::new(&compiled) {
        Ok(m) => m,
        Err(e) => {
            ui.error(e);
            return Exit::Findings;
        }
    };
    let stdin_path = input.filter(|p| p.as_os_str() != "-");
    let mut reader: Box<dyn Read> = match stdin_path {
        Some(p) => match File::open(p) {
            Ok(f) => progress(f, ui),
            Err(e) => {
                ui.error(format!("cannot read `{}`: {}", p.display(), io_reason(&e)));
                return Exit::Usage;
            }
        },
        None => Box::new(io::stdin().lock()),
    };
    let (format, prefix) = match format {
        FormatArg::Jsonl => (Format::Jsonl, Vec::new()),
        FormatArg::Csv => (Format::Csv, Vec::new()),
        FormatArg::Auto => match stdin_path.and_then(Format::from_path) {
            Some(f) => (f, Vec::new()),
            None => {
                let mut head = Vec::new();
                if let Err(e) = reader.by_ref().take(64 * 1024).read_to_end(&mut head) {
                    ui.error(format!("cannot read input: {}", io_reason(&e)));
                    return Exit::Usage;
                }
                (Format::sniff(&head), head)
            }
        },
    };
    let batches = BatchReader::with_prefix(reader, format, prefix).max_row_bytes(max_line_bytes);
    let mut excluded_out = match excluded.map(|p| create(p, ui)).transpose() {
        Ok(w) => w,
        Err(code) => return code,
    };
    let stdout = io::stdout();
    let mut kept = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut reported = 0u64;
    let mut on_unreadable = |line: u64, e: &crate::event::RowError| {
        reported += 1;
        if reported <= UNREADABLE_REPORTED {
            ui.warning(format!("line {line}: {e}; row kept unread"));
        }
    };
    let result = filter::run_parallel(
        &compiled,
        &matcher,
        batches,
        format,
        Sinks {
            kept: &mut kept,
            excluded: excluded_out.as_mut().map(|w| w as &mut dyn Write),
            unreadable: &mut on_unreadable,
        },
        threads,
    );
    let stats = match result {
        Ok(s) => s,
        Err(FilterError::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => return Exit::Ok,
        Err(FilterError::Write(e)) => {
            ui.error(format!("cannot write output: {}", io_reason(&e)));
            return Exit::Usage;
        }
        Err(FilterError::WriteExcluded(e)) => {
            let path = excluded.map(|p| p.display().to_string()).unwrap_or_default();
            ui.error(format!("cannot write `{path}`: {}", io_reason(&e)));
            return Exit::Usage;
        }
        Err(FilterError::Read(e)) => {
            ui.error(format!("cannot read input: {}", io_reason(&e)));
            return Exit::Usage;
        }
    };
    if stats.unreadable > UNREADABLE_REPORTED {
        ui.warning(format!("{} more unreadable rows kept", stats.unreadable - UNREADABLE_REPORTED));
    }
    if let Some(path) = stats_path {
        let written = create(path, ui).and_then(|mut w| {
            serde_json::to_writer_pretty(&mut w, &stats)
                .map_err(io::Error::from)
                .and_then(|()| writeln!(w))
                .and_then(|()| w.flush())
                .map_err(|e| {
                    ui.error(format!("cannot write `{}`: {}", path.display(), io_reason(&e)));
                    Exit::Usage
                })
        });
        if let Err(code) = written {
            return code;
        }
    }
    ui.summary(format_args!(
        "{} rows: {} kept, {} excluded, {} unreadable",
        stats.total, stats.kept, stats.excluded, stats.unreadable
    ));
    // The process ends here: freeing a large policy's indexes and model one allocation at a
    // time would take longer than the run itself for a 100,000-exclusion policy.
    std::mem::forget(matcher);
    std::mem::forget(compiled);
    std::mem::forget(policy);
    if strict && stats.unreadable > 0 { Exit::Findings } else { Exit::Ok }
}

/// Inputs at least this large get a progress bar (when stderr is a terminal).
const PROGRESS_MIN_BYTES: u64 = 8 << 20;

/// The input file, wrapped in a byte-counting progress bar on stderr when stderr is a
/// terminal, `-q` is not given and the file is large.
fn progress(file: File, ui: &Ui) -> Box<dyn Read> {
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if ui.quiet || len < PROGRESS_MIN_BYTES || !io::IsTerminal::is_terminal(&io::stderr()) {
        return Box::new(file);
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    Box::new(Progress { inner: bar.wrap_read(file) })
}

/// A reader whose progress bar disappears when the input has been read.
struct Progress<R: Read> {
    inner: indicatif::ProgressBarIter<R>,
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.inner.progress.finish_and_clear();
        }
        Ok(n)
    }
}
