//! `mint`: session → create → store → verify, never losing or orphaning a token.
use super::management::{Session, credential};
use super::{Context, store_options};
use crate::cli::{Format, MintArgs, OnStoreFailure};
use crate::cluster::{
    ClusterClient, CreatedToken, Credential, CredentialKind, ManagementToken, expiry,
};
use crate::error::{ClusterError, ConfigError, MintError};
use crate::output;
use crate::secret::Secret;
use crate::store::{StoreOptions, StoreSpec};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::io::IsTerminal;
use std::time::Duration;

/// How long cleanup (revoking an unstored token) may take on the way out.
pub const CLEANUP_BUDGET: Duration = Duration::from_secs(10);

#[derive(Debug, Serialize, Clone)]
pub struct StoreResult {
    pub store: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub event: &'static str,
    pub id: String,
    pub description: String,
    pub token_prefix: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub stores: Vec<StoreResult>,
    pub verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_old: Option<String>,
}

pub fn parse_stores(specs: &[String]) -> anyhow::Result<Vec<StoreSpec>> {
    let stores: Vec<StoreSpec> = specs
        .iter()
        .map(|s| s.parse::<StoreSpec>())
        .collect::<Result<_, _>>()?;
    Ok(stores)
}

/// Write the token to every store, in order, each reporting separately.
pub async fn write_stores(
    stores: &[StoreSpec],
    token: &Secret,
    opts: &StoreOptions,
    ctx: &Context,
) -> (Vec<StoreResult>, bool) {
    let mut results = Vec::new();
    let mut interrupted = false;
    for s in stores {
        if ctx.interrupt.is_set() {
            interrupted = true;
            results.push(StoreResult {
                store: s.to_string(),
                ok: false,
                detail: "skipped (interrupted)".into(),
            });
            continue;
        }
        let (spec, tok, o) = (s.clone(), token.clone(), opts.clone());
        let r = tokio::task::spawn_blocking(move || spec.write(&tok, &o)).await;
        let (ok, detail) = match r {
            Ok(Ok(outcome)) => (true, outcome.to_string()),
            Ok(Err(e)) => {
                use crate::error::Classify;
                let hint = e
                    .hint()
                    .map(|h| format!(" (hint: {h})"))
                    .unwrap_or_default();
                (false, format!("{e}{hint}"))
            }
            Err(e) => (false, format!("store task failed: {e}")),
        };
        if ok {
            eprintln!("✓ {s}: {detail}");
        } else {
            eprintln!("✗ {s}: {detail}");
        }
        results.push(StoreResult {
            store: s.to_string(),
            ok,
            detail,
        });
    }
    // A signal that arrived while the last store was running counts too.
    (results, interrupted || ctx.interrupt.is_set())
}

/// Revoke a token we created but could not keep; bounded, best effort.
pub async fn revoke_unstored(
    client: &ClusterClient<'_>,
    creds: &[&Credential],
    id: &str,
) -> String {
    for cred in creds {
        let r = tokio::time::timeout(CLEANUP_BUDGET, client.revoke(cred, id)).await;
        match r {
            Ok(Ok(_)) => return format!("it was revoked on the cluster (id {id})"),
            Ok(Err(ClusterError::NotFound { .. })) => {
                return format!("it does not exist on the cluster (id {id})");
            }
            Ok(Err(e)) => tracing::info!("revoking {id} failed: {e}"),
            Err(_) => tracing::info!("revoking {id} timed out"),
        }
    }
    format!(
        "revoking it FAILED; run `influx-bootstrap management revoke {id} --force` when the cluster is reachable"
    )
}

/// Create a token under a fresh `Idempotency-Key`. If a signal arrives while
/// the request is in flight, the token may or may not exist: replaying the
/// same key (bounded) tells us, or creates it, and it is revoked. The outer
/// `Err` is that interruption, already cleaned up, with what happened.
pub async fn create_guarded(
    ctx: &Context,
    client: &ClusterClient<'_>,
    cred: &Credential,
    description: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<Result<CreatedToken, ClusterError>, String> {
    let key = uuid::Uuid::new_v4().to_string();
    tokio::select! {
        biased;
        r = client.create(cred, description, expires_at, &key) => Ok(r),
        _ = ctx.interrupt.wait() => {
            let replay = client.create(cred, description, expires_at, &key);
            Err(match tokio::time::timeout(CLEANUP_BUDGET, replay).await {
                Ok(Ok(c)) => {
                    let own = Credential {
                        token: c.access_token.clone(),
                        kind: CredentialKind::ManagementToken,
                    };
                    revoke_unstored(client, &[cred, &own], &c.token.id).await
                }
                _ => "could not confirm whether a token was created".into(),
            })
        }
    }
}

/// Check the new token by using it: it must authenticate and describe itself
/// as we asked.
pub async fn verify(
    client: &ClusterClient<'_>,
    created: &CreatedToken,
    description: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(), MintError> {
    let cred = Credential {
        token: created.access_token.clone(),
        kind: CredentialKind::ManagementToken,
    };
    let fail = |message: String| MintError::Verify {
        id: created.token.id.clone(),
        message,
    };
    let t = client
        .get(&cred, &created.token.id)
        .await
        .map_err(|e| fail(e.to_string()))?;
    if t.description != description {
        return Err(fail(format!(
            "the cluster reports description {:?}, expected {:?}",
            t.description, description
        )));
    }
    let same = match (t.expires_at, expires_at) {
        (Some(a), Some(b)) => (a - b).num_seconds().abs() <= 1,
        (None, None) => true,
        _ => false,
    };
    if !same {
        return Err(fail(format!(
            "the cluster reports expiry {:?}, expected {:?}",
            t.expires_at.map(crate::text::rfc3339),
            expires_at.map(crate::text::rfc3339)
        )));
    }
    if t.revoked_at.is_some() {
        return Err(fail("the cluster reports it as revoked".into()));
    }
    Ok(())
}

/// The metadata of the token a store holds, found by using it: `None` when
/// it no longer authenticates.
pub async fn describe_held(
    client: &ClusterClient<'_>,
    token: &Secret,
) -> Result<Option<ManagementToken>, ClusterError> {
    let cred = Credential {
        token: token.clone(),
        kind: CredentialKind::ManagementToken,
    };
    match client.list(&cred).await {
        Ok(all) => {
            let mut mine: Vec<ManagementToken> = all
                .into_iter()
                .filter(|t| t.revoked_at.is_none() && token.expose().starts_with(&t.token_prefix))
                .collect();
            // Prefixes are short; with a collision take the longest match.
            mine.sort_by_key(|t| std::cmp::Reverse(t.token_prefix.len()));
            Ok(mine.into_iter().next())
        }
        Err(ClusterError::Unauthorized { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn summary(created: &CreatedToken, stores: Vec<StoreResult>, verified: bool) -> Summary {
    Summary {
        event: "minted",
        id: created.token.id.clone(),
        description: created.token.description.clone(),
        token_prefix: created.token.token_prefix.clone(),
        created_at: crate::text::rfc3339(created.token.created_at),
        expires_at: created.token.expires_at.map(crate::text::rfc3339),
        stores,
        verified,
        revoked_old: None,
    }
}

/// The summary goes to stdout unless a store is `stdout` (then stdout holds
/// only the token, and the summary goes to stderr).
pub fn print_summary(s: &Summary, format: Format, stdout_taken: bool) -> anyhow::Result<()> {
    if format == Format::Json {
        return output::json_line(s);
    }
    let mut rows = vec![
        vec!["ID".into(), s.id.clone()],
        vec!["DESCRIPTION".into(), s.description.clone()],
        vec!["PREFIX".into(), s.token_prefix.clone()],
        vec![
            "EXPIRES AT".into(),
            s.expires_at.clone().unwrap_or_else(|| "never".into()),
        ],
        vec![
            "VERIFIED".into(),
            if s.verified {
                "yes".into()
            } else {
                "no".into()
            },
        ],
    ];
    if let Some(old) = &s.revoked_old {
        rows.push(vec!["OLD TOKEN".into(), old.clone()]);
    }
    for r in &s.stores {
        rows.push(vec![
            format!("STORE {}", r.store),
            if r.ok {
                format!("ok: {}", r.detail)
            } else {
                format!("FAILED: {}", r.detail)
            },
        ]);
    }
    let text = output::table(&["FIELD", "VALUE"], &rows);
    if stdout_taken {
        eprint!("{text}");
        Ok(())
    } else {
        output::print_stdout(&text)
    }
}

enum Held {
    /// Works here and lives long enough.
    Fresh(ManagementToken),
    /// Present but unusable or expiring: the reason.
    Replace(String),
    Missing,
}

async fn held_token(
    ctx: &Context,
    client: &ClusterClient<'_>,
    store: &StoreSpec,
    min_remaining: Duration,
) -> anyhow::Result<Held> {
    let (spec, opts) = (store.clone(), store_options(ctx, false));
    let Some(tok) = tokio::task::spawn_blocking(move || spec.read(&opts)).await?? else {
        return Ok(Held::Missing);
    };
    let Some(t) = describe_held(client, &tok).await? else {
        return Ok(Held::Replace(
            "holds a token that no longer works on this cluster".into(),
        ));
    };
    let left = t
        .expires_at
        .map(|e| (e - Utc::now()).to_std().unwrap_or_default());
    if left.is_some_and(|l| l < min_remaining) {
        return Ok(Held::Replace(format!(
            "holds token {} but it expires within {}",
            t.id,
            humantime::format_duration(min_remaining)
        )));
    }
    Ok(Held::Fresh(t))
}

pub async fn run(ctx: &Context, args: MintArgs) -> anyhow::Result<()> {
    // 1. Everything checkable is checked before a token exists.
    let description = expiry::check_description(&args.description)?;
    let expires_at = expiry::parse_expiry(
        args.expiry.expires_at.as_deref(),
        args.expiry.expires_in.as_deref(),
        Utc::now(),
    )?;
    let stores = parse_stores(&args.stores)?;
    let json = args.format.format == Format::Json;
    let stdout_taken = stores.iter().any(|s| matches!(s, StoreSpec::Stdout));
    if json && stdout_taken {
        return Err(ConfigError::Invalid {
            what: "--store stdout".into(),
            source_name: "command line".into(),
            message: "cannot be combined with --format json (stdout would hold both)".into(),
            hint: Some("use --format table, or another store".into()),
        }
        .into());
    }
    let min_remaining =
        humantime::parse_duration(&args.min_remaining).map_err(|e| ConfigError::Invalid {
            what: "--min-remaining".into(),
            source_name: "command line".into(),
            message: format!("`{}`: {e}", args.min_remaining),
            hint: Some("write a duration such as 7d or 12h".into()),
        })?;
    let (cfg, http) = super::cluster_context(ctx)?;
    let client = ClusterClient::new(&cfg.profile, &http)?;

    // --if-missing: is the first store's token still good here? If it is
    // not, replacing it is the point, so existing files may be overwritten.
    let mut force = args.force;
    if args.if_missing {
        match held_token(ctx, &client, &stores[0], min_remaining).await? {
            Held::Fresh(t) => {
                eprintln!(
                    "{} already holds a working token ({}, {}, expires {}); nothing to do.",
                    stores[0],
                    t.id,
                    t.token_prefix,
                    t.expires_at.map_or("never".into(), crate::text::rfc3339)
                );
                if json {
                    output::json_line(&serde_json::json!({
                        "event": "unchanged", "id": t.id, "tokenPrefix": t.token_prefix,
                        "expiresAt": t.expires_at.map(crate::text::rfc3339),
                    }))?;
                }
                return Ok(());
            }
            Held::Replace(why) => {
                eprintln!("{} {why}; minting a new one.", stores[0]);
                force = true;
            }
            Held::Missing => {}
        }
    }

    let opts = store_options(ctx, force);
    for s in &stores {
        let (spec, o) = (s.clone(), opts.clone());
        tokio::task::spawn_blocking(move || spec.check(&o)).await??;
    }

    // 2. A session (nothing exists yet, so an interrupt just stops).
    let session: Session = tokio::select! {
        biased;
        _ = ctx.interrupt.wait() => return Err(crate::error::AuthError::Interrupted.into()),
        s = credential(ctx, &cfg, &http, &args.device, json) => s?,
    };

    // 3. Create, with one Idempotency-Key for every retry.
    let created = create_guarded(ctx, &client, &session.cred, &description, expires_at)
        .await
        .map_err(|what| MintError::Interrupted {
            what: format!("no token was stored: {what}"),
        })?
        .map_err(|e| session.on_error(e))?;
    let own = Credential {
        token: created.access_token.clone(),
        kind: CredentialKind::ManagementToken,
    };
    let cleanup_creds = [&session.cred, &own];
    if ctx.interrupt.is_set() {
        let what = revoke_unstored(&client, &cleanup_creds, &created.token.id).await;
        return Err(MintError::Interrupted {
            what: format!("the new token was not stored: {what}"),
        }
        .into());
    }
    eprintln!(
        "Created management token {} ({}).",
        created.token.id, created.token.token_prefix
    );

    // 4. Store it everywhere.
    let (results, interrupted) = write_stores(&stores, &created.access_token, &opts, ctx).await;
    let ok = results.iter().filter(|r| r.ok).count();
    if ok == 0 {
        let what = match args.on_store_failure {
            OnStoreFailure::Print if std::io::stderr().is_terminal() && !interrupted => {
                eprintln!(
                    "\nNo store took the token. Here it is — save it now, it is not shown again:\n\n    {}\n",
                    created.access_token.expose()
                );
                "it was printed on the terminal (--on-store-failure print)".to_string()
            }
            policy => {
                if policy == OnStoreFailure::Print {
                    eprintln!(
                        "note: --on-store-failure print needs a terminal on stderr; revoking instead"
                    );
                }
                revoke_unstored(&client, &cleanup_creds, &created.token.id).await
            }
        };
        if interrupted {
            return Err(MintError::Interrupted {
                what: format!("no store took the new token: {what}"),
            }
            .into());
        }
        let s = summary(&created, results, false);
        let _ = print_summary(&s, args.format.format, true);
        return Err(MintError::NoStore {
            id: created.token.id.clone(),
            what,
        }
        .into());
    }

    // 5. Verify with the new token itself.
    let verified = tokio::select! {
        biased;
        _ = ctx.interrupt.wait() => None,
        v = verify(&client, &created, &description, expires_at) => Some(v),
    };
    let s = summary(&created, results.clone(), matches!(verified, Some(Ok(()))));
    print_summary(&s, args.format.format, stdout_taken)?;
    match verified {
        None => Err(MintError::Interrupted {
            what: format!(
                "the token {} is stored but was not verified",
                created.token.id
            ),
        }
        .into()),
        Some(Err(e)) => Err(e.into()),
        Some(Ok(())) if interrupted || ok < results.len() => {
            if interrupted {
                return Err(MintError::Interrupted {
                    what: format!(
                        "the token {} was stored in {ok} of {} stores",
                        created.token.id,
                        results.len()
                    ),
                }
                .into());
            }
            Err(MintError::SomeStoresFailed {
                failed: results.len() - ok,
                total: results.len(),
                id: created.token.id.clone(),
            }
            .into())
        }
        Some(Ok(())) => Ok(()),
    }
}
