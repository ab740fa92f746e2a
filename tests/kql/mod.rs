//! `fpx kql` and `fpx tune`: Microsoft's parser, literal round trips, matcher == KQL in an
//! independent executor, the corpus, a 100,000-entry policy, and snapshots.

mod corpus;
mod equivalence;
pub mod harness;
mod large;
mod literals;
mod parse;
mod snapshots;
