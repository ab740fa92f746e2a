//! `fpx check`: validate policies and summarise each.

use std::io::{self, Write};
use std::path::PathBuf;

use jiff::civil::Date;

use super::{Exit, Ui, load_policy};
use crate::compile::{Compiled, Selection, Status};

pub(crate) fn run(paths: &[PathBuf], today: Option<Date>, ui: &Ui) -> Exit {
    let today = today.unwrap_or_else(Selection::utc_today);
    let mut exit = Exit::Ok;
    let mut out = io::stdout().lock();
    for path in paths {
        match load_policy(path, ui) {
            Ok(policy) => {
                let sel = Selection { today, rules: Vec::new() };
                let compiled = Compiled::new(&policy, sel);
                let expired = compiled.with_status(Status::Expired).count();
                let n = policy.exclusions.len();
                let _ = writeln!(
                    out,
                    "{}: ok: policy `{}`, {n} exclusion{}, {} active, {expired} expired",
                    path.display(),
                    policy.name,
                    if n == 1 { "" } else { "s" },
                    n - expired,
                );
            }
            Err(code) => exit = exit.max_code(code),
        }
    }
    exit
}
