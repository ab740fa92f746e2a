//! KQL output: the exclusion block (`fpx kql`), tuned queries and rules (`fpx tune`),
//! watchlists for large lists, and hit counts, all generated from [`crate::compile::Compiled`].
//!
//! The KQL form of every test is defined in [`crate::semantics`], beside its matcher. This
//! module arranges those forms; it never reads the policy text.
//!
//! # Exact and total
//!
//! `| where not(P)` keeps a row only when `P` is `false`: a `null` `P` drops the row
//! ([where operator](https://learn.microsoft.com/en-us/kusto/query/where-operator): "rows for
//! which the predicate is true"; `not(null)` is null). So every exclusion predicate must be
//! `true` or `false` for every row, empty, malformed and wrong-family cells included:
//!
//! - **Text columns** are `string`, which Kusto never makes null: a missing value is the
//!   empty string ([string type](https://learn.microsoft.com/en-us/kusto/query/scalar-data-types/string),
//!   [null values](https://learn.microsoft.com/en-us/kusto/query/scalar-data-types/null-values):
//!   "string doesn't support null values"). `=~`, `in~`, `startswith`, `endswith`,
//!   `contains`, `matches regex` and `isnotempty` on a string are therefore never null; an
//!   empty cell fails every literal test because policy literals are never empty, `*` is
//!   `isnotempty(col)`, and a user regex that matches the empty string is guarded with
//!   `isnotempty` (the matcher never matches an absent cell).
//! - **Case.** [`=~`](https://learn.microsoft.com/en-us/kusto/query/equals-operator) and the
//!   other case-insensitive operators are documented for ASCII only ("Case-insensitive
//!   operators are currently supported only for ASCII-text"), which is what
//!   [`crate::semantics::fold`] does, so every literal uses them (the fast, indexed form).
//! - **Regexes** are emitted as written: `matches regex` is an unanchored search
//!   ([matches regex](https://learn.microsoft.com/en-us/kusto/query/matches-regex-operator)),
//!   case-sensitive unless `(?i)`, like the matcher. Wildcard globs emit the matcher's
//!   anchored `(?s)^…$` regex text itself (ASCII letters as `[rR]` classes).
//! - **Addresses.** [`ipv4_is_in_any_range`](https://learn.microsoft.com/en-us/kusto/query/ipv4-is-in-any-range-function)
//!   and [`ipv6_is_in_any_range`](https://learn.microsoft.com/en-us/kusto/query/ipv6-is-in-any-range-function)
//!   return null "if conversion for one of the two … strings wasn't successful", and Kusto's
//!   parser accepts texts fpx does not (IPv4 with a `/prefix`, IPv4 in the IPv6 functions).
//!   Each call is guarded by a strict regex that accepts exactly what the matcher parses
//!   (tested against Rust's parser; computed once per row into `fpx_ipv4_ok` /
//!   `fpx_ipv6_ok` by an `extend` before the filter and dropped after it) and wrapped in
//!   [`coalesce(…, false)`](https://learn.microsoft.com/en-us/kusto/query/coalesce-function).
//! - **Headers** read `parse_json(tostring(column_ifexists(col, "")))[name]`:
//!   [`column_ifexists`](https://learn.microsoft.com/en-us/kusto/query/column-ifexists-function)
//!   keeps the query valid where the column is missing (no headers, as in the matcher);
//!   [`parse_json`](https://learn.microsoft.com/en-us/kusto/query/parse-json-function) of
//!   text that is not JSON gives a dynamic string whose `[name]` is null; only a value whose
//!   [`gettype`](https://learn.microsoft.com/en-us/kusto/query/gettype-function) is
//!   `"string"` becomes text (`iff(…, tostring(v), "")`), so numbers, booleans, objects and
//!   missing keys are the empty, absent cell.
//!
//! Conjunctions and disjunctions of never-null operands are never null.

pub mod emit;
pub mod hits;
pub mod literal;
pub mod tune;
pub mod yaml;
