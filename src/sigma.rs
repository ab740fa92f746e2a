//! What Sigma's strings and fields mean, defined once for `fpx import sigma` and
//! `fpx export sigma`.
//!
//! - **Strings** (Sigma v2, as pySigma reads them): `*` is any run of characters, `?` one
//!   character; `\*`, `\?` and `\\` are a literal `*`, `?` and `\`; a `\` before any other
//!   character, or at the end, is a literal `\`. Matching ignores case unless `|cased`.
//! - **Fields**: Sigma field names are the EmailEvents columns, as pySigma's Microsoft XDR
//!   pipeline for the Kusto backend names them.
//! - **Log source**: fpx writes and expects `product: m365`, `service: email_events` (Sigma
//!   has no taxonomy entry for EmailEvents); a pipeline maps it to the `EmailEvents` table.

/// The `logsource` fpx writes on exported filters: `(key, value)` in order.
pub const LOGSOURCE: &[(&str, &str)] = &[("product", "m365"), ("service", "email_events")];

/// A piece of a Sigma string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    Lit(String),
    /// `*`: any run of characters.
    Star,
    /// `?`: exactly one character.
    One,
}

/// Splits a Sigma string value into literals and wildcards, as pySigma's `SigmaString` does.
/// Adjacent literals are joined.
pub fn parse_string(s: &str) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    let push_lit = |out: &mut Vec<Token>, c: &str| match out.last_mut() {
        Some(Token::Lit(l)) => l.push_str(c),
        _ => out.push(Token::Lit(c.to_string())),
    };
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.clone().next() {
                Some(n @ ('*' | '?' | '\\')) => {
                    chars.next();
                    push_lit(&mut out, n.encode_utf8(&mut [0; 4]));
                }
                // A backslash before anything else (or at the end) is itself.
                _ => push_lit(&mut out, "\\"),
            },
            '*' => out.push(Token::Star),
            '?' => out.push(Token::One),
            c => push_lit(&mut out, c.encode_utf8(&mut [0; 4])),
        }
    }
    out
}

/// A literal text as a Sigma string: `*`, `?` and `\` escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The Sigma field of each fpx field with a fixed column.
pub const FIELDS: &[(&str, &str)] = &[
    ("sender", "SenderFromAddress"),
    ("mail_from", "SenderMailFromAddress"),
    ("sender_domain", "SenderFromDomain"),
    ("recipient", "RecipientEmailAddress"),
    ("subject", "Subject"),
    ("direction", "EmailDirection"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use Token::{Lit, One, Star};

    fn lit(s: &str) -> Token {
        Lit(s.into())
    }

    #[test]
    fn strings_parse_like_pysigma() {
        assert_eq!(parse_string("a*b?c"), [lit("a"), Star, lit("b"), One, lit("c")]);
        assert_eq!(parse_string(r"a\*b\?c\\d"), [lit(r"a*b?c\d")]);
        assert_eq!(parse_string(r"C:\Windows\*"), [lit(r"C:\Windows*")]);
        assert_eq!(parse_string(r"C:\Windows\\*"), [lit(r"C:\Windows\"), Star]);
        assert_eq!(parse_string(r"end\"), [lit(r"end\")]);
        assert_eq!(parse_string(""), []);
    }

    #[test]
    fn escaped_text_parses_back_to_itself() {
        for text in [r"a*b?c\d", r"\\", "plain", r"x\", "*", "é?"] {
            assert_eq!(parse_string(&escape(text)), [lit(text)], "{text}");
        }
    }
}
