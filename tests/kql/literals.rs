//! Hostile policy text cannot change the structure of a query: every value becomes a string
//! literal that Microsoft's parser decodes back to exactly that value, and reasons, owners
//! and tickets stay inside their comments.

use fpx::kql::emit::{ListMode, block};
use fpx::semantics::fold;

use super::harness::{compiled, load_str, parse_all};

/// Values meant to break out of a literal or a comment.
const HOSTILE: &[&str] = &[
    "a\"b",
    "a\\\"b",
    "\\",
    "\\\\\"",
    "end\\",
    "x\" or true or \"",
    "\") or (true",
    "line1\nline2",
    "cr\rlf\r\n",
    "tab\there",
    "// not a comment",
    "a // b",
    "/* c */",
    "| take 0",
    "x | where false",
    "; drop",
    "let x = 1;",
    "'single' quotes",
    "@\"verbatim\"",
    "```fenced```",
    "h\"obfuscated\"",
    "{\"json\": [1, 2]}",
    "nul\u{0}byte",
    "bell\u{7}esc\u{1b}del\u{7f}",
    "c1\u{85}\u{9b}",
    "sep\u{2028}para\u{2029}",
    "rtl\u{202e}override",
    "报告@例子.公司",
    "😀 emoji",
    "zero\u{200b}width",
    "ŧeśt ümlaut",
    "İstanbul ǅ ß",
    "$left.x",
    "[\"bracket\"]",
];

#[test]
fn hostile_values_round_trip_through_the_parser() {
    let mut policy = String::from("[policy]\nname = \"hostile\"\nheader_column = \"Headers\"\n");
    for (i, v) in HOSTILE.iter().enumerate() {
        let s = fpx::fuzz::toml_str(v);
        policy.push_str(&format!(
            "\n[[exclusion]]\nid = \"h-{i}\"\nreason = {s}\nowner = {s}\nticket = {s}\nsubject.contains = [{s}]\nsender.regex = [{re}]\nheader.{hname} = [{s}]\n",
            re = fpx::fuzz::toml_str(&regex_syntax::escape(v)),
            hname = fpx::fuzz::toml_str(&v.replace([':'], "").chars().filter(|c| !c.is_control()).collect::<String>()),
        ));
    }
    let p = load_str(&policy);
    let c = compiled(&p, &[]);
    let b = block(&c, ListMode::Inline);
    // The comments cannot end early: every line of the block is a comment, a line of the
    // expression, or a string continuation; no hostile line starts a statement.
    for line in b.text.lines() {
        let t = line.trim_start();
        assert!(!t.starts_with("| take") && !t.starts_with("; drop") && !t.starts_with("let x"), "{line}");
    }
    let query = format!("EmailEvents\n{}\n| count", b.text);
    let parsed = parse_all(&[("hostile".into(), query)], true);
    let parsed = &parsed[0];
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    // Every value, as the matcher holds it, is among the decoded literals.
    let mut checked = 0;
    for v in HOSTILE {
        let folded = fold(v).into_owned();
        for expected in [folded, regex_syntax::escape(v)] {
            assert!(parsed.literals.contains(&expected), "{expected:?} is not a decoded literal");
            checked += 1;
        }
    }
    eprintln!(
        "literals: {checked} hostile values decode to exactly the policy values ({} literals in the query)",
        parsed.literals.len()
    );
}
