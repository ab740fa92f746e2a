//! Process behaviour: write errors, interrupted runs and in-place rewrites.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{TODAY, path, read, tempdir};

const POLICY: &str = "policies/bulk-email-fp.toml";
const EVENTS: &str = "tests/data/bulk-email.jsonl";
const SEED: &str = "tests/corpus/seed/Bulk Emails by Sender Bulk Complaint level.yaml";

fn dev_full() -> File {
    OpenOptions::new().write(true).open("/dev/full").expect("/dev/full is writable")
}

/// Runs fpx with stdout on `/dev/full`: (exit status, stderr).
fn to_full_disk(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fpx"))
        .args(args)
        .current_dir(crate::common::root())
        .stdin(Stdio::null())
        .stdout(dev_full())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_full_disk_on_stdout_exits_2_with_a_message() {
    let seed = path(SEED).display().to_string();
    for args in [
        vec!["filter", "--policy", POLICY, "--today", TODAY, EVENTS],
        vec!["filter", "--policy", POLICY, "--today", TODAY, "--threads", "2", EVENTS],
        vec!["kql", "--policy", POLICY, "--today", TODAY],
        vec!["tune", "--policy", POLICY, "--today", TODAY, &seed],
        vec![
            "explain",
            "--policy",
            POLICY,
            "--today",
            TODAY,
            r#"{"SenderFromAddress":"reports@company.com"}"#,
        ],
        vec!["report", "--today", TODAY, POLICY],
        vec!["lint", "--today", TODAY, "--format", "sarif", POLICY],
        vec!["export", "sigma", "--skip-bad", "--policy", POLICY, "--today", TODAY],
        vec!["schema"],
    ] {
        let (code, stderr) = to_full_disk(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains("no space left on device"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_full_disk_on_the_excluded_or_stats_file_exits_2() {
    for flag in ["--excluded", "--stats"] {
        let run =
            crate::common::fpx(&["filter", "--policy", POLICY, "--today", TODAY, flag, "/dev/full", EVENTS]);
        assert_eq!(run.code, 2, "{flag}: {}", run.stderr);
        assert!(
            run.stderr.contains("error: cannot write `/dev/full`: no space left on device"),
            "{flag}: {}",
            run.stderr
        );
    }
}

/// A copy of the seed rule in a fresh directory, with mode `mode`.
fn seed_copy(name: &str, mode: u32) -> (std::path::PathBuf, String) {
    let dir = tempdir(name);
    let file = dir.join("rule.yaml");
    let original = read(SEED);
    std::fs::write(&file, &original).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
    (file, original)
}

fn tune_in_place(file: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fpx"));
    c.args(["tune", "--in-place", "--policy"])
        .arg(path(POLICY))
        .args(["--today", TODAY])
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Every file in `dir`, by name.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn tune_in_place_keeps_permissions_and_leaves_no_temporary_file() {
    let (file, original) = seed_copy("in-place-mode", 0o640);
    let out = tune_in_place(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let tuned = std::fs::read_to_string(&file).unwrap();
    assert_ne!(tuned, original);
    assert!(tuned.contains("// fpx: bulk-email-fp"), "{tuned}");
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o640);
    assert_eq!(names(file.parent().unwrap()), ["rule.yaml"]);
}

#[test]
fn tune_in_place_interrupted_leaves_the_old_file_or_the_new_one() {
    // Killed at many moments of its run, `tune --in-place` leaves the rule as it was or
    // fully tuned, never a part of either.
    let (file, original) = seed_copy("in-place-kill", 0o644);
    let out = tune_in_place(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let tuned = std::fs::read_to_string(&file).unwrap();
    let (mut old, mut new) = (0, 0);
    for i in 0..40u64 {
        std::fs::write(&file, &original).unwrap();
        let mut child = tune_in_place(&file).spawn().unwrap();
        std::thread::sleep(Duration::from_micros(i * 250));
        let _ = child.kill();
        let _ = child.wait();
        let now = std::fs::read_to_string(&file).unwrap();
        if now == original {
            old += 1;
        } else {
            assert_eq!(now, tuned, "after a kill at {} µs", i * 250);
            new += 1;
        }
        // A temporary file may remain after a kill (it is never the rule itself).
        for n in names(file.parent().unwrap()) {
            assert!(n == "rule.yaml" || (n.starts_with(".rule.yaml.fpx-") && n.ends_with(".tmp")), "{n}");
        }
    }
    assert!(old > 0, "every run finished before it was killed: the test proves nothing");
    eprintln!("tune --in-place killed 40 times: {old} left the original, {new} the tuned file");
}

#[test]
fn an_interrupted_filter_leaves_its_input_untouched() {
    let dir = tempdir("filter-kill");
    let input = dir.join("events.jsonl");
    let text = read(EVENTS).repeat(20_000);
    std::fs::write(&input, &text).unwrap();
    let excluded = dir.join("excluded.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fpx"))
        .args(["filter", "--policy"])
        .arg(path(POLICY))
        .args(["--today", TODAY, "--excluded"])
        .arg(&excluded)
        .arg(&input)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Read a little of its output, so that it is mid-run, then kill it.
    let mut first = [0u8; 4096];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "fpx finished before it was killed");
    assert!(std::fs::read_to_string(&input).unwrap() == text, "the input changed");
    // What was written of the excluded rows is whole rows only up to the last line end.
    let written = std::fs::read_to_string(&excluded).unwrap_or_default();
    let complete = written.rfind('\n').map_or("", |i| &written[..=i]);
    for line in complete.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
}
