//! Every policy under `policies/` is snapshot-tested: its validated model in plain words,
//! its lint findings and its review report. A policy change without reviewed snapshots
//! fails `cargo test` (the KQL of every policy is snapshotted with the KQL emitter).

use fpx::lint::{self, Options, SOON_DAYS};

use crate::common::{TODAY, root, snapshots};

#[test]
fn every_policy_is_snapshotted() {
    snapshots().bind(|| {
        insta::glob!("../policies", "**/*.toml", |path| {
            let source = std::fs::read_to_string(path).unwrap();
            let rel = path.strip_prefix(root()).unwrap().to_string_lossy().replace('\\', "/");
            let policy = fpx::validate::load(&source).unwrap_or_else(|d| panic!("{rel}: {d:#?}"));
            let today = TODAY.parse().unwrap();
            insta::assert_snapshot!("model", fpx::summary::model(&policy, today));
            let findings = lint::lint(&policy, &Options { today, soon_days: SOON_DAYS, sample: None });
            insta::assert_snapshot!("lint", lint::render_text(&findings, &rel, &source, None, false));
            let input = fpx::report::Input {
                policy: &policy,
                file: &rel,
                source: &source,
                today,
                findings: &findings,
                sample: None,
                kql: None,
            };
            insta::assert_snapshot!("report", fpx::report::markdown(&input));
        });
    });
}
