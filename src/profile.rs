//! Table profiles: the columns a policy may name, with their KQL types.
//!
//! `EmailEvents` is the union of the Defender XDR advanced-hunting schema and the Sentinel /
//! Log Analytics table reference (copied in `tests/corpus/schema/`). `AdditionalFields` is
//! `string` in Defender and `dynamic` in Sentinel; it is typed `dynamic` here, so it cannot be
//! the target of a text condition whose KQL would differ between the two.

use std::fmt;

/// The KQL type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    String,
    Int,
    Long,
    Real,
    Bool,
    Datetime,
    Dynamic,
}

impl ColumnType {
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::String => "string",
            ColumnType::Int => "int",
            ColumnType::Long => "long",
            ColumnType::Real => "real",
            ColumnType::Bool => "bool",
            ColumnType::Datetime => "datetime",
            ColumnType::Dynamic => "dynamic",
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A table a policy filters, and the columns it documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Profile {
    pub table: &'static str,
    pub columns: &'static [(&'static str, ColumnType)],
}

/// The column profiles fpx knows.
pub const PROFILES: &[Profile] = &[EMAIL_EVENTS];

pub const EMAIL_EVENTS: Profile = Profile { table: "EmailEvents", columns: EMAIL_EVENTS_COLUMNS };

const EMAIL_EVENTS_COLUMNS: &[(&str, ColumnType)] = &[
    ("Timestamp", ColumnType::Datetime),
    ("NetworkMessageId", ColumnType::String),
    ("InternetMessageId", ColumnType::String),
    ("SenderMailFromAddress", ColumnType::String),
    ("SenderFromAddress", ColumnType::String),
    ("SenderDisplayName", ColumnType::String),
    ("SenderObjectId", ColumnType::String),
    ("SenderMailFromDomain", ColumnType::String),
    ("SenderFromDomain", ColumnType::String),
    ("SenderIPv4", ColumnType::String),
    ("SenderIPv6", ColumnType::String),
    ("RecipientEmailAddress", ColumnType::String),
    ("RecipientObjectId", ColumnType::String),
    ("Subject", ColumnType::String),
    ("EmailClusterId", ColumnType::Long),
    ("EmailDirection", ColumnType::String),
    ("DeliveryAction", ColumnType::String),
    ("DeliveryLocation", ColumnType::String),
    ("ThreatTypes", ColumnType::String),
    ("ThreatNames", ColumnType::String),
    ("DetectionMethods", ColumnType::String),
    ("ConfidenceLevel", ColumnType::String),
    ("BulkComplaintLevel", ColumnType::Int),
    ("EmailAction", ColumnType::String),
    ("EmailActionPolicy", ColumnType::String),
    ("EmailActionPolicyGuid", ColumnType::String),
    ("AuthenticationDetails", ColumnType::String),
    ("AttachmentCount", ColumnType::Int),
    ("UrlCount", ColumnType::Int),
    ("EmailLanguage", ColumnType::String),
    ("Connectors", ColumnType::String),
    ("OrgLevelAction", ColumnType::String),
    ("OrgLevelPolicy", ColumnType::String),
    ("UserLevelAction", ColumnType::String),
    ("UserLevelPolicy", ColumnType::String),
    ("ReportId", ColumnType::String),
    ("AdditionalFields", ColumnType::Dynamic),
    ("LatestDeliveryLocation", ColumnType::String),
    ("LatestDeliveryAction", ColumnType::String),
    ("_BilledSize", ColumnType::Real),
    ("Cc", ColumnType::Dynamic),
    ("Context", ColumnType::String),
    ("DistributionList", ColumnType::String),
    ("EmailSize", ColumnType::Int),
    ("ExchangeTransportRule", ColumnType::String),
    ("ForwardingInformation", ColumnType::String),
    ("_IsBillable", ColumnType::String),
    ("IsFirstContact", ColumnType::Bool),
    ("LastEventExecutionTime", ColumnType::Datetime),
    ("RecipientDomain", ColumnType::String),
    ("SourceSystem", ColumnType::String),
    ("TenantId", ColumnType::String),
    ("ThreatClassification", ColumnType::String),
    ("TimeGenerated", ColumnType::Datetime),
    ("To", ColumnType::Dynamic),
    ("Type", ColumnType::String),
];

impl Profile {
    /// The profile of a table name, compared exactly (KQL table names are case-sensitive).
    pub fn named(table: &str) -> Option<Profile> {
        PROFILES.iter().copied().find(|p| p.table == table)
    }

    /// The type of a column, compared exactly (KQL column names are case-sensitive).
    pub fn column_type(&self, name: &str) -> Option<ColumnType> {
        self.columns.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }

    pub fn column_names(&self) -> impl Iterator<Item = &'static str> {
        self.columns.iter().map(|(n, _)| *n)
    }
}
