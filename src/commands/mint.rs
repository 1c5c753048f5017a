//! `mint`: check everything → log in → create → store → verify. The pipeline
//! itself lives in [`crate::provision`]; this file turns flags into a plan.
use super::{Context, store_options};
use crate::cli::{Format, MintArgs, OnStoreFailure};
use crate::cluster::{ClusterClient, ManagementToken, expiry};
use crate::error::{AuthError, ConfigError};
use crate::provision::{self, Held, OnNoStore, Plan};
use chrono::Utc;
use std::time::Duration;

pub async fn run(ctx: &Context, args: MintArgs) -> anyhow::Result<()> {
    // 1. Everything checkable is checked before a token exists.
    let json = args.format.format == Format::Json;
    let min_remaining = parse_min_remaining(&args.min_remaining)?;
    let mut plan = Plan {
        description: expiry::check_description(&args.description)?,
        expires_at: expiry::parse_expiry(
            args.expiry.expires_at.as_deref(),
            args.expiry.expires_in.as_deref(),
            Utc::now(),
        )?,
        stores: provision::spec_stores(&args.stores, &store_options(ctx, args.force))?,
        on_no_store: match args.on_store_failure {
            OnStoreFailure::Revoke => OnNoStore::Revoke,
            OnStoreFailure::Print => OnNoStore::Print,
        },
        json,
    };
    if args.if_missing {
        expiry::check_if_missing_lifetime(plan.expires_at, Utc::now(), min_remaining)?;
    }
    if json && plan.stdout_taken() {
        return Err(ConfigError::usage(
            "--store stdout",
            "cannot be combined with --format json (stdout would hold both)",
            "use --format table, or another store",
        )
        .into());
    }
    let (cfg, http) = super::cluster_context(ctx)?;
    let client = ClusterClient::new(&cfg.profile, &http)?;
    let p = ctx.pipeline(&client);

    // --if-missing: is the first store's token still good here? If it is
    // not, replacing it is the point, so existing files may be overwritten.
    if args.if_missing {
        match provision::held_token(&p, &plan.stores, min_remaining).await? {
            Held::Fresh(t) => return unchanged(ctx, &plan.stores[0].to_string(), &t, json),
            Held::Replace(why) => {
                ctx.printer
                    .status(format!("{} {why}; minting a new one.", plan.stores[0]));
                plan.stores = provision::spec_stores(&args.stores, &store_options(ctx, true))?;
            }
            Held::Missing => {}
        }
    }
    provision::preflight(&plan.stores).await?;

    // 2. A credential (nothing exists yet, so an interrupt just stops).
    let mut ui = ctx.prompt(&args.device, json);
    let session = tokio::select! {
        biased;
        _ = ctx.interrupt.wait() => return Err(AuthError::Interrupted.into()),
        s = provision::credential(&cfg, &http, &mut ui) => s?,
    };
    drop(ui);

    // 3. Create, store, verify, summarise.
    provision::mint(&p, &plan, &session.cred)
        .await
        .map_err(|e| session.on_error(e))
}

fn parse_min_remaining(text: &str) -> Result<Duration, ConfigError> {
    humantime::parse_duration(text).map_err(|e| {
        ConfigError::usage(
            "--min-remaining",
            format!("`{text}`: {e}"),
            "write a duration such as 7d or 12h",
        )
    })
}

/// `--if-missing` and the first store's token is good: say so, change nothing.
fn unchanged(ctx: &Context, store: &str, t: &ManagementToken, json: bool) -> anyhow::Result<()> {
    let expires = t.expires_at.map(crate::text::rfc3339);
    ctx.printer.status(format!(
        "{store} already holds a working token ({}, {}, expires {}); nothing to do.",
        t.id,
        t.token_prefix,
        expires.as_deref().unwrap_or("never")
    ));
    if json {
        ctx.printer.json(&serde_json::json!({
            "event": "unchanged", "id": t.id, "token_prefix": t.token_prefix,
            "expires_at": expires,
        }))?;
    }
    Ok(())
}
