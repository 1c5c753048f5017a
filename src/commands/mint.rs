//! `mint`: check everything → log in → create → store → verify. The pipeline
//! itself lives in [`crate::provision`]; this file turns flags into a plan.
use super::{Context, store_options};
use crate::cli::{Format, MintArgs, OnStoreFailure};
use crate::cluster::documented::{self, DocumentedClient, NewDatabase};
use crate::cluster::probe::Need;
use crate::cluster::{ClusterClient, ManagementToken, expiry};
use crate::error::{AuthError, ClusterError, ConfigError};
use crate::provision::{self, DatabaseTokens, Held, OnNoStore, Plan};
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
        record: None,
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
    // One run at a time per store (a second one waits, then names the first).
    let _locks = provision::lock_stores(&ctx.env, &ctx.printer, &plan.stores).await?;
    if !args.read_databases.is_empty() || !args.write_databases.is_empty() {
        return database_token(ctx, &args, plan, min_remaining).await;
    }
    if args.create_database {
        return Err(ConfigError::usage(
            "--create-database",
            "creates the databases of a database token, and none was asked for",
            "add --read-database DB and/or --write-database DB",
        )
        .into());
    }
    let (cfg, http) = super::cluster_context(ctx)?;
    if cfg.uses_influxctl() {
        return influxctl_token(ctx, &args, plan, min_remaining, &cfg, &http).await;
    }
    let client = ClusterClient::new(&cfg.profile, &http)?;
    let p = ctx.pipeline(&client);
    plan.record = provision::recorder(
        &ctx.env,
        &ctx.printer,
        provision::management_ref(&cfg, client.base().as_str()),
    );

    if args.if_missing {
        // The stored token is about to be sent: a wrong host or a stock
        // cluster stops here, in plain words and without retries.
        crate::cluster::probe::check(&cfg.profile, &http, Need::ManagementTokens).await?;
        if let Some(done) = if_missing(ctx, &args, &mut plan, &p, &cfg, min_remaining).await? {
            return Ok(done);
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
    finish_rotation(ctx, &p, &args, &session.cred, &plan)
        .await
        .map_err(|e| session.on_error(e))?;

    // 3. Create, store, verify, summarise.
    provision::mint(&p, &plan, &session.cred)
        .await
        .map_err(|e| session.on_error(e))
}

/// `--if-missing` for a management token (either backend): is the first
/// store's token still good here? `Some(())` when it is (nothing to do).
/// If it is not, replacing it is the point, so existing files may be
/// overwritten. The stored token is only sent to the cluster it belongs to
/// ([`provision::check_bound`]).
async fn if_missing<A: provision::TokenApi>(
    ctx: &Context,
    args: &MintArgs,
    plan: &mut Plan,
    p: &provision::Pipeline<'_, A>,
    cfg: &crate::settings::Config,
    min_remaining: Duration,
) -> anyhow::Result<Option<()>> {
    let first = plan.stores[0].clone();
    let record = provision::record_of(&ctx.env, &ctx.printer, &first.to_string())?;
    let here = provision::management_ref(cfg, crate::cluster::base_url(&cfg.profile)?.as_str());
    let address = provision::profile_address(cfg);
    let bound = |tok: &crate::secret::Secret| {
        provision::check_bound(first.as_ref(), record.as_ref(), tok, &here, &address)
    };
    match provision::held_token(p, &plan.stores, min_remaining, bound).await? {
        Held::Fresh(t) => {
            unchanged(ctx, &first.to_string(), &t, plan.json)?;
            return Ok(Some(()));
        }
        Held::Replace(why) => {
            ctx.printer
                .status(format!("{first} {why}; minting a new one."));
            plan.stores = provision::spec_stores(&args.stores, &store_options(ctx, true))?;
        }
        Held::Missing => {}
    }
    Ok(None)
}

/// A management token on a stock cluster: the same pipeline over `influxctl`
/// (`management_backend = "influxctl"`). The credential is the profile's
/// management token, else influxctl logs the person in itself (no device
/// flow of ours).
async fn influxctl_token(
    ctx: &Context,
    args: &MintArgs,
    mut plan: Plan,
    min_remaining: Duration,
    cfg: &crate::settings::Config,
    http: &crate::http::HttpClient,
) -> anyhow::Result<()> {
    let person = cfg.profile.mgmt_token.is_none();
    let api = provision::influxctl_tokens(cfg, http, &ctx.printer, person).await?;
    let p = ctx.pipeline(&api);
    let base = crate::cluster::base_url(&cfg.profile)?;
    plan.record = provision::recorder(
        &ctx.env,
        &ctx.printer,
        provision::management_ref(cfg, base.as_str()),
    );
    if args.if_missing
        && let Some(done) = if_missing(ctx, args, &mut plan, &p, cfg, min_remaining).await?
    {
        return Ok(done);
    }
    provision::preflight(&plan.stores).await?;
    let cred = provision::influxctl_credential(cfg);
    // influxctl's own login, if a person is needed, before anything exists:
    // a signal while it waits just stops (and kills influxctl).
    tokio::select! {
        biased;
        _ = ctx.interrupt.wait() => return Err(AuthError::Interrupted.into()),
        r = provision::influxctl_login(&api, &cred) => r?,
    };
    finish_rotation(ctx, &p, args, &cred, &plan).await?;
    provision::mint(&p, &plan, &cred).await
}

/// `mint --read-database/--write-database`: the same pipeline, with the
/// documented API's database tokens.
async fn database_token(
    ctx: &Context,
    args: &MintArgs,
    mut plan: Plan,
    min_remaining: Duration,
) -> anyhow::Result<()> {
    let permissions = documented::permissions(&args.read_databases, &args.write_databases)?;
    let (cfg, http) = super::documented_context(ctx)?;
    let client = DocumentedClient::new(&cfg, &http)?;
    let api = DatabaseTokens {
        client: &client,
        permissions,
    };
    let p = ctx.pipeline(&api);
    let cluster = provision::documented_ref(&cfg, client.target());
    plan.record = provision::recorder(&ctx.env, &ctx.printer, cluster.clone());

    // --if-missing, the local half: is the first store's token the one we
    // recorded for this cluster? (The cluster is asked once we have a
    // credential.) A store holding anything else is replaced.
    let mut held = None;
    if args.if_missing {
        let store = plan.stores[0].to_string();
        if let Some(tok) = provision::read_first(&plan.stores).await? {
            let record = plan
                .record
                .as_ref()
                .and_then(|r| r.records.load(&store).ok().flatten())
                .filter(|r| r.describes(&tok) && r.cluster == cluster);
            match record {
                Some(r) => held = Some(r.token_id),
                None => ctx.printer.status(format!(
                    "{store} holds a token this tool did not record minting for this cluster; minting a new one."
                )),
            }
            plan.stores = provision::spec_stores(&args.stores, &store_options(ctx, true))?;
        }
    }
    provision::preflight(&plan.stores).await?;

    let mut ui = ctx.prompt(&args.device, plan.json);
    let session = tokio::select! {
        biased;
        _ = ctx.interrupt.wait() => return Err(AuthError::Interrupted.into()),
        s = provision::credential_for(&cfg, &http, &mut ui, Need::Documented) => s?,
    };
    drop(ui);
    let cred = &session.cred;
    finish_rotation(ctx, &p, args, cred, &plan)
        .await
        .map_err(|e| session.on_error(e))?;

    if let Some(id) = held {
        let held = provision::held_database_token(&p, cred, &id, min_remaining)
            .await
            .map_err(|e| session.on_error(e))?;
        match held {
            Held::Fresh(t) => return unchanged(ctx, &plan.stores[0].to_string(), &t, plan.json),
            Held::Replace(why) => ctx
                .printer
                .status(format!("{} {why}; minting a new one.", plan.stores[0])),
            Held::Missing => {}
        }
    }
    if args.create_database {
        create_databases(ctx, &client, cred, args)
            .await
            .map_err(|e| session.on_error(e))?;
    }
    provision::mint(&p, &plan, cred)
        .await
        .map_err(|e| session.on_error(e))
}

/// An earlier `rotate` of these stores that died half-way is finished or
/// rolled back before anything new is made (issue 11 item 8). A rotation of
/// the other kind of token is left to `rotate`.
async fn finish_rotation<A: provision::TokenApi>(
    ctx: &Context,
    p: &provision::Pipeline<'_, A>,
    args: &MintArgs,
    cred: &crate::cluster::Credential,
    plan: &provision::Plan,
) -> anyhow::Result<()> {
    // No state directory, no journal.
    let Some(here) = plan.record.as_ref().map(|r| &r.cluster) else {
        return Ok(());
    };
    // Recovery writes stores back: that is its purpose.
    let stores = provision::spec_stores(&args.stores, &store_options(ctx, true))?;
    let Some((records, j)) = provision::journal_for(&ctx.env, &ctx.printer, &stores)? else {
        return Ok(());
    };
    if j.kind != p.api.kind() {
        return Err(ConfigError::usage(
            "--store",
            format!(
                "a rotation of a {} in these stores was interrupted (old {}, new {})",
                j.kind.noun(),
                j.old_id,
                j.new_id.as_deref().unwrap_or("unknown")
            ),
            "finish it first with `influx-bootstrap rotate` and the same --store options",
        )
        .into());
    }
    provision::recover(p, &records, &j, &stores, Some(cred), here).await?;
    Ok(())
}

/// `--create-database`: every named database (not `*`), once each; one that
/// exists already (409) is fine.
async fn create_databases(
    ctx: &Context,
    client: &DocumentedClient<'_>,
    cred: &crate::cluster::Credential,
    args: &MintArgs,
) -> Result<(), ClusterError> {
    let mut names: Vec<&String> = args
        .read_databases
        .iter()
        .chain(&args.write_databases)
        .filter(|n| n.as_str() != "*")
        .collect();
    names.sort();
    names.dedup();
    for name in names {
        let db = NewDatabase {
            name: name.clone(),
            max_tables: None,
            max_columns_per_table: None,
            retention_period: None,
        };
        match client.create_database(cred, &db).await {
            Ok(_) => ctx
                .printer
                .status(format!("Created database {}.", crate::text::sanitize(name))),
            Err(ClusterError::AlreadyExists { .. }) => {
                tracing::info!("database {name} exists already")
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
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
    let what = if t.permissions.is_empty() {
        t.token_prefix.clone()
    } else {
        let ps: Vec<String> = t.permissions.iter().map(|p| p.to_string()).collect();
        crate::text::sanitize(&ps.join(" "))
    };
    ctx.printer.status(format!(
        "{store} already holds a working token ({}, {what}, expires {}); nothing to do.",
        t.id,
        expires.as_deref().unwrap_or("never")
    ));
    if json {
        let mut doc = serde_json::json!({
            "event": "unchanged", "id": t.id, "token_prefix": t.token_prefix,
            "expires_at": expires,
        });
        // A database token: its permissions, and no prefix (the documented
        // API shows none).
        if !t.permissions.is_empty() {
            doc["permissions"] = t.permissions.iter().map(|p| p.to_string()).collect();
            if let Some(o) = doc.as_object_mut() {
                o.remove("token_prefix");
            }
        }
        ctx.printer.json(&doc)?;
    }
    Ok(())
}
