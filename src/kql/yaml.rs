//! Sentinel hunting queries and analytics rules (YAML): only the `query` value changes.
//!
//! The `query: |` block scalar is edited line by line in the file's own bytes, so key order,
//! comments, quoting and every other field stay byte-identical; a YAML parser then checks
//! that the edited file holds exactly the intended query and the same other fields.

use std::fmt;

use yaml_rust2::{Yaml, YamlLoader};

use crate::kql::tune::LineEdit;

/// A YAML file whose `query` is a literal block scalar.
#[derive(Clone, Debug)]
pub struct RuleFile {
    source: String,
    /// Byte ranges of the block's content lines in `source` (line terminators included).
    lines: Vec<(usize, usize)>,
    indent: usize,
    eol: &'static str,
    doc: Yaml,
}

/// Why a YAML file cannot be tuned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum YamlError {
    Invalid(String),
    NoQuery,
    NotLiteralBlock {
        line: usize,
    },
    BadIndent {
        line: usize,
    },
    /// The edited file did not read back as intended (a bug; nothing is written).
    Verify(String),
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            YamlError::Invalid(m) => write!(f, "not valid YAML: {m}"),
            YamlError::NoQuery => write!(f, "no top-level `query` key"),
            YamlError::NotLiteralBlock { line } => write!(
                f,
                "line {line}: `query` is not a literal block scalar; fpx edits `query: |` blocks only (rewrite it as `query: |` with the query indented below)"
            ),
            YamlError::BadIndent { line } => {
                write!(f, "line {line}: the `query: |` block has no indented content")
            }
            YamlError::Verify(m) => {
                write!(f, "the edited file does not read back as intended ({m}); nothing was written")
            }
        }
    }
}

impl RuleFile {
    pub fn parse(source: &str) -> Result<RuleFile, YamlError> {
        let docs = YamlLoader::load_from_str(source).map_err(|e| YamlError::Invalid(e.to_string()))?;
        let doc = docs.into_iter().next().ok_or(YamlError::NoQuery)?;
        if doc["query"].is_badvalue() {
            return Err(YamlError::NoQuery);
        }
        // Raw lines with their byte ranges.
        let mut raw: Vec<(usize, usize)> = Vec::new();
        let mut start = 0;
        for piece in source.split_inclusive('\n') {
            raw.push((start, start + piece.len()));
            start += piece.len();
        }
        let text = |(a, b): (usize, usize)| source.get(a..b).unwrap_or("");
        let key_line = raw.iter().position(|&r| text(r).starts_with("query:")).ok_or(YamlError::NoQuery)?;
        let header = text(*raw.get(key_line).ok_or(YamlError::NoQuery)?);
        let after = header.trim_end_matches(['\n', '\r']).get("query:".len()..).unwrap_or("");
        let after = after.split(" #").next().unwrap_or("").trim();
        let mut chars = after.chars();
        if chars.next() != Some('|') {
            return Err(YamlError::NotLiteralBlock { line: key_line + 1 });
        }
        let mut explicit = None;
        for c in chars {
            match c {
                '-' | '+' => {}
                d @ '1'..='9' => explicit = d.to_digit(10).map(|d| d as usize),
                _ => return Err(YamlError::NotLiteralBlock { line: key_line + 1 }),
            }
        }
        let blank = |s: &str| s.trim_matches([' ', '\r', '\n']).is_empty();
        let indent_of = |s: &str| s.len() - s.trim_start_matches(' ').len();
        let body = raw.get(key_line + 1..).unwrap_or(&[]);
        let indent = match explicit {
            Some(n) => n,
            None => body.iter().map(|&r| text(r)).find(|s| !blank(s)).map_or(0, indent_of),
        };
        if indent == 0 {
            return Err(YamlError::BadIndent { line: key_line + 1 });
        }
        let mut lines: Vec<(usize, usize)> =
            body.iter().copied().take_while(|&r| blank(text(r)) || indent_of(text(r)) >= indent).collect();
        // Trailing blank lines belong to the block but hold no query text.
        while lines.last().is_some_and(|&r| blank(text(r))) {
            lines.pop();
        }
        let eol = if header.ends_with("\r\n") { "\r\n" } else { "\n" };
        Ok(RuleFile { source: source.to_string(), lines, indent, eol, doc })
    }

    /// The query text, one line per content line of the block (without chomping).
    pub fn query(&self) -> String {
        let lines: Vec<&str> = self
            .lines
            .iter()
            .map(|&(a, b)| {
                let l = self.source.get(a..b).unwrap_or("").trim_end_matches(['\n', '\r']);
                l.get(self.indent..).unwrap_or("")
            })
            .collect();
        lines.join("\n")
    }

    /// A top-level string field (`id`, `name`, `kind`, …).
    pub fn field(&self, key: &str) -> Option<&str> {
        self.doc[key].as_str()
    }

    /// Whether the file is a scheduled analytics rule (subject to Sentinel's query limit).
    pub fn is_analytics_rule(&self) -> bool {
        !self.doc["queryFrequency"].is_badvalue() || self.field("kind").is_some()
    }

    /// The file with `edit` applied to the query's lines, verified by reading it back.
    pub fn splice(&self, edit: &LineEdit) -> Result<String, YamlError> {
        let first = self.lines.first().map_or(self.source.len(), |r| r.0);
        let byte_at = |line: usize| match self.lines.get(line) {
            Some(&(a, _)) => a,
            None => self.lines.last().map_or(first, |r| r.1),
        };
        let (a, b) = (byte_at(edit.start), byte_at(edit.end));
        let pad = " ".repeat(self.indent);
        let mut inserted = String::new();
        for l in &edit.lines {
            inserted.push_str(&pad);
            inserted.push_str(l);
            inserted.push_str(self.eol);
        }
        let mut out = String::with_capacity(self.source.len() + inserted.len());
        out.push_str(self.source.get(..a).unwrap_or(""));
        out.push_str(&inserted);
        out.push_str(self.source.get(b..).unwrap_or(""));
        self.verify(&out, edit)?;
        Ok(out)
    }

    fn verify(&self, edited: &str, edit: &LineEdit) -> Result<(), YamlError> {
        let docs = YamlLoader::load_from_str(edited).map_err(|e| YamlError::Verify(e.to_string()))?;
        let new = docs.into_iter().next().ok_or_else(|| YamlError::Verify("no document".into()))?;
        let old_query = self.doc["query"].as_str().unwrap_or("");
        let expected = edit.apply(old_query);
        if new["query"].as_str() != Some(expected.as_str()) {
            return Err(YamlError::Verify("the query differs from the tuned query".into()));
        }
        match (&self.doc, &new) {
            (Yaml::Hash(a), Yaml::Hash(b)) => {
                let query = Yaml::String("query".into());
                let others = |h: &yaml_rust2::yaml::Hash| -> Vec<(Yaml, Yaml)> {
                    h.iter().filter(|(k, _)| **k != query).map(|(k, v)| (k.clone(), v.clone())).collect()
                };
                if others(a) != others(b) {
                    return Err(YamlError::Verify("a field other than `query` changed".into()));
                }
                Ok(())
            }
            _ => Err(YamlError::Verify("the document is not a mapping".into())),
        }
    }
}
