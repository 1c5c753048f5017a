//! Token lists for people: on a terminal, short ids, a status column and
//! relative times ("in 89 days", "3 hours ago"), like `gh` and `docker`; in
//! a pipe every value whole (RFC 3339 times, full ids), so scripts that read
//! the table keep working, and `--format json` has everything.
use chrono::{DateTime, Utc};

/// How many characters of an id a terminal list shows; commands that take
/// an id accept any unique prefix ([`crate::cluster::ids`]).
pub use crate::cluster::ids::{MIN_PREFIX, SHORT_ID};

/// Is stdout a terminal (a person reads the list)?
pub fn for_people() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
}

pub fn short_id(id: &str) -> String {
    id.chars().take(SHORT_ID).collect()
}

/// `revoked`, `expired` or `active`.
pub fn status(
    revoked_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> &'static str {
    if revoked_at.is_some() {
        "revoked"
    } else if expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else {
        "active"
    }
}

/// "in 89 days", "3 hours ago", "now": the largest unit that fits, rounded
/// down (so "in 89 days" is never a day more than there is).
pub fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = t.signed_duration_since(now).num_seconds();
    let abs = secs.unsigned_abs();
    let (n, unit) = match abs {
        0..60 => return "now".into(),
        60..3_600 => (abs / 60, "minute"),
        3_600..172_800 => (abs / 3_600, "hour"),
        172_800..63_072_000 => (abs / 86_400, "day"),
        _ => (abs / 31_557_600, "year"),
    };
    let unit = if n == 1 {
        unit.to_string()
    } else {
        format!("{unit}s")
    };
    if secs > 0 {
        format!("in {n} {unit}")
    } else {
        format!("{n} {unit} ago")
    }
}

/// An expiry for people: relative, or "never".
pub fn expiry(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    expires_at.map_or_else(|| "never".into(), |e| relative(e, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn relative_times() {
        let now = at("2026-11-30T12:00:00Z");
        let cases = [
            ("2026-11-30T12:00:30Z", "now"),
            ("2026-11-30T11:59:01Z", "now"),
            ("2026-11-30T12:01:00Z", "in 1 minute"),
            ("2026-11-30T11:15:00Z", "45 minutes ago"),
            ("2026-11-30T15:00:00Z", "in 3 hours"),
            ("2026-12-01T11:00:00Z", "in 23 hours"),
            ("2026-12-02T12:00:00Z", "in 2 days"),
            ("2027-02-28T12:00:00Z", "in 90 days"),
            ("2027-02-28T11:59:59Z", "in 89 days"),
            ("2026-11-27T12:00:00Z", "3 days ago"),
            ("2030-12-01T12:00:00Z", "in 4 years"),
        ];
        for (t, want) in cases {
            assert_eq!(relative(at(t), now), want, "{t}");
        }
        assert_eq!(expiry(None, now), "never");
    }

    #[test]
    fn statuses() {
        let now = at("2026-11-30T12:00:00Z");
        let past = Some(at("2026-11-01T00:00:00Z"));
        let future = Some(at("2027-01-01T00:00:00Z"));
        let cases = [
            (None, None, "active"),
            (None, future, "active"),
            (None, past, "expired"),
            (past, future, "revoked"),
            (past, past, "revoked"),
        ];
        for (revoked, expires, want) in cases {
            assert_eq!(status(revoked, expires, now), want);
        }
        assert_eq!(short_id("0123456789abcdef"), "01234567");
        assert_eq!(short_id("abc"), "abc");
    }
}
