//! The command line: the only place that reads files, prints, and chooses exit codes.

mod check;
mod explain;
mod filter;

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use jiff::civil::Date;

use crate::compile::{Compiled, Selection, Status};
use crate::diag;
use crate::model::Policy;
use crate::validate;

/// Process exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// An invalid policy, or findings (`--strict`, lint errors).
    Findings = 1,
    /// Usage or I/O error.
    Usage = 2,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// False-positive exclusion policies for Microsoft Sentinel and Defender XDR.
#[derive(Debug, Parser)]
#[command(name = "fpx", version, about, max_term_width = 100)]
pub struct Cli {
    /// When to colour diagnostics.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate policies; print a summary line per file.
    Check {
        /// Policy files.
        #[arg(required = true)]
        policies: Vec<PathBuf>,
        #[command(flatten)]
        today: TodayArg,
    },
    /// Filter exported events (JSON Lines or CSV): kept rows to stdout, byte for byte.
    Filter {
        #[command(flatten)]
        select: SelectArgs,
        /// Input format.
        #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
        format: FormatArg,
        /// Write one JSON line per excluded row here: {"line", "exclusions", "row"}.
        #[arg(long, value_name = "FILE")]
        excluded: Option<PathBuf>,
        /// Write the run's counts here as JSON.
        #[arg(long, value_name = "FILE")]
        stats: Option<PathBuf>,
        /// Exit 1 when any row could not be read (such rows are always kept).
        #[arg(long)]
        strict: bool,
        /// Threads that read and match rows; the output is the same for any number
        /// (default: the available cores, at most 8).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        threads: Option<u16>,
        /// Events file; `-` or nothing reads stdin.
        input: Option<PathBuf>,
    },
    /// Show what each exclusion decides for one event (a JSON object).
    Explain {
        #[command(flatten)]
        select: SelectArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
        /// The event as JSON text, or `-` to read it from stdin.
        event: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Auto,
    Jsonl,
    Csv,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TextOrJson {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct TodayArg {
    /// The day exclusions are judged active on (YYYY-MM-DD); default: today (UTC).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub today: Option<Date>,
}

#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Policy file.
    #[arg(long, short)]
    pub policy: PathBuf,
    /// Apply only exclusions scoped to this rule (id or name; may be given twice).
    #[arg(long, value_name = "ID")]
    pub rule: Vec<String>,
    #[command(flatten)]
    pub today: TodayArg,
}

fn parse_date(s: &str) -> Result<Date, String> {
    s.parse::<Date>().map_err(|_| format!("`{s}` is not a date: write YYYY-MM-DD"))
}

/// Terminal settings for one run.
pub struct Ui {
    pub(crate) color: bool,
}

impl Ui {
    fn new(choice: ColorChoice) -> Ui {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !no_color && io::stderr().is_terminal(),
        };
        Ui { color }
    }

    pub(crate) fn error(&self, message: impl std::fmt::Display) {
        let _ = writeln!(io::stderr(), "{}: {message}", self.paint("error", "1;31"));
    }

    pub(crate) fn warning(&self, message: impl std::fmt::Display) {
        let _ = writeln!(io::stderr(), "{}: {message}", self.paint("warning", "1;33"));
    }

    fn paint(&self, text: &str, sgr: &str) -> String {
        if self.color { format!("\x1b[{sgr}m{text}\x1b[0m") } else { text.to_string() }
    }
}

/// Runs fpx with the process arguments.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { Exit::Usage } else { Exit::Ok };
            let _ = e.print();
            return code.into();
        }
    };
    let ui = Ui::new(cli.color);
    run(cli.command, &ui).into()
}

fn run(command: Command, ui: &Ui) -> Exit {
    match command {
        Command::Check { policies, today } => check::run(&policies, today.today, ui),
        Command::Filter { select, format, excluded, stats, strict, threads, input } => filter::run(
            &select,
            format,
            excluded.as_deref(),
            stats.as_deref(),
            strict,
            threads,
            input.as_deref(),
            ui,
        ),
        Command::Explain { select, format, event } => explain::run(&select, format, &event, ui),
    }
}

/// Reads a file, naming it in the error.
pub(crate) fn read_text(path: &Path) -> Result<String, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read `{}`: {}", path.display(), io_reason(&e)))?;
    String::from_utf8(bytes).map_err(|e| {
        format!("`{}` is not valid UTF-8 (byte {})", path.display(), e.utf8_error().valid_up_to() + 1)
    })
}

pub(crate) fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            s.split(" (os error").next().unwrap_or(&s).to_lowercase()
        }
    }
}

/// Loads and validates a policy, printing its diagnostics. `Err` carries the exit code.
pub(crate) fn load_policy(path: &Path, ui: &Ui) -> Result<Policy, Exit> {
    let source = read_text(path).map_err(|m| {
        ui.error(m);
        Exit::Usage
    })?;
    validate::load(&source).map_err(|diags| {
        let name = path.display().to_string();
        let _ = io::stderr().write_all(diag::render(&diags, &name, &source, ui.color).as_bytes());
        let n = diags.iter().filter(|d| d.severity == diag::Severity::Error).count();
        ui.error(format!("`{name}` is invalid: {n} error{}", if n == 1 { "" } else { "s" }));
        Exit::Findings
    })
}

pub(crate) fn selection(select: &SelectArgs) -> Selection {
    Selection { today: select.today.today.unwrap_or_else(Selection::utc_today), rules: select.rule.clone() }
}

pub(crate) fn warn_inactive(compiled: &Compiled<'_>, ui: &Ui) {
    for e in compiled.with_status(Status::Expired) {
        if let Some(d) = e.expires {
            ui.warning(format!("exclusion `{}` expired on {d} and is not applied", e.id));
        }
    }
}

impl Exit {
    fn max_code(self, other: Exit) -> Exit {
        if other as u8 > self as u8 { other } else { self }
    }
}

pub(crate) fn create(path: &Path, ui: &Ui) -> Result<BufWriter<File>, Exit> {
    File::create(path).map(BufWriter::new).map_err(|e| {
        ui.error(format!("cannot write `{}`: {}", path.display(), io_reason(&e)));
        Exit::Usage
    })
}
