#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! fpx's integration tests: one binary, one module per area.

mod kql;
