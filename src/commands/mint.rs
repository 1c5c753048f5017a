//! `mint`: flags → one [`provision::MintPlan`] → [`provision::run_mint`].
use super::{Context, store_options};
use crate::cli::{Format, MintArgs, OnStoreFailure};
use crate::cluster::{documented, expiry};
use crate::error::ConfigError;
use crate::provision::{self, MintPlan, OnNoStore, Plan, Want};
use chrono::Utc;

pub async fn run(ctx: &Context, args: MintArgs) -> anyhow::Result<()> {
    let mp = plan(ctx, &args)?;
    let (cfg, http) = super::configured(ctx)?;
    let mut ui = ctx.prompt(&args.device, mp.plan.json);
    provision::run_mint(&ctx.io(), &cfg, &http, &mut ui, mp).await
}

/// Everything checkable, checked before a token exists (nothing on the
/// network yet).
fn plan(ctx: &Context, args: &MintArgs) -> anyhow::Result<MintPlan> {
    let json = args.format.format == Format::Json;
    let min_remaining = expiry::parse_window("--min-remaining", &args.min_remaining)?;
    let plan = Plan {
        description: expiry::check_description(&args.description)?,
        expires_at: super::expires_at(&args.expiry)?,
        stores: provision::spec_stores(&args.stores, &store_options(ctx, args.force))?,
        on_no_store: match args.on_store_failure {
            OnStoreFailure::Revoke => OnNoStore::Revoke,
            OnStoreFailure::Print => OnNoStore::Print,
        },
        json,
        record: None,
        ready_timeout: if args.no_wait {
            None
        } else {
            Some(provision::ready_timeout(&ctx.env)?)
        },
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
    let database = !args.read_databases.is_empty() || !args.write_databases.is_empty();
    if args.create_database && !database {
        return Err(ConfigError::usage(
            "--create-database",
            "creates the databases of a database token, and none was asked for",
            "add --read-database DB and/or --write-database DB",
        )
        .into());
    }
    let want = if database {
        Want::Database(documented::permissions(
            &args.read_databases,
            &args.write_databases,
        )?)
    } else {
        Want::Management
    };
    let mut create_databases: Vec<String> = Vec::new();
    if args.create_database {
        create_databases = args
            .read_databases
            .iter()
            .chain(&args.write_databases)
            .filter(|n| n.as_str() != "*")
            .cloned()
            .collect();
        create_databases.sort();
        create_databases.dedup();
    }
    Ok(MintPlan {
        plan,
        want,
        if_missing: args.if_missing.then_some(min_remaining),
        // Replacing what --if-missing found wanting, or finishing an
        // interrupted rotation, overwrites: that is the purpose.
        overwrite: provision::spec_stores(&args.stores, &store_options(ctx, true))?,
        create_databases,
    })
}
