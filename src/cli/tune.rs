//! `fpx tune`: filter a query file or a Sentinel YAML rule by the policy.

use std::io::{self, Write};
use std::path::Path;

use super::kql::{choose_block, warn_header_column, write_watchlists};
use super::{Exit, ModeArg, SelectArgs, Ui, io_reason, load_policy, read_text, warn_inactive, write_stdout};
use crate::compile::{Compiled, Selection};
use crate::kql::emit::RULE_QUERY_LIMIT;
use crate::kql::tune;
use crate::kql::yaml::RuleFile;

pub(crate) struct TuneArgs<'a> {
    pub select: &'a SelectArgs,
    pub in_place: bool,
    pub check: bool,
    pub mode: ModeArg,
    pub out: Option<&'a Path>,
    pub file: &'a Path,
}

pub(crate) fn run(args: &TuneArgs<'_>, ui: &Ui) -> Exit {
    let policy = match load_policy(&args.select.policy, ui) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let path = args.file;
    let name = path.display().to_string();
    let source = match read_text(path) {
        Ok(s) => s,
        Err(m) => {
            ui.error(m);
            return Exit::Usage;
        }
    };
    let is_yaml = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    let rule = if is_yaml {
        match RuleFile::parse(&source) {
            Ok(r) => Some(r),
            Err(e) => {
                ui.error(format!("`{name}`: {e}"));
                return Exit::Findings;
            }
        }
    } else {
        None
    };
    let mut rules = args.select.rule.clone();
    if rules.is_empty() {
        if let Some(r) = &rule {
            rules.extend(["id", "name"].iter().filter_map(|k| r.field(k).map(str::to_string)));
        }
    }
    let today = args.select.today.today.unwrap_or_else(Selection::utc_today);
    let compiled = Compiled::new(&policy, Selection { today, rules });
    warn_inactive(&compiled, ui);
    warn_header_column(&compiled, ui);
    let query = match &rule {
        Some(r) => r.query(),
        None => source.clone(),
    };
    let block = match choose_block(&compiled, args.mode, args.out, query.chars().count(), ui) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let (edit, references) = match tune::plan(&query, policy.name.as_str(), policy.profile.table, &block.text)
    {
        Ok(x) => x,
        Err(e) => {
            ui.error(format!("`{name}`: {e}"));
            return Exit::Findings;
        }
    };
    let tuned_query = edit.apply(&query);
    let tuned = match &rule {
        Some(r) => match r.splice(&edit) {
            Ok(t) => t,
            Err(e) => {
                ui.error(format!("`{name}`: {e}"));
                return Exit::Usage;
            }
        },
        None => tuned_query.clone(),
    };
    let chars = tuned_query.chars().count();
    let is_rule = rule.as_ref().is_some_and(RuleFile::is_analytics_rule);
    if chars > RULE_QUERY_LIMIT {
        let with_watchlists = crate::kql::emit::block(&compiled, crate::kql::emit::ListMode::Watchlist);
        let way_out = if block.watchlists.is_empty()
            && with_watchlists.chars() + query.chars().count() <= RULE_QUERY_LIMIT
        {
            "move the large lists into watchlists with `--mode watchlist --out DIR` (or `--mode auto --out DIR`)"
        } else {
            "watchlists cannot make it fit: scope exclusions to fewer rules (`rules = [...]`) or split the policy"
        };
        let message = format!(
            "`{name}`: the tuned query has {chars} characters, over Sentinel's {RULE_QUERY_LIMIT}-character limit for analytics rules; {way_out}"
        );
        if is_rule {
            ui.error(message);
            return Exit::Findings;
        }
        ui.warning(message);
    }
    if let Some(dir) = args.out {
        if let Err(code) = write_watchlists(dir, &block.watchlists, ui) {
            return code;
        }
    }
    let summary = format!(
        "`{name}`: {references} reference{} to `{}` filtered by `{}` ({} of {} exclusions active), query {chars} characters",
        if references == 1 { "" } else { "s" },
        policy.profile.table,
        policy.name,
        block.active,
        block.total,
    );
    let changed = tuned != source;
    if args.check {
        ui.summary(&summary);
        if changed {
            ui.error(format!("`{name}` is not tuned to policy `{}`: run `fpx tune --in-place`", policy.name));
            return Exit::Findings;
        }
        ui.summary(format!("`{name}` is up to date"));
        return Exit::Ok;
    }
    if args.in_place {
        ui.summary(&summary);
        if !changed {
            ui.summary(format!("`{name}` is up to date"));
            return Exit::Ok;
        }
        return match write_atomically(path, &tuned) {
            Ok(()) => Exit::Ok,
            Err(e) => {
                ui.error(format!("cannot write `{name}`: {}", io_reason(&e)));
                Exit::Usage
            }
        };
    }
    ui.summary(&summary);
    match write_stdout(&tuned, ui) {
        Ok(()) => Exit::Ok,
        Err(code) => code,
    }
}

/// Writes `text` to a temporary file beside `path` with `path`'s permissions, then renames
/// it over `path`: readers see the old file or the new one, never a part.
fn write_atomically(path: &Path, text: &str) -> io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.fpx-{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        let permissions = std::fs::metadata(path)?.permissions();
        std::fs::set_permissions(&tmp, permissions)?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
