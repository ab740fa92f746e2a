//! `fpx kql`: the exclusion block, watchlists for large lists, or a hit-count query.

use std::path::Path;

use super::{Exit, ModeArg, SelectArgs, Ui, io_reason, load_policy, selection, warn_inactive, write_stdout};
use crate::compile::Compiled;
use crate::kql::emit::{self, Block, ListMode, RULE_QUERY_LIMIT, Watchlist};
use crate::kql::hits;

pub(crate) struct KqlArgs<'a> {
    pub select: &'a SelectArgs,
    pub mode: ModeArg,
    pub out: Option<&'a Path>,
    pub hits: bool,
    pub since: &'a str,
    pub time_column: &'a str,
}

pub(crate) fn run(args: &KqlArgs<'_>, ui: &Ui) -> Exit {
    let policy = match load_policy(&args.select.policy, ui) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let compiled = Compiled::new(&policy, selection(args.select));
    warn_inactive(&compiled, ui);
    warn_header_column(&compiled, ui);
    let mut text = if args.hits {
        let Some(since) = hits::parse_since(args.since) else {
            ui.error(format!("`{}` is not a time span: write a whole number of days, hours, minutes or seconds, e.g. `14d`", args.since));
            return Exit::Usage;
        };
        if policy.profile.column_type(args.time_column).is_none() && args.time_column != "Timestamp" {
            ui.error(format!("`{}` has no column `{}`", policy.profile.table, args.time_column));
            return Exit::Usage;
        }
        hits::query(&compiled, since, args.time_column)
    } else {
        let block = match choose_block(&compiled, args.mode, args.out, 0, ui) {
            Ok(b) => b,
            Err(code) => return code,
        };
        if let Some(dir) = args.out {
            if let Err(code) = write_watchlists(dir, &block.watchlists, ui) {
                return code;
            }
        }
        block.text
    };
    let chars = text.chars().count();
    if !args.hits && chars > RULE_QUERY_LIMIT {
        ui.warning(format!(
            "the block has {chars} characters, over Sentinel's {RULE_QUERY_LIMIT}-character limit for scheduled analytics rules; move the large lists into watchlists with `--mode watchlist --out DIR` (or `--mode auto --out DIR`)"
        ));
    }
    ui.summary(format!("{chars} characters"));
    text.push('\n');
    match write_stdout(&text, ui) {
        Ok(()) => Exit::Ok,
        Err(code) => code,
    }
}

/// The block in the mode asked for; `auto` uses watchlists only when the inline block is over
/// the rule limit.
/// The block for `mode`. `--mode auto` moves lists into watchlists when the block plus
/// `surrounding` characters of query would pass Sentinel's rule limit inline.
pub(crate) fn choose_block(
    compiled: &Compiled<'_>,
    mode: ModeArg,
    out: Option<&Path>,
    surrounding: usize,
    ui: &Ui,
) -> Result<Block, Exit> {
    let inline = || emit::block(compiled, ListMode::Inline);
    let block = match mode {
        ModeArg::Inline => inline(),
        ModeArg::Watchlist => emit::block(compiled, ListMode::Watchlist),
        ModeArg::Auto => {
            let b = inline();
            if b.chars() + surrounding > RULE_QUERY_LIMIT {
                emit::block(compiled, ListMode::Watchlist)
            } else {
                b
            }
        }
    };
    if !block.watchlists.is_empty() && out.is_none() {
        ui.error("the block reads watchlists: give `--out DIR` for their CSV files");
        return Err(Exit::Usage);
    }
    Ok(block)
}

pub(crate) fn write_watchlists(dir: &Path, lists: &[Watchlist], ui: &Ui) -> Result<(), Exit> {
    if lists.is_empty() {
        return Ok(());
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        ui.error(format!("cannot create `{}`: {}", dir.display(), io_reason(&e)));
        return Err(Exit::Usage);
    }
    for w in lists {
        let path = dir.join(format!("{}.csv", w.alias));
        if let Err(e) = std::fs::write(&path, &w.csv) {
            ui.error(format!("cannot write `{}`: {}", path.display(), io_reason(&e)));
            return Err(Exit::Usage);
        }
        ui.summary(format!(
            "wrote `{}` ({} rows): create the watchlist with alias `{}` and search key column `Value` ({})",
            path.display(),
            w.rows,
            w.alias,
            w.description
        ));
    }
    Ok(())
}

/// A header column that the table profile does not have is read with `column_ifexists`:
/// say so, since header conditions then match nothing in the workspace.
pub(crate) fn warn_header_column(compiled: &Compiled<'_>, ui: &Ui) {
    let p = compiled.policy;
    if let Some(col) = compiled.layout.header_column.as_deref() {
        if p.profile.column_type(col).is_none() {
            ui.warning(format!(
                "`{}` has no column `{col}`: the header conditions read it with `column_ifexists` and match nothing where it is missing",
                p.profile.table
            ));
        }
    }
}
