//! Helpers shared by the integration tests.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn path(rel: &str) -> PathBuf {
    root().join(rel)
}

/// The day the example policies are judged on, so that expiry never makes tests flaky.
pub const TODAY: &str = "2026-12-04";

/// Output of one `fpx` run.
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn stdout_str(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }
}

/// Runs the fpx binary from the repository root, with `stdin` as input.
pub fn fpx_with_stdin(args: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fpx"))
        .args(args)
        .current_dir(root())
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fpx starts");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let Output { status, stdout, stderr } = child.wait_with_output().expect("fpx runs");
    writer.join().expect("stdin writer");
    Run { code: status.code().unwrap_or(-1), stdout, stderr: String::from_utf8_lossy(&stderr).into_owned() }
}

pub fn fpx(args: &[&str]) -> Run {
    fpx_with_stdin(args, b"")
}

/// insta settings writing snapshots to the top-level `snapshots/` folder.
pub fn snapshots() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}

pub fn read(rel: &str) -> String {
    std::fs::read_to_string(path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

/// A fresh temporary directory for one test.
pub fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fpx-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A Markdown document as GitHub renders it (CommonMark with tables and strikethrough).
pub struct Rendered {
    /// Every table: its rows (header first), each a list of cell texts.
    pub tables: Vec<Vec<Vec<String>>>,
    /// Raw HTML the document would pass through (user text must never produce any).
    pub html: Vec<String>,
    /// Fenced code blocks: language and content.
    pub code_blocks: Vec<(String, String)>,
}

pub fn render_markdown(md: &str) -> Rendered {
    use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
    let mut out = Rendered { tables: Vec::new(), html: Vec::new(), code_blocks: Vec::new() };
    let mut cell: Option<String> = None;
    let mut row: Vec<String> = Vec::new();
    let mut block: Option<(String, String)> = None;
    for event in Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Start(Tag::Table(_)) => out.tables.push(Vec::new()),
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => row.push(cell.take().unwrap_or_default()),
            Event::End(TagEnd::TableHead | TagEnd::TableRow) => {
                out.tables.last_mut().unwrap().push(std::mem::take(&mut row));
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(l) => l.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                block = Some((lang, String::new()));
            }
            Event::End(TagEnd::CodeBlock) => out.code_blocks.extend(block.take()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(c) = cell.as_mut() {
                    c.push_str(&t);
                } else if let Some((_, b)) = block.as_mut() {
                    b.push_str(&t);
                }
            }
            Event::Html(h) | Event::InlineHtml(h) => out.html.push(h.to_string()),
            _ => {}
        }
    }
    out
}

/// Every row of every table has as many cells as its header.
pub fn assert_tables_well_formed(r: &Rendered) {
    for t in &r.tables {
        let width = t[0].len();
        for row in t {
            assert_eq!(row.len(), width, "{row:?}");
        }
    }
}
