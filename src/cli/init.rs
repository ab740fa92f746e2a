//! `fpx init`: write a starter policy repository, never over existing files unless asked.

use std::path::Path;

use super::{Exit, Ui, io_reason};
use crate::model::KebabName;

pub(crate) fn run(dir: &Path, name: Option<&str>, force: bool, ui: &Ui) -> Exit {
    let name = match name {
        Some(n) => match KebabName::parse(n) {
            Some(k) => k.to_string(),
            None => {
                ui.error(format!("`--name {}` is not kebab-case", crate::diag::shown(n)));
                ui.help(format!("did you mean `{}`?", crate::import::kebab(n, "exclusions")));
                return Exit::Usage;
            }
        },
        None => {
            let base = std::fs::canonicalize(dir)
                .ok()
                .and_then(|d| d.file_name().map(|f| f.to_string_lossy().into_owned()))
                .or_else(|| dir.file_name().map(|f| f.to_string_lossy().into_owned()))
                .unwrap_or_default();
            crate::import::kebab(&base, "exclusions")
        }
    };
    let files = crate::init::layout(&name);
    let existing: Vec<String> =
        files.iter().filter(|f| dir.join(&f.path).exists()).map(|f| format!("`{}`", f.path)).collect();
    if !existing.is_empty() && !force {
        ui.error(format!(
            "{} already exist{} in `{}`",
            existing.join(", "),
            if existing.len() == 1 { "s" } else { "" },
            dir.display()
        ));
        ui.help("nothing was written: move them away, or overwrite them with `--force`");
        return Exit::Findings;
    }
    for f in &files {
        let target = dir.join(&f.path);
        let written = target
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&target, &f.content));
        if let Err(e) = written {
            ui.error(format!("cannot write `{}`: {}", target.display(), io_reason(&e)));
            return Exit::Usage;
        }
        ui.detail(format_args!("wrote `{}`", target.display()));
    }
    ui.summary(format_args!(
        "started a policy repository in `{}`: policies/{name}.toml, .github/workflows/fpx.yml, detections/, README.md",
        dir.display()
    ));
    ui.summary("next: fill in the example exclusion's TODO owner and reason (`fpx lint` fails until you do)");
    Exit::Ok
}
