//! Reading exported events: JSON Lines and CSV, streamed in batches of whole rows.
//!
//! Each row keeps its exact bytes (so kept rows are written back byte for byte) and its
//! first physical line number. Only the columns a policy reads are decoded, into
//! [`Cell`]s, by the rules in [`crate::semantics`].

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Read};
use std::ops::Range;
use std::path::Path;

use serde::de::{DeserializeSeed, Deserializer as _, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::semantics::Cell;

/// The byte-order mark some exporters put before the first row.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";
/// Bytes read from the input at a time.
const BLOCK: usize = 1 << 20;

/// An event export format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line, keyed by column name.
    Jsonl,
    /// RFC 4180 CSV with a header row of column names.
    Csv,
}

impl Format {
    /// The format a file name says (`.jsonl`, `.ndjson`, `.json`, `.csv`), if any.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// The format of content: JSON Lines when the first non-blank byte opens an object.
    pub fn sniff(head: &[u8]) -> Format {
        let head = head.strip_prefix(BOM).unwrap_or(head);
        match head.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') | None => Format::Jsonl,
            Some(_) => Format::Csv,
        }
    }
}

/// The columns (and headers) a compiled policy reads: the row's slots, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// Slot `i` for `i < columns.len()` is column `columns[i]`.
    pub columns: Vec<String>,
    /// The column holding the headers as a JSON object.
    pub header_column: Option<String>,
    /// Slot `columns.len() + j` is header `headers[j]` in `header_column`.
    pub headers: Vec<String>,
}

impl Layout {
    pub fn slots(&self) -> usize {
        self.columns.len() + self.headers.len()
    }

    pub fn column_slot(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    pub fn header_slot(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name).map(|j| self.columns.len() + j)
    }

    fn key_role(&self, key: &str) -> Option<KeyRole> {
        if let Some(i) = self.column_slot(key) {
            return Some(KeyRole::Column(i));
        }
        (self.header_column.as_deref() == Some(key) && !self.headers.is_empty()).then_some(KeyRole::Headers)
    }
}

#[derive(Clone, Copy, Debug)]
enum KeyRole {
    Column(usize),
    Headers,
}

/// Why a row could not be read. The row is kept (fpx never hides what it cannot judge).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub message: String,
}

impl RowError {
    fn new(message: impl Into<String>) -> Self {
        RowError { message: message.into() }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Decodes the policy's slots of one JSON Lines row. `line` is the row without its line
/// terminator. On success `cells` has one cell per slot.
pub fn read_json_row<'a>(line: &'a str, layout: &Layout, cells: &mut Vec<Cell<'a>>) -> Result<(), RowError> {
    cells.clear();
    cells.resize(layout.slots(), Cell::Absent);
    if nesting_exceeds(line.as_bytes(), MAX_JSON_DEPTH) {
        return Err(RowError::new(format!("invalid JSON: nested more than {MAX_JSON_DEPTH} levels deep")));
    }
    let mut headers: Option<&'a RawValue> = None;
    let mut de = serde_json::Deserializer::from_str(line);
    let seed = RowSeed { layout, cells, headers: &mut headers, seen: 0 };
    seed.deserialize(&mut de).map_err(|e| json_error(&e))?;
    de.end().map_err(|e| json_error(&e))?;
    if let Some(raw) = headers {
        read_header_bag(raw.get(), layout, cells)?;
    }
    Ok(())
}

/// The deepest nesting of objects and arrays a JSON Lines row may have. serde_json skips
/// the values of columns fpx does not read without a depth limit, but stops at 128 levels
/// when it parses a row; an excluded row is written one level down in `--excluded`, so
/// every row fpx reads can be read back by serde_json and tools like it.
pub const MAX_JSON_DEPTH: usize = 100;

/// Whether objects and arrays nest more than `max` deep (brackets inside strings aside).
fn nesting_exceeds(b: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &c in b {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

fn json_error(e: &serde_json::Error) -> RowError {
    let msg = e.to_string();
    // serde_json appends " at line L column C"; the line is always 1 within a row.
    let msg = match msg.rfind(" at line ") {
        Some(i) => format!("{} (column {})", msg.get(..i).unwrap_or(&msg), e.column()),
        None => msg,
    };
    RowError::new(format!("invalid JSON: {msg}"))
}

/// A JSON object key, borrowed when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a column name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

struct RowSeed<'l, 'c, 'a> {
    layout: &'l Layout,
    cells: &'c mut Vec<Cell<'a>>,
    headers: &'c mut Option<&'a RawValue>,
    /// Bit i set once slot i (i < 64) was seen; larger layouts check cells instead.
    seen: u64,
}

impl<'a> DeserializeSeed<'a> for RowSeed<'_, '_, 'a> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'a>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'a> Visitor<'a> for RowSeed<'_, '_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of column names")
    }

    fn visit_map<A: MapAccess<'a>>(mut self, mut map: A) -> Result<(), A::Error> {
        let mut seen_headers = false;
        while let Some(Key(key)) = map.next_key::<Key<'a>>()? {
            match self.layout.key_role(&key) {
                Some(KeyRole::Column(i)) => {
                    let raw: &'a RawValue = map.next_value()?;
                    let bit = 1u64.checked_shl(i as u32).unwrap_or(0);
                    if self.seen & bit != 0 {
                        return Err(serde::de::Error::custom(format!("duplicate key `{key}`")));
                    }
                    self.seen |= bit;
                    let cell = Cell::from_json(raw.get())
                        .ok_or_else(|| serde::de::Error::custom("invalid value"))?;
                    if let Some(slot) = self.cells.get_mut(i) {
                        *slot = cell;
                    }
                }
                Some(KeyRole::Headers) => {
                    if seen_headers {
                        return Err(serde::de::Error::custom(format!("duplicate key `{key}`")));
                    }
                    seen_headers = true;
                    *self.headers = Some(map.next_value()?);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The keys a [`Layout`] reads from a JSON Lines row, for matching keys with a few integer
/// comparisons instead of string comparisons.
#[derive(Clone, Debug)]
struct KeyTable {
    /// (key length, first 8 bytes zero-padded, key, role).
    keys: Vec<(usize, u64, Box<[u8]>, KeyRole)>,
    /// Bit `n` set when some key is `n` bytes long (bit 63: 63 bytes or more): most keys of
    /// a row are ruled out by their length alone.
    lengths: u64,
}

impl KeyTable {
    fn new(layout: &Layout) -> KeyTable {
        let mut keys = Vec::new();
        let mut add = |name: &str, role: KeyRole| {
            keys.push((name.len(), head8(name.as_bytes()), name.as_bytes().into(), role))
        };
        for (i, c) in layout.columns.iter().enumerate() {
            add(c, KeyRole::Column(i));
        }
        if let Some(h) = layout.header_column.as_deref().filter(|_| !layout.headers.is_empty()) {
            // A column of the same name takes precedence, as in [`Layout::key_role`].
            if layout.column_slot(h).is_none() {
                add(h, KeyRole::Headers);
            }
        }
        let lengths = keys.iter().fold(0u64, |m, k| m | length_bit(k.0));
        KeyTable { keys, lengths }
    }

    fn role(&self, key: &[u8]) -> Option<KeyRole> {
        if self.lengths & length_bit(key.len()) == 0 {
            return None;
        }
        let (len, head) = (key.len(), head8(key));
        self.keys.iter().find(|(l, h, k, _)| *l == len && *h == head && **k == *key).map(|(_, _, _, r)| *r)
    }
}

fn length_bit(len: usize) -> u64 {
    1u64 << len.min(63)
}

fn head8(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    for (d, s) in w.iter_mut().zip(b) {
        *d = *s;
    }
    u64::from_le_bytes(w)
}

/// Reads the policy's slots of JSON Lines rows, like [`read_json_row`] but faster.
///
/// A plain scanner walks the row once without building anything: it checks the JSON
/// grammar as serde_json does (strings without control characters, valid escapes, the
/// number grammar, literals, nesting, nothing after the object) and decodes only the
/// values of the layout's columns, with [`Cell::from_json`]. Whenever a row is anything
/// but plain (a syntax error, an escaped key, a column twice, deep nesting, a value
/// `Cell::from_json` refuses), it hands the row to [`read_json_row`], which decides and
/// words the error. So the scanner only ever accepts rows serde_json accepts, with the
/// same cells; `tests/differential.rs` checks this on mutated rows.
#[derive(Clone, Debug)]
pub struct JsonRowReader<'l> {
    layout: &'l Layout,
    keys: KeyTable,
}

/// Nesting the scanner follows before it leaves the row to serde_json (whose limit is 128).
const SCAN_MAX_DEPTH: usize = 64;

impl<'l> JsonRowReader<'l> {
    pub fn new(layout: &'l Layout) -> Self {
        JsonRowReader { layout, keys: KeyTable::new(layout) }
    }

    /// Decodes the layout's slots of one row (without its line terminator).
    pub fn read<'a>(&self, line: &'a str, cells: &mut Vec<Cell<'a>>) -> Result<(), RowError> {
        cells.clear();
        cells.resize(self.layout.slots(), Cell::Absent);
        match self.scan(line, cells) {
            Some(None) => Ok(()),
            Some(Some(bag)) => read_header_bag(bag, self.layout, cells),
            None => read_json_row(line, self.layout, cells),
        }
    }

    /// The fast path: `Some(header bag)` when the row is a plain object and its cells are
    /// filled; `None` when serde_json must decide.
    fn scan<'a>(&self, line: &'a str, cells: &mut [Cell<'a>]) -> Option<Option<&'a str>> {
        if self.layout.columns.len() > 64 {
            return None;
        }
        let b = line.as_bytes();
        let mut i = skip_ws(b, 0);
        if b.get(i) != Some(&b'{') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let mut seen = 0u64;
        let mut bag: Option<&'a str> = None;
        if b.get(i) == Some(&b'}') {
            i += 1;
        } else {
            loop {
                if b.get(i) != Some(&b'"') {
                    return None;
                }
                let end = string_stop(b, i + 1)?;
                if b.get(end) != Some(&b'"') {
                    return None; // an escape or a control character in a key
                }
                let role = self.keys.role(b.get(i + 1..end)?);
                i = skip_ws(b, end + 1);
                if b.get(i) != Some(&b':') {
                    return None;
                }
                let start = skip_ws(b, i + 1);
                i = skip_value(b, start, 1)?;
                match role {
                    Some(KeyRole::Column(slot)) => {
                        let bit = 1u64 << slot;
                        if seen & bit != 0 {
                            return None;
                        }
                        seen |= bit;
                        let raw = line.get(start..i)?;
                        *cells.get_mut(slot)? = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"'))
                        {
                            // A string without escapes: its content, as `Cell::from_json` reads it.
                            Some(inner) if memchr::memchr(b'\\', inner.as_bytes()).is_none() => {
                                Cell::text(inner)
                            }
                            _ => Cell::from_json(raw)?,
                        };
                    }
                    Some(KeyRole::Headers) => {
                        if bag.is_some() {
                            return None;
                        }
                        bag = Some(line.get(start..i)?);
                    }
                    None => {}
                }
                i = skip_ws(b, i);
                match b.get(i) {
                    Some(b',') => i = skip_ws(b, i + 1),
                    Some(b'}') => {
                        i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        (skip_ws(b, i) == b.len()).then_some(bag)
    }
}

/// The JSON whitespace serde_json skips.
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\t' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The first position at or after `i` holding `"`, `\` or a control character (a byte below
/// 0x20), eight bytes at a time; `None` at the end of the row.
fn string_stop(b: &[u8], mut i: usize) -> Option<usize> {
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let w = u64::from_le_bytes(w);
        // Each term is exact in its lowest set byte, which is all `trailing_zeros` reads.
        let hits = zero(w ^ (ONES * u64::from(b'"')))
            | zero(w ^ (ONES * u64::from(b'\\')))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGHS);
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Skips a string whose opening quote is at `i - 1`; returns the position after its closing
/// quote. Escapes are checked as serde_json checks them.
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        i = string_stop(b, i)?;
        match b.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => match b.get(i + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                b'u' => {
                    if !b.get(i + 2..i + 6)?.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    i += 6;
                }
                _ => return None,
            },
            _ => return None, // a control character
        }
    }
}

fn skip_digits(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// Skips one JSON value starting at `i`; returns the position after it.
fn skip_value(b: &[u8], i: usize, depth: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => skip_string(b, i + 1),
        b't' => (b.get(i..i + 4)? == b"true").then_some(i + 4),
        b'f' => (b.get(i..i + 5)? == b"false").then_some(i + 5),
        b'n' => (b.get(i..i + 4)? == b"null").then_some(i + 4),
        b'-' | b'0'..=b'9' => {
            let mut i = if b.get(i) == Some(&b'-') { i + 1 } else { i };
            match b.get(i)? {
                b'0' => i += 1,
                b'1'..=b'9' => i = skip_digits(b, i + 1),
                _ => return None,
            }
            if b.get(i).is_some_and(u8::is_ascii_digit) {
                return None; // a leading zero
            }
            if b.get(i) == Some(&b'.') {
                if !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    return None;
                }
                i = skip_digits(b, i + 1);
            }
            if let Some(b'e' | b'E') = b.get(i) {
                i += 1;
                if let Some(b'+' | b'-') = b.get(i) {
                    i += 1;
                }
                if !b.get(i).is_some_and(u8::is_ascii_digit) {
                    return None;
                }
                i = skip_digits(b, i);
            }
            Some(i)
        }
        open @ (b'{' | b'[') => {
            if depth >= SCAN_MAX_DEPTH {
                return None;
            }
            let close = if open == b'{' { b'}' } else { b']' };
            let mut i = skip_ws(b, i + 1);
            if b.get(i) == Some(&close) {
                return Some(i + 1);
            }
            loop {
                if open == b'{' {
                    if b.get(i) != Some(&b'"') {
                        return None;
                    }
                    i = skip_ws(b, skip_string(b, i + 1)?);
                    if b.get(i) != Some(&b':') {
                        return None;
                    }
                    i = skip_ws(b, i + 1);
                }
                i = skip_ws(b, skip_value(b, i, depth + 1)?);
                match *b.get(i)? {
                    b',' => i = skip_ws(b, i + 1),
                    c if c == close => return Some(i + 1),
                    _ => return None,
                }
            }
        }
        _ => None,
    }
}

/// Reads the header slots from the header column's value: a JSON object, or a string
/// holding one (as CSV exports carry it). Anything else has no headers.
pub fn read_header_bag<'a>(raw: &'a str, layout: &Layout, cells: &mut [Cell<'a>]) -> Result<(), RowError> {
    let trimmed = raw.trim_start();
    if trimmed.starts_with('"') {
        let Ok(text) = serde_json::from_str::<String>(raw) else { return Ok(()) };
        let mut owned: Vec<Cell<'_>> = vec![Cell::Absent; cells.len()];
        read_header_object(&text, layout, &mut owned)?;
        for (dst, src) in cells.iter_mut().zip(owned) {
            if let Cell::Text(t) = src {
                *dst = Cell::Text(Cow::Owned(t.into_owned()));
            }
        }
        Ok(())
    } else if trimmed.starts_with('{') {
        read_header_object(raw, layout, cells)
    } else {
        Ok(())
    }
}

/// Reads header slots from JSON text that should be an object; text that is not a JSON
/// object has no headers (as KQL's `parse_json` gives no property bag for it).
fn read_header_object<'a, 'b>(text: &'a str, layout: &Layout, cells: &mut [Cell<'b>]) -> Result<(), RowError>
where
    'a: 'b,
{
    if !text.trim_start().starts_with('{') {
        return Ok(());
    }
    let mut found: Vec<(usize, &'a RawValue)> = Vec::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let result = (&mut de).deserialize_map(HeaderVisitor { layout, found: &mut found });
    match result.and_then(|()| de.end()) {
        Ok(()) => {}
        Err(e) if e.to_string().starts_with("duplicate header") => {
            return Err(RowError::new(format!("headers: {}", strip_position(&e.to_string()))));
        }
        // Not a JSON object: no headers, as KQL's parse_json gives no property bag.
        Err(_) => return Ok(()),
    }
    for (slot, raw) in found {
        if let (Some(dst), Some(cell)) = (cells.get_mut(slot), Cell::header_from_json(raw.get())) {
            *dst = cell;
        }
    }
    Ok(())
}

fn strip_position(msg: &str) -> &str {
    msg.rfind(" at line ").and_then(|i| msg.get(..i)).unwrap_or(msg)
}

struct HeaderVisitor<'l, 'f, 'a> {
    layout: &'l Layout,
    found: &'f mut Vec<(usize, &'a RawValue)>,
}

impl<'a> Visitor<'a> for HeaderVisitor<'_, '_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of headers")
    }

    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key::<Key<'a>>()? {
            match self.layout.header_slot(&key) {
                Some(slot) => {
                    if self.found.iter().any(|(s, _)| *s == slot) {
                        return Err(serde::de::Error::custom(format!("duplicate header `{key}`")));
                    }
                    self.found.push((slot, map.next_value()?));
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The columns of a CSV export, from its header row.
#[derive(Clone, Debug)]
pub struct CsvColumns {
    pub names: Vec<String>,
    /// For each field position, the slot it fills (or the header bag).
    roles: Vec<Option<CsvRole>>,
    /// A column the policy reads appears twice: every row is unreadable.
    pub duplicate: Option<String>,
}

#[derive(Clone, Copy, Debug)]
enum CsvRole {
    Column(usize),
    Headers,
}

impl CsvColumns {
    pub fn new(names: Vec<String>, layout: &Layout) -> CsvColumns {
        let mut roles = Vec::with_capacity(names.len());
        let mut duplicate = None;
        for (i, n) in names.iter().enumerate() {
            let role = match layout.key_role(n) {
                Some(KeyRole::Column(s)) => Some(CsvRole::Column(s)),
                Some(KeyRole::Headers) => Some(CsvRole::Headers),
                None => None,
            };
            if role.is_some() && names.iter().take(i).any(|m| m == n) {
                duplicate.get_or_insert_with(|| n.clone());
            }
            roles.push(role);
        }
        CsvColumns { names, roles, duplicate }
    }
}

/// Decodes the policy's slots of one CSV row from its unescaped fields.
pub fn read_csv_row<'a>(
    fields: &'a [u8],
    ends: &[usize],
    columns: &CsvColumns,
    layout: &Layout,
    cells: &mut Vec<Cell<'a>>,
) -> Result<(), RowError> {
    cells.clear();
    cells.resize(layout.slots(), Cell::Absent);
    if let Some(d) = &columns.duplicate {
        return Err(RowError::new(format!("the header row names column `{d}` twice")));
    }
    if ends.len() != columns.names.len() {
        return Err(RowError::new(format!(
            "{} fields where the header row has {}",
            ends.len(),
            columns.names.len()
        )));
    }
    let mut start = 0;
    let mut bag: Option<&'a str> = None;
    for (i, &end) in ends.iter().enumerate() {
        let bytes = fields.get(start..end).unwrap_or_default();
        start = end;
        let Some(Some(role)) = columns.roles.get(i) else { continue };
        let text = std::str::from_utf8(bytes).map_err(|_| {
            RowError::new(format!(
                "column `{}` is not valid UTF-8",
                columns.names.get(i).map_or("", |s| s.as_str())
            ))
        })?;
        match role {
            CsvRole::Column(slot) => {
                if let Some(c) = cells.get_mut(*slot) {
                    *c = Cell::text(text);
                }
            }
            CsvRole::Headers => bag = Some(text),
        }
    }
    if let Some(text) = bag {
        read_header_object(text, layout, cells)?;
    }
    Ok(())
}

/// Whether CSV text is cut inside a quoted field: a line break after it does not end the row.
fn ends_in_quotes(row: &[u8]) -> bool {
    use csv_core::ReadRecordResult as Rr;
    let mut reader = csv_core::Reader::new();
    let (mut out, mut ends) = ([0u8; 1024], [0usize; 64]);
    let mut input = row;
    // A first read of one byte: no byte-order mark is dropped.
    let mut limit = 1;
    loop {
        let (res, nin, _, _) =
            reader.read_record(input.get(..limit.min(input.len())).unwrap_or_default(), &mut out, &mut ends);
        input = input.get(nin..).unwrap_or_default();
        limit = usize::MAX;
        match res {
            Rr::OutputFull | Rr::OutputEndsFull => {}
            Rr::Record | Rr::End => return false,
            Rr::InputEmpty if input.is_empty() => break,
            Rr::InputEmpty => {}
        }
    }
    let (res, ..) = reader.read_record(b"\n", &mut out, &mut ends);
    res != Rr::Record
}

/// The longest row [`BatchReader`] reads by default, in bytes, its line terminator included.
/// A real export's row is a few kilobytes; a longer row is passed through unread.
pub const DEFAULT_MAX_ROW_BYTES: usize = 16 << 20;

/// What part of a row a [`Record`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// A whole row, to be read.
    Row,
    /// A row longer than the reader's maximum: all of it, or its first bytes when the rest
    /// follows as [`Part::More`]. It is not read: it is kept and reported unreadable.
    TooLong,
    /// More bytes of the over-long row before it, passed through as they are.
    More,
    /// CSV: the last row, which the input ends inside a quoted field of. It was cut short,
    /// so it is not read: it is kept and reported unreadable.
    Unclosed,
}

/// One row of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// First physical line of the row, 1-based (a CSV header row is line 1).
    pub line: u64,
    /// The row's bytes in [`Batch::data`], line terminator included.
    pub raw: Range<usize>,
    /// CSV only: the row's unescaped fields in [`Batch::fields`] and field ends in
    /// [`Batch::ends`] (relative to the start of its fields).
    pub fields: Range<usize>,
    pub ends: Range<usize>,
    pub part: Part,
}

/// Whole rows read from the input at once.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub data: Vec<u8>,
    pub records: Vec<Record>,
    pub fields: Vec<u8>,
    pub ends: Vec<usize>,
    /// The reader's maximum row length, which [`Part::TooLong`] rows exceed.
    pub max_row: usize,
}

impl Batch {
    pub fn raw(&self, r: &Record) -> &[u8] {
        self.data.get(r.raw.clone()).unwrap_or_default()
    }

    /// A row's text without its line terminator (and without a leading byte-order mark).
    pub fn text(&self, r: &Record) -> Result<&str, RowError> {
        let raw = self.raw(r);
        let raw = raw.strip_prefix(BOM).unwrap_or(raw);
        let end = raw.iter().rposition(|b| !matches!(b, b'\n' | b'\r')).map_or(0, |i| i + 1);
        std::str::from_utf8(raw.get(..end).unwrap_or_default())
            .map_err(|e| RowError::new(format!("invalid UTF-8 at byte {}", e.valid_up_to() + 1)))
    }

    pub fn csv_fields(&self, r: &Record) -> (&[u8], &[usize]) {
        (
            self.fields.get(r.fields.clone()).unwrap_or_default(),
            self.ends.get(r.ends.clone()).unwrap_or_default(),
        )
    }

    /// Why a row of this part is not read, if it is not.
    pub fn unread(&self, part: Part) -> Option<RowError> {
        match part {
            Part::Row | Part::More => None,
            Part::TooLong => Some(RowError::new(format!("row is longer than {} bytes", self.max_row))),
            Part::Unclosed => Some(RowError::new("the input ends inside a quoted field of this row")),
        }
    }
}

/// Streams an input as batches of whole rows.
///
/// Memory is bounded by the longest row read whole ([`BatchReader::max_row_bytes`]) plus
/// two reads: a longer row is handed out in pieces as it is read, never held whole.
pub struct BatchReader<R> {
    inner: R,
    format: Format,
    /// Unconsumed bytes: the start of a row that continues past the last read.
    carry: Vec<u8>,
    eof: bool,
    /// Physical line number of the first byte of `carry`.
    line: u64,
    csv: csv_core::Reader,
    /// The CSV header row, once read: its raw bytes and column names.
    header: Option<(Vec<u8>, Vec<String>)>,
    first: bool,
    /// Batches given back by [`BatchReader::recycle`], whose buffers are reused.
    spare: Vec<Batch>,
    /// Bytes read from the input at a time.
    block: usize,
    /// Rows longer than this (line terminator included) are passed through unread.
    max_row: usize,
    /// Inside an over-long row, whose remaining bytes are passed through.
    long: Option<Long>,
}

/// Where the reader is in an over-long row it passes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Long {
    /// At the row's first byte, the CSV reader just reset.
    Start,
    /// Before the row's end.
    InRow,
    /// The CSV row ended with a `\r` as the last byte read: a `\n` right after it is part of
    /// its terminator.
    AfterCr,
}

/// Recycled batches kept for reuse; more in flight are simply freed.
const SPARE_BATCHES: usize = 16;
/// Buffers larger than this (grown by an over-long row) are freed rather than kept.
const SPARE_MAX_BYTES: usize = 4 * BLOCK;

impl<R: Read> BatchReader<R> {
    pub fn new(inner: R, format: Format) -> Self {
        BatchReader {
            inner,
            format,
            carry: Vec::new(),
            eof: false,
            line: 1,
            csv: csv_core::Reader::new(),
            header: None,
            first: true,
            spare: Vec::new(),
            block: BLOCK,
            max_row: DEFAULT_MAX_ROW_BYTES,
            long: None,
        }
    }

    /// Starts with bytes already read from the input (used to sniff the format).
    pub fn with_prefix(inner: R, format: Format, prefix: Vec<u8>) -> Self {
        let mut r = BatchReader::new(inner, format);
        r.carry = prefix;
        r
    }

    /// Rows longer than `bytes` (line terminator included) are not read: each is kept,
    /// reported unreadable and passed through in pieces (default [`DEFAULT_MAX_ROW_BYTES`]).
    pub fn max_row_bytes(mut self, bytes: usize) -> Self {
        self.max_row = bytes.max(1);
        self
    }

    /// Reads `bytes` at a time (default 1 MiB). Tests use tiny reads to put row boundaries
    /// everywhere.
    pub fn block_size(mut self, bytes: usize) -> Self {
        self.block = bytes.max(1);
        self
    }

    /// The CSV header row (raw bytes, names), after the first batch was read.
    pub fn csv_header(&self) -> Option<&(Vec<u8>, Vec<String>)> {
        self.header.as_ref()
    }

    /// Gives a written batch back, so its buffers (already in memory) hold later rows
    /// instead of fresh allocations.
    pub fn recycle(&mut self, batch: Batch) {
        if self.spare.len() < SPARE_BATCHES && batch.data.capacity() <= SPARE_MAX_BYTES {
            self.spare.push(batch);
        }
    }

    /// An empty batch, with the buffers of a recycled one when there is one.
    fn empty_batch(&mut self) -> Batch {
        let mut b = self.spare.pop().unwrap_or_default();
        b.data.clear();
        b.records.clear();
        b.fields.clear();
        b.ends.clear();
        b.max_row = self.max_row;
        b
    }

    /// Appends up to `want` bytes of input to `carry` (fewer only at the end of the input).
    fn fill(&mut self, want: usize) -> io::Result<()> {
        // `read_to_end` reads into the spare capacity without zeroing it first.
        let n = (&mut self.inner).take(want as u64).read_to_end(&mut self.carry)?;
        if n < want {
            self.eof = true;
        }
        Ok(())
    }

    /// The next batch of whole rows (or one piece of an over-long row); `None` at the end of
    /// the input.
    pub fn next_batch(&mut self) -> io::Result<Option<Batch>> {
        loop {
            if self.long.is_some() {
                if self.carry.is_empty() && !self.eof {
                    self.fill(self.block)?;
                }
                if let Some(batch) = self.pass_through(Part::More) {
                    return Ok(Some(batch));
                }
                continue;
            }
            if !self.eof && self.carry.len() < self.block {
                self.fill(self.block)?;
            }
            let data = std::mem::take(&mut self.carry);
            let (batch, rest) = match self.format {
                Format::Jsonl => self.split_lines(data),
                Format::Csv => self.split_csv(data)?,
            };
            self.carry = rest;
            if !batch.records.is_empty() {
                return Ok(Some(batch));
            }
            self.recycle(batch);
            if self.eof {
                // Whatever is left is blank bytes between rows.
                self.carry.clear();
                return Ok(None);
            }
            if self.carry.len() > self.max_row {
                // INVARIANT: `carry` starts at the row's first byte and holds no whole row.
                if self.format == Format::Csv && self.header.is_none() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("the header row is longer than {} bytes", self.max_row),
                    ));
                }
                self.long = Some(Long::Start);
                self.csv.reset();
                self.first = false;
                if let Some(batch) = self.pass_through(Part::TooLong) {
                    return Ok(Some(batch));
                }
                continue;
            }
            // A row longer than what is buffered: read more of it, up to one byte past the
            // longest row read whole.
            let more =
                self.carry.len().max(self.block).min(self.max_row.saturating_add(1) - self.carry.len());
            self.fill(more)?;
        }
    }

    /// Hands out the buffered bytes of the over-long row being passed through, up to its
    /// end; `None` when none of them belong to it.
    fn pass_through(&mut self, part: Part) -> Option<Batch> {
        let data = std::mem::take(&mut self.carry);
        let (end, next) = self.long_row_end(&data);
        self.long = next;
        if end == 0 && part == Part::More {
            self.carry = data;
            return None;
        }
        let mut batch = self.empty_batch();
        let mut rest = std::mem::take(&mut batch.data);
        rest.extend_from_slice(data.get(end..).unwrap_or_default());
        let mut data = data;
        data.truncate(end);
        batch.records.push(Record { line: self.line, raw: 0..end, fields: 0..0, ends: 0..0, part });
        self.line += memchr::memchr_iter(b'\n', &data).count() as u64;
        batch.data = data;
        self.carry = rest;
        Some(batch)
    }

    /// How many bytes of `data` belong to the over-long row, and the state after them.
    fn long_row_end(&mut self, data: &[u8]) -> (usize, Option<Long>) {
        use csv_core::ReadRecordResult as Rr;
        let in_row = if self.eof { None } else { Some(Long::InRow) };
        match (self.format, self.long) {
            (_, None) => (0, None),
            (Format::Jsonl, Some(_)) => match memchr::memchr(b'\n', data) {
                Some(i) => (i + 1, None),
                None => (data.len(), in_row),
            },
            (Format::Csv, Some(Long::AfterCr)) => (usize::from(data.first() == Some(&b'\n')), None),
            (Format::Csv, Some(long @ (Long::Start | Long::InRow))) => {
                // The quote state carries over from piece to piece in `self.csv`; the fields
                // are discarded. As in `split_csv`, a row starting with a byte-order mark's
                // first byte is read one byte first, so that csv-core keeps the mark.
                let (mut out, mut ends) = ([0u8; 1024], [0usize; 64]);
                let mut at = 0;
                let split = long == Long::Start && data.first() == BOM.first();
                let found = loop {
                    let limit = if split && at == 0 { 1.min(data.len()) } else { data.len() };
                    let input = data.get(at..limit).unwrap_or_default();
                    let (res, nin, _, _) = self.csv.read_record(input, &mut out, &mut ends);
                    at += nin;
                    match res {
                        Rr::OutputFull | Rr::OutputEndsFull => {}
                        Rr::Record | Rr::End => break true,
                        Rr::InputEmpty if limit < data.len() => {}
                        // At the end of the input an empty read ends the row.
                        Rr::InputEmpty if self.eof => {}
                        Rr::InputEmpty => break false,
                    }
                };
                if !found {
                    return (data.len(), in_row);
                }
                match (at.checked_sub(1).and_then(|i| data.get(i)), data.get(at)) {
                    (Some(b'\r'), Some(b'\n')) => (at + 1, None),
                    (Some(b'\r'), None) if !self.eof => (at, Some(Long::AfterCr)),
                    _ => (at, None),
                }
            }
        }
    }

    fn part(&self, raw: &[u8]) -> Part {
        if raw.len() > self.max_row { Part::TooLong } else { Part::Row }
    }

    /// Splits JSON Lines at `\n`; a final row without terminator is taken at the end of input.
    fn split_lines(&mut self, data: Vec<u8>) -> (Batch, Vec<u8>) {
        let cut = if self.eof { data.len() } else { memchr::memrchr(b'\n', &data).map_or(0, |i| i + 1) };
        let mut batch = self.empty_batch();
        let mut start = 0;
        while start < cut {
            let end = memchr::memchr(b'\n', data.get(start..cut).unwrap_or_default())
                .map_or(cut, |i| start + i + 1);
            let line = self.line;
            self.line += 1;
            let raw = data.get(start..end).unwrap_or_default();
            let content = if self.first && start == 0 { raw.strip_prefix(BOM).unwrap_or(raw) } else { raw };
            // A blank line is no row, unless it is too long to be known blank when streamed.
            let part = self.part(raw);
            if part == Part::TooLong || !content.iter().all(|b| b.is_ascii_whitespace()) {
                batch.records.push(Record { line, raw: start..end, fields: 0..0, ends: 0..0, part });
            }
            start = end;
        }
        if cut > 0 {
            self.first = false;
        }
        let mut rest = std::mem::take(&mut batch.data);
        rest.extend_from_slice(data.get(cut..).unwrap_or_default());
        let mut data = data;
        data.truncate(cut);
        batch.data = data;
        (batch, rest)
    }

    /// Splits CSV rows with csv-core, keeping each row's exact bytes and unescaped fields.
    fn split_csv(&mut self, data: Vec<u8>) -> io::Result<(Batch, Vec<u8>)> {
        use csv_core::ReadRecordResult as Rr;
        let mut batch = self.empty_batch();
        let mut pos = 0;
        let mut header_pending = self.header.is_none();
        if self.first && data.starts_with(BOM) {
            pos = BOM.len();
        }
        let mut out = vec![0u8; 4096];
        let mut ends = vec![0usize; 64];
        let mut consumed_to = 0; // end of the last whole row
        // The line of `data[pos]`; `self.line` follows `consumed_to`.
        let mut line = self.line;
        loop {
            // Skip blank lines between rows; they belong to no row.
            while let Some(b'\r' | b'\n') = data.get(pos) {
                if data.get(pos) == Some(&b'\n') {
                    line += 1;
                }
                pos += 1;
            }
            if !header_pending {
                // Blank lines are consumed: a row held back below starts at its first byte.
                consumed_to = pos;
                self.line = line;
            }
            if pos >= data.len() {
                if self.eof {
                    consumed_to = data.len();
                    self.line = line;
                }
                break;
            }
            let row_start = if header_pending && self.first { 0 } else { pos };
            self.csv.reset();
            let (mut nout_total, mut nend_total, mut at) = (0usize, 0usize, pos);
            let mut unclosed = false;
            let complete = loop {
                // csv-core drops a byte-order mark at the start of a read after a reset, and
                // only the file's own one (skipped above) goes: a row starting with the
                // mark's first byte is read one byte first.
                let split = at == pos && data.get(pos) == BOM.first();
                let limit = if split { (at + 1).min(data.len()) } else { data.len() };
                let input = data.get(at..limit).unwrap_or_default();
                if input.is_empty() && self.eof {
                    // The input ends here, inside a quoted field when a line break would not
                    // end the row. (A fresh reader: csv-core 0.1.13 clones a reader without
                    // its transition classes.)
                    unclosed = ends_in_quotes(data.get(pos..).unwrap_or_default());
                }
                let (res, nin, nout, nend) = self.csv.read_record(
                    input,
                    out.get_mut(nout_total..).unwrap_or_default(),
                    ends.get_mut(nend_total..).unwrap_or_default(),
                );
                at += nin;
                nout_total += nout;
                nend_total += nend;
                match res {
                    Rr::OutputFull => out.resize(out.len() * 2, 0),
                    Rr::OutputEndsFull => ends.resize(ends.len() * 2, 0),
                    Rr::Record => break true,
                    Rr::InputEmpty if limit < data.len() => continue,
                    Rr::InputEmpty if self.eof && input.is_empty() => {
                        // csv-core wants an empty read to finish the last row.
                        continue;
                    }
                    Rr::InputEmpty if self.eof => continue,
                    Rr::InputEmpty => break false,
                    Rr::End => break false,
                }
            };
            if !complete {
                break;
            }
            // Include the row's terminator: csv-core may stop before or after it.
            let mut end = at;
            if end > 0 && data.get(end - 1) == Some(&b'\r') && data.get(end) == Some(&b'\n') {
                end += 1;
            } else if !matches!(data.get(end.wrapping_sub(1)), Some(b'\n' | b'\r')) || end == pos {
                match (data.get(end), data.get(end + 1)) {
                    (Some(b'\r'), Some(b'\n')) => end += 2,
                    (Some(b'\r'), None) if !self.eof => break, // CRLF split across reads
                    (Some(b'\n' | b'\r'), _) => end += 1,
                    _ => {}
                }
            }
            if end >= data.len() && !self.eof && !matches!(data.get(end.wrapping_sub(1)), Some(b'\n')) {
                // The row may continue (or its terminator may be split) in the next read.
                break;
            }
            let raw = data.get(row_start..end).unwrap_or_default();
            let row_line = line;
            // From `pos`: the header's bytes start before the blank lines counted above.
            line += memchr::memchr_iter(b'\n', data.get(pos..end).unwrap_or_default()).count() as u64;
            let part = match self.part(raw) {
                Part::Row if unclosed => Part::Unclosed,
                part => part,
            };
            if header_pending {
                if part == Part::TooLong {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("the header row is longer than {} bytes", self.max_row),
                    ));
                }
                let mut names = Vec::with_capacity(nend_total);
                let mut s = 0;
                for &e in ends.get(..nend_total).unwrap_or_default() {
                    let name = String::from_utf8_lossy(out.get(s..e).unwrap_or_default());
                    names.push(name.trim().to_string());
                    s = e;
                }
                self.header = Some((raw.to_vec(), names));
                header_pending = false;
            } else {
                let f0 = batch.fields.len();
                let e0 = batch.ends.len();
                if part == Part::Row {
                    batch.fields.extend_from_slice(out.get(..nout_total).unwrap_or_default());
                    batch.ends.extend_from_slice(ends.get(..nend_total).unwrap_or_default());
                }
                let d0 = batch.data.len();
                batch.data.extend_from_slice(raw);
                batch.records.push(Record {
                    line: row_line,
                    raw: d0..batch.data.len(),
                    fields: f0..batch.fields.len(),
                    ends: e0..batch.ends.len(),
                    part,
                });
            }
            self.first = false;
            pos = end;
            consumed_to = end;
            self.line = line;
        }
        // The unconsumed tail moves to the front; the buffer stays for the next reads.
        let mut rest = data;
        rest.drain(..consumed_to.min(rest.len()));
        Ok((batch, rest))
    }
}
