//! What a condition means, defined once.
//!
//! Every choice that decides whether an event matches lives here, so that the fast matcher
//! ([`crate::matcher`]), the reference evaluator ([`crate::reference`]) and the KQL
//! emitter read the same definitions:
//!
//! - **Cells.** A missing, `null` or empty column never matches any condition (so `*` does
//!   not match an empty sender). A JSON number or boolean in a text column is compared as
//!   its JSON text; an object or array never matches a text condition ([`Cell`]).
//! - **Case.** Every text operator except `regex` ignores case. Two texts are equal
//!   ignoring case when they are equal after [`fold`].
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

/// Case folding for every case-insensitive comparison: each character is mapped to the
/// lowercase of its uppercase (Unicode simple mappings; a character whose mapping is more
/// than one character is kept). This puts `S`, `s` and `ſ`, or `Σ`, `σ` and `ς`, in one
/// class, as a case-insensitive regex (`(?i)`) does. It never changes the number of
/// characters, so prefix, suffix and substring relations survive folding.
pub fn fold(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        }
    } else {
        let folded: String = s.chars().map(fold_char).collect();
        if folded == s { Cow::Borrowed(s) } else { Cow::Owned(folded) }
    }
}

/// [`fold`] into a reused buffer, for the hot path.
pub fn fold_into(s: &str, out: &mut String) {
    out.clear();
    if s.is_ascii() {
        out.push_str(s);
        out.make_ascii_lowercase();
    } else {
        out.extend(s.chars().map(fold_char));
    }
}

fn fold_char(c: char) -> char {
    fn single(mut it: impl Iterator<Item = char>, c: char) -> char {
        match (it.next(), it.next()) {
            (Some(x), None) => x,
            _ => c,
        }
    }
    let upper = single(c.to_uppercase(), c);
    single(upper.to_lowercase(), upper)
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
/// Literal variants hold [`fold`]ed text. `Wildcard` holds the anchored, case-insensitive
/// regex a glob means; `Regex` the user's pattern.
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

/// The regex a glob means: `(?is)^…$`, `*` as `.*`, `?` as `.`, literals escaped.
fn glob_regex(tokens: &[GlobToken]) -> String {
    let mut re = String::from("(?is)^");
    for t in tokens {
        match t {
            GlobToken::Lit(s) => re.push_str(&regex_syntax::escape(s)),
            GlobToken::Star => re.push_str(".*"),
            GlobToken::One => re.push('.'),
        }
    }
    re.push('$');
    re
}

/// Why a regex (or a glob's regex) is not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegexProblem {
    pub message: String,
    /// Byte offset in the pattern, when the problem has a place.
    pub offset: Option<(usize, usize)>,
    pub help: Option<String>,
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
        assert!(!t.matches("aXYcz", "axycz"));
        assert!(t.matches("AbC-Z", "abc-z"));
    }

    #[test]
    fn folding_puts_case_variants_in_one_class() {
        assert_eq!(fold("MiXeD"), "mixed");
        assert_eq!(fold("ſ"), fold("S"));
        assert_eq!(fold("ς"), fold("Σ"));
        assert_eq!(fold("İ").chars().count(), 1);
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
}
