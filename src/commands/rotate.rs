//! `rotate`: replace the stored token. A management token rotates itself; a
//! database token is found through the record `mint` left in the state
//! directory (or `--id`) and rotated with the management credential. The
//! pipeline (and its rollback) lives in [`crate::provision::rotate`]; this
//! file reads the old token and turns flags into a plan.
use super::{Context, store_options};
use crate::cli::{Format, RotateArgs};
use crate::cluster::documented::DocumentedClient;
use crate::cluster::probe::Need;
use crate::cluster::{ClusterClient, expiry};
use crate::error::{AuthError, ConfigError};
use crate::provision::{self, DatabaseTokens, Recovered, RotatePlan, Stores};
use crate::secret::Secret;
use crate::state::{Journal, Record, Records, TokenKind};
use chrono::{DateTime, Utc};

pub async fn run(ctx: &Context, args: RotateArgs) -> anyhow::Result<()> {
    // Rotation overwrites the stores: that is its purpose.
    let stores = provision::spec_stores(&args.stores, &store_options(ctx, true))?;
    // On a rollback both the new and the old token would be printed, and a
    // token on stdout cannot be switched back: rotate only into stores it
    // can read back and restore.
    if stores.iter().any(|s| s.is_stdout()) {
        return Err(ConfigError::usage(
            "--store",
            "`stdout` cannot be a rotate store (a rollback would print a second token)",
            "rotate into a file:, env-file:, keyring: or influxctl: store",
        )
        .into());
    }
    let expires_at = expiry::parse_expiry(
        args.expiry.expires_at.as_deref(),
        args.expiry.expires_in.as_deref(),
        Utc::now(),
    )?;
    // One run at a time per store (a second one waits, then names the first).
    let _locks = provision::lock_stores(&ctx.env, &ctx.printer, &stores).await?;
    let first = stores[0].to_string();
    // An earlier rotation of these stores that died half-way is finished or
    // rolled back first: a management token's with the tokens in the stores,
    // a database token's once the management credential is in hand.
    let journal = provision::journal_for(&ctx.env, &ctx.printer, &stores)?;
    let record = provision::record_of(&ctx.env, &ctx.printer, &first)?;
    let database = record.as_ref().filter(|r| r.kind == TokenKind::Database);
    let db_journal = journal
        .as_ref()
        .filter(|(_, j)| j.kind == TokenKind::Database)
        .cloned();
    if args.id.is_some() || database.is_some() || db_journal.is_some() {
        let record = database.cloned();
        return database_token(ctx, &args, stores, record, expires_at, db_journal).await;
    }

    let (cfg, http) = super::cluster_context(ctx)?;
    let base = crate::cluster::base_url(&cfg.profile)?;
    if cfg.uses_influxctl() {
        // The old token authenticates influxctl: no person is needed.
        let api = provision::influxctl_tokens(&cfg, &http, &ctx.printer, false).await?;
        let p = ctx.pipeline(&api);
        return management_token(
            ctx, &args, &cfg, &http, &p, &base, stores, record, expires_at, journal,
        )
        .await;
    }
    let client = ClusterClient::new(&cfg.profile, &http)?;
    let p = ctx.pipeline(&client);
    management_token(
        ctx, &args, &cfg, &http, &p, &base, stores, record, expires_at, journal,
    )
    .await
}

/// A management token rotates itself, over our API or `influxctl`.
#[allow(clippy::too_many_arguments)]
async fn management_token<A: provision::TokenApi>(
    ctx: &Context,
    args: &RotateArgs,
    cfg: &crate::settings::Config,
    http: &crate::http::HttpClient,
    p: &provision::Pipeline<'_, A>,
    base: &url::Url,
    stores: Stores,
    record: Option<Record>,
    expires_at: Option<DateTime<Utc>>,
    journal: Option<(Records, Journal)>,
) -> anyhow::Result<()> {
    let json = args.format.format == Format::Json;
    let first = stores[0].to_string();
    if let Some((records, j)) = &journal
        && let Recovered::Finished(_) = provision::recover(
            p,
            records,
            j,
            &stores,
            None,
            &provision::management_ref(cfg, base.as_str()),
        )
        .await?
    {
        return Ok(());
    }
    let old = read_old(&stores).await?;
    // The documented API's tokens start `apiv1_`; only the record (or --id)
    // links one to its id.
    if old.expose().starts_with("apiv1_") {
        return Err(ConfigError::usage(
            "--store",
            format!("{first} holds a database token, and no record says which one (it was not minted here, or the state directory was cleared)"),
            "pass its id: `influx-bootstrap rotate --id ID --store ...` (see `influx-bootstrap token list`)",
        )
        .into());
    }
    // A stock cluster (no management-token API) stops here, before the
    // stored token is sent anywhere, unless influxctl makes the tokens; a
    // database token in the store was recognised above either way.
    if !cfg.uses_influxctl() {
        crate::cluster::probe::check(&cfg.profile, http, Need::ManagementTokens).await?;
    }
    // Only ever send the stored token to the cluster it belongs to.
    provision::check_bound(
        stores[0].as_ref(),
        record.as_ref(),
        &old,
        &provision::management_ref(cfg, base.as_str()),
        &provision::profile_address(cfg),
    )?;
    let Some(meta) = p.describe_held(&old).await? else {
        return Err(ConfigError::usage(
            "--store",
            format!("the token in {first} no longer works on this cluster (revoked, expired, or another cluster)"),
            "mint a new one with `influx-bootstrap mint --force --store ...`; for a database token minted without a record, pass --id ID",
        )
        .into());
    };
    provision::preflight(&stores).await?;
    let plan = RotatePlan {
        cred: provision::management_credential(&old),
        old,
        meta,
        stores,
        expires_at,
        keep_old: args.keep_old,
        json,
        record: provision::recorder(
            &ctx.env,
            &ctx.printer,
            provision::management_ref(cfg, base.as_str()),
        ),
    };
    provision::rotate(p, &plan).await
}

async fn read_old(stores: &Stores) -> anyhow::Result<Secret> {
    let first = stores[0].to_string();
    Ok(provision::read_first(stores).await?.ok_or_else(|| {
        ConfigError::usage(
            "--store",
            format!("{first} holds no token to rotate"),
            "create one first with `influx-bootstrap mint --store ...`",
        )
    })?)
}

/// A database token: the record (or `--id`) names it, the management
/// credential (profile `mgmt_token` / `INFLUX_BOOTSTRAP_MGMT_TOKEN`, else the
/// session) reads it back and makes its successor with the same description
/// and permissions.
async fn database_token(
    ctx: &Context,
    args: &RotateArgs,
    stores: Stores,
    record: Option<Record>,
    expires_at: Option<DateTime<Utc>>,
    journal: Option<(Records, Journal)>,
) -> anyhow::Result<()> {
    let json = args.format.format == Format::Json;
    let first = stores[0].to_string();
    let (cfg, http) = super::documented_context(ctx)?;
    let client = DocumentedClient::new(&cfg, &http)?;
    let cluster = provision::documented_ref(&cfg, client.target());
    let mut ui = ctx.prompt(&args.device, json);
    let session = tokio::select! {
        biased;
        _ = ctx.interrupt.wait() => return Err(AuthError::Interrupted.into()),
        s = provision::credential_for(&cfg, &http, &mut ui, Need::Documented) => s?,
    };
    drop(ui);
    if let Some((records, j)) = &journal {
        let api = DatabaseTokens {
            client: &client,
            permissions: j.permissions.clone(),
        };
        let p = ctx.pipeline(&api);
        let done = provision::recover(&p, records, j, &stores, Some(&session.cred), &cluster)
            .await
            .map_err(|e| session.on_error(e))?;
        if let Recovered::Finished(_) = done {
            return Ok(());
        }
    }
    let old = read_old(&stores).await?;
    let id = match (&args.id, &record) {
        (Some(id), _) => id.clone(),
        (None, Some(r)) if !r.describes(&old) => {
            return Err(ConfigError::usage(
                "--store",
                format!(
                    "{first} no longer holds the token recorded for it ({}); it was changed by something else",
                    r.token_id
                ),
                "pass the id of the token it holds with --id ID (see `influx-bootstrap token list`)",
            )
            .into());
        }
        (None, Some(r)) if r.cluster != cluster => {
            return Err(ConfigError::usage(
                "--store",
                format!(
                    "the token in {first} belongs to {} , not to this profile's cluster",
                    r.cluster.api_base
                ),
                "use the profile of that cluster (--profile NAME)",
            )
            .into());
        }
        (None, Some(r)) => r.token_id.clone(),
        (None, None) => {
            return Err(ConfigError::usage(
                "--store",
                format!("{first} holds a database token, and no record says which one"),
                "pass its id: `influx-bootstrap rotate --id ID --store ...` (see `influx-bootstrap token list`)",
            )
            .into());
        }
    };
    let meta = client
        .get_token(&session.cred, &id)
        .await
        .map_err(|e| session.on_error(e))?;
    if meta.revoked_at.is_some() {
        return Err(ConfigError::usage(
            "--store",
            format!("the database token {id} held by {first} was revoked"),
            "mint a new one with `influx-bootstrap mint --force --write-database DB ... --store ...`",
        )
        .into());
    }
    let api = DatabaseTokens {
        client: &client,
        permissions: meta.permissions.clone(),
    };
    let p = ctx.pipeline(&api);
    provision::preflight(&stores).await?;
    let plan = RotatePlan {
        old,
        meta: provision::database_token_meta(meta),
        stores,
        expires_at,
        keep_old: args.keep_old,
        json,
        cred: session.cred.clone(),
        record: provision::recorder(&ctx.env, &ctx.printer, cluster),
    };
    provision::rotate(&p, &plan)
        .await
        .map_err(|e| session.on_error(e))
}
