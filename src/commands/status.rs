//! `status`: what the cache holds for the active profile. No network.
use super::Context;
use crate::auth::cache::Cache;
use crate::auth::client::ClientAuth;
use crate::auth::session_key;
use crate::cli::{Format, FormatArgs};
use crate::error::AuthError;
use crate::output;
use crate::output::fields::row;
use crate::settings::{Config, Grant};
use chrono::Utc;
use serde::Serialize;

#[derive(Serialize)]
struct StatusView {
    profile: String,
    /// `person` (device flow, a cached session) or `workload` (issue 20).
    identity_kind: &'static str,
    logged_in: bool,
    /// The issuer, or absent when the profile names endpoints only.
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
    client_id: String,
    cluster: String,
    subject: Option<String>,
    name: Option<String>,
    email: Option<String>,
    identity_verified: Option<bool>,
    access_token_valid: bool,
    expires_at: Option<String>,
    refreshable: bool,
    /// When the device flow ran (the login itself).
    obtained_at: Option<String>,
    /// When the tokens were last refreshed (absent: never).
    #[serde(skip_serializing_if = "Option::is_none")]
    refreshed_at: Option<String>,
    cache_file: String,
    /// `rotate --grace`: old tokens whose revocation is pending (issue 17).
    pending_revocations: Vec<PendingView>,
}

#[derive(Serialize)]
struct PendingView {
    id: String,
    kind: crate::state::TokenKind,
    not_before: String,
    successor_id: String,
    stores: Vec<String>,
}

/// The pending revocations of this state directory (none without one; an
/// unsafe directory stops `status` as it stops `rotate`, exit 7).
fn pending(ctx: &Context) -> anyhow::Result<Vec<PendingView>> {
    let Some(dir) = crate::state::state_dir(&ctx.env) else {
        return Ok(Vec::new());
    };
    Ok(crate::state::pending::PendingList::in_dir(&dir)
        .all()?
        .into_iter()
        .map(|p| PendingView {
            id: p.id,
            kind: p.kind,
            not_before: crate::text::rfc3339(p.not_before),
            successor_id: p.successor_id,
            stores: p.stores,
        })
        .collect())
}

/// The value, or what stands in its place.
fn or_else(v: &Option<String>, otherwise: &str) -> String {
    v.as_deref().unwrap_or(otherwise).to_string()
}

/// `-` for a value that is not known.
fn or_dash(s: &str) -> String {
    if s.is_empty() { "-" } else { s }.to_string()
}

impl StatusView {
    /// The table for people.
    fn rows(&self) -> Vec<Vec<String>> {
        let access = match (&self.expires_at, self.access_token_valid) {
            (Some(t), true) => format!("valid until {t}"),
            (Some(t), false) => format!("expired at {t}"),
            (None, true) => "valid (no expiry given)".into(),
            (None, false) => "expired".into(),
        };
        let identity = match (&self.subject, self.identity_verified) {
            (Some(sub), Some(true)) => format!("{sub} (verified ID token)"),
            (Some(sub), _) => format!("{sub} (unverified)"),
            (None, _) => "unknown".into(),
        };
        vec![
            row("Profile", self.profile.clone()),
            row(
                "Identity",
                "a person (device flow; the session below)".into(),
            ),
            row(
                "Issuer",
                or_else(&self.issuer, "- (endpoints configured explicitly)"),
            ),
            row("Client ID", self.client_id.clone()),
            row("Cluster", or_dash(&self.cluster)),
            row("Subject", identity),
            row("Name", or_else(&self.name, "-")),
            row("Email", or_else(&self.email, "-")),
            row("Access token", access),
            row(
                "Refreshable",
                if self.refreshable {
                    "yes".into()
                } else {
                    "no (log in again when it expires)".into()
                },
            ),
            row("Logged in at", or_else(&self.obtained_at, "-")),
            row(
                "Last refreshed",
                self.refreshed_at.clone().unwrap_or_else(|| "never".into()),
            ),
            row("Cache file", self.cache_file.clone()),
            row(
                "Pending revocations",
                if self.pending_revocations.is_empty() {
                    "none".into()
                } else {
                    let v: Vec<String> = self
                        .pending_revocations
                        .iter()
                        .map(|p| {
                            format!(
                                "{} {} (after {}, replaced by {})",
                                p.kind.noun(),
                                p.id,
                                p.not_before,
                                p.successor_id
                            )
                        })
                        .collect();
                    v.join("; ")
                },
            ),
        ]
    }
}

pub async fn run(ctx: &Context, args: FormatArgs) -> anyhow::Result<()> {
    let cfg = ctx.config()?;
    let key = session_key(&cfg)?;
    if cfg.profile.oauth2.grant.value == Grant::ClientCredentials {
        return workload(ctx, &cfg, &key, args);
    }
    let cache = Cache::new(cfg.files.cache_dir.value.clone(), ctx.printer.clone());
    let path = cache.path(&key);
    let Some(s) = cache.load(&key)? else {
        // A host rotating with a management token never logs in: still say
        // what is pending.
        for p in pending(ctx)? {
            ctx.printer.note(format!(
                "pending revocation: {} {} after {} (replaced by {})",
                p.kind.noun(),
                p.id,
                p.not_before,
                p.successor_id
            ));
        }
        return Err(AuthError::NotLoggedIn {
            profile: cfg.profile.name.value.clone(),
        }
        .into());
    };
    let id = s.identity.clone().unwrap_or_default();
    let valid = s.access_token_valid(Utc::now());
    let v = StatusView {
        profile: cfg.profile.name.value.clone(),
        identity_kind: "person",
        logged_in: true,
        issuer: s.issuer.clone(),
        client_id: key.client_id.clone(),
        cluster: key.cluster.clone(),
        subject: s.identity.as_ref().map(|_| id.subject.clone()),
        name: id.name.clone(),
        email: id.email.clone(),
        identity_verified: s.identity.as_ref().map(|i| i.verified),
        access_token_valid: valid,
        expires_at: s.expires_at.map(crate::text::rfc3339),
        refreshable: s.refresh_token.is_some(),
        obtained_at: Some(crate::text::rfc3339(s.obtained_at)),
        refreshed_at: s.refreshed_at.map(crate::text::rfc3339),
        cache_file: path.display().to_string(),
        pending_revocations: pending(ctx)?,
    };
    if args.format == Format::Json {
        return crate::commands::json(ctx, &v);
    }
    let rows = v.rows();
    crate::commands::data(ctx, &output::fields::table(&rows))
}

/// `status` of a profile that logs in as a workload (client credentials):
/// nothing is cached, so it says which client and credential every command
/// will use; no network, like the rest of `status`.
#[derive(Serialize)]
struct WorkloadView {
    profile: String,
    identity_kind: &'static str,
    grant: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
    client_id: String,
    /// `client_secret_basic` or `private_key_jwt`.
    client_auth: &'static str,
    credential: String,
    cluster: String,
    cached: bool,
}

fn workload(
    ctx: &Context,
    cfg: &Config,
    key: &crate::auth::cache::SessionKey,
    args: FormatArgs,
) -> anyhow::Result<()> {
    let o = &cfg.profile.oauth2;
    let auth = ClientAuth::from_profile(o, &cfg.profile.name.value)?;
    let v = WorkloadView {
        profile: cfg.profile.name.value.clone(),
        identity_kind: "workload",
        grant: o.grant.value.as_str(),
        issuer: o.issuer.as_ref().map(|i| i.value.to_string()),
        client_id: key.client_id.clone(),
        client_auth: auth.method(),
        credential: auth.describe(),
        cluster: key.cluster.clone(),
        cached: false,
    };
    if args.format == Format::Json {
        return crate::commands::json(ctx, &v);
    }
    let rows = vec![
        row("Profile", v.profile.clone()),
        row(
            "Identity",
            format!(
                "a workload: client {} (client credentials grant)",
                v.client_id
            ),
        ),
        row("Issuer", or_else(&v.issuer, "- (token_url configured)")),
        row("Client auth", v.client_auth.into()),
        row("Credential", v.credential.clone()),
        row("Cluster", or_dash(&v.cluster)),
        row("Session", "none cached: every command logs in again".into()),
    ];
    crate::commands::data(ctx, &output::fields::table(&rows))
}
