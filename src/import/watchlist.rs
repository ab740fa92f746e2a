//! `fpx import watchlist`: a Microsoft Sentinel watchlist (CSV) as a policy.
//!
//! A watchlist is a CSV file with a header row: the file uploaded to Sentinel, or the
//! result of `_GetWatchlist('alias')` exported from Logs, which adds `SearchKey`,
//! `_DTItemId` and `LastUpdatedTimeUTC` columns. Each mapped column becomes a list of the
//! policy, and each value is checked as the policy would check it (addresses and networks
//! with their host bits for `source_ip`, non-empty text elsewhere). A row that cannot be
//! imported is a [`Problem`] with its line number, never dropped silently.
//!
//! Watchlists are compared like `in~`: text values become `equals` (case-insensitive,
//! `*` and `?` are literal characters, not wildcards).

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

use super::{Draft, DraftCondition, DraftExclusion, DraftValue, PLACEHOLDER_OWNER, Problem};
use crate::diag::{did_you_mean, shown};
use crate::semantics::{TextOp, fold};

/// The policy fields a watchlist column can fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportField {
    Sender,
    MailFrom,
    SenderDomain,
    Recipient,
    Subject,
    SourceIp,
}

impl ImportField {
    pub const ALL: [ImportField; 6] = [
        ImportField::Sender,
        ImportField::MailFrom,
        ImportField::SenderDomain,
        ImportField::Recipient,
        ImportField::Subject,
        ImportField::SourceIp,
    ];

    /// The field's key in a policy.
    pub fn key(self) -> &'static str {
        match self {
            ImportField::Sender => "sender",
            ImportField::MailFrom => "mail_from",
            ImportField::SenderDomain => "sender_domain",
            ImportField::Recipient => "recipient",
            ImportField::Subject => "subject",
            ImportField::SourceIp => "source_ip",
        }
    }

    pub fn named(key: &str) -> Option<ImportField> {
        ImportField::ALL.into_iter().find(|f| f.key() == key)
    }
}

/// `--field sender` (the search key column) or `--field source_ip=RelayIP`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    pub field: ImportField,
    /// The column holding its values; `None` for the search key column.
    pub column: Option<String>,
}

impl std::str::FromStr for FieldSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<FieldSpec, String> {
        let (key, column) = match s.split_once('=') {
            Some((k, c)) => (k.trim(), Some(c.trim().to_string())),
            None => (s.trim(), None),
        };
        let field = ImportField::named(key).ok_or_else(|| {
            let keys: Vec<&str> = ImportField::ALL.iter().map(|f| f.key()).collect();
            match did_you_mean(key, keys.iter().copied()) {
                Some(k) => format!("`{}` is not a field fpx imports: did you mean `{k}`?", shown(key)),
                None => {
                    format!("`{}` is not a field fpx imports: use one of {}", shown(key), keys.join(", "))
                }
            }
        })?;
        if column.as_deref() == Some("") {
            return Err(format!("`{}` names no column after `=`", shown(s)));
        }
        Ok(FieldSpec { field, column })
    }
}

/// How to turn a watchlist into a policy.
#[derive(Clone, Debug)]
pub struct Options {
    /// The watchlist's file name, for comments.
    pub source: String,
    /// The policy name (kebab-case).
    pub name: String,
    pub fields: Vec<FieldSpec>,
    /// The search key column; default `SearchKey`.
    pub search_key: Option<String>,
    /// One exclusion per field (each list alone excludes) instead of one exclusion that
    /// requires every field to match one of its list's values.
    pub separate: bool,
}

/// The result of an import: the policy and every row or setting that was not imported.
#[derive(Clone, Debug)]
pub struct Imported {
    pub draft: Draft,
    /// Rows and settings that were not imported (an error unless skipping was asked for).
    pub problems: Vec<Problem>,
    /// Things the reviewer should know that change nothing (duplicate rows kept once).
    pub notes: Vec<Problem>,
    pub rows: usize,
}

/// The column the search key means when `--search-key` is not given.
pub const SEARCH_KEY: &str = "SearchKey";

/// Imports a watchlist. `Err` holds problems that stop the whole import (no header, an
/// unknown column); bad rows are in [`Imported::problems`].
pub fn import(data: &[u8], options: &Options) -> Result<Imported, Vec<Problem>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(data);
    let mut records = reader.byte_records();
    let header = match records.next() {
        None => {
            return Err(vec![Problem::new(None, "the file is empty: a watchlist starts with a header row")]);
        }
        Some(Err(e)) => return Err(vec![csv_problem(&e)]),
        Some(Ok(h)) => h,
    };
    let header_line = line_of(&header).unwrap_or(1);
    let mut columns = Vec::new();
    for (i, raw) in header.iter().enumerate() {
        let text = match std::str::from_utf8(raw) {
            Ok(t) => t.trim_start_matches('\u{feff}').trim().to_string(),
            Err(_) => {
                return Err(vec![Problem::new(
                    Some(header_line),
                    format!("header column {} is not valid UTF-8", i + 1),
                )]);
            }
        };
        columns.push(text);
    }
    let mut fatal = Vec::new();
    if options.fields.is_empty() {
        fatal.push(Problem::new(None, "no field to import").help(
            "map the search key or a column to a field: `--field sender` or `--field source_ip=RelayIP`",
        ));
    }
    let mut mapping: Vec<(ImportField, usize, String)> = Vec::new();
    for spec in &options.fields {
        let wanted = spec.column.clone().or_else(|| options.search_key.clone()).unwrap_or(SEARCH_KEY.into());
        match columns.iter().position(|c| *c == wanted) {
            Some(i) => {
                if mapping.iter().any(|(f, _, _)| *f == spec.field) {
                    fatal.push(Problem::new(None, format!("`{}` is mapped twice", spec.field.key())).help(
                        "one column per field: a field's values come from one column of the watchlist",
                    ));
                } else {
                    mapping.push((spec.field, i, wanted));
                }
            }
            None => {
                let mut p =
                    Problem::new(Some(header_line), format!("the header has no column `{}`", shown(&wanted)));
                if let Some(s) = did_you_mean(&wanted, columns.iter().map(String::as_str)) {
                    p = p.help(format!("did you mean `{s}`?"));
                } else {
                    let shown_columns: Vec<String> =
                        columns.iter().map(|c| format!("`{}`", shown(c))).collect();
                    p = p.help(format!("the columns are {}", shown_columns.join(", ")));
                }
                if spec.column.is_none() && options.search_key.is_none() {
                    p = p.help("name the key column with `--search-key COLUMN`, or map one with `--field FIELD=COLUMN`");
                }
                fatal.push(p);
            }
        }
    }
    if !fatal.is_empty() {
        return Err(fatal);
    }

    let mut problems = Vec::new();
    let mut notes = Vec::new();
    // Per field: values in file order, and where each meaning was first seen.
    let mut values: Vec<Vec<String>> = vec![Vec::new(); mapping.len()];
    let mut seen: Vec<HashMap<String, usize>> = vec![HashMap::new(); mapping.len()];
    let mut rows = 0;
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(csv_problem(&e));
                continue;
            }
        };
        let line = line_of(&record).unwrap_or(0);
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        rows += 1;
        if record.len() != columns.len() {
            problems.push(Problem::new(
                Some(line),
                format!("the row has {} fields, the header has {}", record.len(), columns.len()),
            ));
            continue;
        }
        // A row is imported whole or not at all.
        let mut row = Vec::new();
        let mut bad = false;
        for (field, index, column) in &mapping {
            let raw = record.get(*index).unwrap_or_default();
            match check_value(*field, column, raw) {
                Ok(v) => row.push(v),
                Err(p) => {
                    let mut problem = Problem::new(Some(line), p.0);
                    problem.help = p.1;
                    problems.push(problem);
                    bad = true;
                }
            }
        }
        if bad {
            continue;
        }
        for (i, (value, key)) in row.into_iter().enumerate() {
            let (Some(list), Some(seen), Some((_, _, column))) =
                (values.get_mut(i), seen.get_mut(i), mapping.get(i))
            else {
                continue;
            };
            match seen.get(&key) {
                Some(first) => notes.push(Problem::new(
                    Some(line),
                    format!("`{}` in `{}` repeats line {first}: kept once", shown(&value), shown(column)),
                )),
                None => {
                    seen.insert(key, line);
                    list.push(value);
                }
            }
        }
    }
    if rows == 0 {
        problems.push(Problem::new(None, "the watchlist has no rows"));
    }

    let draft = draft(options, &mapping, values, rows);
    Ok(Imported { draft, problems, notes, rows })
}

/// A value as the policy will hold it, and its meaning for spotting duplicates; or why it
/// is not imported.
fn check_value(
    field: ImportField,
    column: &str,
    raw: &[u8],
) -> Result<(String, String), (String, Vec<String>)> {
    let Ok(text) = std::str::from_utf8(raw) else {
        return Err((format!("`{}` is not valid UTF-8", shown(column)), Vec::new()));
    };
    if text.trim().is_empty() {
        return Err((
            format!("`{}` is empty", shown(column)),
            vec!["an empty value would match nothing".into()],
        ));
    }
    if text.trim() != text {
        return Err((
            format!("`{}` has spaces around `{}`", shown(column), shown(text.trim())),
            vec!["a watchlist compares whole values: fix the value in the watchlist".into()],
        ));
    }
    if field != ImportField::SourceIp {
        return Ok((text.to_string(), fold(text).into_owned()));
    }
    let net = text.parse::<IpNet>().ok().or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from));
    match net {
        Some(n) if n.trunc() == n => Ok((text.to_string(), n.to_string())),
        Some(n) => Err((
            format!("`{}` in `{}` has host bits set", shown(text), shown(column)),
            vec![format!("did you mean `{}`?", n.trunc())],
        )),
        None => Err((
            format!("`{}` in `{}` is not an IP address or network", shown(text), shown(column)),
            vec!["`source_ip` takes IPv4 and IPv6 addresses and networks (`10.20.30.0/24`)".into()],
        )),
    }
}

fn draft(
    options: &Options,
    mapping: &[(ImportField, usize, String)],
    values: Vec<Vec<String>>,
    rows: usize,
) -> Draft {
    let name = options.name.clone();
    let list_name = |f: ImportField| format!("{name}-{}", f.key().replace('_', "-"));
    let mapped: Vec<String> = mapping.iter().map(|(f, _, c)| format!("`{c}` → `{}`", f.key())).collect();
    let mut draft = Draft {
        comments: vec![
            format!(
                "Imported by `fpx import watchlist` from `{}` ({rows} rows: {}).",
                options.source,
                mapped.join(", ")
            ),
            "Review before merging: replace the TODO owner and reason (`fpx lint` reports them as".into(),
            "`placeholder`), add `expires` and `rules`, and narrow what the watchlist left wide.".into(),
            "Values compare as `in~` did: the whole value, ignoring case.".into(),
        ],
        name: name.clone(),
        description: Some(format!("Exclusions imported from the Sentinel watchlist `{}`", options.source)),
        ..Draft::default()
    };
    for ((field, _, _), vs) in mapping.iter().zip(values) {
        if !vs.is_empty() {
            draft.lists.push((list_name(*field), vs));
        }
    }
    let condition = |f: ImportField| {
        let op = if f == ImportField::SourceIp { TextOp::Glob } else { TextOp::Equals };
        DraftCondition { key: f.key(), values: vec![DraftValue::list(op, list_name(f))] }
    };
    let present: Vec<ImportField> = mapping
        .iter()
        .map(|(f, _, _)| *f)
        .filter(|f| draft.lists.iter().any(|(n, _)| *n == list_name(*f)))
        .collect();
    let reason = |what: &str| {
        format!("TODO: say why {what} from the watchlist `{}` are false positives", options.source)
    };
    if options.separate {
        for f in &present {
            draft.exclusions.push(DraftExclusion {
                id: format!("{name}-{}", f.key().replace('_', "-")),
                reason: reason(&format!("`{}` values", f.key())),
                owner: PLACEHOLDER_OWNER.into(),
                conditions: vec![condition(*f)],
                ..DraftExclusion::default()
            });
        }
    } else if !present.is_empty() {
        let comments = if present.len() > 1 {
            vec![
                "Every field must match one of its list's values; the lists do not keep the rows'".into(),
                "pairing (a sender from one row with the address of another also matches).".into(),
            ]
        } else {
            Vec::new()
        };
        draft.exclusions.push(DraftExclusion {
            comments,
            id: name.clone(),
            reason: reason("the events"),
            owner: PLACEHOLDER_OWNER.into(),
            conditions: present.iter().map(|f| condition(*f)).collect(),
            ..DraftExclusion::default()
        });
    }
    draft
}

fn line_of(record: &csv::ByteRecord) -> Option<usize> {
    record.position().and_then(|p| usize::try_from(p.line()).ok())
}

fn csv_problem(e: &csv::Error) -> Problem {
    let line = e.position().and_then(|p| usize::try_from(p.line()).ok());
    let message = match e.kind() {
        csv::ErrorKind::Io(io) => format!("cannot read the file: {}", io.to_string().to_lowercase()),
        csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8".to_string(),
        _ => "the row is not valid CSV".to_string(),
    };
    Problem::new(line, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(fields: &[&str]) -> Options {
        Options {
            source: "w.csv".into(),
            name: "w".into(),
            fields: fields
                .iter()
                .map(|f| f.parse().unwrap_or(FieldSpec { field: ImportField::Sender, column: None }))
                .collect(),
            search_key: None,
            separate: false,
        }
    }

    #[test]
    fn field_specs_parse_with_and_without_a_column() {
        assert_eq!("sender".parse(), Ok(FieldSpec { field: ImportField::Sender, column: None }));
        assert_eq!(
            "source_ip=Relay IP".parse(),
            Ok(FieldSpec { field: ImportField::SourceIp, column: Some("Relay IP".into()) })
        );
        assert!("sendr".parse::<FieldSpec>().is_err_and(|e| e.contains("did you mean `sender`")));
        assert!("sender=".parse::<FieldSpec>().is_err());
    }

    #[test]
    fn bad_rows_are_reported_with_their_lines() {
        let csv = "SearchKey,Ip\na@x.com,10.0.0.0/8\n,10.0.0.1\nb@x.com,10.1.2.3/16\nA@X.com,10.0.0.0/8\n";
        let Ok(imported) = import(csv.as_bytes(), &options(&["sender", "source_ip=Ip"])) else {
            unreachable!("the header is fine")
        };
        let lines: Vec<Option<usize>> = imported.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [Some(3), Some(4)]);
        assert_eq!(imported.notes.len(), 2, "{:?}", imported.notes);
        assert_eq!(
            imported.draft.lists,
            [
                ("w-sender".to_string(), vec!["a@x.com".to_string()]),
                ("w-source-ip".to_string(), vec!["10.0.0.0/8".to_string()]),
            ]
        );
    }
}
