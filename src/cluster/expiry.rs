//! `--expires-at` / `--expires-in` and `--description`, checked before any
//! network call so a typo never costs a device flow.
use crate::error::ConfigError;
use chrono::{DateTime, Timelike, Utc};

/// The cluster keeps 255 characters; the rest is the run marker
/// (`cluster::ours`) every created token carries.
pub const MAX_DESCRIPTION: usize = 255 - super::ours::MARK_LEN;

fn bad(what: &str, message: String, hint: &str) -> ConfigError {
    ConfigError::usage(what, message, hint)
}

/// The expiry from either flag (clap makes them exclusive), in UTC.
pub fn parse_expiry(
    expires_at: Option<&str>,
    expires_in: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ConfigError> {
    const AT_HINT: &str = "use RFC 3339 with a zone, e.g. --expires-at 2027-03-01T00:00:00Z or 2027-03-01T09:00:00+09:00, or --expires-in 90d";
    if let Some(s) = expires_at {
        let t = match DateTime::parse_from_rfc3339(s.trim()) {
            Ok(t) => t.with_timezone(&Utc),
            // A date alone names no instant: it needs a time and a zone.
            Err(_) if chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").is_ok() => {
                return Err(bad(
                    "--expires-at",
                    format!("`{s}` is a date without a time and zone"),
                    &format!(
                        "write {}T00:00:00Z for midnight UTC, or add your offset, e.g. {}T00:00:00+02:00",
                        s.trim(),
                        s.trim()
                    ),
                ));
            }
            Err(_) => {
                return Err(bad(
                    "--expires-at",
                    format!("`{s}` is not an RFC 3339 time"),
                    AT_HINT,
                ));
            }
        };
        // A leap second (23:59:60) is held by chrono as second 59 with an
        // extra 1e9 ns and would be printed back as :60, which many servers
        // reject; fold it into the second before.
        let t = match t.nanosecond() {
            n if n >= 1_000_000_000 => t.with_nanosecond(n - 1_000_000_000).unwrap_or(t),
            _ => t,
        };
        if t <= now {
            return Err(bad(
                "--expires-at",
                format!("`{s}` is in the past"),
                AT_HINT,
            ));
        }
        return Ok(Some(t));
    }
    if let Some(s) = expires_in {
        let hint = "write a duration such as 90d, 12h or 1y 6months";
        let d = humantime::parse_duration(s.trim()).map_err(|_| {
            let (message, hint) = crate::settings::words::duration_problem(s, "90d");
            bad("--expires-in", message, &hint)
        })?;
        if d.is_zero() {
            return Err(bad("--expires-in", format!("`{s}` is zero"), hint));
        }
        let t = chrono::Duration::from_std(d)
            .ok()
            .and_then(|d| now.checked_add_signed(d))
            .filter(|t| t.timestamp() < 253_402_300_800) // year 10000
            .ok_or_else(|| {
                bad(
                    "--expires-in",
                    format!("`{s}` is too far in the future"),
                    hint,
                )
            })?;
        return Ok(Some(t));
    }
    Ok(None)
}

/// A window such as `14d` or `12h` (`--min-remaining`, `--when-remaining`).
pub fn parse_window(flag: &str, text: &str) -> Result<std::time::Duration, ConfigError> {
    humantime::parse_duration(text).map_err(|e| {
        bad(
            flag,
            format!("`{text}`: {e}"),
            "write a duration such as 7d or 12h",
        )
    })
}

/// `mint --if-missing` with a lifetime shorter than `--min-remaining`: every
/// run would find the token "about to expire" and mint again, asking a
/// person to approve each time. Refused before anything happens.
pub fn check_if_missing_lifetime(
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    min_remaining: std::time::Duration,
) -> Result<(), ConfigError> {
    let Some(t) = expires_at else {
        return Ok(());
    };
    let lifetime = (t - now).to_std().unwrap_or_default();
    if lifetime > min_remaining {
        return Ok(());
    }
    // To the nearest minute: `--expires-in 3d` reads "3days", not "2days 23h 59m 59s".
    let show = |d: std::time::Duration| {
        let mins = (d.as_secs() + 30) / 60;
        humantime::format_duration(std::time::Duration::from_secs(mins * 60)).to_string()
    };
    Err(bad(
        "--if-missing",
        format!(
            "the new token would live {} but --min-remaining is {}: every run would mint a new one (and ask for approval)",
            show(lifetime),
            show(min_remaining)
        ),
        "make --expires-in longer than --min-remaining (e.g. --expires-in 90d --min-remaining 7d), or lower --min-remaining",
    ))
}

pub fn check_description(s: &str) -> Result<String, ConfigError> {
    let hint = "e.g. --description \"telegraf on host-1, rotated by ansible\"";
    let t = s.trim();
    if t.is_empty() {
        return Err(bad(
            "--description",
            "the description is empty".into(),
            hint,
        ));
    }
    let n = t.chars().count();
    if n > MAX_DESCRIPTION {
        return Err(bad(
            "--description",
            format!("the description is {n} characters long; the limit is {MAX_DESCRIPTION}"),
            hint,
        ));
    }
    if t.chars().any(|c| c.is_control()) {
        return Err(bad(
            "--description",
            "the description contains control characters (newlines, tabs, escapes)".into(),
            hint,
        ));
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_missing_lifetime_must_outlast_min_remaining() {
        let day = std::time::Duration::from_secs(86_400);
        let at = |d: i64| Some(now() + chrono::Duration::days(d));
        let cases = [
            (None, 7, true),
            (at(90), 7, true),
            (at(7), 7, false),
            (at(3), 7, false),
        ];
        for (exp, min_days, ok) in cases {
            let r = check_if_missing_lifetime(exp, now(), day * min_days);
            assert_eq!(r.is_ok(), ok, "{exp:?} {min_days}: {r:?}");
        }
        let e = check_if_missing_lifetime(at(3), now(), day * 7).unwrap_err();
        assert!(
            e.to_string()
                .contains("would live 3days but --min-remaining is 7days"),
            "{e}"
        );
    }

    fn now() -> DateTime<Utc> {
        crate::text::parse_utc("2026-11-28T12:00:00Z").unwrap()
    }

    #[test]
    fn expiry_forms() {
        let cases: Vec<(Option<&str>, Option<&str>, Result<Option<&str>, &str>)> = vec![
            (None, None, Ok(None)),
            (
                Some("2027-01-01T00:00:00Z"),
                None,
                Ok(Some("2027-01-01T00:00:00+00:00")),
            ),
            (
                Some("2027-01-01T09:00:00+09:00"),
                None,
                Ok(Some("2027-01-01T00:00:00+00:00")),
            ),
            (
                Some("2027-01-01T00:00:00.5-01:30"),
                None,
                Ok(Some("2027-01-01T01:30:00.500+00:00")),
            ),
            (Some("2026-11-28T11:59:59Z"), None, Err("is in the past")),
            (
                Some("2027-01-01"),
                None,
                Err("a date without a time and zone"),
            ),
            (
                Some("2027-01-01T00:00"),
                None,
                Err("is not an RFC 3339 time"),
            ),
            (None, Some("90"), Err("did you mean `90d`")),
            (
                Some("2027-01-01T00:00:00"),
                None,
                Err("is not an RFC 3339 time"),
            ),
            (
                Some("tomorrow"),
                None,
                Err("--expires-at 2027-03-01T00:00:00Z"),
            ),
            // A leap second is folded into 23:59:59 so it is never sent as :60.
            (
                Some("2027-06-30T23:59:60Z"),
                None,
                Ok(Some("2027-06-30T23:59:59+00:00")),
            ),
            (None, Some("90d"), Ok(Some("2027-02-26T12:00:00+00:00"))),
            (None, Some("12h"), Ok(Some("2026-11-29T00:00:00+00:00"))),
            (None, Some("0s"), Err("is zero")),
            (None, Some("soon"), Err("90d")),
            (None, Some("100000000y"), Err("too far")),
        ];
        for (at, inn, want) in cases {
            let got = parse_expiry(at, inn, now());
            match (got, want) {
                (Ok(t), Ok(w)) => assert_eq!(
                    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)),
                    w.map(str::to_string),
                    "{at:?} {inn:?}"
                ),
                (Err(e), Err(w)) => {
                    let m = format!("{e} {:?}", crate::error::Classify::hint(&e));
                    assert!(m.contains(w), "{at:?} {inn:?}: {m}")
                }
                (g, w) => panic!("{at:?} {inn:?}: got {g:?} want {w:?}"),
            }
        }
    }

    #[test]
    fn descriptions() {
        let long = "x".repeat(256);
        let ok255 = "é".repeat(MAX_DESCRIPTION);
        let cases: Vec<(&str, Result<&str, &str>)> = vec![
            ("  ci token  ", Ok("ci token")),
            ("", Err("empty")),
            ("   ", Err("empty")),
            (&long, Err("256 characters")),
            (&ok255, Ok(&ok255)),
            ("a\nb", Err("control characters")),
            ("日本語 ok", Ok("日本語 ok")),
        ];
        for (input, want) in cases {
            match (check_description(input), want) {
                (Ok(s), Ok(w)) => assert_eq!(s, w),
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{e}"),
                (g, w) => panic!("{input:?}: got {g:?} want {w:?}"),
            }
        }
    }
}
