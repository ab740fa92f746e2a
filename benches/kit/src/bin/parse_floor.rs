//! The parse-only floor: what reading an EmailEvents JSON Lines export costs with serde_json
//! before any matching. Each line is parsed into borrowed fields (every column) and written
//! out unchanged; one thread, no matching.
//!
//! `parse-floor FILE` writes every row to stdout and prints the row count to stderr.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};

use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code, non_snake_case)]
struct Row<'a> {
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    network_message_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    internet_message_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    sender_mail_from_address: Option<Cow<'a, str>>,
    #[serde(borrow)]
    sender_from_address: Option<Cow<'a, str>>,
    #[serde(borrow)]
    sender_display_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    sender_object_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    sender_mail_from_domain: Option<Cow<'a, str>>,
    #[serde(borrow)]
    sender_from_domain: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "SenderIPv4")]
    sender_ipv4: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "SenderIPv6")]
    sender_ipv6: Option<Cow<'a, str>>,
    #[serde(borrow)]
    recipient_email_address: Option<Cow<'a, str>>,
    #[serde(borrow)]
    recipient_object_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    subject: Option<Cow<'a, str>>,
    email_cluster_id: Option<i64>,
    #[serde(borrow)]
    email_direction: Option<Cow<'a, str>>,
    #[serde(borrow)]
    delivery_action: Option<Cow<'a, str>>,
    #[serde(borrow)]
    delivery_location: Option<Cow<'a, str>>,
    #[serde(borrow)]
    threat_types: Option<Cow<'a, str>>,
    #[serde(borrow)]
    threat_names: Option<Cow<'a, str>>,
    #[serde(borrow)]
    detection_methods: Option<Cow<'a, str>>,
    #[serde(borrow)]
    confidence_level: Option<Cow<'a, str>>,
    bulk_complaint_level: Option<i64>,
    #[serde(borrow)]
    email_action: Option<Cow<'a, str>>,
    #[serde(borrow)]
    email_action_policy: Option<Cow<'a, str>>,
    #[serde(borrow)]
    email_action_policy_guid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    authentication_details: Option<Cow<'a, str>>,
    attachment_count: Option<i64>,
    url_count: Option<i64>,
    #[serde(borrow)]
    email_language: Option<Cow<'a, str>>,
    #[serde(borrow)]
    connectors: Option<Cow<'a, str>>,
    #[serde(borrow)]
    org_level_action: Option<Cow<'a, str>>,
    #[serde(borrow)]
    org_level_policy: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_level_action: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_level_policy: Option<Cow<'a, str>>,
    #[serde(borrow)]
    report_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    additional_fields: Option<Cow<'a, str>>,
    #[serde(borrow)]
    headers: Option<&'a RawValue>,
}

fn main() -> io::Result<()> {
    let path = std::env::args().nth(1).ok_or_else(|| io::Error::other("usage: parse-floor FILE"))?;
    let mut input = BufReader::with_capacity(1 << 20, File::open(path)?);
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut line: Vec<u8> = Vec::new();
    let (mut rows, mut bad) = (0u64, 0u64);
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        rows += 1;
        match std::str::from_utf8(&line).ok().map(serde_json::from_str::<Row<'_>>) {
            Some(Ok(row)) => {
                std::hint::black_box(&row);
            }
            _ => bad += 1,
        }
        out.write_all(&line)?;
    }
    out.flush()?;
    eprintln!("parse-floor: {rows} rows, {bad} unparsed");
    Ok(())
}
