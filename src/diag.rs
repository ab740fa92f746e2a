//! Diagnostics: every problem fpx finds in a policy, as a value with a code, a span and help.
//!
//! Messages follow one style: lowercase, no trailing period, user text in backticks, the
//! extra sentence in `help`. Codes are stable kebab-case names, documented in
//! `policies/README.md`.

use std::fmt;
use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label, Severity as CsSeverity};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, Chars, Config};

/// A byte range in a source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    pub fn range(self) -> Range<usize> {
        self.start..self.end
    }

    /// A sub-span of a string value: bytes `from..to` of the decoded text. Exact when the
    /// value was written as a one-line string without escapes; otherwise the whole value.
    pub fn inner(self, source: &str, from: usize, to: usize) -> Span {
        let Some(text) = source.get(self.start..self.end) else {
            return self;
        };
        let one_to_one = (text.starts_with('\'') && !text.starts_with("\'\'\'"))
            || (text.starts_with('"') && !text.starts_with("\"\"\"") && !text.contains('\\'));
        if !one_to_one {
            return self;
        }
        let body = self.start + 1;
        let start = (body + from).min(self.end);
        Span::new(start, (body + to).clamp(start, self.end))
    }
}

impl From<Range<usize>> for Span {
    fn from(r: Range<usize>) -> Self {
        Span::new(r.start, r.end)
    }
}

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem: a code, a message, where it is, and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    /// Where the problem is; `None` for problems of the file as a whole.
    pub span: Option<Span>,
    /// The text under the primary span, when there is something short to say.
    pub label: Option<String>,
    /// Other places that explain the problem (the first definition of a duplicate, …).
    pub secondary: Vec<(Span, String)>,
    pub help: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span: None,
            label: None,
            secondary: Vec::new(),
            help: Vec::new(),
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }

    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn also(mut self, span: Span, label: impl Into<String>) -> Self {
        self.secondary.push((span, label.into()));
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help.push(help.into());
        self
    }

    /// 1-based line and column of the primary span in `source`.
    pub fn line_col(&self, source: &str) -> Option<(usize, usize)> {
        self.span.map(|s| line_col(source, s.start))
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, col)
}

/// Suggest the closest of `candidates` to `input`, if one is close enough to be a typo.
pub fn did_you_mean<'a, I>(input: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let lowered = input.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lowered, &c.to_lowercase()), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Renders diagnostics like a compiler does: `error[code]: message`, the file, line and
/// column, the source line with the span underlined, then help.
pub fn render(diagnostics: &[Diagnostic], file_name: &str, source: &str, color: bool) -> String {
    let file = SimpleFile::new(file_name, source);
    let config = Config { chars: Chars::ascii(), ..Config::default() };
    let mut out = Vec::new();
    for d in diagnostics {
        let cs = to_codespan(d, source.len());
        let result = if color {
            let styles = term::Styles::default();
            let mut buffer = term::termcolor::Ansi::new(&mut out);
            let mut writer = term::StylesWriter::new(&mut buffer, &styles);
            term::emit_to_write_style(&mut writer, &config, &file, &cs)
        } else {
            term::emit_to_io_write(&mut out, &config, &file, &cs)
        };
        if result.is_err() {
            // The span lies outside the file: fall back to a plain line.
            out.extend_from_slice(format!("{}[{}]: {}\n", d.severity, d.code, d.message).as_bytes());
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn to_codespan(d: &Diagnostic, len: usize) -> CsDiagnostic<()> {
    let severity = match d.severity {
        Severity::Note => CsSeverity::Note,
        Severity::Warning => CsSeverity::Warning,
        Severity::Error => CsSeverity::Error,
    };
    let clamp = |s: Span| s.start.min(len)..s.end.min(len).max(s.start.min(len));
    let mut labels = Vec::new();
    if let Some(span) = d.span {
        let mut label = Label::primary((), clamp(span));
        if let Some(text) = &d.label {
            label = label.with_message(text);
        }
        labels.push(label);
    }
    for (span, text) in &d.secondary {
        labels.push(Label::secondary((), clamp(*span)).with_message(text));
    }
    CsDiagnostic::new(severity)
        .with_code(d.code)
        .with_message(&d.message)
        .with_labels(labels)
        .with_notes(d.help.iter().map(|h| format!("help: {h}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let src = "a = 1\nb = \"é\"x\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 6), (2, 1));
        let x = src.find('x').unwrap_or(0);
        assert_eq!(line_col(src, x), (2, 8));
    }

    #[test]
    fn suggestion_needs_similarity() {
        assert_eq!(did_you_mean("sendr", ["sender", "subject"]), Some("sender"));
        assert_eq!(did_you_mean("zzz", ["sender", "subject"]), None);
    }
}
