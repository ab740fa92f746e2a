//! `fpx report`: the review page of one policy.

use std::path::Path;

use jiff::civil::Date;

use super::{Exit, MdOrJson, Ui, compile_sample, load_policy_source, read_events, write_stdout};
use crate::compile::Selection;
use crate::lint::{self, Options};
use crate::report::{self, Input};

pub(crate) fn run(
    path: &Path,
    events: Option<&Path>,
    today: Option<Date>,
    format: MdOrJson,
    ui: &Ui,
) -> Exit {
    let today = today.unwrap_or_else(Selection::utc_today);
    let (source, policy) = match load_policy_source(path, ui) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let events = match events.map(|p| read_events(p, ui)).transpose() {
        Ok(e) => e,
        Err(code) => return code,
    };
    let run = match events.as_ref().map(|ev| compile_sample(&policy, today, ev, ui)).transpose() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let sample = run.as_ref().zip(events.as_ref()).map(|(r, e)| (e.name.as_str(), &r.stats));
    let findings = lint::lint(&policy, &Options { today, soon_days: lint::SOON_DAYS, sample });
    let file = path.display().to_string();
    let kql = report::kql_section(&policy, today, &file);
    let kql = Some(kql.as_str());
    let input =
        Input { policy: &policy, file: &file, source: &source, today, findings: &findings, sample, kql };
    let text = match format {
        MdOrJson::Md => report::markdown(&input),
        MdOrJson::Json => serde_json::to_string_pretty(&report::json(&input)).unwrap_or_default() + "\n",
    };
    match write_stdout(&text, ui) {
        Ok(()) => Exit::Ok,
        Err(code) => code,
    }
}
