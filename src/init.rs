//! `fpx init`: the files of a starter policy repository.
//!
//! The starter policy is valid (`fpx check` passes) but its one example exclusion still
//! has the `TODO` placeholders, so `fpx lint` fails until someone reviews it: a new
//! repository cannot merge an exclusion nobody owns.

/// One file of the layout: its path relative to the repository root, and its content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub content: String,
}

/// The files `fpx init` writes for a policy named `name` (kebab-case).
pub fn layout(name: &str) -> Vec<File> {
    let policy_path = format!("policies/{name}.toml");
    vec![
        File { path: policy_path.clone(), content: POLICY.replace("{name}", name) },
        File { path: "detections/README.md".into(), content: DETECTIONS.replace("{policy}", &policy_path) },
        File {
            path: ".github/workflows/fpx.yml".into(),
            content: WORKFLOW.replace("{policy}", &policy_path),
        },
        File { path: "README.md".into(), content: README.replace("{policy}", &policy_path) },
    ]
}

const POLICY: &str = r#"# The false-positive exclusions of our detections, reviewed like code.
# The policy language is described in fpx's `policies/README.md`.

[policy]
name = "{name}"
description = "False positives of our email detections"
table = "EmailEvents"
# Rule ids or display names every exclusion applies to, unless it names its own `rules`.
# rules = ["Bulk Emails by Sender Bulk Complaint level"]

[lists]
# Named lists, used as `@name` in any condition.
report-relays = ["10.20.30.0/24"]

# An example: replace the TODO owner and reason (`fpx lint` fails until you do), or delete it.
[[exclusion]]
id = "nightly-reports"
reason = "TODO: say why these events are false positives"
owner = "TODO-owner"
ticket = "TODO-ticket"
expires = 2099-12-31
sender = ["reports@company.example"]
source_ip = ["@report-relays"]
"#;

const DETECTIONS: &str = r#"# detections

The detections this repository's policy tunes: Sentinel analytics rules and hunting queries
(`.yaml`, as exported from Sentinel or kept in Azure-Sentinel's layout) and plain queries
(`.kql`).

In CI, `fpx tune --check` fails a pull request when a detection's exclusion block is not
what the policy makes it. To update the detections after a policy change:

    for f in detections/*.yaml detections/*.kql; do fpx tune --policy {policy} --in-place "$f"; done
"#;

const WORKFLOW: &str = r#"# fpx: check, lint and report the exclusion policy on every pull request.
name: fpx

on:
  pull_request:
    paths: ["policies/**", "detections/**", ".github/workflows/fpx.yml"]
  push:
    branches: [main]

permissions:
  contents: read

env:
  POLICY: {policy}
  # Where your organisation hosts fpx, and the version to install.
  FPX_GIT: https://github.com/YOUR-ORG/fpx
  FPX_REV: v0.1.0

jobs:
  policy:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      security-events: write   # upload the lint findings to code scanning
      pull-requests: write     # comment the review report
    steps:
      - uses: actions/checkout@v4

      - name: Cache fpx
        id: cache
        uses: actions/cache@v4
        with:
          path: ~/.cargo/bin/fpx
          key: fpx-${{ runner.os }}-${{ env.FPX_REV }}

      - name: Install fpx
        if: steps.cache.outputs.cache-hit != 'true'
        run: cargo install --locked --git "$FPX_GIT" --tag "$FPX_REV" fpx

      - name: Check the policy
        run: fpx check "$POLICY"

      - name: Lint (SARIF for code scanning)
        id: lint
        run: |
          status=0
          fpx lint --format sarif "$POLICY" > fpx.sarif || status=$?
          echo "status=$status" >> "$GITHUB_OUTPUT"

      - name: Upload lint findings
        if: always() && hashFiles('fpx.sarif') != ''
        uses: github/codeql-action/upload-sarif@v3
        with:
          sarif_file: fpx.sarif
          category: fpx

      - name: Detections carry the policy's exclusions
        run: |
          shopt -s nullglob
          for f in detections/*.yaml detections/*.kql; do
            fpx tune --policy "$POLICY" --check "$f"
          done

      - name: Review report
        if: github.event_name == 'pull_request'
        run: fpx report "$POLICY" > fpx-report.md

      - name: Comment the report on the pull request
        if: github.event_name == 'pull_request'
        env:
          GH_TOKEN: ${{ github.token }}
        run: gh pr comment "${{ github.event.pull_request.number }}" --body-file fpx-report.md --edit-last || gh pr comment "${{ github.event.pull_request.number }}" --body-file fpx-report.md

      - name: Fail on lint errors
        if: steps.lint.outputs.status != '0'
        run: |
          fpx lint "$POLICY" || true
          exit 1
"#;

const README: &str = r#"# Detection exclusions

The false positives our detections should not alert on, as one reviewed policy:
`{policy}`. Each exclusion says why it exists, who owns it, which ticket it came from,
which rules it applies to and when it ends.

## Changing an exclusion

1. Edit `{policy}` (or import existing exclusions: `fpx import watchlist` for a Sentinel
   watchlist export, `fpx import sigma` for Sigma filters).
2. Run `fpx check {policy}` and `fpx lint {policy}`.
3. Open a pull request. CI (`.github/workflows/fpx.yml`) checks the policy, uploads the
   lint findings to code scanning, checks that the detections in `detections/` carry the
   policy's exclusions (`fpx tune --check`), and comments `fpx report` on the pull request.

The example exclusion in the policy has `TODO` placeholders for its owner and reason:
`fpx lint` reports them as errors (`placeholder`) until a reviewer fills them in, so an
exclusion nobody owns cannot be merged. Replace them, or delete the example.
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_policy_is_valid_and_names_itself() {
        let files = layout("email-fp");
        let policy = files.iter().find(|f| f.path == "policies/email-fp.toml");
        let loaded = policy.map(|p| crate::validate::load(&p.content));
        assert!(matches!(loaded, Some(Ok(ref p)) if p.name.as_str() == "email-fp"), "{loaded:?}");
    }
}
