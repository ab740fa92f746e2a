//! `fpx export sigma`: the policy's active exclusions as Sigma v2 filters.

use std::path::Path;

use jiff::civil::Date;

use super::{Exit, Ui, io_reason, load_policy, write_stdout};
use crate::compile::Selection;
use crate::export::sigma;

pub(crate) fn sigma(
    path: &Path,
    output_dir: Option<&Path>,
    today: Option<Date>,
    skip_bad: bool,
    ui: &Ui,
) -> Exit {
    let policy = match load_policy(path, ui) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let exported = sigma::export(&policy, today.unwrap_or_else(Selection::utc_today));
    for id in &exported.expired {
        ui.warning(format!("exclusion `{id}` has expired and is not exported"));
    }
    for r in &exported.refused {
        let message = format!("exclusion `{}` cannot be exported: {}", r.exclusion, r.message);
        if skip_bad {
            ui.warning(format!("{message} (skipped)"));
        } else {
            ui.error(message);
        }
        let hidden = skip_bad && ui.quiet;
        if !r.help.is_empty() && !hidden {
            ui.help(&r.help);
        }
    }
    if !exported.refused.is_empty() && !skip_bad {
        ui.error("nothing written: Sigma filters are exported only with the policy's exact meaning");
        ui.help("keep those exclusions in fpx and export the others with `--skip-bad`");
        return Exit::Findings;
    }
    match output_dir {
        None => {
            let docs: Vec<&str> = exported.filters.iter().map(|f| f.yaml.as_str()).collect();
            if let Err(code) = write_stdout(&docs.join("---\n"), ui) {
                return code;
            }
        }
        Some(dir) => {
            if let Err(e) = std::fs::create_dir_all(dir) {
                ui.error(format!("cannot create `{}`: {}", dir.display(), io_reason(&e)));
                return Exit::Usage;
            }
            for f in &exported.filters {
                let target = dir.join(&f.file_name);
                if let Err(e) = std::fs::write(&target, &f.yaml) {
                    ui.error(format!("cannot write `{}`: {}", target.display(), io_reason(&e)));
                    return Exit::Usage;
                }
                ui.detail(format_args!("wrote `{}`", target.display()));
            }
        }
    }
    ui.summary(format_args!(
        "{} filter{} exported, {} expired, {} refused",
        exported.filters.len(),
        if exported.filters.len() == 1 { "" } else { "s" },
        exported.expired.len(),
        exported.refused.len()
    ));
    Exit::Ok
}
