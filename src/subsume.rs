//! Implication between values, conditions and exclusions: "everything A matches, B matches".
//!
//! `fpx lint` uses it to find shadowed exclusions and `fpx diff` to tell a value swapped for
//! a broader one from a real change. Every answer is conservative: `true` only when the
//! implication holds for every event; `false` means "not shown", never "shown false".

use crate::model::{Condition, Exclusion, Field, Target, Test};
use crate::semantics::TextTest;

/// Whether every cell `a` matches is matched by `b`.
pub fn value_implies(a: &Test, b: &Test) -> bool {
    match (a, b) {
        (Test::Net(a), Test::Net(b)) => b.contains(a),
        (Test::Text(a), Test::Text(b)) => text_implies(a, b),
        _ => false,
    }
}

/// Text tests: literals are folded, and [`crate::semantics::fold`] keeps the number of
/// characters, so literal containment on folded text is containment of what they match.
fn text_implies(a: &TextTest, b: &TextTest) -> bool {
    use TextTest::*;
    if a == b {
        return true;
    }
    match (a, b) {
        // Every text test matches only non-empty cells.
        (_, NonEmpty) => true,
        // `b` ignores case (`Regex` may not): `a`'s folded literal stands for its whole
        // case class, so running `b` on it decides every cell `a` matches. A glob's regex
        // is case-insensitive with the same classes as `fold`.
        (Equals(s), Equals(_) | StartsWith(_) | EndsWith(_) | Contains(_) | Wildcard(_)) => b.matches(s, s),
        (StartsWith(s), StartsWith(p)) => s.starts_with(p.as_str()),
        (EndsWith(s), EndsWith(p)) => s.ends_with(p.as_str()),
        (StartsWith(s) | EndsWith(s) | Contains(s), Contains(p)) => s.contains(p.as_str()),
        _ => false,
    }
}

/// Whether every event condition `a` matches is matched by `b` (same field): each of
/// `a`'s values implies one of `b`'s.
pub fn condition_implies(a: &Condition, b: &Condition) -> bool {
    a.values.iter().all(|va| b.values.iter().any(|vb| value_implies(&va.test, &vb.test)))
}

/// What a condition reads: its column or header, or the source-address pair.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reads {
    Target(Target),
    SourceIp,
}

/// What a field reads, so that `sender` and `header."From"` compare as one.
pub fn reads(field: &Field, header_column: Option<&str>) -> Reads {
    match field.target(header_column) {
        Some(t) => Reads::Target(t),
        None => Reads::SourceIp,
    }
}

/// Whether every event exclusion `a` matches is matched by `b`, ignoring scope and
/// expiry: each of `b`'s conditions is implied by one of `a`'s on the same column.
pub fn exclusion_implies(a: &Exclusion, b: &Exclusion, header_column: Option<&str>) -> bool {
    b.conditions.iter().all(|cb| {
        let rb = reads(&cb.field, header_column);
        a.conditions.iter().any(|ca| reads(&ca.field, header_column) == rb && condition_implies(ca, cb))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantics::TextOp;

    fn t(op: TextOp, s: &str) -> Test {
        Test::Text(TextTest::new(op, s).unwrap_or(TextTest::NonEmpty))
    }

    fn net(s: &str) -> Test {
        Test::Net(s.parse().unwrap())
    }

    #[test]
    fn literal_containment() {
        use TextOp::*;
        assert!(value_implies(&t(Equals, "A@X.com"), &t(Glob, "*@x.com")));
        assert!(value_implies(&t(Glob, "a@x.com"), &t(Glob, "a@*")));
        assert!(value_implies(&t(Glob, "a@x.com"), &t(Glob, "a*com")));
        assert!(value_implies(&t(StartsWith, "noreply@x"), &t(StartsWith, "noreply")));
        assert!(value_implies(&t(EndsWith, "@mail.x.com"), &t(EndsWith, ".x.com")));
        assert!(value_implies(&t(Glob, "*@x.com"), &t(Contains, "@x")));
        assert!(value_implies(&t(Regex, "^a"), &t(Glob, "*")));
        assert!(!value_implies(&t(Glob, "*@x.com"), &t(Glob, "a@x.com")));
        assert!(!value_implies(&t(EndsWith, ".x.com"), &t(EndsWith, "@mail.x.com")));
        // A case-sensitive regex is not known to match every case of `a@x.com`.
        assert!(!value_implies(&t(Equals, "a@x.com"), &t(Regex, "a@x")));
        assert!(value_implies(&t(Regex, "a@x"), &t(Regex, "a@x")));
    }

    #[test]
    fn network_containment() {
        assert!(value_implies(&net("10.20.30.0/24"), &net("10.20.0.0/16")));
        assert!(value_implies(&net("10.20.30.7/32"), &net("10.20.30.0/24")));
        assert!(!value_implies(&net("10.20.0.0/16"), &net("10.20.30.0/24")));
        assert!(!value_implies(&net("2001:db8::/32"), &net("10.0.0.0/8")));
        assert!(!value_implies(&net("10.0.0.0/8"), &t(TextOp::Glob, "*")));
    }
}
