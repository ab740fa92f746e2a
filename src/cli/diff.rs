//! `fpx diff`: the semantic diff of two versions of a policy.

use std::path::Path;

use jiff::civil::Date;

use super::{Exit, MdOrJson, Ui, compile_sample, load_policy, read_events, write_stdout};
use crate::compile::Selection;
use crate::diff;

pub(crate) fn run(
    old_path: &Path,
    new_path: &Path,
    events: Option<&Path>,
    today: Option<Date>,
    format: MdOrJson,
    ui: &Ui,
) -> Exit {
    let today = today.unwrap_or_else(Selection::utc_today);
    let (old, new) = match (load_policy(old_path, ui), load_policy(new_path, ui)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(a), Err(b)) => return a.max_code(b),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let events = match events.map(|p| read_events(p, ui)).transpose() {
        Ok(e) => e,
        Err(code) => return code,
    };
    let events_diff = match &events {
        None => None,
        Some(ev) => {
            let runs = compile_sample(&old, today, ev, ui)
                .and_then(|o| Ok((o, compile_sample(&new, today, ev, ui)?)));
            match runs {
                Ok((o, n)) => Some(diff::events(&ev.name, &o, &n)),
                Err(code) => return code,
            }
        }
    };
    let d = diff::diff(&old, &new, today);
    let (old_file, new_file) = (old_path.display().to_string(), new_path.display().to_string());
    let text = match format {
        MdOrJson::Md => diff::markdown(&d, &old_file, &new_file, events_diff.as_ref()),
        MdOrJson::Json => {
            let doc = serde_json::json!({
                "old_file": old_file,
                "new_file": new_file,
                "diff": d,
                "events": events_diff,
            });
            serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
        }
    };
    match write_stdout(&text, ui) {
        Ok(()) => Exit::Ok,
        Err(code) => code,
    }
}
