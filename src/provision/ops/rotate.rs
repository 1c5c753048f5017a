//! `rotate`: replace the stored token. A management token rotates itself; a
//! database token is found through the record `mint` left in the state
//! directory (or `--id`) and rotated with the management credential. An
//! earlier rotation of these stores that died half-way is finished or
//! rolled back first.
use super::Io;
use crate::auth::LoginUi;
use crate::error::ConfigError;
use crate::http::HttpClient;
use crate::provision::{self, Backend, Recovered, RotatePlan, Stores, TokenApi, Want};
use crate::secret::Secret;
use crate::settings::Config;
use crate::state::{Journal, Record, Records, TokenKind};
use chrono::{DateTime, Utc};

/// Everything `rotate` was asked, checked.
pub struct RotateRequest {
    /// Allowed to overwrite (that is the point); never `stdout`.
    pub stores: Stores,
    pub expires_at: Option<DateTime<Utc>>,
    pub keep_old: bool,
    pub json: bool,
    /// `--id`: the database token the stores hold, when no record says.
    pub id: Option<String>,
    /// `--when-remaining`: rotate only a token expiring within this window
    /// (else report it unchanged, exit 0).
    pub when_remaining: Option<std::time::Duration>,
    /// `--on-rotated CMD`.
    pub on_rotated: Option<provision::OnRotated>,
    /// `--grace`: the old token's revocation is pending this long.
    pub grace: Option<std::time::Duration>,
}

/// `--when-remaining` and the stored token is not due: say so, once.
fn not_due(
    io: &Io<'_>,
    when_remaining: Option<std::time::Duration>,
    store: &str,
    json: bool,
    meta: &crate::cluster::ManagementToken,
) -> Option<anyhow::Result<()>> {
    let window = when_remaining?;
    if provision::due(meta.expires_at, window, Utc::now()) {
        return None;
    }
    Some(io.reporter.unchanged(store, meta, json))
}

impl RotateRequest {
    /// The pipeline's plan: what was asked, with the token found in the
    /// stores, its metadata and the credential that rotates it (the old
    /// token itself for a management token, the management credential for
    /// a database token).
    fn plan(
        &self,
        io: &Io<'_>,
        old: Secret,
        meta: crate::cluster::ManagementToken,
        cred: crate::cluster::Credential,
        cluster: crate::state::ClusterRef,
    ) -> anyhow::Result<RotatePlan> {
        Ok(RotatePlan {
            old,
            meta,
            stores: self.stores.clone(),
            expires_at: self.expires_at,
            keep_old: self.keep_old,
            ready_timeout: provision::ready_timeout(io.env)?,
            on_rotated: self.on_rotated.clone(),
            grace: self.grace,
            json: self.json,
            cred,
            record: provision::recorder(io.env, io.printer, cluster),
        })
    }
}

/// What the stores hold, as the state directory remembers it.
struct Known {
    record: Option<Record>,
    journal: Option<(Records, Journal)>,
}

pub async fn run_rotate(
    io: &Io<'_>,
    cfg: &Config,
    http: &HttpClient,
    ui: &mut dyn LoginUi,
    req: RotateRequest,
) -> anyhow::Result<()> {
    // One run at a time per store (a second one waits, then names the first).
    let _locks = provision::lock_stores(io.env, io.printer, &req.stores).await?;
    let first = req.stores[0].to_string();
    let known = Known {
        journal: provision::journal_for(io.env, io.printer, &req.stores)?,
        record: provision::record_of(io.env, io.printer, &first)?,
    };
    let database = req.id.is_some()
        || known
            .record
            .as_ref()
            .is_some_and(|r| r.kind == TokenKind::Database)
        || known
            .journal
            .as_ref()
            .is_some_and(|(_, j)| j.kind == TokenKind::Database);
    if database {
        database_token(io, cfg, http, ui, req, known).await
    } else {
        management_token(io, cfg, http, req, known).await
    }
}

/// A management token rotates itself (over our API or influxctl): the old
/// token is the credential, so no person is needed.
async fn management_token(
    io: &Io<'_>,
    cfg: &Config,
    http: &HttpClient,
    req: RotateRequest,
    known: Known,
) -> anyhow::Result<()> {
    let backend = Backend::choose(cfg, http, Want::Management, false).await?;
    let p = io.pipeline(&backend);
    // Arcs: the request keeps its own list for the plan.
    let stores = req.stores.clone();
    let first = stores[0].to_string();
    // A journal is finished only on the cluster it names (M3).
    let here = backend.cluster_ref()?;
    if let Some((records, j)) = &known.journal
        && let Recovered::Finished(_) =
            provision::recover(&p, records, j, &stores, None, &here).await?
    {
        return Ok(());
    }
    let old = read_old_management(&stores).await?;
    // A stock cluster (no management-token API) stops here, before the
    // stored token is sent anywhere; and it is only ever sent to the
    // cluster it belongs to. A token recorded as made on this cluster (a
    // scheduled run's) skips the separate probe: the read of the held token
    // below is the run's one request and stands in for it (issue 21),
    // unless revocations are due first.
    let made_here = known.record.as_ref().is_some_and(|r| r.cluster == here);
    backend
        .probe_or_defer(made_here && !provision::has_pending(io.env, &stores)?)
        .await?;
    provision::check_bound(
        stores[0].as_ref(),
        known.record.as_ref(),
        &old,
        &here,
        &provision::profile_address(cfg),
    )?;
    // Old tokens whose grace has passed go first, even if nothing is due.
    provision::retire_pending(
        &p,
        io.env,
        &stores,
        &old,
        &provision::management_credential(&old),
    )
    .await?;
    let held_id = known
        .record
        .as_ref()
        .filter(|r| r.describes(&old))
        .map(|r| r.token_id.as_str());
    let held = p.describe_held(&old, held_id).await?;
    let due = |m| not_due(io, req.when_remaining, &first, req.json, m);
    if let Some(done) = held.as_ref().and_then(due) {
        return done;
    }
    let Some(meta) = held else {
        return Err(ConfigError::usage(
            "--store",
            format!("the token in {first} no longer works on this cluster (revoked, expired, or another cluster)"),
            "mint a new one with `influx-bootstrap mint --force --store ...`; for a database token minted without a record, pass --id ID",
        )
        .into());
    };
    provision::preflight(&stores).await?;
    let cred = provision::management_credential(&old);
    let plan = req.plan(io, old, meta, cred, here)?;
    provision::rotate(&p, &plan).await
}

/// The stored token of a management-token rotation. The documented API's
/// tokens start `apiv1_`; only the record (or --id) links one to its id, so
/// one found here is refused with the way out.
async fn read_old_management(stores: &Stores) -> anyhow::Result<Secret> {
    let old = read_old(stores).await?;
    if old.expose().starts_with("apiv1_") {
        return Err(ConfigError::usage(
            "--store",
            format!("{} holds a database token, and no record says which one (it was not minted here, or the state directory was cleared)", stores[0]),
            "pass its id: `influx-bootstrap rotate --id ID --store ...` (see `influx-bootstrap token list`)",
        )
        .into());
    }
    Ok(old)
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

/// A database token: the record (or `--id`) names it; the management
/// credential (profile `mgmt_token` / `INFLUX_BOOTSTRAP_MGMT_TOKEN`, else the
/// session) reads it back and makes its successor with the same description
/// and permissions.
async fn database_token(
    io: &Io<'_>,
    cfg: &Config,
    http: &HttpClient,
    ui: &mut dyn LoginUi,
    req: RotateRequest,
    known: Known,
) -> anyhow::Result<()> {
    let mut backend = Backend::choose(cfg, http, Want::Database(Vec::new()), true).await?;
    // A token recorded as made on this cluster: its read below stands in
    // for the probe (one request when nothing is due, issue 21), unless a
    // journal or revocations are handled first.
    let cluster = backend.cluster_ref()?;
    let made_here = known.record.as_ref().is_some_and(|r| r.cluster == cluster);
    let quiet = known.journal.is_none() && !provision::has_pending(io.env, &req.stores)?;
    backend.defer_probe(made_here && quiet);
    let session = backend.credential(ui, io.interrupt).await?;
    let cred = &session.cred;
    let work = async {
        let journal = known
            .journal
            .as_ref()
            .filter(|(_, j)| j.kind == TokenKind::Database);
        if let Some((records, j)) = journal {
            backend.set_permissions(j.permissions.clone());
            let p = io.pipeline(&backend);
            if let Recovered::Finished(_) =
                provision::recover(&p, records, j, &req.stores, Some(cred), &cluster).await?
            {
                return Ok(());
            }
        }
        let old = read_old(&req.stores).await?;
        let id = database_token_id(&req, known.record.as_ref(), &old, &cluster)?;
        let meta = backend.get(cred, &id).await?;
        if meta.revoked_at.is_some() {
            return Err(ConfigError::usage(
                "--store",
                format!("the database token {id} held by {} was revoked", req.stores[0]),
                "mint a new one with `influx-bootstrap mint --force --write-database DB ... --store ...`",
            )
            .into());
        }
        provision::retire_pending(&io.pipeline(&backend), io.env, &req.stores, &old, cred).await?;
        let first = req.stores[0].to_string();
        if let Some(done) = not_due(io, req.when_remaining, &first, req.json, &meta) {
            return done;
        }
        backend.set_permissions(meta.permissions.clone());
        provision::preflight(&req.stores).await?;
        let plan = req.plan(io, old, meta, cred.clone(), cluster)?;
        provision::rotate(&io.pipeline(&backend), &plan).await
    };
    work.await.map_err(|e| session.on_error(e))
}

/// Which database token the first store holds: `--id`, else the record
/// `mint` left, if it still describes the stored token and this cluster.
fn database_token_id(
    req: &RotateRequest,
    record: Option<&Record>,
    old: &Secret,
    cluster: &crate::state::ClusterRef,
) -> anyhow::Result<String> {
    let first = req.stores[0].to_string();
    if let Some(id) = &req.id {
        return Ok(id.clone());
    }
    let Some(r) = record else {
        return Err(ConfigError::usage(
            "--store",
            format!("{first} holds a database token, and no record says which one"),
            "pass its id: `influx-bootstrap rotate --id ID --store ...` (see `influx-bootstrap token list`)",
        )
        .into());
    };
    if !r.describes(old) {
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
    if &r.cluster != cluster {
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
    Ok(r.token_id.clone())
}
