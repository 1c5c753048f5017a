//! The summary of a `mint` or `rotate`: a table for people, one JSON
//! document for machines.
use super::fields::row;
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
    /// Who the cluster says made the token (a person's or a workload
    /// client's subject, or `token:ID`), so an audit of the run's output can
    /// tell them apart; absent where the API does not say (database tokens).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub created_by: String,
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
            created_by: crate::text::sanitize(&created.token.created_by),
        }
    }

    fn rows(&self) -> Vec<Vec<String>> {
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
        let mut rows = vec![
            row("ID", self.id.clone()),
            row("DESCRIPTION", self.description.clone()),
            row("PREFIX", self.token_prefix.clone()),
            row(
                "EXPIRES AT",
                match &self.expires_at {
                    Some(t) => match relative(t, chrono::Utc::now()) {
                        Some(rel) => format!("{t} ({rel})"),
                        None => t.clone(),
                    },
                    None => "never".into(),
                },
            ),
            row("VERIFIED", yes_no(self.verified)),
        ];
        // The documented API reveals no prefix of a database token.
        if self.token_prefix.is_empty() {
            rows.retain(|r| r[0] != "PREFIX");
        }
        if !self.permissions.is_empty() {
            rows.push(row("PERMISSIONS", self.permissions.join(" ")));
        }
        if !self.created_by.is_empty() {
            rows.push(row("CREATED BY", self.created_by.clone()));
        }
        if let Some(old) = &self.revoked_old {
            rows.push(row("OLD TOKEN", old.clone()));
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
        let text = super::fields::table(&s.rows());
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
        None => printer.warn(NEVER_EXPIRES),
        Some(t) => {
            if let Some(cmd) = rotate_command(&s.stores) {
                let when = rotate_by(t, chrono::Utc::now()).unwrap_or_else(|| t.clone());
                printer.status(format!("Next: schedule `{cmd}` before {when}."));
            }
        }
    }
}

/// The warning after making a management token without an expiry (`mint`,
/// `management create`).
pub const NEVER_EXPIRES: &str = "this token never expires: whoever copies it keeps access until it is revoked; next time pass --expires-in (e.g. 90d) and schedule `rotate`";

/// When to rotate by: a week before expiry ("2027-02-21, a week before the
/// token expires"), or halfway through a lifetime shorter than two weeks.
pub fn rotate_by(rfc3339: &str, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
    let t = crate::text::parse_utc(rfc3339)?;
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

/// "in 90 days" ([`crate::text::relative`]); None once past.
pub fn relative(rfc3339: &str, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
    let t = crate::text::parse_utc(rfc3339)?;
    (t > now).then(|| crate::text::relative(t, now))
}

/// This run's `--config` (absolute) and `--profile` flags, for the `rotate`
/// command we suggest: without them it would rotate with another profile's
/// cluster (issue 19 item 16). Set once by the command dispatcher.
static SELECTION: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// Remember the flags that chose the profile (see [`rotate_command`]).
pub fn remember_selection(config: Option<&std::path::Path>, profile: Option<&str>) {
    let mut flags = Vec::new();
    if let Some(c) = config {
        let c = std::path::absolute(c).unwrap_or_else(|_| c.to_path_buf());
        flags.extend(["--config".to_string(), c.display().to_string()]);
    }
    if let Some(p) = profile {
        flags.extend(["--profile".to_string(), p.to_string()]);
    }
    let _ = SELECTION.set(flags);
}

/// The `rotate` command for these stores (every store but `stdout`, which
/// cannot be read back), with this run's `--config`/`--profile`, quoted for
/// a POSIX shell.
pub fn rotate_command(stores: &[StoreResult]) -> Option<String> {
    rotate_command_with(stores, SELECTION.get().map_or(&[][..], Vec::as_slice))
}

fn rotate_command_with(stores: &[StoreResult], selection: &[String]) -> Option<String> {
    let specs: Vec<&str> = stores
        .iter()
        .map(|r| r.store.as_str())
        .filter(|s| *s != "stdout")
        .collect();
    if specs.is_empty() {
        return None;
    }
    let mut cmd = String::from("influx-bootstrap");
    for f in selection {
        cmd.push(' ');
        cmd.push_str(&crate::text::shell_quote(f));
    }
    cmd.push_str(" rotate");
    for spec in specs {
        cmd.push_str(" --store ");
        cmd.push_str(&crate::text::shell_quote(spec));
    }
    Some(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        let now = crate::text::parse_utc("2026-11-30T12:00:00Z").unwrap();
        let cases = [
            ("2027-02-28T12:00:00Z", Some("in 90 days")),
            ("2026-12-02T12:00:00Z", Some("in 2 days")),
            ("2026-12-01T11:00:00Z", Some("in 23 hours")),
            ("2026-11-30T12:30:00Z", Some("in 30 minutes")),
            ("2026-11-30T12:00:20Z", Some("now")),
            // Nearest, as the lists say it (issue 19 item 16).
            ("2027-02-28T11:59:59Z", Some("in 90 days")),
            ("2026-11-30T11:00:00Z", None),
        ];
        for (t, want) in cases {
            assert_eq!(relative(t, now).as_deref(), want, "{t}");
        }
    }

    #[test]
    fn rotate_by_a_week_early_or_halfway() {
        let now = crate::text::parse_utc("2026-11-30T12:00:00Z").unwrap();
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
        let sel = ["--config", "/etc/ib/my config.toml", "--profile", "prod"].map(String::from);
        assert_eq!(
            rotate_command_with(&[r("file:/etc/t")], &sel).as_deref(),
            Some(
                "influx-bootstrap --config '/etc/ib/my config.toml' --profile prod rotate --store file:/etc/t"
            )
        );
    }
}
