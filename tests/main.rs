//! fpx's integration tests: one binary, one module per area.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

mod check;
mod cli;
mod diff;
mod differential;
mod explain;
mod export;
mod filter;
mod fuzz;
mod hostile;
mod import;
mod init;
mod kql;
mod lint;
mod policies;
mod policy_errors;
mod process;
mod props;
mod report;
mod sarif;
mod schema;
