//! KQL literals, comments and identifiers: the only way policy text enters a query.
//!
//! Every policy value is written as a double-quoted KQL string literal whose decoded value
//! is exactly the value (checked in `tests/kql` against the string values that Microsoft's
//! parser, `@kusto/language-service-next`, decodes). Escapes used, from the
//! [string data type](https://learn.microsoft.com/en-us/kusto/query/scalar-data-types/string):
//! `\\`, `\"`, `\n`, `\r`, `\t`, and `\uXXXX` for every other control or line-separator
//! character. Everything else (including `//`, `|`, `;`, `'` and non-ASCII text) is
//! written as itself: inside a string literal it has no structure.

use std::fmt::Write as _;

/// A KQL string literal that decodes to exactly `value`.
pub fn string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                // Control and separator characters are all in the BMP: one `\uXXXX` each.
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Characters written as `\uXXXX`: controls (C0, DEL, C1) and the Unicode line and
/// paragraph separators, which some editors and log viewers treat as line breaks.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Text made safe for a `//` comment: a comment runs to the end of its line, so every
/// character that could end the line (or hide text from a reviewer) becomes a space.
pub fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| if needs_escape(c) || matches!(c, '\u{85}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') { ' ' } else { c })
        .collect()
}

/// A column or table name as KQL reads it: bare when it is a plain identifier,
/// bracket-quoted (`['…']`) otherwise.
pub fn identifier(name: &str) -> String {
    let mut chars = name.chars();
    let plain = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !is_keyword(name);
    if plain { name.to_string() } else { format!("[{}]", string(name)) }
}

/// Words that cannot be bare column names in an expression.
fn is_keyword(name: &str) -> bool {
    matches!(
        name,
        "and"
            | "or"
            | "not"
            | "in"
            | "has"
            | "contains"
            | "startswith"
            | "endswith"
            | "matches"
            | "between"
            | "true"
            | "false"
            | "null"
            | "let"
            | "where"
            | "project"
            | "extend"
            | "summarize"
            | "by"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_structure_characters() {
        assert_eq!(string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(string("x\ny\r\tz"), r#""x\ny\r\tz""#);
        assert_eq!(string("\u{0}\u{1b}\u{2028}"), r#""\u0000\u001b\u2028""#);
        assert_eq!(string("é // | ;"), "\"é // | ;\"");
    }

    #[test]
    fn comments_cannot_end_their_line() {
        assert_eq!(comment_text("a\nb\rc\u{2028}d"), "a b c d");
    }

    #[test]
    fn identifiers_are_bracketed_when_needed() {
        assert_eq!(identifier("SenderIPv4"), "SenderIPv4");
        assert_eq!(identifier("scheduled-reports"), "[\"scheduled-reports\"]");
        assert_eq!(identifier("where"), "[\"where\"]");
    }
}
