//! `fpx completions` and `fpx man`: generated from the command-line definition.

use std::path::Path;

use super::{Exit, Ui, io_reason, write_stdout};

pub(crate) fn completions(shell: clap_complete::Shell, cmd: &mut clap::Command, ui: &Ui) -> Exit {
    let mut out = Vec::new();
    clap_complete::generate(shell, cmd, "fpx", &mut out);
    match write_stdout(&String::from_utf8_lossy(&out), ui) {
        Ok(()) => Exit::Ok,
        Err(code) => code,
    }
}

pub(crate) fn man(cmd: clap::Command, dir: Option<&Path>, ui: &Ui) -> Exit {
    match dir {
        None => {
            let mut out = Vec::new();
            if let Err(e) = clap_mangen::Man::new(cmd).render(&mut out) {
                ui.error(format!("cannot render the manual page: {}", io_reason(&e)));
                return Exit::Usage;
            }
            match write_stdout(&String::from_utf8_lossy(&out), ui) {
                Ok(()) => Exit::Ok,
                Err(code) => code,
            }
        }
        Some(dir) => {
            let written = std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(cmd, dir));
            match written {
                Ok(()) => {
                    ui.detail(format_args!("wrote the manual pages into `{}`", dir.display()));
                    Exit::Ok
                }
                Err(e) => {
                    ui.error(format!(
                        "cannot write the manual pages into `{}`: {}",
                        dir.display(),
                        io_reason(&e)
                    ));
                    Exit::Usage
                }
            }
        }
    }
}
