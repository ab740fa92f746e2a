//! Exporters: a validated policy in another tool's format, with the same meaning or not at all.

pub mod sigma;
