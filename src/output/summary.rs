//! The summary of a `mint` or `rotate`: a table for people, one JSON
//! document for machines.
use crate::cluster::CreatedToken;
use crate::printer::Printer;
use serde::Serialize;

pub use crate::store::StoreResult;

#[derive(Debug, Serialize, Clone)]
pub struct Summary {
    pub event: &'static str,
    pub id: String,
    pub description: String,
    /// Empty (and absent from JSON) for a database token.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token_prefix: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    /// A database token's permissions (`read:DB`, `write:*`); absent for a
    /// management token.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
    pub stores: Vec<StoreResult>,
    pub verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_old: Option<String>,
}

impl Summary {
    pub fn new(
        event: &'static str,
        created: &CreatedToken,
        stores: Vec<StoreResult>,
        verified: bool,
    ) -> Self {
        Summary {
            event,
            id: created.token.id.clone(),
            description: created.token.description.clone(),
            token_prefix: created.token.token_prefix.clone(),
            created_at: crate::text::rfc3339(created.token.created_at),
            expires_at: created.token.expires_at.map(crate::text::rfc3339),
            permissions: created
                .token
                .permissions
                .iter()
                .map(|p| crate::text::sanitize(&p.to_string()))
                .collect(),
            stores,
            verified,
            revoked_old: None,
        }
    }

    fn rows(&self) -> Vec<Vec<String>> {
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
        let mut rows = vec![
            vec!["ID".into(), self.id.clone()],
            vec!["DESCRIPTION".into(), self.description.clone()],
            vec!["PREFIX".into(), self.token_prefix.clone()],
            vec![
                "EXPIRES AT".into(),
                match &self.expires_at {
                    Some(t) => match relative(t, chrono::Utc::now()) {
                        Some(rel) => format!("{t} ({rel})"),
                        None => t.clone(),
                    },
                    None => "never".into(),
                },
            ],
            vec!["VERIFIED".into(), yes_no(self.verified)],
        ];
        // The documented API reveals no prefix of a database token.
        if self.token_prefix.is_empty() {
            rows.retain(|r| r[0] != "PREFIX");
        }
        if !self.permissions.is_empty() {
            rows.push(vec!["PERMISSIONS".into(), self.permissions.join(" ")]);
        }
        if let Some(old) = &self.revoked_old {
            rows.push(vec!["OLD TOKEN".into(), old.clone()]);
        }
        for r in &self.stores {
            let state = if r.ok { "ok" } else { "FAILED" };
            rows.push(vec![
                format!("STORE {}", r.store),
                format!("{state}: {}", r.detail),
            ]);
        }
        rows
    }
}

/// Print the summary: JSON on stdout, or the table on stdout — on stderr
/// when stdout holds the token (a `stdout` store) or the run failed (so a
/// script reading stdout never mistakes a failure report for data).
/// A failure to print is reported, never returned: the token is already
/// stored (or revoked) by now, and that outcome is what the exit code says.
pub fn print(printer: &Printer, s: &Summary, json: bool, to_stderr: bool) {
    let r = if json {
        printer.json(s)
    } else {
        let text = super::table(&["FIELD", "VALUE"], &s.rows());
        if to_stderr {
            printer.block(&text);
            Ok(())
        } else {
            printer.data(&text)
        }
    };
    if let Err(e) = r {
        printer.warn(format!("could not print the summary on stdout: {e}"));
    }
    let all_ok = s.verified && s.stores.iter().all(|r| r.ok);
    if !all_ok {
        return;
    }
    match &s.expires_at {
        None => printer.warn(
            "this token never expires: whoever copies it keeps access until it is revoked; next time pass --expires-in (e.g. 90d) and schedule `rotate`",
        ),
        Some(t) => {
            if let Some(cmd) = rotate_command(&s.stores) {
                let when = rotate_by(t, chrono::Utc::now()).unwrap_or_else(|| t.clone());
                printer.status(format!(
                    "Next: schedule `{cmd}` (with this run's --profile/--config, if any) before {when}."
                ));
            }
        }
    }
}

/// When to rotate by: a week before expiry ("2027-02-21, a week before the
/// token expires"), or halfway through a lifetime shorter than two weeks.
pub fn rotate_by(rfc3339: &str, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339)
        .ok()?
        .with_timezone(&chrono::Utc);
    let left = t - now;
    let week = chrono::Duration::days(7);
    Some(if left >= week * 2 {
        format!(
            "{}, a week before the token expires",
            (t - week).format("%Y-%m-%d")
        )
    } else {
        format!(
            "{}, halfway through the token's lifetime",
            (now + left / 2).format("%Y-%m-%d %H:%M UTC")
        )
    })
}

/// "in 90 days", "in 5 hours", "in 12 minutes"; None once past.
pub fn relative(rfc3339: &str, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).ok()?;
    let d = t.with_timezone(&chrono::Utc) - now;
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("in 1 {unit}")
        } else {
            format!("in {n} {unit}s")
        }
    };
    // Rounded to the nearest unit: a token created for 90d reads "in 90 days".
    let secs = d.num_seconds();
    if secs <= 0 {
        return None;
    }
    Some(if secs >= 2 * 86_400 {
        plural((secs + 43_200) / 86_400, "day")
    } else if secs >= 2 * 3_600 {
        plural((secs + 1_800) / 3_600, "hour")
    } else {
        plural((secs + 30).max(60) / 60, "minute")
    })
}

/// The `rotate` command for these stores (every store but `stdout`, which
/// cannot be read back), quoted for a POSIX shell.
pub fn rotate_command(stores: &[StoreResult]) -> Option<String> {
    let specs: Vec<&str> = stores
        .iter()
        .map(|r| r.store.as_str())
        .filter(|s| *s != "stdout")
        .collect();
    if specs.is_empty() {
        return None;
    }
    let mut cmd = String::from("influx-bootstrap rotate");
    for spec in specs {
        cmd.push_str(" --store ");
        cmd.push_str(&shell_quote(spec));
    }
    Some(cmd)
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:#@%+=,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let cases = [
            ("2027-02-28T12:00:00Z", Some("in 90 days")),
            ("2026-12-02T12:00:00Z", Some("in 2 days")),
            ("2026-12-01T11:00:00Z", Some("in 23 hours")),
            ("2026-11-30T12:30:00Z", Some("in 30 minutes")),
            ("2026-11-30T12:00:20Z", Some("in 1 minute")),
            ("2026-11-30T11:00:00Z", None),
        ];
        for (t, want) in cases {
            assert_eq!(relative(t, now).as_deref(), want, "{t}");
        }
    }

    #[test]
    fn rotate_by_a_week_early_or_halfway() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            rotate_by("2027-02-28T12:00:00Z", now).unwrap(),
            "2027-02-21, a week before the token expires"
        );
        assert_eq!(
            rotate_by("2026-12-02T12:00:00Z", now).unwrap(),
            "2026-12-01 12:00 UTC, halfway through the token's lifetime"
        );
    }

    #[test]
    fn rotate_command_skips_stdout_and_quotes() {
        let r = |s: &str| StoreResult::ok(s.into(), "");
        assert_eq!(
            rotate_command(&[r("file:/etc/t"), r("stdout"), r("exec:vault kv put x")]).as_deref(),
            Some("influx-bootstrap rotate --store file:/etc/t --store 'exec:vault kv put x'")
        );
        assert_eq!(rotate_command(&[r("stdout")]), None);
    }
}
