//! Which tokens are provably ours (issue 17, "never touch what is not
//! ours"): every token a run creates carries that run's random marker at
//! the end of its description, ` [ib:0123456789ab]`.
//!
//! The description is the one field every API we drive (our management
//! API, InfluxData's documented database-token API, `influxctl`) stores as
//! given and lists back, so the marker is kept by the server, not guessed
//! from a description and a time. When a create's answer is lost, the
//! tokens listed with exactly this run's marked description are the ones
//! this run made (48 random bits: two runs pick the same marker once in
//! 2^24 concurrent pairs); any other token is somebody else's, even with the
//! same description and permissions created in the same second — the fleet
//! case that revoked other hosts' tokens (H1/M2 of the 2026-12-06 review).
//!
//! A rotation replaces the old token's marker with its own; the person's
//! text before it is kept as typed.

/// `" [ib:"` + 12 hex digits + `"]"`.
pub const MARK_LEN: usize = 18;
const OPEN: &str = " [ib:";

/// A fresh random run marker (12 lowercase hex digits).
pub fn new_run() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// `description` with the marker of `run` (any earlier marker replaced).
pub fn marked(description: &str, run: &str) -> String {
    format!("{}{OPEN}{run}]", unmarked(description))
}

/// The marker's run, if `description` ends with one.
pub fn run_of(description: &str) -> Option<&str> {
    let tail = description.len().checked_sub(MARK_LEN)?;
    let rest = description.get(tail..)?.strip_prefix(OPEN)?;
    let run = rest.strip_suffix(']')?;
    (run.len() == 12 && run.bytes().all(|b| b.is_ascii_hexdigit())).then_some(run)
}

/// The person's description, without a marker.
pub fn unmarked(description: &str) -> &str {
    match run_of(description) {
        Some(_) => &description[..description.len() - MARK_LEN],
        None => description,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_replace_and_strip() {
        let cases = [
            ("telegraf", "0123456789ab", "telegraf [ib:0123456789ab]"),
            (
                "telegraf [ib:ffffffffffff]",
                "0123456789ab",
                "telegraf [ib:0123456789ab]",
            ),
            // Not a marker: kept as the person typed it.
            ("a [ib:xyz]", "0123456789ab", "a [ib:xyz] [ib:0123456789ab]"),
            (
                "[ib:0123456789a]",
                "0123456789ab",
                "[ib:0123456789a] [ib:0123456789ab]",
            ),
        ];
        for (desc, run, want) in cases {
            let m = marked(desc, run);
            assert_eq!(m, want, "{desc}");
            assert_eq!(run_of(&m), Some(run), "{desc}");
            assert_eq!(m.len() - unmarked(&m).len(), MARK_LEN);
        }
        assert_eq!(run_of("telegraf"), None);
        assert_eq!(unmarked("tele ✓ graf"), "tele ✓ graf");
        let (a, b) = (new_run(), new_run());
        assert_ne!(a, b);
        assert!(run_of(&marked("x", &a)).is_some());
    }
}
