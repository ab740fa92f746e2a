//! Shared helpers: the policies, the fpx binary, and the external checkers (Microsoft's
//! Kusto language service under node, duckdb-kql under python), installed on first use
//! from their pinned lock files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use fpx::compile::{Compiled, Selection};
use fpx::model::Policy;
use serde_json::{Value, json};

/// The day the snapshots and tables are judged on.
pub const TODAY: &str = "2026-12-04";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fpx() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fpx"))
}

pub fn load(path: &Path) -> Policy {
    let text = std::fs::read_to_string(path).unwrap();
    fpx::validate::load(&text).unwrap_or_else(|d| panic!("{} is invalid: {d:?}", path.display()))
}

pub fn load_str(text: &str) -> Policy {
    fpx::validate::load(text).unwrap_or_else(|d| panic!("policy is invalid: {d:?}"))
}

pub fn compiled<'p>(policy: &'p Policy, rules: &[&str]) -> Compiled<'p> {
    let today = TODAY.parse().unwrap();
    Compiled::new(policy, Selection { today, rules: rules.iter().map(|s| s.to_string()).collect() })
}

/// Every policy in `policies/`, sorted.
pub fn policy_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

/// A scratch directory under `target/` for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = repo().join("target").join("fpx-test").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

static INSTALL: Mutex<()> = Mutex::new(());

fn run_ok(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `npm ci` in `tests/kql/parser` on first use.
fn parser_dir() -> PathBuf {
    let dir = repo().join("tests/kql/parser");
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if !dir.join("node_modules/@kusto/language-service-next").exists() {
        run_ok(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir), "npm ci");
    }
    dir
}

/// A virtual environment with `tests/kql/executor/requirements.txt` on first use.
fn executor_python() -> PathBuf {
    let dir = repo().join("tests/kql/executor");
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let python = dir.join(".venv/bin/python");
    if !dir.join(".venv/.fpx-installed").exists() {
        run_ok(Command::new("python3").args(["-m", "venv", ".venv"]).current_dir(&dir), "python3 -m venv");
        run_ok(
            Command::new(&python)
                .args(["-m", "pip", "install", "-q", "-r", "requirements.txt"])
                .current_dir(&dir),
            "pip install",
        );
        std::fs::write(dir.join(".venv/.fpx-installed"), "").unwrap();
    }
    python
}

fn pipe(mut cmd: Command, input: &Value, what: &str) -> Value {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let bytes = serde_json::to_vec(input).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&bytes));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{what} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// One parsed query: its error diagnostics (`code: message`) and decoded string literals.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub name: String,
    pub errors: Vec<String>,
    pub literals: Vec<String>,
}

/// Parses and analyses every query in one node process.
pub fn parse_all(queries: &[(String, String)], literals: bool) -> Vec<Parsed> {
    let dir = parser_dir();
    let input = json!({
        "schemaDir": repo().join("tests/corpus/schema"),
        "queries": queries.iter().map(|(n, t)| json!({"name": n, "text": t, "literals": literals})).collect::<Vec<_>>(),
    });
    let mut cmd = Command::new("node");
    cmd.arg("check.js").current_dir(dir);
    let out = pipe(cmd, &input, "the KQL parser");
    out.as_array()
        .unwrap()
        .iter()
        .map(|r| Parsed {
            name: r["name"].as_str().unwrap().to_string(),
            errors: r["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["severity"] == "Error")
                .map(|d| format!("{}: {}", d["code"].as_str().unwrap(), d["message"].as_str().unwrap()))
                .collect(),
            literals: r["literals"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap().to_string())
                .collect(),
        })
        .collect()
}

/// Runs KQL in duckdb-kql (see `executor/run.py`).
pub fn execute(input: &Value) -> Value {
    let mut cmd = Command::new(executor_python());
    cmd.arg(repo().join("tests/kql/executor/run.py"));
    pipe(cmd, input, "the KQL executor")
}
