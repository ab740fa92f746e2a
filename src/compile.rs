//! Selecting what applies today, for the chosen rules, and laying out what to read.
//!
//! [`Compiled`] is the one form every output is generated from: the fast matcher
//! ([`crate::matcher::Matcher`]), the KQL, and the stats of a filter run.

use jiff::civil::Date;

use crate::event::Layout;
use crate::model::{Exclusion, Field, Policy, SOURCE_IPV4_COLUMN, SOURCE_IPV6_COLUMN, Target, Test};

/// The day and the rules a policy is applied for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// Exclusions whose `expires` is before this day are inactive.
    pub today: Date,
    /// Rule ids or names (`--rule`); empty applies every exclusion.
    pub rules: Vec<String>,
}

impl Selection {
    /// Today's date in UTC.
    pub fn utc_today() -> Date {
        jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::UTC).date()
    }
}

/// Whether an exclusion applies under a selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Active,
    /// Past its `expires` day.
    Expired,
    /// Scoped to other rules than the selected ones.
    OutOfScope,
}

impl Status {
    pub fn of(e: &Exclusion, selection: &Selection) -> Status {
        if e.expires.is_some_and(|d| d < selection.today) {
            Status::Expired
        } else if !e.scope.applies_to(&selection.rules) {
            Status::OutOfScope
        } else {
            Status::Active
        }
    }
}

/// A policy applied for one selection.
#[derive(Clone, Debug)]
pub struct Compiled<'p> {
    pub policy: &'p Policy,
    pub selection: Selection,
    /// One status per exclusion of the policy, in policy order.
    pub status: Vec<Status>,
    /// Indices of the active exclusions, in policy order.
    pub active: Vec<usize>,
    /// The columns and headers the active exclusions read.
    pub layout: Layout,
}

impl<'p> Compiled<'p> {
    pub fn new(policy: &'p Policy, selection: Selection) -> Compiled<'p> {
        let status: Vec<Status> = policy.exclusions.iter().map(|e| Status::of(e, &selection)).collect();
        let active: Vec<usize> =
            status.iter().enumerate().filter(|(_, s)| **s == Status::Active).map(|(i, _)| i).collect();
        let mut layout = Layout { header_column: policy.header_column.clone(), ..Layout::default() };
        let add_column = |layout: &mut Layout, c: &str| {
            if layout.column_slot(c).is_none() {
                layout.columns.push(c.to_string());
            }
        };
        for &i in &active {
            let Some(e) = policy.exclusions.get(i) else { continue };
            for c in &e.conditions {
                match c.field.target(policy.header_column.as_deref()) {
                    Some(Target::Column(col)) => add_column(&mut layout, col),
                    Some(Target::Header { name, .. }) => {
                        if layout.header_slot(&name).is_none() {
                            layout.headers.push(name);
                        }
                    }
                    None => {
                        debug_assert_eq!(c.field, Field::SourceIp);
                        for v in &c.values {
                            if let Test::Net(net) = &v.test {
                                let col = match net {
                                    ipnet::IpNet::V4(_) => SOURCE_IPV4_COLUMN,
                                    ipnet::IpNet::V6(_) => SOURCE_IPV6_COLUMN,
                                };
                                add_column(&mut layout, col);
                            }
                        }
                    }
                }
            }
        }
        if layout.headers.is_empty() {
            layout.header_column = None;
        }
        Compiled { policy, selection, status, active, layout }
    }

    pub fn active_exclusions(&self) -> impl Iterator<Item = &'p Exclusion> + '_ {
        self.active.iter().filter_map(|&i| self.policy.exclusions.get(i))
    }

    /// Exclusions with a status other than active.
    pub fn with_status(&self, status: Status) -> impl Iterator<Item = &'p Exclusion> + '_ {
        self.policy.exclusions.iter().zip(&self.status).filter(move |(_, s)| **s == status).map(|(e, _)| e)
    }
}
