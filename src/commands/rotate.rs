//! `rotate`: replace the stored token using the token itself. The pipeline
//! (and its rollback) lives in [`crate::provision::rotate`]; this file reads
//! the old token and turns flags into a plan.
use super::{Context, store_options};
use crate::cli::{Format, RotateArgs};
use crate::cluster::{ClusterClient, expiry};
use crate::error::ConfigError;
use crate::provision::{self, RotatePlan};
use chrono::Utc;

pub async fn run(ctx: &Context, args: RotateArgs) -> anyhow::Result<()> {
    let json = args.format.format == Format::Json;
    // Rotation overwrites the stores: that is its purpose.
    let stores = provision::spec_stores(&args.stores, &store_options(ctx, true))?;
    if json && stores.iter().any(|s| s.is_stdout()) {
        return Err(ConfigError::usage(
            "--store",
            "`stdout` cannot be combined with --format json",
            "use --format table",
        )
        .into());
    }
    let expires_at = expiry::parse_expiry(
        args.expiry.expires_at.as_deref(),
        args.expiry.expires_in.as_deref(),
        Utc::now(),
    )?;
    let (cfg, http) = super::cluster_context(ctx)?;
    crate::cluster::probe::check(
        &cfg.profile,
        &http,
        crate::cluster::probe::Need::ManagementTokens,
    )
    .await?;
    let client = ClusterClient::new(&cfg.profile, &http)?;
    let p = ctx.pipeline(&client);

    let first = stores[0].to_string();
    let old = provision::read_first(&stores).await?.ok_or_else(|| {
        ConfigError::usage(
            "--store",
            format!("{first} holds no token to rotate"),
            "create one first with `influx-bootstrap mint --store ...`",
        )
    })?;
    let Some(meta) = p.describe_held(&old).await? else {
        return Err(ConfigError::usage(
            "--store",
            format!("the token in {first} no longer works on this cluster (revoked, expired, or another cluster)"),
            "mint a new one with `influx-bootstrap mint --force --store ...`",
        )
        .into());
    };
    provision::preflight(&stores).await?;
    let plan = RotatePlan {
        old,
        meta,
        stores,
        expires_at,
        keep_old: args.keep_old,
        json,
    };
    provision::rotate(&p, &plan).await
}
