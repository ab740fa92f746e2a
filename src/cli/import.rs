//! `fpx import watchlist` and `fpx import sigma`: existing exclusions as a policy to review.

use std::path::{Path, PathBuf};

use super::{Exit, ImportOut, Ui, io_reason, read_text};
use crate::import::{self, Draft, Problem, sigma, watchlist};
use crate::validate;

/// Prints one problem of `file` as an error, or as a warning when it is skipped.
pub(crate) fn report(ui: &Ui, skipped: bool, file: &str, p: &Problem) {
    let place = p.line.map_or_else(|| format!("`{file}`"), |l| format!("`{file}:{l}`"));
    if skipped {
        if ui.quiet {
            return;
        }
        ui.warning(format!("{place}: {} (skipped)", p.message));
    } else {
        ui.error(format!("{place}: {}", p.message));
    }
    for h in &p.help {
        ui.help(h);
    }
}

/// The policy name: `--name` if kebab-case, else from the file's name.
fn policy_name(out: &ImportOut, first: &Path, ui: &Ui) -> Result<String, Exit> {
    match &out.name {
        Some(n) => match crate::model::KebabName::parse(n) {
            Some(k) => Ok(k.to_string()),
            None => {
                ui.error(format!("`--name {}` is not kebab-case", crate::diag::shown(n)));
                ui.help(format!("did you mean `{}`?", import::kebab(n, "imported")));
                Err(Exit::Usage)
            }
        },
        None => {
            let stem = first.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            Ok(import::kebab(&stem, "imported"))
        }
    }
}

/// Renders the draft, checks it with the policy validator, and writes it.
fn write_policy(draft: &Draft, out: &ImportOut, ui: &Ui) -> Exit {
    let text = draft.render();
    if let Err(diags) = validate::load(&text) {
        // The importers only write values the validator accepts: this is a bug.
        ui.error("the imported policy does not validate; this is a bug in fpx, please report it");
        for d in diags {
            ui.help(format!("{}: {}", d.code, d.message));
        }
        return Exit::Findings;
    }
    match &out.output {
        Some(path) => match std::fs::write(path, &text) {
            Ok(()) => {
                ui.detail(format_args!("wrote `{}`", path.display()));
                Exit::Ok
            }
            Err(e) => {
                ui.error(format!("cannot write `{}`: {}", path.display(), io_reason(&e)));
                Exit::Usage
            }
        },
        None => match super::write_stdout(&text, ui) {
            Ok(()) => Exit::Ok,
            Err(code) => code,
        },
    }
}

pub(crate) fn watchlist(
    file: &Path,
    fields: Vec<watchlist::FieldSpec>,
    search_key: Option<String>,
    separate: bool,
    out: &ImportOut,
    ui: &Ui,
) -> Exit {
    let data = match std::fs::read(file) {
        Ok(d) => d,
        Err(e) => {
            ui.error(format!("cannot read `{}`: {}", file.display(), io_reason(&e)));
            return Exit::Usage;
        }
    };
    let name = match policy_name(out, file, ui) {
        Ok(n) => n,
        Err(code) => return code,
    };
    let shown = file.display().to_string();
    let source = file.file_name().map_or_else(|| shown.clone(), |f| f.to_string_lossy().into_owned());
    let options = watchlist::Options { source, name, fields, search_key, separate };
    let imported = match watchlist::import(&data, &options) {
        Ok(i) => i,
        Err(problems) => {
            for p in &problems {
                report(ui, false, &shown, p);
            }
            return Exit::Findings;
        }
    };
    for p in &imported.problems {
        report(ui, out.skip_bad, &shown, p);
    }
    for n in &imported.notes {
        ui.detail(format_args!("`{shown}:{}`: {}", n.line.unwrap_or(0), n.message));
    }
    if !imported.problems.is_empty() && !out.skip_bad {
        ui.error(format!(
            "{} row{} of `{shown}` cannot be imported: nothing written",
            imported.problems.len(),
            if imported.problems.len() == 1 { "" } else { "s" }
        ));
        ui.help(
            "fix the rows, or import the others with `--skip-bad` (each skipped row is listed in the policy)",
        );
        return Exit::Findings;
    }
    let mut draft = imported.draft;
    if !imported.problems.is_empty() {
        draft.comments.push("Rows not imported:".into());
        for p in &imported.problems {
            draft.comments.push(format!("  line {}: {}", p.line.unwrap_or(0), p.message));
        }
    }
    let values: usize = draft.lists.iter().map(|(_, v)| v.len()).sum();
    let exit = write_policy(&draft, out, ui);
    if exit == Exit::Ok {
        ui.summary(format_args!(
            "{} rows of `{shown}`: {values} values in {} list{}, {} exclusion{}, {} rows skipped",
            imported.rows,
            draft.lists.len(),
            if draft.lists.len() == 1 { "" } else { "s" },
            draft.exclusions.len(),
            if draft.exclusions.len() == 1 { "" } else { "s" },
            imported.problems.len()
        ));
    }
    exit
}

pub(crate) fn sigma(files: &[PathBuf], out: &ImportOut, ui: &Ui) -> Exit {
    let mut texts = Vec::new();
    for f in files {
        match read_text(f) {
            Ok(t) => texts.push((f.display().to_string(), t)),
            Err(m) => {
                ui.error(m);
                return Exit::Usage;
            }
        }
    }
    let Some(first) = files.first() else { return Exit::Usage };
    let name = match policy_name(out, first, ui) {
        Ok(n) => n,
        Err(code) => return code,
    };
    let sources: Vec<sigma::Source<'_>> =
        texts.iter().map(|(name, text)| sigma::Source { name: name.clone(), text }).collect();
    let imported = sigma::import(&sources, &name);
    for (file, p) in &imported.problems {
        report(ui, out.skip_bad, file, p);
    }
    let refused = imported.problems.len();
    if refused > 0 && !out.skip_bad {
        ui.error(format!(
            "{refused} problem{} in the Sigma filters: nothing written",
            if refused == 1 { "" } else { "s" }
        ));
        ui.help(
            "fpx imports a filter only when it can say exactly the same; import the others with `--skip-bad`",
        );
        return Exit::Findings;
    }
    if imported.draft.exclusions.is_empty() {
        ui.error("no filter could be imported: nothing written");
        return Exit::Findings;
    }
    let exit = write_policy(&imported.draft, out, ui);
    if exit == Exit::Ok {
        ui.summary(format_args!(
            "{} filter{} read: {} exclusion{} written, {refused} problem{} skipped",
            imported.filters,
            if imported.filters == 1 { "" } else { "s" },
            imported.draft.exclusions.len(),
            if imported.draft.exclusions.len() == 1 { "" } else { "s" },
            if refused == 1 { "" } else { "s" },
        ));
    }
    exit
}
