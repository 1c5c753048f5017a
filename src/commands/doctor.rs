//! `doctor`: one line per check, ✓/✗ with a hint, exit 1 when any fails.
//! Nothing is created and no device flow is started: every request is
//! unauthenticated (discovery, the pre-flight probe, `Date` headers).
use super::Context;
use crate::cli::{DoctorArgs, Format};
use crate::cluster::probe::{self, Serves};
use crate::error::ProbeError;
use crate::settings::Config;
use chrono::{DateTime, Utc};
use serde::Serialize;
use url::Url;

mod workload;

/// Clock skew worth a warning: ID tokens and JWT access tokens carry
/// `iat`/`exp`, and verifiers allow some leeway, often 30 to 60 s.
const MAX_SKEW_SECS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum State {
    Ok,
    Warn,
    Fail,
    Skip,
}

#[derive(Debug, Serialize)]
struct Check {
    name: &'static str,
    status: State,
    detail: String,
    hint: Option<String>,
}

impl Check {
    fn new(name: &'static str, status: State, detail: impl Into<String>) -> Self {
        Check {
            name,
            status,
            detail: detail.into(),
            hint: None,
        }
    }
    fn hint(mut self, h: impl Into<String>) -> Self {
        self.hint = Some(h.into());
        self
    }
}

#[derive(Serialize)]
struct Report<'a> {
    ok: bool,
    checks: &'a [Check],
}

pub async fn run(ctx: &Context, args: DoctorArgs) -> anyhow::Result<()> {
    let checks = checks(ctx).await;
    let failed = checks.iter().filter(|c| c.status == State::Fail).count();
    if args.format.format == Format::Json {
        super::json(
            ctx,
            &Report {
                ok: failed == 0,
                checks: &checks,
            },
        )?;
    } else {
        super::data(ctx, &render(&checks, ctx.printer.width()))?;
    }
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} checks failed (see the ✗ lines above)",
            checks.len()
        );
    }
    Ok(())
}

/// The checks in order; a check that cannot run says why it was skipped.
async fn checks(ctx: &Context) -> Vec<Check> {
    let mut out = Vec::new();
    let cfg = match ctx.config() {
        Ok(cfg) => {
            let file = match &cfg.files.read {
                Some(p) => p.display().to_string(),
                None => "environment only".into(),
            };
            out.push(Check::new(
                "config",
                State::Ok,
                format!("{file} (profile `{}`)", cfg.profile.name.value),
            ));
            Some(cfg)
        }
        Err(e) => {
            out.push(
                Check::new("config", State::Fail, one_line(&e)).hint(
                    crate::output::hint(&e)
                        .unwrap_or_else(|| "see `influx-bootstrap config show`".into()),
                ),
            );
            None
        }
    };
    let Some(cfg) = cfg else {
        for name in [
            "identity provider",
            "device endpoint",
            "clock",
            "TLS",
            "cluster",
        ] {
            out.push(Check::new(
                name,
                State::Skip,
                "skipped: no usable configuration",
            ));
        }
        out.push(cache_dir(&ctx.config_even_if_empty().ok()));
        out.push(keyring(ctx).await);
        return out;
    };
    let http = match ctx.http(&cfg) {
        Ok(h) => h,
        Err(e) => {
            out.push(
                Check::new("TLS", State::Fail, one_line(&e))
                    .hint(crate::output::hint(&e).unwrap_or_else(|| "check [profile.tls]".into())),
            );
            out.push(cache_dir(&Some(cfg)));
            out.push(keyring(ctx).await);
            return out;
        }
    };
    let mut dates: Vec<(&'static str, Option<DateTime<Utc>>)> = Vec::new();

    // Identity provider: discovery, the device endpoint (or, for a
    // workload, the client credential), its clock.
    if cfg.profile.oauth2.grant.value == crate::settings::Grant::ClientCredentials {
        out.extend(workload::checks(&cfg, &http, &mut dates).await);
    } else {
        out.extend(provider_checks(&cfg, &http, &mut dates).await);
    }

    // Cluster: reachable, TLS, which management API.
    let (tls, cluster) = cluster_checks(&cfg, &http, &mut dates).await;
    out.push(clock(&dates));
    out.push(tls);
    out.extend(cluster);
    if cfg.uses_influxctl() {
        out.push(influxctl(ctx, &cfg));
    }
    out.push(cache_dir(&Some(cfg)));
    out.push(keyring(ctx).await);
    out
}

/// Discovery at the issuer, the device endpoint, and the provider's clock.
async fn provider_checks(
    cfg: &Config,
    http: &crate::http::HttpClient,
    dates: &mut Vec<(&'static str, Option<DateTime<Utc>>)>,
) -> Vec<Check> {
    let mut out = Vec::new();
    let issuer = cfg.profile.oauth2.issuer.as_ref().map(|v| v.value.clone());
    match crate::auth::discovery::resolve(http, &cfg.profile.oauth2, &cfg.profile.name.value).await
    {
        Ok(ep) => {
            let who = issuer
                .as_ref()
                .map_or_else(|| "explicit endpoints".to_string(), |u| u.to_string());
            out.push(Check::new(
                "identity provider",
                State::Ok,
                format!("{who} answers discovery"),
            ));
            out.push(Check::new(
                "device endpoint",
                State::Ok,
                crate::text::display_url(&ep.device_authorization),
            ));
            if let Ok((_, d)) = http.get_dated(&ep.token).await {
                dates.push(("identity provider", d));
            }
            if ep.public_client_may_revoke() == Some(false) {
                out.push(revocation_warning(&ep));
            }
        }
        Err(e) => {
            let (detail, hint) = plain(&e);
            let device = detail.contains("device_authorization_endpoint");
            out.push(Check::new(
                "identity provider",
                if device { State::Ok } else { State::Fail },
                if device {
                    "answers discovery".to_string()
                } else {
                    detail.clone()
                },
            ));
            if let Some(h) = hint.filter(|_| !device) {
                let last = out.len() - 1;
                out[last].hint = Some(h);
            }
            out.push(if device {
                Check::new("device endpoint", State::Fail, "the provider advertises no device endpoint").hint(
                    "enable the device grant for this client (Keycloak: \"OAuth 2.0 Device Authorization Grant\"; Entra: \"Allow public client flows\"; Auth0/Okta: the Device Code grant), or set `device_url`",
                )
            } else {
                Check::new("device endpoint", State::Skip, "skipped: no discovery")
            });
        }
    }
    out
}

/// The provider advertises revocation only for authenticated clients (as
/// Glewlwyd does: `client_secret_basic`), and this client is public (`none`):
/// `logout` will not be able to end the session at the provider (RFC 7009
/// §2.1 lets it require client authentication).
fn revocation_warning(ep: &crate::auth::discovery::Endpoints) -> Check {
    let methods = ep
        .revocation_auth_methods
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|m| crate::text::sanitize(m))
        .collect::<Vec<_>>();
    let accepts = if methods.is_empty() {
        "no client authentication method at all".to_string()
    } else {
        methods.join(", ")
    };
    Check::new(
        "token revocation",
        State::Warn,
        format!(
            "the revocation endpoint accepts {accepts}, not `none` (this client is public): `logout` cannot revoke the refresh token, which stays valid at the provider until it expires"
        ),
    )
    .hint("allow public clients to revoke their own tokens at the provider, or end sessions in its admin console after `logout`")
}

async fn cluster_checks(
    cfg: &Config,
    http: &crate::http::HttpClient,
    dates: &mut Vec<(&'static str, Option<DateTime<Utc>>)>,
) -> (Check, Vec<Check>) {
    let url = match probe::management_url(&cfg.profile) {
        Ok(u) => u,
        Err(e) => {
            return (
                Check::new("TLS", State::Skip, "skipped: no cluster address"),
                vec![failed("cluster", &e)],
            );
        }
    };
    let found = match probe::probe(http, &url).await {
        Ok(p) => p,
        Err(ProbeError::Unreachable { why, hint, .. }) => {
            let tls_problem = why.contains("TLS") || why.contains("plain HTTP");
            let tls = if tls_problem {
                Check::new("TLS", State::Fail, why.clone()).hint(hint.clone())
            } else {
                Check::new("TLS", State::Skip, "skipped: the cluster was not reached")
            };
            let c = Check::new("cluster", State::Fail, why).hint(hint);
            return (tls, vec![c]);
        }
        Err(e) => return (tls_check(cfg, &url), vec![failed("cluster", &e)]),
    };
    if let Ok((_, d)) = http.get_dated(&url).await {
        dates.push(("cluster", d));
    }
    // The documented API: 401 on /api/v0/databases means it is there.
    let documented = match probe::documented_url(&cfg.profile) {
        Ok(u) => probe::probe(http, &u).await.ok().map(|p| p.serves),
        Err(_) => None,
    };
    let documented_served = documented == Some(Serves::ManagementTokens);
    let cluster = served_check(
        cfg,
        &probe::origin_of(&url),
        found.serves,
        documented_served,
    );
    (tls_check(cfg, &url), vec![cluster])
}

/// A check that failed with `e`, carrying its hint.
fn failed<E: std::fmt::Display + crate::error::Classify>(name: &'static str, e: &E) -> Check {
    let mut c = Check::new(name, State::Fail, e.to_string());
    c.hint = crate::error::Classify::hint(e);
    c
}

/// The TLS check of a cluster that was reached: a verified certificate (by
/// which CAs), or plain HTTP where the profile allows it.
fn tls_check(cfg: &Config, url: &Url) -> Check {
    let origin = probe::origin_of(url);
    if url.scheme() == "https" {
        let ca = cfg.profile.tls.ca.as_ref().map_or_else(
            || "the system's CAs".to_string(),
            |c| c.value.display().to_string(),
        );
        Check::new(
            "TLS",
            State::Ok,
            format!("{origin}: certificate trusted ({ca})"),
        )
    } else {
        Check::new(
            "TLS",
            State::Skip,
            format!("{origin}: plain HTTP (`[profile.tls] disable` or loopback)"),
        )
    }
}

/// What the cluster at `origin` serves, judged against the profile's
/// backend: ours, the documented API (with or without influxctl), or
/// neither.
fn served_check(cfg: &Config, origin: &str, serves: Serves, documented_served: bool) -> Check {
    let docs = if documented_served {
        "; the documented Management API (databases, database tokens) too"
    } else {
        ""
    };
    match serves {
        Serves::ManagementTokens => Check::new(
            "cluster",
            State::Ok,
            format!("{origin} serves influx-bootstrap's management-token API{docs}"),
        ),
        Serves::NotOurApi { .. } if documented_served && cfg.uses_influxctl() => Check::new(
            "cluster",
            State::Ok,
            format!("{origin} is a stock cluster: the documented Management API; management tokens through influxctl (`management_backend`)"),
        ),
        Serves::NotOurApi { .. } if documented_served => Check::new(
            "cluster",
            State::Warn,
            format!("{origin} is a stock cluster: the documented Management API only (HTTP 404 on our management-token routes)"),
        )
        .hint("`database` and `token` work; `management`, `mint` and `rotate` need `management_backend = \"influxctl\"`"),
        Serves::NotOurApi { status } | Serves::Http { status } => Check::new(
            "cluster",
            State::Fail,
            format!("{origin} answered HTTP {status}: neither management API is served there"),
        )
        .hint("check `host` and `port` (and `management_url`, if set): another service may be listening there"),
    }
}

/// `management_backend = "influxctl"`: is the program there to run?
fn influxctl(ctx: &Context, cfg: &Config) -> Check {
    let program = &cfg.profile.influxctl;
    // The same rule as a run (issue 19 item 5): where it resolves, and that
    // it may be trusted with the management token.
    match crate::cluster::influxctl::locate(&program.value, &ctx.env) {
        Ok(p) => Check::new("influxctl", State::Ok, format!("{}", p.display())),
        Err(crate::cluster::influxctl::Located::Untrusted(why)) => Check::new(
            "influxctl",
            State::Fail,
            format!("`{}` (from {}): {why}", program.value.display(), program.source),
        )
        .hint(
            "give an absolute path (or a bare name found on PATH) to a program owned by root or you that nobody else can change",
        ),
        Err(crate::cluster::influxctl::Located::Missing) => Check::new(
            "influxctl",
            State::Fail,
            format!(
                "`{}` (from {}) is not installed or not on PATH",
                program.value.display(),
                program.source
            ),
        )
        .hint(format!(
            "install it ({}) or set `influxctl = \"/path/to/influxctl\"` in the profile",
            crate::error::INFLUXCTL_DOCS
        )),
    }
}

/// Skew of this machine's clock against each server's `Date` header.
fn clock(dates: &[(&'static str, Option<DateTime<Utc>>)]) -> Check {
    let now = Utc::now();
    let seen: Vec<(&str, i64)> = dates
        .iter()
        .filter_map(|(who, d)| d.map(|d| (*who, (d - now).num_seconds())))
        .collect();
    if seen.is_empty() {
        return Check::new("clock", State::Skip, "no server sent a `Date` header");
    }
    let worst = seen
        .iter()
        .max_by_key(|(_, s)| s.abs())
        .copied()
        .unwrap_or(("", 0));
    let parts: Vec<String> = seen
        .iter()
        .map(|(who, s)| format!("{who} {s:+} s"))
        .collect();
    if worst.1.abs() > MAX_SKEW_SECS {
        return Check::new(
            "clock",
            State::Warn,
            format!("this machine's clock is off by {} s against the {} ({})", worst.1.abs(), worst.0, parts.join(", ")),
        )
        .hint("sync the clock (e.g. `timedatectl set-ntp true`): tokens may look not yet valid or already expired");
    }
    Check::new(
        "clock",
        State::Ok,
        format!("within {MAX_SKEW_SECS} s ({})", parts.join(", ")),
    )
}

/// The cache directory: writable, and no session file readable by others
/// (the session cache refuses those, exit 7); a directory others can list
/// is a warning (file names only).
fn cache_dir(cfg: &Option<Config>) -> Check {
    let Some(cfg) = cfg else {
        return Check::new("cache directory", State::Skip, "skipped: no configuration");
    };
    let dir = &cfg.files.cache_dir.value;
    let name = "cache directory";
    let mode = match crate::fsutil::mode(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Check::new(
                name,
                State::Ok,
                format!("{} (created 0700 on first login)", dir.display()),
            );
        }
        Err(e) => return unusable_cache(dir, "", &e),
        Ok(m) => m.unwrap_or(0o700),
    };
    // Ownership first, exactly as every command checks it: a ✓ here for a
    // directory the commands then refuse (exit 7) was a lie (issue 23, A10).
    let cache = crate::auth::cache::Cache::new(dir.clone(), crate::printer::Printer::capture());
    if let Err(e) = cache.check_dir() {
        let hint = crate::error::Classify::hint(&e).unwrap_or_default();
        let why = e.to_string();
        let why = why.split_once(": ").map_or(why.as_str(), |(_, w)| w);
        return Check::new(name, State::Fail, format!("{}: {why}", dir.display())).hint(hint);
    }
    // Can we write there? (create and remove a probe file)
    if let Err(e) = tempfile::Builder::new().prefix(".doctor-").tempfile_in(dir) {
        return unusable_cache(dir, " is not writable", &e);
    }
    cache_privacy(dir, mode)
}

/// A cache directory we cannot use: `what` went wrong with it.
fn unusable_cache(dir: &std::path::Path, what: &str, e: &std::io::Error) -> Check {
    Check::new(
        "cache directory",
        State::Fail,
        format!(
            "{}{what}: {}",
            dir.display(),
            crate::text::without_os_error(&e.to_string())
        ),
    )
    .hint("set INFLUX_BOOTSTRAP_CACHE_DIR to a directory of yours")
}

/// A usable cache directory: no file in it readable by others (a failure,
/// the session cache refuses those), and the directory itself not listable
/// by others (a warning: file names only).
fn cache_privacy(dir: &std::path::Path, mode: u32) -> Check {
    let name = "cache directory";
    let exposed: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_file())
        .filter(|e| matches!(crate::fsutil::mode(&e.path()), Ok(Some(m)) if m & 0o077 != 0))
        .map(|e| e.path().display().to_string())
        .collect();
    if !exposed.is_empty() {
        return Check::new(
            name,
            State::Fail,
            format!("readable by other users: {}", exposed.join(", ")),
        )
        .hint(format!(
            "run `chmod 600 {}` if you trust them, or delete them and log in again",
            exposed.join(" ")
        ));
    }
    if mode & 0o077 != 0 {
        return Check::new(
            name,
            State::Warn,
            format!(
                "{} can be listed by other users (mode {:o}); the files in it are private",
                dir.display(),
                mode & 0o777
            ),
        )
        .hint(format!("run `chmod 700 {}`", dir.display()));
    }
    Check::new(
        name,
        State::Ok,
        format!("{} (mode {:o})", dir.display(), mode & 0o777),
    )
}

/// The OS keyring (only `keyring:` stores need it: a warning, not a failure).
async fn keyring(ctx: &Context) -> Check {
    let opts = super::store_options(ctx, false);
    let spec: crate::store::StoreSpec = match "keyring:influx-bootstrap/doctor".parse() {
        Ok(s) => s,
        Err(_) => return Check::new("keyring", State::Skip, "skipped"),
    };
    let r = tokio::task::spawn_blocking(move || spec.check(&opts)).await;
    match r {
        Ok(Ok(())) => Check::new("keyring", State::Ok, "available for `keyring:` stores"),
        Ok(Err(e)) => Check::new("keyring", State::Warn, format!("not available: {e}")).hint(
            "only `keyring:` stores need it; use `file:` or `env-file:` stores on this machine",
        ),
        Err(_) => Check::new("keyring", State::Warn, "the check did not finish"),
    }
}

/// An error chain on one line.
fn one_line(e: &anyhow::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

/// An error in plain words (transport failures explained), with its hint.
fn plain(e: &anyhow::Error) -> (String, Option<String>) {
    if let Some(crate::error::HttpError::Transport { url, cause }) = e
        .chain()
        .find_map(|c| c.downcast_ref::<crate::error::HttpError>())
        && let Ok(u) = Url::parse(url)
    {
        let (why, _) = probe::explain_transport(&u, cause);
        return (
            why,
            Some("check `issuer`, your network and HTTPS_PROXY/NO_PROXY".into()),
        );
    }
    (one_line(e), crate::output::hint(e))
}

/// One line per check, wrapped to the terminal; hints indented below.
fn render(checks: &[Check], width: usize) -> String {
    let pad = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for c in checks {
        let mark = match c.status {
            State::Ok => "✓",
            State::Warn => "!",
            State::Fail => "✗",
            State::Skip => "-",
        };
        let head = format!("{mark} {:pad$}  ", c.name);
        let indent = " ".repeat(head.chars().count());
        out.push_str(&crate::output::wrap_with(&head, &indent, &c.detail, width));
        if let Some(h) = &c.hint {
            out.push_str(&crate::output::wrap_with(
                &format!("{indent}hint: "),
                &format!("{indent}      "),
                h,
                width,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_warns_over_30_seconds() {
        let now = Utc::now();
        let cases = [
            (vec![], State::Skip),
            (vec![("cluster", Some(now))], State::Ok),
            (
                vec![("cluster", Some(now + chrono::Duration::seconds(45)))],
                State::Warn,
            ),
            (
                vec![
                    (
                        "identity provider",
                        Some(now - chrono::Duration::seconds(120)),
                    ),
                    ("cluster", Some(now)),
                ],
                State::Warn,
            ),
        ];
        for (dates, want) in cases {
            assert_eq!(clock(&dates).status, want, "{dates:?}");
        }
    }

    #[test]
    fn render_marks_and_hints() {
        let checks = vec![
            Check::new("config", State::Ok, "/x (profile `default`)"),
            Check::new("cluster", State::Fail, "nothing is listening").hint("check `host`"),
        ];
        let s = render(&checks, 80);
        assert_eq!(
            s,
            "✓ config   /x (profile `default`)\n✗ cluster  nothing is listening\n           hint: check `host`\n"
        );
    }
}
