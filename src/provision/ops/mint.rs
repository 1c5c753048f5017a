//! `mint`: check everything → log in → create → store → verify, for any
//! backend (the plan says what is wanted; the profile says which backend).
use super::Io;
use crate::auth::LoginUi;
use crate::cluster::Credential;
use crate::cluster::documented::NewDatabase;
use crate::error::{ClusterError, ConfigError};
use crate::http::HttpClient;
use crate::provision::{self, Backend, Held, Pipeline, Plan, Stores, TokenApi, Want};
use crate::settings::Config;
use std::time::Duration;

/// Everything `mint` was asked, checked (nothing on the network yet).
pub struct MintPlan {
    pub plan: Plan,
    pub want: Want,
    /// `--if-missing`: keep the first store's token when it works here for
    /// at least this long.
    pub if_missing: Option<Duration>,
    /// The same stores, allowed to overwrite what they hold (replacing a
    /// token `--if-missing` found wanting, finishing a rotation).
    pub overwrite: Stores,
    /// `--create-database`: these databases (not `*`), each once.
    pub create_databases: Vec<String>,
}

/// The whole `mint`. The stores are pre-flighted and the cluster probed
/// before anyone is asked to log in; the token is created only once a
/// credential is in hand.
pub async fn run_mint(
    io: &Io<'_>,
    cfg: &Config,
    http: &HttpClient,
    ui: &mut dyn LoginUi,
    mut mp: MintPlan,
) -> anyhow::Result<()> {
    // One run at a time per store (a second one waits, then names the first).
    let _locks = provision::lock_stores(io.env, io.printer, &mp.plan.stores).await?;
    let backend = Backend::choose(cfg, http, mp.want.clone(), true).await?;
    let here = backend.cluster_ref()?;
    mp.plan.record = provision::recorder(io.env, io.printer, here.clone());
    let p = io.pipeline(&backend);

    // An earlier rotation of these stores that died half-way.
    let journal = provision::journal_for(io.env, io.printer, &mp.overwrite)?;
    // --if-missing, what can be known before logging in.
    let mut held_id = None;
    if let Some(min) = mp.if_missing {
        match if_missing(io, &backend, &p, &mp.plan, &here, min).await? {
            Before::Done => return retire(io, &p, &mp.overwrite, None).await,
            Before::Replace => mp.plan.stores = mp.overwrite.clone(),
            Before::Check(id) => {
                // The recorded token's own read stands in for the probe
                // when nothing is sent before it (issue 21).
                let quiet = journal.is_none() && !provision::has_pending(io.env, &mp.overwrite)?;
                backend.defer_probe(id.is_some() && quiet);
                held_id = id;
                mp.plan.stores = mp.overwrite.clone();
            }
            Before::Mint => {}
        }
    }
    provision::preflight(&mp.plan.stores).await?;

    let session = backend.credential(ui, io.interrupt).await?;
    let cred = &session.cred;
    let work = async {
        finish_rotation(&p, journal, &mp.overwrite, cred, &here).await?;
        retire(io, &p, &mp.overwrite, Some(cred)).await?;
        if let Some(id) = &held_id
            && let Some(min) = mp.if_missing
        {
            let first = mp.plan.stores[0].to_string();
            match provision::held_database_token(&p, cred, id, min).await? {
                Held::Fresh(t) => return io.reporter.unchanged(&first, &t, mp.plan.json),
                Held::Replace(why) => io
                    .printer
                    .status(format!("{first} {why}; minting a new one.")),
                Held::Missing => {}
            }
        }
        create_databases(io, &backend, cred, &mp.create_databases).await?;
        provision::mint(&p, &mp.plan, cred).await
    };
    work.await.map_err(|e| session.on_error(e))
}

/// Old tokens a `rotate --grace` of these stores left pending are revoked
/// by every later run, `mint` included (issue 17), once their grace has
/// passed and the first store holds their successor. `cred` defaults to the
/// stored (management) token itself. A store that cannot be read back just
/// means there is nothing to compare with.
async fn retire<A: TokenApi>(
    io: &Io<'_>,
    p: &Pipeline<'_, A>,
    stores: &Stores,
    cred: Option<&Credential>,
) -> anyhow::Result<()> {
    if !provision::has_pending(io.env, stores)? {
        return Ok(());
    }
    let Ok(Some(held)) = provision::read_first(stores).await else {
        return Ok(());
    };
    let own;
    let cred = match cred {
        Some(c) => c,
        None => {
            own = provision::management_credential(&held);
            &own
        }
    };
    provision::retire_pending(p, io.env, stores, &held, cred).await
}

/// What `--if-missing` decided before a login.
enum Before {
    /// The first store's token works here: nothing to do (reported).
    Done,
    /// Replace it (or it holds none of ours): mint into the stores.
    Replace,
    /// A database token we recorded: check it with the credential.
    Check(Option<String>),
    /// The store is empty.
    Mint,
}

async fn if_missing<A: TokenApi>(
    io: &Io<'_>,
    backend: &Backend<'_>,
    p: &Pipeline<'_, A>,
    plan: &Plan,
    here: &crate::state::ClusterRef,
    min_remaining: Duration,
) -> anyhow::Result<Before> {
    let first = plan.stores[0].clone();
    let record = provision::record_of(io.env, io.printer, &first.to_string())?;
    if backend.kind() == crate::state::TokenKind::Database {
        // The local half: is the first store's token the one we recorded
        // for this cluster? The cluster is asked once we have a credential.
        let Some(tok) = provision::read_first(&plan.stores).await? else {
            return Ok(Before::Mint);
        };
        return Ok(
            match record.filter(|r| r.describes(&tok) && r.cluster == *here) {
                Some(r) => Before::Check(Some(r.token_id)),
                None => {
                    io.printer.status(format!(
                        "{first} holds a token this tool did not record minting for this cluster; minting a new one."
                    ));
                    Before::Replace
                }
            },
        );
    }
    // The stored token is about to be sent: a wrong host or a stock
    // cluster stops here, in plain words and without retries; and it is
    // only ever sent to the cluster it belongs to. A store recorded as
    // minted on this cluster lets its read stand in for the probe: one
    // request when there is nothing to do (issue 21).
    let cfg = backend.cfg();
    backend
        .probe_or_defer(record.as_ref().is_some_and(|r| r.cluster == *here))
        .await?;
    let address = provision::profile_address(cfg);
    let bound = |tok: &crate::secret::Secret| {
        provision::check_bound(first.as_ref(), record.as_ref(), tok, here, &address)
    };
    Ok(
        match provision::held_token(p, &plan.stores, min_remaining, record.as_ref(), bound).await? {
            Held::Fresh(t) => {
                io.reporter.unchanged(&first.to_string(), &t, plan.json)?;
                Before::Done
            }
            Held::Replace(why) => {
                io.printer
                    .status(format!("{first} {why}; minting a new one."));
                Before::Replace
            }
            Held::Missing => Before::Mint,
        },
    )
}

/// An earlier `rotate` of these stores that died half-way is finished or
/// rolled back before anything new is made (issue 11 item 8). A rotation of
/// the other kind of token is left to `rotate`.
async fn finish_rotation<A: TokenApi>(
    p: &Pipeline<'_, A>,
    journal: Option<(crate::state::Records, crate::state::Journal)>,
    stores: &Stores,
    cred: &Credential,
    here: &crate::state::ClusterRef,
) -> anyhow::Result<()> {
    let Some((records, j)) = journal else {
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
    provision::recover(p, &records, &j, stores, Some(cred), here).await?;
    Ok(())
}

/// `--create-database`: every named database once; one that exists already
/// (409) is fine.
async fn create_databases(
    io: &Io<'_>,
    backend: &Backend<'_>,
    cred: &Credential,
    names: &[String],
) -> Result<(), ClusterError> {
    let Some(client) = backend.documented() else {
        return Ok(());
    };
    for name in names {
        let db = NewDatabase {
            name: name.clone(),
            max_tables: None,
            max_columns_per_table: None,
            retention_period: None,
        };
        match client.create_database(cred, &db).await {
            Ok(_) => io
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
