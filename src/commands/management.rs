//! `management create|list|revoke`.
use super::Context;
use crate::auth::Auth;
use crate::cli::{CreateArgs, DeviceArgs, Format, ListArgs, RevokeArgs, SortKey};
use crate::cluster::{
    ClusterClient, CreatedToken, Credential, CredentialKind, ManagementToken, expiry,
};
use crate::error::{ClusterError, ConfigError};
use crate::http::HttpClient;
use crate::output::{self, prompt::DevicePrompt};
use crate::settings::Config;
use std::io::{BufRead, IsTerminal, Write};

/// Everything a cluster call needs, with the credential chosen once.
pub struct Session<'a> {
    pub cfg: &'a Config,
    pub http: &'a HttpClient,
    pub cred: Credential,
    pub auth: Option<Auth<'a>>,
}

/// The profile's management token if set, else the OAuth session (logging in
/// with a device flow when there is none): one command, no separate login.
pub async fn credential<'a>(
    ctx: &Context,
    cfg: &'a Config,
    http: &'a HttpClient,
    device: &DeviceArgs,
    json_events: bool,
) -> anyhow::Result<Session<'a>> {
    if let Some(t) = &cfg.profile.mgmt_token {
        tracing::info!("authenticating with the management token from {}", t.source);
        return Ok(Session {
            cfg,
            http,
            cred: Credential {
                token: t.value.clone(),
                kind: CredentialKind::ManagementToken,
            },
            auth: None,
        });
    }
    let auth = Auth::new(cfg, http)?;
    let mut ui = DevicePrompt::new(device, json_events, &ctx.env);
    let acq = auth.session(false, true, &mut ui).await?;
    drop(ui);
    Ok(Session {
        cfg,
        http,
        cred: Credential {
            token: acq.session.access_token.clone(),
            kind: CredentialKind::OAuth {
                subject: acq.session.identity.as_ref().map(|i| i.subject.clone()),
            },
        },
        auth: Some(auth),
    })
}

impl Session<'_> {
    pub fn client(&self) -> Result<ClusterClient<'_>, ConfigError> {
        ClusterClient::new(&self.cfg.profile, self.http)
    }

    /// A 401 for an OAuth session means the cached session is useless for
    /// this cluster: drop it so the next command starts clean.
    pub fn on_error(&self, e: ClusterError) -> anyhow::Error {
        if let (ClusterError::Unauthorized { .. }, Some(auth)) = (&e, &self.auth) {
            match auth.cache().remove(auth.key()) {
                Ok(_) => tracing::info!("dropped the cached session after HTTP 401"),
                Err(err) => eprintln!("warning: could not drop the cached session: {err}"),
            }
        }
        e.into()
    }
}

fn time(t: &Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(|| "-".into(), crate::text::rfc3339)
}

pub fn token_rows(t: &ManagementToken) -> Vec<Vec<String>> {
    vec![
        vec!["ID".into(), t.id.clone()],
        vec!["DESCRIPTION".into(), t.description.clone()],
        vec!["PREFIX".into(), t.token_prefix.clone()],
        vec!["CREATED AT".into(), crate::text::rfc3339(t.created_at)],
        vec!["CREATED BY".into(), t.created_by.clone()],
        vec!["EXPIRES AT".into(), time(&t.expires_at)],
        vec!["REVOKED AT".into(), time(&t.revoked_at)],
    ]
}

pub async fn create(ctx: &Context, args: CreateArgs) -> anyhow::Result<()> {
    // Everything the user typed is checked before any network call.
    let description = expiry::check_description(&args.description)?;
    let expires_at = expiry::parse_expiry(
        args.expiry.expires_at.as_deref(),
        args.expiry.expires_in.as_deref(),
        chrono::Utc::now(),
    )?;
    let (cfg, http) = super::cluster_context(ctx)?;
    let s = credential(ctx, &cfg, &http, &args.device, false).await?;
    let key = uuid::Uuid::new_v4().to_string();
    let created = s
        .client()?
        .create(&s.cred, &description, expires_at, &key)
        .await
        .map_err(|e| s.on_error(e))?;
    print_created(&created, args.format.format)
}

fn print_created(c: &CreatedToken, format: Format) -> anyhow::Result<()> {
    eprintln!(
        "warning: this is the only time the token is shown; store it now (or use `influx-bootstrap mint --store ...`)"
    );
    if format == Format::Json {
        return output::json_line(c);
    }
    let mut rows = token_rows(&c.token);
    rows.push(vec!["TOKEN".into(), c.access_token.expose().to_string()]);
    output::print_stdout(&output::table(&["FIELD", "VALUE"], &rows))
}

pub fn sort_tokens(tokens: &mut [ManagementToken], key: SortKey) {
    // `None` (never expires / not revoked) sorts last.
    fn opt(
        t: &Option<chrono::DateTime<chrono::Utc>>,
    ) -> (bool, Option<chrono::DateTime<chrono::Utc>>) {
        (t.is_none(), *t)
    }
    match key {
        SortKey::Created => {
            tokens.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)))
        }
        SortKey::Id => tokens.sort_by(|a, b| a.id.cmp(&b.id)),
        SortKey::Description => tokens.sort_by(|a, b| {
            (a.description.to_lowercase(), &a.id).cmp(&(b.description.to_lowercase(), &b.id))
        }),
        SortKey::Prefix => {
            tokens.sort_by(|a, b| (&a.token_prefix, &a.id).cmp(&(&b.token_prefix, &b.id)))
        }
        SortKey::Expires => {
            tokens.sort_by(|a, b| (opt(&a.expires_at), &a.id).cmp(&(opt(&b.expires_at), &b.id)))
        }
        SortKey::Revoked => {
            tokens.sort_by(|a, b| (opt(&a.revoked_at), &a.id).cmp(&(opt(&b.revoked_at), &b.id)))
        }
    }
}

pub async fn list(ctx: &Context, args: ListArgs) -> anyhow::Result<()> {
    let (cfg, http) = super::cluster_context(ctx)?;
    let s = credential(ctx, &cfg, &http, &args.device, false).await?;
    let mut tokens = s.client()?.list(&s.cred).await.map_err(|e| s.on_error(e))?;
    sort_tokens(&mut tokens, args.sort);
    if args.format.format == Format::Json {
        return output::json_line(&tokens);
    }
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            vec![
                t.id.clone(),
                t.description.clone(),
                t.token_prefix.clone(),
                crate::text::rfc3339(t.created_at),
                t.created_by.clone(),
                time(&t.expires_at),
                time(&t.revoked_at),
            ]
        })
        .collect();
    if rows.is_empty() {
        eprintln!("No management tokens on this cluster yet.");
    }
    output::print_stdout(&output::table(
        &[
            "ID",
            "DESCRIPTION",
            "PREFIX",
            "CREATED AT",
            "CREATED BY",
            "EXPIRES AT",
            "REVOKED AT",
        ],
        &rows,
    ))
}

pub async fn revoke(ctx: &Context, args: RevokeArgs) -> anyhow::Result<()> {
    let (cfg, http) = super::cluster_context(ctx)?;
    if !args.force {
        confirm(&args.ids)?;
    }
    let s = credential(ctx, &cfg, &http, &args.device, false).await?;
    let client = s.client()?;
    let mut failed: Vec<(String, anyhow::Error)> = Vec::new();
    for id in &args.ids {
        match client.revoke(&s.cred, id).await {
            Ok(t) => eprintln!(
                "Revoked {} ({}) at {}.",
                t.id,
                t.description,
                time(&t.revoked_at)
            ),
            Err(e) => {
                let e = s.on_error(e);
                eprintln!("error: {id}: {e}");
                failed.push((id.clone(), e));
            }
        }
    }
    match failed.len() {
        0 => Ok(()),
        1 if args.ids.len() == 1 => Err(failed
            .pop()
            .map(|(_, e)| e)
            .unwrap_or_else(|| anyhow::anyhow!("failed"))),
        n => Err(anyhow::anyhow!(
            "{n} of {} revocations failed: {}",
            args.ids.len(),
            failed
                .iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Ask on the terminal; refuse without one (scripts must say --force).
fn confirm(ids: &[String]) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(ConfigError::Invalid {
            what: "confirmation".into(),
            source_name: "revoke".into(),
            message: "refusing to revoke without confirmation: no terminal to ask on".into(),
            hint: Some("pass --force to revoke from a script".into()),
        }
        .into());
    }
    eprint!(
        "Revoke {} management token{} ({})? Anything using {} will stop working. [y/N] ",
        ids.len(),
        if ids.len() == 1 { "" } else { "s" },
        ids.join(", "),
        if ids.len() == 1 { "it" } else { "them" }
    );
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            what: "confirmation".into(),
            source_name: "revoke".into(),
            message: "not confirmed; nothing was revoked".into(),
            hint: None,
        }
        .into())
    }
}
