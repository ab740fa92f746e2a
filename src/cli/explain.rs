//! `fpx explain`: what each exclusion decides for one event.

use std::io::{self, Read};

use super::{Exit, SelectArgs, TextOrJson, Ui, io_reason, load_policy, selection, write_stdout};
use crate::compile::Compiled;
use crate::reference::JsonEvent;

pub(crate) fn run(select: &SelectArgs, format: TextOrJson, event: &str, ui: &Ui) -> Exit {
    let policy = match load_policy(&select.policy, ui) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let text = if event == "-" {
        let mut s = String::new();
        if let Err(e) = io::stdin().read_to_string(&mut s) {
            ui.error(format!("cannot read the event from stdin: {}", io_reason(&e)));
            return Exit::Usage;
        }
        s
    } else {
        event.to_string()
    };
    let parsed = match JsonEvent::parse(text.trim()) {
        Ok(ev) => ev,
        Err(e) => {
            ui.error(format!("the event is not a JSON object: {e}"));
            return Exit::Usage;
        }
    };
    let compiled = Compiled::new(&policy, selection(select));
    let explanation = crate::explain::explain(&compiled, &parsed);
    let rendered = match format {
        TextOrJson::Text => explanation.render(),
        TextOrJson::Json => serde_json::to_string_pretty(&explanation).unwrap_or_default() + "\n",
    };
    match write_stdout(&rendered, ui) {
        Ok(()) => Exit::Ok,
        Err(code) => code,
    }
}
