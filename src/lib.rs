//! fpx: false-positive exclusion policies for Microsoft Sentinel and Defender XDR.
//!
//! Data flows one way: policy text → [`raw`] (spanned mirror) → [`validate`] →
//! [`model::Policy`] → [`compile`] (selection for a day and rules) → [`matcher`] /
//! KQL / reports → the CLI. What a condition means is defined once, in [`semantics`].

pub mod cli;
pub mod compile;
pub mod diag;
pub mod diff;
pub mod event;
pub mod explain;
pub mod export;
pub mod filter;
#[doc(hidden)]
pub mod fuzz;
pub mod import;
pub mod init;
pub mod kql;
pub mod lint;
pub mod markdown;
pub mod matcher;
pub mod model;
pub mod profile;
pub mod raw;
pub mod reference;
pub mod report;
pub mod sample;
pub mod sarif;
pub mod schema;
pub mod semantics;
pub mod sigma;
pub mod subsume;
pub mod summary;
pub mod validate;
