//! Markdown that renders on GitHub as written: user text is escaped, never interpreted.
//!
//! Reasons, owners and values come from the policy under review; in a report they must not
//! open a link, an HTML tag, a table cell or a heading.

/// Plain user text: line breaks become spaces, and every character Markdown or HTML could
/// read as syntax is backslash-escaped (`|` too, so the text is safe in a table cell).
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '#' | '!' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A code span holding `s` literally. `in_table` escapes `|`, which GitHub tables read as
/// a cell boundary even inside code.
pub fn code(s: &str, in_table: bool) -> String {
    let mut body: String =
        s.chars().map(|c| if c == '\r' || c == '\n' || c.is_control() { ' ' } else { c }).collect();
    if in_table {
        body = body.replace('|', "\\|");
    }
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if body.starts_with('`') || body.ends_with('`') || body.trim().is_empty() { " " } else { "" };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// A message whose user text is in backticks (the style of every fpx message): the
/// backticked parts become code spans, the rest plain text.
pub fn message(s: &str, in_table: bool) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len() % 2 == 0 {
        // Unpaired backticks: no part is surely code.
        return text(s);
    }
    parts.iter().enumerate().map(|(i, p)| if i % 2 == 1 { code(p, in_table) } else { text(p) }).collect()
}

/// A fenced code block whose fence no line of `body` can close.
pub fn fenced(lang: &str, body: &str) -> String {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let body = body.trim_end_matches('\n');
    format!("{fence}{lang}\n{body}\n{fence}\n")
}

/// One table row.
pub fn row(cells: &[String]) -> String {
    format!("| {} |\n", cells.join(" | "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(text("a|b <script>"), "a\\|b \\<script\\>");
        assert_eq!(code("a`b", false), "``a`b``");
        assert_eq!(code("`x", false), "`` `x ``");
        assert_eq!(code("a|b", true), "`a\\|b`");
        assert_eq!(message("list `x|y` is unused", true), "list `x\\|y` is unused");
        assert_eq!(fenced("kql", "a\n```\n"), "````kql\na\n```\n````\n");
    }
}
