//! What a condition means, defined once.
//!
//! Every choice that decides whether an event matches lives here, so that the fast matcher
//! ([`crate::matcher`]), the reference evaluator ([`crate::reference`]) and the KQL
//! emitter read the same definitions:
//!
//! - **Cells.** A missing, `null` or empty column never matches any condition (so `*` does
//!   not match an empty sender). A JSON number or boolean in a text column is compared as
//!   its JSON text; an object or array never matches a text condition ([`Cell`]).
//! - **Case.** Every text operator except `regex` ignores the case of ASCII letters, and
//!   only of ASCII letters ([`fold`]), as Kusto documents its case-insensitive operators.
//! - **Globs.** A plain value is a whole-value glob: `*` is any run of characters
//!   (including none), `?` exactly one character, every other character is literal.
//!   Globs are normalised to the cheapest exact test ([`TextTest::glob`]).
//! - **Regexes.** `regex` is an unanchored search, case-sensitive unless the pattern says
//!   `(?i)`, in the syntax that Rust's `regex` crate and RE2 read identically
//!   ([`check_regex`]).
//! - **Addresses.** IPv4 networks test `SenderIPv4`, IPv6 networks `SenderIPv6`; a cell
//!   that is not an address of that family never matches ([`parse_ipv4`], [`parse_ipv6`]).

use std::borrow::Cow;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use regex::{Regex, RegexBuilder};
use regex_syntax::ast::{self, Ast};

/// The most memory one compiled regex may use; larger patterns are rejected at validation.
pub const REGEX_SIZE_LIMIT: usize = 2 * (1 << 20);
/// The longest pattern text compiled (a regex, or the regex a glob means), in bytes. Longer
/// ones are rejected before parsing: parsing a pattern of megabytes takes seconds and
/// gigabytes only to find it over [`REGEX_SIZE_LIMIT`] (and a Sentinel rule's query holds
/// 10,000 characters).
pub const MAX_PATTERN_BYTES: usize = 256 * 1024;
/// The largest counted repetition RE2 accepts (`a{1000}`).
pub const MAX_REPETITION: u32 = 1000;

/// A column value as conditions see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell<'a> {
    /// Missing, `null`, empty, an object or an array: matches no text or address condition.
    Absent,
    /// Non-empty text.
    Text(Cow<'a, str>),
}

impl<'a> Cell<'a> {
    /// A cell from text: empty text is absent.
    pub fn text(s: impl Into<Cow<'a, str>>) -> Cell<'a> {
        let s = s.into();
        if s.is_empty() { Cell::Absent } else { Cell::Text(s) }
    }

    /// A cell from the JSON text of one value (as found in a JSON Lines row).
    ///
    /// Strings are decoded; numbers and booleans keep their JSON text; `null`, objects and
    /// arrays are absent. Returns `None` when `raw` is not valid JSON.
    pub fn from_json(raw: &'a str) -> Option<Cell<'a>> {
        let raw = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
        match raw.as_bytes().first()? {
            b'"' => {
                if !raw.contains('\\') {
                    // A JSON string without escapes is its own content between the quotes.
                    let inner = raw.get(1..raw.len().checked_sub(1)?)?;
                    Some(Cell::text(inner))
                } else {
                    serde_json::from_str::<String>(raw).ok().map(Cell::text)
                }
            }
            b'n' => Some(Cell::Absent),
            b'{' | b'[' => Some(Cell::Absent),
            _ => Some(Cell::text(raw)),
        }
    }

    /// A header value: only a non-empty JSON string is text (a number, boolean, object or
    /// array under a header name is not a header value fpx can compare).
    pub fn header_from_json(raw: &'a str) -> Option<Cell<'a>> {
        let trimmed = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
        if trimmed.starts_with('"') { Cell::from_json(trimmed) } else { Some(Cell::Absent) }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Cell::Absent => None,
            Cell::Text(t) => Some(t),
        }
    }
}

/// Case folding for every case-insensitive comparison: ASCII `A`–`Z` become `a`–`z`, and
/// every other character stays as it is.
///
/// This is what Kusto documents for `=~`, `in~`, `startswith`, `endswith` and `contains`
/// ("case-insensitive operators are currently supported only for ASCII-text",
/// <https://learn.microsoft.com/en-us/kusto/query/datatypes-string-operators>), so the
/// matcher and the emitted KQL agree. It is also the safe choice for an exclusion engine:
/// Unicode folding would put `ſ` with `s` and the Kelvin sign with `k`, and let a forged
/// `reportſ@company.com` pass as `reports@company.com`. Folding never changes the number of
/// characters, so prefix, suffix and substring relations survive it.
pub fn fold(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        let mut owned = s.to_string();
        owned.make_ascii_lowercase();
        Cow::Owned(owned)
    } else {
        Cow::Borrowed(s)
    }
}

/// [`fold`] into a reused buffer, for the hot path.
pub fn fold_into(s: &str, out: &mut String) {
    out.clear();
    out.push_str(s);
    out.make_ascii_lowercase();
}

/// Parses a `SenderIPv4` cell: dotted-quad only (`10.1.2.3`), as Rust's standard library
/// reads it; anything else is not an address and matches no network.
pub fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    s.parse().ok()
}

/// Parses a `SenderIPv6` cell in any RFC 4291 text form (`2001:db8::1`, `::ffff:1.2.3.4`).
pub fn parse_ipv6(s: &str) -> Option<Ipv6Addr> {
    s.parse().ok()
}

/// How a text value of a policy is compared, as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TextOp {
    /// A plain value: whole-value glob, case-insensitive.
    Glob,
    Equals,
    StartsWith,
    EndsWith,
    Contains,
    Regex,
}

impl TextOp {
    pub const ALL: [TextOp; 6] =
        [TextOp::Equals, TextOp::StartsWith, TextOp::EndsWith, TextOp::Contains, TextOp::Glob, TextOp::Regex];

    /// The operator's key in a policy (`subject.contains = [...]`).
    pub fn key(self) -> &'static str {
        match self {
            TextOp::Glob => "glob",
            TextOp::Equals => "equals",
            TextOp::StartsWith => "starts_with",
            TextOp::EndsWith => "ends_with",
            TextOp::Contains => "contains",
            TextOp::Regex => "regex",
        }
    }

    pub fn from_key(key: &str) -> Option<TextOp> {
        TextOp::ALL.into_iter().find(|op| op.key() == key)
    }
}

/// A regex that passed [`check_regex`] and compiled within the size limit.
#[derive(Clone)]
pub struct CheckedRegex {
    source: String,
    regex: Regex,
}

impl CheckedRegex {
    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn regex(&self) -> &Regex {
        &self.regex
    }

    fn compile(source: String) -> Result<CheckedRegex, RegexProblem> {
        check_length(&source)?;
        match RegexBuilder::new(&source).size_limit(REGEX_SIZE_LIMIT).dfa_size_limit(REGEX_SIZE_LIMIT).build()
        {
            Ok(regex) => Ok(CheckedRegex { source, regex }),
            Err(regex::Error::CompiledTooBig(limit)) => Err(RegexProblem {
                message: format!("pattern compiles to more than {} KiB", limit / 1024),
                offset: None,
                help: Some("split it into several smaller patterns".into()),
            }),
            Err(e) => Err(RegexProblem { message: first_line(&e.to_string()), offset: None, help: None }),
        }
    }
}

impl fmt::Debug for CheckedRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.source)
    }
}

impl PartialEq for CheckedRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for CheckedRegex {}

/// One text test in normal form: what the matcher indexes and the KQL emitter writes.
///
/// Literal variants hold [`fold`]ed text. `Wildcard` holds the anchored regex a glob means
/// (ASCII letters in both cases); `Regex` the user's pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextTest {
    Equals(String),
    StartsWith(String),
    EndsWith(String),
    Contains(String),
    /// Any non-empty value (`*`).
    NonEmpty,
    Wildcard(CheckedRegex),
    Regex(CheckedRegex),
}

impl TextTest {
    /// The normal form of a value written with `op`.
    pub fn new(op: TextOp, value: &str) -> Result<TextTest, RegexProblem> {
        Ok(match op {
            TextOp::Glob => TextTest::glob(value)?,
            TextOp::Equals => TextTest::Equals(fold(value).into_owned()),
            TextOp::StartsWith => TextTest::StartsWith(fold(value).into_owned()),
            TextOp::EndsWith => TextTest::EndsWith(fold(value).into_owned()),
            TextOp::Contains => TextTest::Contains(fold(value).into_owned()),
            TextOp::Regex => {
                check_regex(value)?;
                TextTest::Regex(CheckedRegex::compile(value.to_string())?)
            }
        })
    }

    /// A glob in its cheapest exact form: `a` equals, `a*` starts with, `*a` ends with,
    /// `*a*` contains, `*` any non-empty value, anything else an anchored regex.
    pub fn glob(glob: &str) -> Result<TextTest, RegexProblem> {
        let tokens = glob_tokens(glob);
        let lit = |t: &GlobToken| match t {
            GlobToken::Lit(s) => Some(fold(s).into_owned()),
            _ => None,
        };
        use GlobToken::{Lit, One, Star};
        Ok(match tokens.as_slice() {
            [] => TextTest::Equals(String::new()),
            [l @ Lit(_)] => TextTest::Equals(lit(l).unwrap_or_default()),
            [l @ Lit(_), Star] => TextTest::StartsWith(lit(l).unwrap_or_default()),
            [Star, l @ Lit(_)] => TextTest::EndsWith(lit(l).unwrap_or_default()),
            [Star, l @ Lit(_), Star] => TextTest::Contains(lit(l).unwrap_or_default()),
            [Star] | [Star, One] | [One, Star] | [Star, One, Star] => TextTest::NonEmpty,
            _ => TextTest::Wildcard(CheckedRegex::compile(glob_regex(&tokens))?),
        })
    }

    /// Whether a non-empty cell text matches. `folded` is `fold(text)`.
    pub fn matches(&self, text: &str, folded: &str) -> bool {
        match self {
            TextTest::Equals(v) => folded == v,
            TextTest::StartsWith(v) => folded.starts_with(v.as_str()),
            TextTest::EndsWith(v) => folded.ends_with(v.as_str()),
            TextTest::Contains(v) => folded.contains(v.as_str()),
            TextTest::NonEmpty => !text.is_empty(),
            TextTest::Wildcard(re) | TextTest::Regex(re) => re.regex().is_match(text),
        }
    }

    /// Whether a cell matches; absent cells never do.
    pub fn matches_cell(&self, cell: &Cell<'_>) -> bool {
        match cell.as_text() {
            None => false,
            Some(text) => self.matches(text, &fold(text)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum GlobToken {
    Lit(String),
    Star,
    One,
}

/// Splits a glob into literals, `*` and `?`. Runs of `*` collapse to one, and `?` moves
/// before `*` (`*?` and `?*` mean the same), so equal globs have equal tokens.
fn glob_tokens(glob: &str) -> Vec<GlobToken> {
    let mut tokens: Vec<GlobToken> = Vec::new();
    for c in glob.chars() {
        match c {
            '*' => {
                if tokens.last() != Some(&GlobToken::Star) {
                    tokens.push(GlobToken::Star);
                }
            }
            '?' => {
                // Keep `?` ahead of a trailing `*`: `*?` becomes `?*`.
                if tokens.last() == Some(&GlobToken::Star) {
                    let at = tokens.len() - 1;
                    tokens.insert(at, GlobToken::One);
                } else {
                    tokens.push(GlobToken::One);
                }
            }
            _ => match tokens.last_mut() {
                Some(GlobToken::Lit(s)) => s.push(c),
                _ => tokens.push(GlobToken::Lit(c.to_string())),
            },
        }
    }
    tokens
}

/// One piece of a wildcard pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WildPart<'a> {
    /// Literal text (any character, `*` and `?` included).
    Lit(&'a str),
    /// Any run of characters, newlines included.
    Star,
    /// Exactly one character.
    One,
}

/// The regex a wildcard pattern means: `(?s)^…$`, `*` as `.*`, `?` as `.`, literals escaped,
/// and each ASCII letter as a class of its two cases (`[rR]`). It has no `(?i)`: that flag
/// folds Unicode in both engines, wider than [`fold`]. Globs compile to it
/// ([`TextTest::Wildcard`]), and Sigma wildcards import to it.
pub fn wildcard_regex<'a>(parts: impl IntoIterator<Item = WildPart<'a>>) -> String {
    let mut re = String::from("(?s)^");
    for part in parts {
        match part {
            WildPart::Lit(s) => {
                for c in s.chars() {
                    if c.is_ascii_alphabetic() {
                        re.push('[');
                        re.push(c.to_ascii_lowercase());
                        re.push(c.to_ascii_uppercase());
                        re.push(']');
                    } else {
                        re.push_str(&regex_syntax::escape(c.encode_utf8(&mut [0; 4])));
                    }
                }
            }
            WildPart::Star => re.push_str(".*"),
            WildPart::One => re.push('.'),
        }
    }
    re.push('$');
    re
}

fn glob_regex(tokens: &[GlobToken]) -> String {
    wildcard_regex(tokens.iter().map(|t| match t {
        GlobToken::Lit(s) => WildPart::Lit(s),
        GlobToken::Star => WildPart::Star,
        GlobToken::One => WildPart::One,
    }))
}

/// Why a regex (or a glob's regex) is not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegexProblem {
    pub message: String,
    /// Byte offset in the pattern, when the problem has a place.
    pub offset: Option<(usize, usize)>,
    pub help: Option<String>,
}

fn check_length(pattern: &str) -> Result<(), RegexProblem> {
    if pattern.len() <= MAX_PATTERN_BYTES {
        return Ok(());
    }
    Err(RegexProblem {
        message: format!("pattern is longer than {} KiB", MAX_PATTERN_BYTES / 1024),
        offset: None,
        help: Some("split it into several smaller patterns".into()),
    })
}

fn first_line(s: &str) -> String {
    s.lines().rev().find(|l| l.trim_start().starts_with("error:")).map_or_else(
        || s.lines().next().unwrap_or("").to_string(),
        |l| l.trim_start().trim_start_matches("error:").trim().to_string(),
    )
}

/// Accepts only the regex syntax that Rust's `regex` crate (which Microsoft now documents
/// for KQL's `matches regex`) and RE2 (which older engines used) read identically.
///
/// Rejected: `\d` `\w` `\s` `\b` `\B` and `\pL` (Unicode in Rust, ASCII or absent in RE2),
/// the flags `x`, `u` and `R`, set operations and nested classes in brackets, octal and
/// `\u` escapes, `(?<name>…)`, and counted repetitions above 1000.
pub fn check_regex(pattern: &str) -> Result<(), RegexProblem> {
    check_length(pattern)?;
    let ast = ast::parse::ParserBuilder::new().nest_limit(100).build().parse(pattern).map_err(|e| {
        RegexProblem {
            message: e.kind().to_string(),
            offset: Some((e.span().start.offset, e.span().end.offset)),
            help: None,
        }
    })?;
    let mut stack = vec![&ast];
    while let Some(node) = stack.pop() {
        match node {
            Ast::Empty(_) | Ast::Dot(_) => {}
            Ast::Literal(l) => check_literal(l)?,
            Ast::Flags(f) => check_flags(&f.flags)?,
            Ast::Assertion(a) => {
                use ast::AssertionKind::*;
                match a.kind {
                    StartLine | EndLine | StartText | EndText => {}
                    _ => {
                        return Err(unsupported(
                            &a.span,
                            "word boundaries are not supported",
                            "Rust's `\\b` is Unicode-aware and RE2's is ASCII-only: spell out the boundary, e.g. `(^|[^A-Za-z0-9_])`",
                        ));
                    }
                }
            }
            Ast::ClassUnicode(c) => {
                return Err(unsupported(
                    &c.span,
                    "Unicode classes are not supported",
                    "the engines ship different Unicode versions: list the characters in a bracket class",
                ));
            }
            Ast::ClassPerl(c) => return Err(perl_class(&c.span, &c.kind)),
            Ast::ClassBracketed(c) => check_class(c)?,
            Ast::Repetition(r) => {
                if let ast::RepetitionKind::Range(range) = &r.op.kind {
                    let (ast::RepetitionRange::Exactly(n)
                    | ast::RepetitionRange::AtLeast(n)
                    | ast::RepetitionRange::Bounded(_, n)) = *range;
                    if n > MAX_REPETITION {
                        return Err(unsupported(
                            &r.op.span,
                            &format!("repetition count {n} is over {MAX_REPETITION}"),
                            "RE2 rejects counted repetitions above 1000",
                        ));
                    }
                }
                stack.push(&r.ast);
            }
            Ast::Group(g) => {
                match &g.kind {
                    ast::GroupKind::CaptureIndex(_) => {}
                    ast::GroupKind::CaptureName { starts_with_p, name } => {
                        if !starts_with_p {
                            return Err(unsupported(
                                &name.span,
                                "`(?<name>…)` groups are not supported",
                                "write `(?P<name>…)`, which every engine reads",
                            ));
                        }
                    }
                    ast::GroupKind::NonCapturing(flags) => check_flags(flags)?,
                }
                stack.push(&g.ast);
            }
            Ast::Alternation(a) => stack.extend(a.asts.iter()),
            Ast::Concat(c) => stack.extend(c.asts.iter()),
        }
    }
    Ok(())
}

fn unsupported(span: &ast::Span, message: &str, help: &str) -> RegexProblem {
    RegexProblem {
        message: message.to_string(),
        offset: Some((span.start.offset, span.end.offset)),
        help: Some(help.to_string()),
    }
}

fn perl_class(span: &ast::Span, kind: &ast::ClassPerlKind) -> RegexProblem {
    let (name, instead) = match kind {
        ast::ClassPerlKind::Digit => ("\\d", "[0-9]"),
        ast::ClassPerlKind::Space => ("\\s", "[ \\t\\n\\r\\f]"),
        ast::ClassPerlKind::Word => ("\\w", "[A-Za-z0-9_]"),
    };
    unsupported(
        span,
        &format!("`{name}` means different things to the two regex engines"),
        &format!("Rust reads it as Unicode and RE2 as ASCII: write `{instead}`"),
    )
}

fn check_literal(l: &ast::Literal) -> Result<(), RegexProblem> {
    use ast::LiteralKind::*;
    match &l.kind {
        Verbatim | Meta | HexFixed(ast::HexLiteralKind::X) | HexBrace(ast::HexLiteralKind::X) => Ok(()),
        Superfluous if l.c.is_ascii_punctuation() => Ok(()),
        Special(k) if !matches!(k, ast::SpecialLiteralKind::Space) => Ok(()),
        _ => Err(unsupported(
            &l.span,
            "this escape is not read the same by every engine",
            "write the character itself, or `\\x{…}` with its code point",
        )),
    }
}

fn check_flags(flags: &ast::Flags) -> Result<(), RegexProblem> {
    for item in &flags.items {
        if let ast::FlagsItemKind::Flag(f) = item.kind {
            let name = match f {
                ast::Flag::IgnoreWhitespace => "x",
                ast::Flag::Unicode => "u",
                ast::Flag::CRLF => "R",
                _ => continue,
            };
            return Err(unsupported(
                &item.span,
                &format!("the `{name}` flag is not supported"),
                "only the flags `i`, `m`, `s` and `U` mean the same in every engine",
            ));
        }
    }
    Ok(())
}

fn check_class(c: &ast::ClassBracketed) -> Result<(), RegexProblem> {
    let items = match &c.kind {
        ast::ClassSet::Item(item) => vec![item],
        ast::ClassSet::BinaryOp(op) => {
            return Err(unsupported(
                &op.span,
                "class set operations (`&&`, `--`, `~~`) are not supported",
                "RE2 has no set operations: list the characters you mean",
            ));
        }
    };
    let mut stack = items;
    while let Some(item) = stack.pop() {
        match item {
            ast::ClassSetItem::Empty(_) | ast::ClassSetItem::Ascii(_) => {}
            ast::ClassSetItem::Literal(l) => check_literal(l)?,
            ast::ClassSetItem::Range(r) => {
                check_literal(&r.start)?;
                check_literal(&r.end)?;
            }
            ast::ClassSetItem::Unicode(u) => {
                return Err(unsupported(
                    &u.span,
                    "Unicode classes are not supported",
                    "the engines ship different Unicode versions: list the characters",
                ));
            }
            ast::ClassSetItem::Perl(p) => return Err(perl_class(&p.span, &p.kind)),
            ast::ClassSetItem::Bracketed(b) => {
                return Err(unsupported(
                    &b.span,
                    "nested classes are not supported",
                    "RE2 reads `[` inside a class as a literal: escape it as `\\[` or flatten the class",
                ));
            }
            ast::ClassSetItem::Union(u) => stack.extend(u.items.iter()),
        }
    }
    Ok(())
}

// KQL forms. Each test's KQL is written here, beside its matcher, so the two cannot drift.
// Why each construct is exact and total (never null) is argued in `crate::kql`'s docs, with
// the Microsoft documentation it relies on.

impl TextTest {
    /// The KQL form of the test: a boolean expression that is never null, true exactly when
    /// [`TextTest::matches_cell`] is. `subject` is a KQL string expression for the cell
    /// (a string column, or [`kql_header_cell`]); an absent cell is the empty string there.
    pub fn kql(&self, subject: &str) -> String {
        use crate::kql::literal::string as lit;
        match self {
            // An empty literal would match the empty (absent) cell in KQL; it cannot come from
            // a valid policy, but the form stays exact.
            TextTest::Equals(v) if v.is_empty() => "false".to_string(),
            TextTest::StartsWith(v) | TextTest::EndsWith(v) | TextTest::Contains(v) if v.is_empty() => {
                format!("isnotempty({subject})")
            }
            // Kusto folds ASCII letters only, as `fold` does.
            TextTest::Equals(v) => format!("{subject} =~ {}", lit(v)),
            TextTest::StartsWith(v) => format!("{subject} startswith {}", lit(v)),
            TextTest::EndsWith(v) => format!("{subject} endswith {}", lit(v)),
            // `contains`, never `has`: `has` matches whole terms only.
            TextTest::Contains(v) => format!("{subject} contains {}", lit(v)),
            TextTest::NonEmpty => format!("isnotempty({subject})"),
            // The very regex the matcher runs; it needs at least one character.
            TextTest::Wildcard(re) => format!("{subject} matches regex {}", lit(re.as_str())),
            // A user regex that matches the empty string must not match an absent cell.
            TextTest::Regex(re) if re.regex().is_match("") => {
                format!("(isnotempty({subject}) and {subject} matches regex {})", lit(re.as_str()))
            }
            TextTest::Regex(re) => format!("{subject} matches regex {}", lit(re.as_str())),
        }
    }

    /// The literal this test contributes to a folded `subject in~ (…)` list, when it has one.
    ///
    /// `s in~ (a, b, …)` is true exactly when `s =~ a or s =~ b or …` is
    /// (<https://learn.microsoft.com/en-us/kusto/query/in-operator>), so folding the
    /// `Equals` values of a condition (or of several exclusions) into one list keeps the
    /// meaning; the equivalence table in `tests/kql` runs both forms.
    pub fn kql_in_literal(&self) -> Option<&str> {
        match self {
            TextTest::Equals(v) if !v.is_empty() => Some(v),
            _ => None,
        }
    }
}

/// The cell of a header, as a KQL string expression: the value under exactly `name` in the
/// JSON object held by `column` (an object, or a string holding one), when that value is a
/// JSON string; otherwise the empty string (absent). A missing `column` is no headers
/// (`column_ifexists`), so the query stays valid on tables without it.
pub fn kql_header_cell(column: &str, name: &str) -> String {
    use crate::kql::literal::string as lit;
    let value = format!("parse_json(tostring(column_ifexists({}, \"\")))[{}]", lit(column), lit(name));
    format!("iff(gettype({value}) == \"string\", tostring({value}), \"\")")
}

/// The address family of a network test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    V4,
    V6,
}

/// Exactly the texts [`parse_ipv4`] accepts: four decimal octets 0–255 without leading zeros.
pub const KQL_IPV4_TEXT: &str = "^(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$";

/// Exactly the texts [`parse_ipv6`] accepts: RFC 3986 `IPv6address` (the RFC 4291 text
/// forms, with an embedded dotted quad as in [`KQL_IPV4_TEXT`]). The RFC's seven forms that
/// end in `ls32` share one `ls32`, so the dotted quad is written once.
pub fn kql_ipv6_text() -> String {
    let h = "[0-9A-Fa-f]{1,4}";
    let v4 = KQL_IPV4_TEXT.trim_start_matches('^').trim_end_matches('$');
    let head = |n: usize| if n == 0 { format!("(?:{h})?") } else { format!("(?:(?:{h}:){{0,{n}}}{h})?") };
    let before_ls32 = [
        format!("(?:{h}:){{6}}"),
        format!("::(?:{h}:){{5}}"),
        format!("{}::(?:{h}:){{4}}", head(0)),
        format!("{}::(?:{h}:){{3}}", head(1)),
        format!("{}::(?:{h}:){{2}}", head(2)),
        format!("{}::{h}:", head(3)),
        format!("{}::", head(4)),
    ];
    format!("^(?:(?:{})(?:{h}:{h}|{v4})|{}::{h}|{}::)$", before_ls32.join("|"), head(5), head(6))
}

impl Family {
    /// The column a network of this family tests.
    pub fn column(self) -> &'static str {
        match self {
            Family::V4 => crate::model::SOURCE_IPV4_COLUMN,
            Family::V6 => crate::model::SOURCE_IPV6_COLUMN,
        }
    }

    /// The boolean column a block computes once per row: the family's column holds an
    /// address text that [`parse_ipv4`] / [`parse_ipv6`] accepts ([`Family::kql_guard`]).
    pub fn kql_guard_column(self) -> &'static str {
        match self {
            Family::V4 => "fpx_ipv4_ok",
            Family::V6 => "fpx_ipv6_ok",
        }
    }

    /// The strict text test behind [`Family::kql_guard_column`]: it passes only the address
    /// texts fpx parses, so Kusto's more lenient parser (leading zeros, `/prefix` suffixes,
    /// IPv4 in IPv6 functions) never sees any other. Never null: string columns are never
    /// null and `matches regex` on a string is true or false.
    pub fn kql_guard(self) -> String {
        use crate::kql::literal::{identifier, string as lit};
        let pattern = match self {
            Family::V4 => KQL_IPV4_TEXT.to_string(),
            Family::V6 => kql_ipv6_text(),
        };
        format!("{} matches regex {}", identifier(self.column()), lit(&pattern))
    }

    /// The KQL form of "the family's column holds an address in one of `ranges`", never null.
    ///
    /// `ranges` is a KQL argument list: string literals in prefix notation, or one dynamic
    /// array. It reads [`Family::kql_guard_column`], which the block computes first;
    /// `coalesce(…, false)` turns the documented null of a failed conversion into false.
    pub fn kql_in_ranges(self, ranges: &str) -> String {
        use crate::kql::literal::identifier;
        let column = identifier(self.column());
        let function = match self {
            Family::V4 => "ipv4_is_in_any_range",
            Family::V6 => "ipv6_is_in_any_range",
        };
        format!("({} and coalesce({function}({column}, {ranges}), false))", self.kql_guard_column())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(g: &str) -> TextTest {
        TextTest::glob(g).unwrap_or(TextTest::NonEmpty)
    }

    #[test]
    fn globs_take_their_cheapest_exact_form() {
        assert_eq!(glob("Reports@Company.com"), TextTest::Equals("reports@company.com".into()));
        assert_eq!(glob("noreply@*"), TextTest::StartsWith("noreply@".into()));
        assert_eq!(glob("*@company.com"), TextTest::EndsWith("@company.com".into()));
        assert_eq!(glob("*reset*"), TextTest::Contains("reset".into()));
        assert_eq!(glob("**"), TextTest::NonEmpty);
        assert_eq!(glob("*?"), TextTest::NonEmpty);
        assert!(matches!(glob("a*b"), TextTest::Wildcard(_)));
        assert!(matches!(glob("?"), TextTest::Wildcard(_)));
    }

    #[test]
    fn glob_metacharacters_are_literal() {
        let t = glob("[a-z]+.(x)*");
        assert!(t.matches("[a-z]+.(x)", "[a-z]+.(x)"));
        assert!(!t.matches("b+.(x)", "b+.(x)"));
        let t = glob("a\\*b?c");
        assert!(t.matches("a\\*bXc", "a\\*bxc"));
        assert!(!t.matches("a\\*bc", "a\\*bc"));
    }

    #[test]
    fn wildcard_question_mark_is_one_character_and_stars_cross_newlines() {
        let t = glob("a?c*z");
        assert!(t.matches("aéc\nz", "aéc\nz"));
        assert!(
            check_regex(&wildcard_regex([WildPart::Lit("[x]"), WildPart::Star, WildPart::Lit("(y)")]))
                .is_ok()
        );
        assert!(!t.matches("aXYcz", "axycz"));
        assert!(t.matches("AbC-Z", "abc-z"));
    }

    #[test]
    fn folding_is_ascii_only() {
        assert_eq!(fold("MiXeD"), "mixed");
        assert_ne!(fold("ſ"), fold("S"));
        assert_ne!(fold("\u{212A}"), fold("k"));
        assert_ne!(fold("É"), fold("é"));
        assert_eq!(fold("RENÉ"), "renÉ");
        let t = glob("Rep*s?");
        assert!(t.matches("REPORTS!", "reports!"));
        assert!(!t.matches("REPORTſ!", "reportſ!"));
        assert!(!glob("*k").matches("\u{212A}", "\u{212A}"));
    }

    #[test]
    fn cells_from_json() {
        assert_eq!(Cell::from_json("\"\""), Some(Cell::Absent));
        assert_eq!(Cell::from_json("null"), Some(Cell::Absent));
        assert_eq!(Cell::from_json("{\"a\":1}"), Some(Cell::Absent));
        assert_eq!(Cell::from_json("[1]"), Some(Cell::Absent));
        assert_eq!(Cell::from_json("12.50"), Some(Cell::text("12.50")));
        assert_eq!(Cell::from_json("true"), Some(Cell::text("true")));
        assert_eq!(Cell::from_json("\"a\\\"b\""), Some(Cell::text("a\"b")));
        assert_eq!(Cell::header_from_json("12"), Some(Cell::Absent));
    }

    #[test]
    fn regex_dialect_rejects_ambiguous_syntax() {
        for bad in [
            "\\d+", "\\w", "\\s", "\\bword", "\\pL", "(?x)a b", "[a&&b]", "[[a]]", "(?<n>a)", "a{1001}",
            "\\101",
        ] {
            assert!(check_regex(bad).is_err(), "{bad} should be rejected");
        }
        for good in [
            "^reset (your )?password$",
            "(?i)[0-9]{3}",
            "\\.\\*",
            "[[:alpha:]]+",
            "(?P<n>a)|b",
            "\\x41\\x{263a}",
            "a{2,1000}",
        ] {
            assert!(check_regex(good).is_ok(), "{good} should be accepted");
        }
    }

    #[test]
    fn regex_is_case_sensitive_unanchored_search() {
        let t = TextTest::new(TextOp::Regex, "Reset").unwrap_or(TextTest::NonEmpty);
        assert!(t.matches("Please Reset now", "please reset now"));
        assert!(!t.matches("please reset now", "please reset now"));
    }
    /// The KQL guards accept exactly the address texts the matcher parses.
    #[test]
    fn kql_address_guards_accept_what_the_matcher_parses() {
        let v4 = Regex::new(KQL_IPV4_TEXT).unwrap();
        let v6 = Regex::new(&kql_ipv6_text()).unwrap();
        let mut samples: Vec<String> = [
            "10.20.30.5",
            "010.1.1.1",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4/8",
            " 1.2.3.4",
            "::",
            "::1",
            "2001:db8::1",
            "::ffff:1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7::",
            "1::2:3:4:5:6:7",
            "1:2:3:4:5:6:7:8:9",
            "1.2.3.4::",
            "::1.2.3.4",
            "fe80::1%eth0",
            "[::1]",
            "2001:DB8::A",
            "1:2:3:4:5::1.2.3.4",
            "1:2:3:4:5:6::1.2.3.4",
            "::01.2.3.4",
            "12345::",
            ":::",
            "1:::2",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Pseudo-random texts over the characters addresses are made of.
        let alphabet: Vec<char> = "0123456789abcdefABCDEF:.:.:/g".chars().collect();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 24) as usize;
            let mut s = String::new();
            let mut y = x;
            for _ in 0..len {
                y = y.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                s.push(alphabet[((y >> 33) % alphabet.len() as u64) as usize]);
            }
            samples.push(s);
            let a = std::net::Ipv6Addr::from(u128::from(x).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (x % 128));
            samples.push(a.to_string());
            samples.push(std::net::Ipv4Addr::from((x >> 16) as u32).to_string());
        }
        for s in &samples {
            assert_eq!(v4.is_match(s), parse_ipv4(s).is_some(), "IPv4 guard disagrees on {s:?}");
            assert_eq!(v6.is_match(s), parse_ipv6(s).is_some(), "IPv6 guard disagrees on {s:?}");
        }
    }

    #[test]
    fn kql_case_forms() {
        let t = TextTest::new(TextOp::Equals, "René").unwrap();
        assert_eq!(t.kql("S"), "S =~ \"rené\"");
        let t = TextTest::new(TextOp::Glob, "Ré*x?").unwrap();
        assert_eq!(t.kql("S"), "S matches regex \"(?s)^[rR]é.*[xX].$\"");
        let t = TextTest::new(TextOp::Regex, "a*").unwrap();
        assert_eq!(t.kql("S"), "(isnotempty(S) and S matches regex \"a*\")");
    }
}
