//! The command line: the only place that reads files, prints, and chooses exit codes.

mod check;
mod completions;
mod diff;
mod explain;
mod export;
mod filter;
mod import;
mod init;
mod kql;
mod lint;
mod report;
mod tune;

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use jiff::civil::Date;

use crate::compile::{Compiled, Selection, Status};
use crate::diag;
use crate::event::Format;
use crate::model::Policy;
use crate::sample::{self, Events};
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
    /// When to colour diagnostics (`auto` honours `NO_COLOR`).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// Print only errors on stderr: no warnings, progress or summary lines.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail on stderr (counts, timings, files written).
    #[arg(short, long, global = true)]
    pub verbose: bool,
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
        /// Rows longer than this many bytes (line end included) are not read: each is kept,
        /// reported and passed through without being held in memory.
        #[arg(long, value_name = "BYTES", default_value_t = crate::event::DEFAULT_MAX_ROW_BYTES as u64,
              value_parser = clap::value_parser!(u64).range(1..))]
        max_line_bytes: u64,
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
    /// Review policies: findings with codes, places and help (exit 1 on any error).
    Lint {
        /// Policy files.
        #[arg(required = true)]
        policies: Vec<PathBuf>,
        #[command(flatten)]
        today: TodayArg,
        /// Warn about exclusions that expire within this many days.
        #[arg(long, value_name = "DAYS", default_value_t = crate::lint::SOON_DAYS)]
        soon_days: i32,
        /// Sample events (JSON Lines or CSV): count hits and report exclusions that match none.
        #[arg(long, value_name = "FILE")]
        events: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = LintFormat::Text)]
        format: LintFormat,
    },
    /// What a policy change does: exclusions added, removed or changed, widening first.
    Diff {
        /// The policy before the change.
        old: PathBuf,
        /// The policy after the change.
        new: PathBuf,
        /// Sample events (JSON Lines or CSV): rows newly excluded and newly kept.
        #[arg(long, value_name = "FILE")]
        events: Option<PathBuf>,
        #[command(flatten)]
        today: TodayArg,
        /// Output format.
        #[arg(long, value_enum, default_value_t = MdOrJson::Md)]
        format: MdOrJson,
    },
    /// A review page for a pull request or a wiki: summary, exclusions, findings.
    Report {
        /// Policy file.
        policy: PathBuf,
        /// Sample events (JSON Lines or CSV): show how many rows each exclusion hides.
        #[arg(long, value_name = "FILE")]
        events: Option<PathBuf>,
        #[command(flatten)]
        today: TodayArg,
        /// Output format.
        #[arg(long, value_enum, default_value_t = MdOrJson::Md)]
        format: MdOrJson,
    },
    /// Print the JSON Schema of the policy format (for Taplo / Even Better TOML).
    Schema,
    /// Print the KQL exclusion block (`| where not(…)`) that means what `filter` means.
    Kql {
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        lists: ListArgs,
        /// Print a query counting the rows each active exclusion matches instead.
        #[arg(long)]
        hits: bool,
        /// With `--hits`: how far back to count (`14d`, `12h`).
        #[arg(long, value_name = "SPAN", default_value = "14d")]
        since: String,
        /// With `--hits`: the time column (`TimeGenerated` in Sentinel, `Timestamp` in Defender XDR).
        #[arg(long, value_name = "COLUMN", default_value = "TimeGenerated")]
        time_column: String,
    },
    /// Filter a query (.kql) or a Sentinel hunting query / analytics rule (.yaml) by the policy.
    Tune {
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        lists: ListArgs,
        /// Rewrite the file (atomically) instead of printing it.
        #[arg(long, conflicts_with = "check")]
        in_place: bool,
        /// Exit 1 when the file is not what the policy makes it (for CI); write nothing.
        #[arg(long)]
        check: bool,
        /// The query or rule file.
        file: PathBuf,
    },
    /// Turn existing exclusions (a Sentinel watchlist, Sigma filters) into a policy to review.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Write a policy in another tool's format, with the same meaning.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Start a policy repository: a starter policy, a CI workflow and a README.
    Init {
        /// The repository's directory (created if missing).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The policy's name (kebab-case); default: from the directory's name.
        #[arg(long)]
        name: Option<String>,
        /// Overwrite files that already exist.
        #[arg(long)]
        force: bool,
    },
    /// Print a shell completion script (e.g. `fpx completions bash > /etc/bash_completion.d/fpx`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per command into a directory.
    Man {
        /// Write `fpx.1` and `fpx-COMMAND.1` here instead of printing `fpx.1`.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// A Sentinel watchlist (CSV with a header row): each mapped column becomes a list.
    Watchlist {
        /// The watchlist file (CSV).
        file: PathBuf,
        /// A field and the column holding its values: `sender` (the search key column) or
        /// `source_ip=RelayIP`; repeat for several columns.
        #[arg(long = "field", value_name = "FIELD[=COLUMN]", required = true)]
        fields: Vec<crate::import::watchlist::FieldSpec>,
        /// The search key column [default: SearchKey].
        #[arg(long, value_name = "COLUMN")]
        search_key: Option<String>,
        /// One exclusion per field instead of one that requires every field to match.
        #[arg(long)]
        separate: bool,
        #[command(flatten)]
        out: ImportOut,
    },
    /// Sigma v2 filters (`filter:` documents with `rules:` and a `not` condition).
    Sigma {
        /// Filter files (YAML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        out: ImportOut,
    },
}

#[derive(Debug, Args)]
pub struct ImportOut {
    /// The policy's name (kebab-case); default: from the (first) file's name.
    #[arg(long)]
    pub name: Option<String>,
    /// Write the policy here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Import what can be imported and report the rest as warnings (exit 0).
    #[arg(long)]
    pub skip_bad: bool,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Each active exclusion as a Sigma v2 filter (YAML documents on stdout, or files).
    Sigma {
        /// Policy file.
        #[arg(long, short)]
        policy: PathBuf,
        /// Write one `mf_<policy>_<exclusion>.yml` per filter here instead of stdout.
        #[arg(long, value_name = "DIR")]
        output_dir: Option<PathBuf>,
        #[command(flatten)]
        today: TodayArg,
        /// Export what can be exported and report the rest as warnings (exit 0).
        #[arg(long)]
        skip_bad: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MdOrJson {
    /// GitHub-flavoured Markdown.
    Md,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Where large lists go: in the query, in Sentinel watchlists, or watchlists only when
    /// the query would pass Sentinel's 10,000-character rule limit.
    #[arg(long, value_enum, default_value_t = ModeArg::Inline)]
    pub mode: ModeArg,
    /// Directory for the watchlist CSV files.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Inline,
    Watchlist,
    Auto,
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
    /// Colour on stderr.
    pub(crate) color: bool,
    /// Colour on stdout (diagnostics that are a command's output).
    pub(crate) stdout_color: bool,
    /// `-q`: errors only on stderr.
    pub(crate) quiet: bool,
    /// `-v`: extra detail on stderr.
    pub(crate) verbose: bool,
}

/// How `--color` and `NO_COLOR` decide colour on one stream: `always` and `never` win,
/// `auto` colours a terminal unless `NO_COLOR` is set to a non-empty value.
fn use_color(choice: ColorChoice, no_color: bool, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => !no_color && terminal,
    }
}

impl Ui {
    fn new(choice: ColorChoice, quiet: bool, verbose: bool) -> Ui {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Ui {
            color: use_color(choice, no_color, io::stderr().is_terminal()),
            stdout_color: use_color(choice, no_color, io::stdout().is_terminal()),
            quiet,
            verbose,
        }
    }

    pub(crate) fn error(&self, message: impl std::fmt::Display) {
        let _ = writeln!(io::stderr(), "{}: {message}", self.paint("error", "1;31"));
    }

    /// A warning; `-q` hides it.
    pub(crate) fn warning(&self, message: impl std::fmt::Display) {
        if !self.quiet {
            let _ = writeln!(io::stderr(), "{}: {message}", self.paint("warning", "1;33"));
        }
    }

    /// A help line under the error or warning before it.
    pub(crate) fn help(&self, message: impl std::fmt::Display) {
        let _ = writeln!(io::stderr(), "  = {}: {message}", self.paint("help", "1"));
    }

    /// A closing summary line (`fpx: 38 rows: …`); `-q` hides it.
    pub(crate) fn summary(&self, message: impl std::fmt::Display) {
        if !self.quiet {
            let _ = writeln!(io::stderr(), "fpx: {message}");
        }
    }

    /// Extra detail, only with `-v`.
    pub(crate) fn detail(&self, message: impl std::fmt::Display) {
        if self.verbose {
            let _ = writeln!(io::stderr(), "fpx: {message}");
        }
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
    let ui = Ui::new(cli.color, cli.quiet, cli.verbose);
    let started = std::time::Instant::now();
    let exit = run(cli.command, &ui);
    ui.detail(format_args!("done in {:.2?}, exit status {}", started.elapsed(), exit as u8));
    exit.into()
}

fn run(command: Command, ui: &Ui) -> Exit {
    match command {
        Command::Check { policies, today } => check::run(&policies, today.today, ui),
        Command::Filter { select, format, excluded, stats, strict, threads, max_line_bytes, input } => {
            filter::run(
                &filter::FilterArgs {
                    select: &select,
                    format,
                    excluded: excluded.as_deref(),
                    stats: stats.as_deref(),
                    strict,
                    threads,
                    max_line_bytes: usize::try_from(max_line_bytes).unwrap_or(usize::MAX),
                    input: input.as_deref(),
                },
                ui,
            )
        }
        Command::Explain { select, format, event } => explain::run(&select, format, &event, ui),
        Command::Lint { policies, today, soon_days, events, format } => {
            lint::run(&policies, today.today, soon_days, events.as_deref(), format, ui)
        }
        Command::Diff { old, new, events, today, format } => {
            diff::run(&old, &new, events.as_deref(), today.today, format, ui)
        }
        Command::Schema => match write_stdout(&crate::schema::text(), ui) {
            Ok(()) => Exit::Ok,
            Err(code) => code,
        },
        Command::Report { policy, events, today, format } => {
            report::run(&policy, events.as_deref(), today.today, format, ui)
        }
        Command::Kql { select, lists, hits, since, time_column } => kql::run(
            &kql::KqlArgs {
                select: &select,
                mode: lists.mode,
                out: lists.out.as_deref(),
                hits,
                since: &since,
                time_column: &time_column,
            },
            ui,
        ),
        Command::Tune { select, lists, in_place, check, file } => tune::run(
            &tune::TuneArgs {
                select: &select,
                in_place,
                check,
                mode: lists.mode,
                out: lists.out.as_deref(),
                file: &file,
            },
            ui,
        ),
        Command::Import(ImportCommand::Watchlist { file, fields, search_key, separate, out }) => {
            import::watchlist(&file, fields, search_key, separate, &out, ui)
        }
        Command::Import(ImportCommand::Sigma { files, out }) => import::sigma(&files, &out, ui),
        Command::Export(ExportCommand::Sigma { policy, output_dir, today, skip_bad }) => {
            export::sigma(&policy, output_dir.as_deref(), today.today, skip_bad, ui)
        }
        Command::Init { dir, name, force } => init::run(&dir, name.as_deref(), force, ui),
        Command::Completions { shell } => completions::completions(shell, &mut Cli::command(), ui),
        Command::Man { dir } => completions::man(Cli::command(), dir.as_deref(), ui),
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
    load_policy_source(path, ui).map(|(_, policy)| policy)
}

/// [`load_policy`], with the text the policy was read from (for line numbers in findings).
pub(crate) fn load_policy_source(path: &Path, ui: &Ui) -> Result<(String, Policy), Exit> {
    let source = read_text(path).map_err(|m| {
        ui.error(m);
        Exit::Usage
    })?;
    let policy = validate::load(&source).map_err(|diags| {
        let name = path.display().to_string();
        let _ = io::stderr().write_all(diag::render(&diags, &name, &source, ui.color).as_bytes());
        let n = diags.iter().filter(|d| d.severity == diag::Severity::Error).count();
        ui.error(format!("`{name}` is invalid: {n} error{}", if n == 1 { "" } else { "s" }));
        Exit::Findings
    })?;
    Ok((source, policy))
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

/// Reads a sample of events whole: the format from the file name, or else its content.
pub(crate) fn read_events(path: &Path, ui: &Ui) -> Result<Events, Exit> {
    let data = std::fs::read(path).map_err(|e| {
        ui.error(format!("cannot read `{}`: {}", path.display(), io_reason(&e)));
        Exit::Usage
    })?;
    let format = Format::from_path(path).unwrap_or_else(|| Format::sniff(&data));
    Ok(Events { name: path.display().to_string(), format, data })
}

/// Runs a policy's active exclusions (on `today`, for every rule) over a sample.
pub(crate) fn compile_sample(
    policy: &Policy,
    today: Date,
    events: &Events,
    ui: &Ui,
) -> Result<sample::Run, Exit> {
    let compiled = Compiled::new(policy, Selection { today, rules: Vec::new() });
    sample::run(&compiled, events).map_err(|e| match e {
        sample::SampleError::Build(m) => {
            ui.error(m);
            Exit::Findings
        }
        sample::SampleError::Io(e) => {
            ui.error(format!("cannot read `{}`: {}", events.name, io_reason(&e)));
            Exit::Usage
        }
    })
}

/// Writes a command's output; a closed pipe is not an error.
pub(crate) fn write_stdout(text: &str, ui: &Ui) -> Result<(), Exit> {
    match io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => {
            ui.error(format!("cannot write output: {}", io_reason(&e)));
            Err(Exit::Usage)
        }
    }
}

impl Exit {
    pub(crate) fn max_code(self, other: Exit) -> Exit {
        if other as u8 > self as u8 { other } else { self }
    }
}

pub(crate) fn create(path: &Path, ui: &Ui) -> Result<BufWriter<File>, Exit> {
    File::create(path).map(BufWriter::new).map_err(|e| {
        ui.error(format!("cannot write `{}`: {}", path.display(), io_reason(&e)));
        Exit::Usage
    })
}
