//! The command line as a user meets it: completions, manual pages, `-q`/`-v`, colour, and
//! errors without Rust type names or backtraces.

use crate::common::{Run, TODAY, fpx, root, tempdir};

/// Asserts that stderr shows nothing of Rust's insides (types, panics, backtraces).
pub fn assert_clean_stderr(run: &Run) {
    for bad in ["Error {", "panicked", "RUST_BACKTRACE", "Os {", "Kind("] {
        assert!(!run.stderr.contains(bad), "stderr shows `{bad}`:\n{}", run.stderr);
    }
    // A Rust path (`std::io`, `fpx::cli`) has a non-hex letter before `::`; IPv6 does not.
    let path = regex::Regex::new(r"\b[a-z_]*[g-z_][a-z0-9_]*::[A-Za-z_]").unwrap();
    assert!(!path.is_match(&run.stderr), "stderr shows a Rust path:\n{}", run.stderr);
}

/// Runs fpx and checks its stderr is clean.
pub fn run(args: &[&str]) -> Run {
    let r = fpx(args);
    assert_clean_stderr(&r);
    r
}

#[test]
fn completions_for_every_shell_name_the_commands() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let r = run(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        let out = r.stdout_str();
        for sub in ["import", "export", "init", "lint", "filter", "completions"] {
            assert!(out.contains(sub), "{shell} completion mentions `{sub}`");
        }
        assert!(out.contains("watchlist"), "{shell}: nested commands");
        // clap_complete's fish script stops at the second level of subcommands.
        if shell != "fish" {
            assert!(out.contains("skip-bad"), "{shell}: flags of nested commands");
        }
    }
    let r = run(&["completions", "tcsh"]);
    assert_eq!(r.code, 2);
}

#[test]
fn the_manual_page_is_roff_naming_every_command() {
    let r = run(&["man"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let page = r.stdout_str();
    assert!(page.starts_with(".ie") || page.contains(".TH fpx"), "roff: {}", &page[..200.min(page.len())]);
    for sub in ["check", "filter", "lint", "import", "export", "init", "completions", "man"] {
        assert!(page.contains(sub), "the page lists `{sub}`");
    }
    let dir = tempdir("man");
    let r = run(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for page in ["fpx.1", "fpx-import.1", "fpx-import-watchlist.1", "fpx-export-sigma.1", "fpx-init.1"] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page} is a manual page");
    }
}

#[test]
fn quiet_hides_warnings_and_summaries_but_never_errors() {
    let events = "tests/data/bulk-email.jsonl";
    let policy = "policies/bulk-email-fp.toml";
    let loud = run(&["filter", "--today", TODAY, "--policy", policy, events]);
    assert_eq!(loud.code, 0);
    assert!(loud.stderr.contains("warning: exclusion `legacy-newsletter` expired"), "{}", loud.stderr);
    assert!(loud.stderr.contains("fpx: 39 rows:"), "{}", loud.stderr);
    let quiet = run(&["-q", "filter", "--today", TODAY, "--policy", policy, events]);
    assert_eq!(quiet.code, 0);
    assert_eq!(quiet.stderr, "");
    assert_eq!(quiet.stdout, loud.stdout, "-q changes nothing on stdout");
    let error = run(&["--quiet", "check", "tests/bad/invalid-cidr.toml"]);
    assert_eq!(error.code, 1);
    assert!(error.stderr.contains("error[invalid-cidr]"), "{}", error.stderr);
    let conflict = run(&["-q", "-v", "check", policy]);
    assert_eq!(conflict.code, 2);
}

#[test]
fn verbose_adds_detail() {
    let dir = tempdir("verbose");
    let out = dir.join("w.toml");
    let r = run(&[
        "-v",
        "import",
        "watchlist",
        "tests/import/watchlist/bad-rows.csv",
        "--field",
        "sender",
        "--skip-bad",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("repeats line 2: kept once"), "{}", r.stderr);
    assert!(r.stderr.contains("wrote `"), "{}", r.stderr);
    assert!(r.stderr.contains("done in "), "{}", r.stderr);
    let plain = run(&[
        "import",
        "watchlist",
        "tests/import/watchlist/bad-rows.csv",
        "--field",
        "sender",
        "--skip-bad",
    ]);
    assert!(!plain.stderr.contains("kept once") && !plain.stderr.contains("done in"), "{}", plain.stderr);
}

/// Runs fpx with `NO_COLOR` set or not (stderr is a pipe, so `auto` never colours).
fn with_no_color(args: &[&str], no_color: Option<&str>) -> Run {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fpx"));
    cmd.args(args).current_dir(root()).env_remove("NO_COLOR");
    if let Some(v) = no_color {
        cmd.env("NO_COLOR", v);
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn color_always_beats_no_color_and_auto_is_plain_on_a_pipe() {
    let args = |c: &'static str| vec!["--color", c, "check", "tests/bad/invalid-cidr.toml"];
    let esc = |r: &Run| r.stderr.contains('\u{1b}');
    assert!(esc(&with_no_color(&args("always"), Some("1"))), "--color always wins over NO_COLOR");
    assert!(!esc(&with_no_color(&args("never"), None)));
    assert!(!esc(&with_no_color(&args("auto"), None)), "stderr is not a terminal");
    assert!(!esc(&with_no_color(&args("auto"), Some("1"))));
}

#[test]
fn errors_never_show_rust_internals() {
    let dir = tempdir("errors");
    let missing = dir.join("missing.csv");
    let cases: Vec<Vec<String>> = vec![
        vec![
            "import".into(),
            "watchlist".into(),
            missing.display().to_string(),
            "--field".into(),
            "sender".into(),
        ],
        vec!["import".into(), "sigma".into(), "Cargo.toml".into()],
        vec!["import".into(), "sigma".into(), dir.display().to_string()],
        vec!["export".into(), "sigma".into(), "--policy".into(), "policies/bulk-email-fp.toml".into()],
        vec!["export".into(), "sigma".into(), "--policy".into(), "tests/bad/invalid-cidr.toml".into()],
        vec!["export".into(), "sigma".into(), "--policy".into(), missing.display().to_string()],
        vec!["init".into(), "/proc/fpx-cannot-write-here".into()],
        vec!["import".into(), "watchlist".into(), "Cargo.toml".into(), "--field".into(), "subject".into()],
        vec![
            "filter".into(),
            "--policy".into(),
            "policies/bulk-email-fp.toml".into(),
            missing.display().to_string(),
        ],
    ];
    for args in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run(&args);
        assert!(r.code == 1 || r.code == 2, "{args:?}: exit {}\n{}", r.code, r.stderr);
        assert!(r.stderr.contains("error"), "{args:?}: {}", r.stderr);
    }
}
