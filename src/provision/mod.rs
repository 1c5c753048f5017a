//! The provisioning pipeline: credential → pre-checks → create → stores →
//! verify → summary, or rollback. `mint` and `rotate` are short scripts over
//! the steps here; the commands only parse flags and pick the credential.
//!
//! The promises every script keeps:
//! - **Nothing is created before everything checkable is checked**: every
//!   store is pre-flighted ([`preflight`]) before the cluster is asked.
//! - **Never orphan**: a token we created but could not keep is revoked
//!   ([`revoke_unstored`]), also when a signal arrives while the create is in
//!   flight ([`create_guarded`] replays its `Idempotency-Key` to find out;
//!   without server idempotency it lists before and after instead, see
//!   [`Pipeline::create_reconciled`]).
//! - **Crash-consistent rotation**: `rotate` journals its intent and
//!   progress; the next run with the same stores rolls back or finishes
//!   ([`recover`]).
//! - **Never lose**: with `--on-store-failure print` and a person at the
//!   terminal, an unstorable token is shown once instead of revoked.
//! - **Output never aborts the pipeline**: the printer cannot fail on stderr,
//!   and the summary is printed after the token is safe.
//!
//! The cluster and the stores are traits ([`TokenApi`], [`Store`]) so unit
//! tests drive every failure point against in-memory fakes (`tests.rs`).
//! Management tokens (our API, [`ClusterClient`]) and database tokens (the
//! documented API, [`DatabaseTokens`]) are two implementations of
//! [`TokenApi`]; what differs is declared by it (kind, idempotency,
//! permissions), not by copies of the pipeline.
mod backend;
mod credential;
mod database;
mod fleet;
mod identify;
mod influxctl;
mod mint;
pub mod ops;
mod ready;
mod recover;
mod report;
mod rotate;

pub use backend::{Backend, Want};
pub use credential::Session;
pub use database::{DatabaseTokens, database_token_meta, held_database_token};
pub use fleet::{due, lock_stores, retire_pending};
pub use influxctl::{
    InfluxctlTokens, influxctl_credential, influxctl_tokens, login as influxctl_login,
};
pub use mint::{Held, held_token, mint};
pub use ops::{Io, MintPlan, RotateRequest, create_to_show, run_mint, run_rotate};
pub use ready::ready_timeout;
pub use recover::{Recovered, journal_for, recover};
pub use report::{Finished, Reporter, Silent};
pub use rotate::{OnRotated, RotatePlan, rotate};

use crate::cluster::documented::Permission;
use crate::cluster::{ClusterClient, CreatedToken, Credential, CredentialKind, ManagementToken};
use crate::error::{ClusterError, ConfigError, MintError};
use crate::interrupt::Interrupt;
use crate::printer::Printer;
use crate::secret::Secret;
use crate::state::{ClusterRef, Record, Records, TokenKind};
use crate::store::{StoreError, StoreOptions, StoreOutcome, StoreResult, StoreSpec};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// How long cleanup (revoking an unstored token) may take on the way out.
pub const CLEANUP_BUDGET: Duration = Duration::from_secs(10);

/// The cluster side of the pipeline ([`ClusterClient`] on a real cluster).
#[allow(async_fn_in_trait)] // used with concrete types on one thread, never boxed
pub trait TokenApi {
    /// Create a token; the key makes a replay return the same token.
    async fn create(
        &self,
        cred: &Credential,
        description: &str,
        expires_at: Option<DateTime<Utc>>,
        idempotency_key: &str,
    ) -> Result<CreatedToken, ClusterError>;
    async fn get(&self, cred: &Credential, id: &str) -> Result<ManagementToken, ClusterError>;
    async fn list(&self, cred: &Credential) -> Result<Vec<ManagementToken>, ClusterError>;
    async fn revoke(&self, cred: &Credential, id: &str) -> Result<ManagementToken, ClusterError>;

    /// What kind of token this API makes. A management token can call the
    /// API itself (verify and clean up with its own credential); a database
    /// token works only on the data path, so the pipeline's credential does.
    fn kind(&self) -> TokenKind {
        TokenKind::Management
    }

    /// Does the server honour our `Idempotency-Key` on create? Ours does; the
    /// documented API does not, so a create whose outcome is unknown is
    /// reconciled by listing instead of replayed ([`Pipeline::create_guarded`]).
    fn idempotent_create(&self) -> bool {
        true
    }

    /// The permissions every token made here carries (none for management
    /// tokens); verification requires exactly these.
    fn permissions(&self) -> &[Permission] {
        &[]
    }

    /// Is `created` accepted where its consumers use it yet (issue 17)?
    /// The data path for a database token, the Management API for a
    /// management token (ours, or influxctl's on the documented API).
    async fn accepted(&self, _created: &CreatedToken) -> Result<bool, ClusterError> {
        Ok(true)
    }
}

impl TokenApi for ClusterClient<'_> {
    async fn create(
        &self,
        cred: &Credential,
        description: &str,
        expires_at: Option<DateTime<Utc>>,
        key: &str,
    ) -> Result<CreatedToken, ClusterError> {
        ClusterClient::create(self, cred, description, expires_at, key).await
    }
    async fn get(&self, cred: &Credential, id: &str) -> Result<ManagementToken, ClusterError> {
        ClusterClient::get(self, cred, id).await
    }
    async fn list(&self, cred: &Credential) -> Result<Vec<ManagementToken>, ClusterError> {
        ClusterClient::list(self, cred).await
    }
    async fn revoke(&self, cred: &Credential, id: &str) -> Result<ManagementToken, ClusterError> {
        ClusterClient::revoke(self, cred, id).await
    }
    /// A management token is used on the Management API: it is accepted
    /// once it can read itself there (401 until then).
    async fn accepted(&self, created: &CreatedToken) -> Result<bool, ClusterError> {
        match ClusterClient::get(self, &own_credential(created), &created.token.id).await {
            Ok(_) => Ok(true),
            Err(ClusterError::Unauthorized { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// One secret store as the pipeline sees it. Blocking (files, keyrings,
/// child processes): the pipeline runs it on the blocking pool.
pub trait Store: std::fmt::Display + Send + Sync {
    /// Pre-flight: report what would fail, change nothing.
    fn check(&self) -> Result<(), StoreError>;
    fn write(&self, token: &Secret) -> Result<StoreOutcome, StoreError>;
    /// The token it holds, for stores that can be read back.
    fn read(&self) -> Result<Option<Secret>, StoreError>;
    /// Does this store write to stdout (so stdout cannot carry the summary)?
    fn is_stdout(&self) -> bool {
        false
    }
    /// The cluster (`host:port`) the store itself ties its token to, if any.
    fn cluster_address(&self) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
}

/// A store named on the command line, with the options of this run.
pub struct SpecStore {
    pub spec: StoreSpec,
    pub opts: StoreOptions,
}

impl std::fmt::Display for SpecStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.spec.fmt(f)
    }
}

impl Store for SpecStore {
    fn check(&self) -> Result<(), StoreError> {
        self.spec.check(&self.opts)
    }
    fn write(&self, token: &Secret) -> Result<StoreOutcome, StoreError> {
        self.spec.write(token, &self.opts)
    }
    fn read(&self) -> Result<Option<Secret>, StoreError> {
        self.spec.read(&self.opts)
    }
    fn is_stdout(&self) -> bool {
        matches!(self.spec, StoreSpec::Stdout)
    }
    fn cluster_address(&self) -> Result<Option<String>, StoreError> {
        self.spec.cluster_address(&self.opts)
    }
}

/// A stored management token is only ever sent to the cluster it belongs to
/// (a stolen or mixed-up profile must not make us hand one cluster's key to
/// another host). Two witnesses, either of which refuses: the record `mint`
/// left for the store (when it describes this very token), and the store's
/// own idea of its cluster (an `influxctl:` profile's host and port).
/// `here` is where the token would be sent, `address` its `host:port`.
pub fn check_bound(
    store: &dyn Store,
    record: Option<&Record>,
    token: &Secret,
    here: &ClusterRef,
    address: &str,
) -> Result<(), ConfigError> {
    let refuse = |why: String| {
        ConfigError::usage(
            "--store",
            format!(
                "the token in {store} {why}, not for {}; it was not sent",
                here.api_base
            ),
            "use the profile of the cluster the token belongs to (--profile NAME)",
        )
    };
    if let Some(r) = record.filter(|r| r.describes(token))
        && (r.cluster.api_base != here.api_base
            || r.cluster.account_id != here.account_id
            || r.cluster.cluster_id != here.cluster_id)
    {
        return Err(refuse(format!("was made for {}", r.cluster.api_base)));
    }
    // The profile may be unreadable here only if reading the token worked,
    // so an error is the same refusal, not a silent pass.
    match store.cluster_address() {
        Ok(Some(a)) if !a.eq_ignore_ascii_case(address) => {
            Err(refuse(format!("is for {a} (its influxctl profile)")))
        }
        Ok(_) => Ok(()),
        Err(e) => Err(refuse(format!("has no readable cluster address ({e})"))),
    }
}

/// Parse `--store` specs into stores sharing `opts`.
pub fn spec_stores(specs: &[String], opts: &StoreOptions) -> Result<Stores, StoreError> {
    specs
        .iter()
        .map(|s| {
            let spec = s.parse::<StoreSpec>()?;
            Ok(Arc::new(SpecStore {
                spec,
                opts: opts.clone(),
            }) as Arc<dyn Store>)
        })
        .collect()
}

pub type Stores = Vec<Arc<dyn Store>>;

/// What the person chose for a token no store would take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnNoStore {
    Revoke,
    /// Show it on stderr, only when stderr is a terminal (else revoke).
    Print,
}

/// What to create and where to put it.
pub struct Plan {
    pub description: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub stores: Stores,
    pub on_no_store: OnNoStore,
    pub json: bool,
    /// Where to record what each store now holds (`crate::state`).
    pub record: Option<Recorder>,
    /// Wait this long at most for the new token to be accepted before the
    /// stores get it (`provision::ready`); `None`: `--no-wait`.
    pub ready_timeout: Option<std::time::Duration>,
}

/// Where `mint`/`rotate` record what they put in each store; none (with a
/// note) when there is no state directory.
pub fn recorder(env: &crate::env::Env, printer: &Printer, cluster: ClusterRef) -> Option<Recorder> {
    match crate::state::state_dir(env) {
        Some(dir) => Some(Recorder {
            records: Records::in_dir(&dir),
            cluster,
        }),
        None => {
            printer.note(
                "no state directory (set HOME or INFLUX_BOOTSTRAP_STATE_DIR): rotate will need --id",
            );
            None
        }
    }
}

fn product_name(cfg: &crate::settings::Config) -> String {
    match cfg.profile.product.value {
        crate::settings::Product::Clustered => "clustered",
        crate::settings::Product::Dedicated => "dedicated",
    }
    .into()
}

/// The record `mint` left for `store`, if any (an unreadable one is a
/// warning: `rotate --id` still works; an unsafe state directory stops the
/// run, exit 7).
pub fn record_of(
    env: &crate::env::Env,
    printer: &Printer,
    store: &str,
) -> Result<Option<Record>, crate::error::StateError> {
    let Some(dir) = crate::state::state_dir(env) else {
        return Ok(None);
    };
    match Records::in_dir(&dir).load(store) {
        Ok(r) => Ok(r),
        Err(e @ crate::error::StateError::Unsafe { .. }) => Err(e),
        Err(e) => {
            printer.warn(format!("could not read the record of {store}: {e}"));
            Ok(None)
        }
    }
}

/// Where a stored management token would be sent, as `host:port` (what an
/// influxctl profile names): `management_url`'s when set — the token goes
/// there, so that is what a store's binding must match (M4 of the
/// 2026-12-06 review) — else the profile's cluster.
pub fn profile_address(cfg: &crate::settings::Config) -> String {
    if let Some(u) = &cfg.profile.management_url
        && let (Some(host), Some(port)) = (u.value.host_str(), u.value.port_or_known_default())
    {
        return format!("{}:{port}", host.to_ascii_lowercase());
    }
    let host = cfg
        .profile
        .host
        .as_ref()
        .map(|h| h.value.to_ascii_lowercase())
        .unwrap_or_default();
    format!("{host}:{}", cfg.profile.port.value)
}

/// Our management-token API: its base URL (and the profile's ids).
pub fn management_ref(cfg: &crate::settings::Config, base: &str) -> ClusterRef {
    let id = |v: &Option<crate::settings::Value<String>>| v.as_ref().map(|v| v.value.clone());
    ClusterRef {
        product: product_name(cfg),
        api_base: base.to_string(),
        account_id: id(&cfg.profile.account_id),
        cluster_id: id(&cfg.profile.cluster_id),
    }
}

/// The documented API: the management origin and the long form's ids.
pub fn documented_ref(
    cfg: &crate::settings::Config,
    t: &crate::cluster::documented::Target,
) -> ClusterRef {
    ClusterRef {
        product: product_name(cfg),
        api_base: t.origin.to_string(),
        account_id: Some(t.account_id.clone()),
        cluster_id: Some(t.cluster_id.clone()),
    }
}

/// Writes a [`Record`] for every store that took a token; a failure to
/// write is a warning (the token is stored; only `rotate`'s look-up needs it).
pub struct Recorder {
    pub records: Records,
    pub cluster: ClusterRef,
}

impl Recorder {
    pub fn save(
        &self,
        printer: &Printer,
        kind: TokenKind,
        created: &CreatedToken,
        stores: &[String],
    ) {
        let t = &created.token;
        for store in stores {
            let r = Record {
                version: crate::state::RECORD_VERSION,
                store: store.clone(),
                kind,
                token_id: t.id.clone(),
                token_sha256: crate::state::fingerprint(&created.access_token),
                cluster: self.cluster.clone(),
                description: t.description.clone(),
                permissions: t.permissions.clone(),
                created_at: t.created_at,
                expires_at: t.expires_at,
                recorded_at: Utc::now(),
            };
            if let Err(e) = self.records.save(&r) {
                printer.warn(format!(
                    "could not record which token {store} holds in {}: {e} (rotate will need --id {})",
                    self.records.dir().display(),
                    t.id
                ));
            }
        }
    }
}

impl Plan {
    pub fn stdout_taken(&self) -> bool {
        self.stores.iter().any(|s| s.is_stdout())
    }
}

/// What every step needs: the cluster, the printer and the signal flag.
pub struct Pipeline<'a, A: TokenApi> {
    pub api: &'a A,
    pub printer: &'a Printer,
    pub interrupt: &'a Interrupt,
    /// This run's marker, appended to every description it creates
    /// ([`crate::cluster::ours`]): what proves a listed token is ours.
    pub run: String,
    pub reporter: &'a dyn Reporter,
}

/// The credential a created token gives: its own access token.
pub fn own_credential(created: &CreatedToken) -> Credential {
    management_credential(&created.access_token)
}

pub fn management_credential(token: &Secret) -> Credential {
    Credential {
        token: token.clone(),
        kind: CredentialKind::ManagementToken,
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            use crate::error::Classify;
            let hint = e
                .hint()
                .map(|h| format!(" (hint: {h})"))
                .unwrap_or_default();
            Err(format!("{e}{hint}"))
        }
        Err(e) => Err(format!("store task failed: {e}")),
    }
}

/// Pre-flight every store; the first problem stops the run before anything
/// exists on the cluster.
pub async fn preflight(stores: &[Arc<dyn Store>]) -> anyhow::Result<()> {
    for s in stores {
        let s = s.clone();
        tokio::task::spawn_blocking(move || s.check()).await??;
    }
    Ok(())
}

/// Read the token the first store holds.
pub async fn read_first(stores: &[Arc<dyn Store>]) -> anyhow::Result<Option<Secret>> {
    let s = stores[0].clone();
    Ok(tokio::task::spawn_blocking(move || s.read()).await??)
}

/// A create that failed without a definite answer (no response, a 5xx after
/// every retry) may still have committed: say how to find and revoke it.
pub fn create_failed(e: ClusterError, description: &str, kind: TokenKind) -> anyhow::Error {
    let ambiguous = e.create_outcome_unknown();
    let e = anyhow::Error::new(e);
    let list = match kind {
        TokenKind::Management => "management list",
        TokenKind::Database => "token list",
    };
    if ambiguous {
        e.context(format!(
            "the cluster may have created a token described {description:?} without telling us; \
             if `influx-bootstrap {list}` shows one, revoke it"
        ))
    } else {
        e
    }
}

impl<A: TokenApi> Pipeline<'_, A> {
    /// The credentials that may clean up after `created`: the pipeline's, and
    /// for a management token the token itself (the session may have just
    /// expired; a management token can always revoke itself).
    pub fn managers(&self, cred: &Credential, created: &CreatedToken) -> Vec<Credential> {
        match self.api.kind() {
            TokenKind::Management => vec![cred.clone(), own_credential(created)],
            TokenKind::Database => vec![cred.clone()],
        }
    }

    /// The credential that reads a new token back: its own for a management
    /// token (proving it authenticates), the pipeline's for a database token
    /// (which cannot call the Management API).
    pub fn checker(&self, cred: &Credential, created: &CreatedToken) -> Credential {
        match self.api.kind() {
            TokenKind::Management => own_credential(created),
            TokenKind::Database => cred.clone(),
        }
    }

    /// Create a token, never leaving one behind whose secret we did not get.
    ///
    /// With server idempotency (our API), under a fresh `Idempotency-Key`: if
    /// a signal arrives while the request is in flight, replaying the same
    /// key (bounded) tells us, or creates it, and it is revoked. Without it
    /// (the documented API) see [`Self::create_reconciled`]. The outer `Err`
    /// is that interruption, already cleaned up, with what happened.
    ///
    /// A token whose secret is not a plain run of visible ASCII is revoked at
    /// once and never shown or stored: a hostile cluster could otherwise put
    /// a newline into an `env-file:` (a second variable) or escape sequences
    /// onto a terminal.
    pub async fn create_guarded(
        &self,
        cred: &Credential,
        description: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<anyhow::Result<CreatedToken>, String> {
        let description = &crate::cluster::ours::marked(description, &self.run);
        let created = if self.api.idempotent_create() {
            self.create_replayed(cred, description, expires_at).await?
        } else {
            self.create_reconciled(cred, description, expires_at)
                .await?
        };
        let c = match created {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        if let Err(why) = crate::secret::check_token_text(c.access_token.expose()) {
            let creds = self.managers(cred, &c);
            let what = self
                .revoke_unstored(&creds.iter().collect::<Vec<_>>(), &c.token.id)
                .await;
            return Ok(Err(anyhow::Error::new(ClusterError::UnsafeToken {
                why,
                what,
            })));
        }
        Ok(Ok(c))
    }

    /// [`Self::create_guarded`] with server idempotency.
    async fn create_replayed(
        &self,
        cred: &Credential,
        description: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<anyhow::Result<CreatedToken>, String> {
        let key = uuid::Uuid::new_v4().to_string();
        let kind = self.api.kind();
        tokio::select! {
            biased;
            r = self.api.create(cred, description, expires_at, &key) => {
                Ok(r.map_err(|e| create_failed(e, description, kind)))
            }
            _ = self.interrupt.wait() => {
                let replay = self.api.create(cred, description, expires_at, &key);
                Err(match tokio::time::timeout(CLEANUP_BUDGET, replay).await {
                    Ok(Ok(c)) => {
                        let creds = self.managers(cred, &c);
                        self.revoke_unstored(&creds.iter().collect::<Vec<_>>(), &c.token.id).await
                    }
                    _ => "could not confirm whether a token was created".into(),
                })
            }
        }
    }

    /// Create without server idempotency, never repeating a create blindly.
    ///
    /// 1. List the tokens first (the ids that exist before we ask).
    /// 2. Create (the `Idempotency-Key` is sent; nothing depends on it).
    /// 3. If the outcome is unknown (connection dropped after sending, a
    ///    timeout, a 5xx; [`ClusterError::create_outcome_unknown`]), list
    ///    again: a token that is new since step 1, live, with exactly our
    ///    permissions and this run's marked description
    ///    ([`crate::cluster::ours`]) is one whose secret we never received —
    ///    never another host's token of the same description. It
    ///    is revoked, and only then is the create sent once more. If it cannot
    ///    be revoked, nothing is created again (two live tokens would be worse
    ///    than an error that names the one to revoke).
    ///
    /// A signal while the create is in flight lets the request finish
    /// (bounded by [`CLEANUP_BUDGET`]) and revokes what it made, or, with no
    /// answer, reconciles by listing as in step 3.
    pub async fn create_reconciled(
        &self,
        cred: &Credential,
        description: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<anyhow::Result<CreatedToken>, String> {
        let kind = self.api.kind();
        // A signal during this listing stops here: nothing exists yet.
        let listed = tokio::select! {
            biased;
            _ = self.interrupt.wait() => return Err("no token was created".into()),
            r = self.api.list(cred) => r,
        };
        let before: std::collections::HashSet<String> = match listed {
            Ok(all) => all.into_iter().map(|t| t.id).collect(),
            Err(e) => {
                return Ok(Err(anyhow::Error::new(e).context(
                    "could not list the tokens before creating one (nothing was created)",
                )));
            }
        };
        for attempt in 0..2 {
            let key = uuid::Uuid::new_v4().to_string();
            let create = self.api.create(cred, description, expires_at, &key);
            tokio::pin!(create);
            let r = tokio::select! {
                biased;
                r = &mut create => r,
                _ = self.interrupt.wait() => {
                    return Err(match tokio::time::timeout(CLEANUP_BUDGET, &mut create).await {
                        Ok(Ok(c)) => self.revoke_unstored(&[cred], &c.token.id).await,
                        _ => match self.revoke_lost(cred, &before, description).await {
                            Ok(ids) if ids.is_empty() => "no token was created".into(),
                            Ok(ids) => format!("the token it made was revoked (id {})", ids.join(", ")),
                            Err(e) => e,
                        },
                    });
                }
            };
            let e = match r {
                Err(e) if e.create_outcome_unknown() => e,
                r => return Ok(r.map_err(|e| create_failed(e, description, kind))),
            };
            self.printer.note(format!(
                "the create's outcome is unknown ({e}); looking for a token it may have made"
            ));
            match self.revoke_lost(cred, &before, description).await {
                Ok(ids) => {
                    for id in &ids {
                        self.printer.status(format!(
                            "Revoked {} {id}: the cluster created it but its answer was lost.",
                            self.api.kind().noun()
                        ));
                    }
                }
                Err(what) => {
                    self.printer.warn(what);
                    return Ok(Err(create_failed(e, description, kind)));
                }
            }
            if attempt == 1 || self.interrupt.is_set() {
                return Ok(Err(create_failed(e, description, kind)));
            }
            self.printer.status("Creating it again (once).");
        }
        unreachable!("the second attempt always returns")
    }

    /// Revoke every token that appeared since `before` with this run's
    /// marked `description` and our permissions: the ids revoked, or what
    /// went wrong (naming the ids).
    async fn revoke_lost(
        &self,
        cred: &Credential,
        before: &std::collections::HashSet<String>,
        description: &str,
    ) -> Result<Vec<String>, String> {
        let list = tokio::time::timeout(CLEANUP_BUDGET, self.api.list(cred)).await;
        let all = match list {
            Ok(Ok(all)) => all,
            Ok(Err(e)) => return Err(format!("could not list tokens to find a lost one: {e}")),
            Err(_) => return Err("listing tokens to find a lost one timed out".into()),
        };
        let want = sorted(self.api.permissions());
        let lost: Vec<String> = all
            .into_iter()
            .filter(|t| {
                !before.contains(&t.id)
                    && t.revoked_at.is_none()
                    && t.description == description
                    && sorted(&t.permissions) == want
            })
            .map(|t| t.id)
            .collect();
        let mut failed = Vec::new();
        for id in &lost {
            match tokio::time::timeout(CLEANUP_BUDGET, self.api.revoke(cred, id)).await {
                Ok(Ok(_)) | Ok(Err(ClusterError::NotFound { .. })) => {}
                Ok(Err(e)) => failed.push(format!("{id} ({e})")),
                Err(_) => failed.push(format!("{id} (timed out)")),
            }
        }
        if failed.is_empty() {
            Ok(lost)
        } else {
            Err(format!(
                "a token the cluster made without answering could not be revoked: {}; not creating another. Revoke it with `{}`",
                failed.join(", "),
                self.api.kind().revoke_command(&lost[0])
            ))
        }
    }

    /// Revoke a token we created but could not keep; bounded, best effort.
    /// Tries each credential in turn (the session may have just expired; the
    /// token can always revoke itself).
    pub async fn revoke_unstored(&self, creds: &[&Credential], id: &str) -> String {
        for cred in creds {
            let r = tokio::time::timeout(CLEANUP_BUDGET, self.api.revoke(cred, id)).await;
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
            "revoking it FAILED; run `{}` when the cluster is reachable",
            self.api.kind().revoke_command(id)
        )
    }

    /// Write the token to every store, in order, each reporting separately.
    /// The second value says whether a signal cut the run short.
    pub async fn write_stores(
        &self,
        stores: &[Arc<dyn Store>],
        token: &Secret,
    ) -> (Vec<StoreResult>, bool) {
        self.write_stores_noting(stores, token, |_| {}).await
    }

    /// [`Self::write_stores`], calling `written` after each store that took
    /// the token (rotate journals it).
    pub async fn write_stores_noting(
        &self,
        stores: &[Arc<dyn Store>],
        token: &Secret,
        mut written: impl FnMut(&str),
    ) -> (Vec<StoreResult>, bool) {
        let mut results = Vec::new();
        for s in stores {
            if self.interrupt.is_set() {
                results.push(StoreResult::failed(s.to_string(), "skipped (interrupted)"));
                continue;
            }
            let (store, tok) = (s.clone(), token.clone());
            let r = match blocking(move || store.write(&tok)).await {
                Ok(outcome) => StoreResult::ok(s.to_string(), outcome.to_string()),
                Err(detail) => StoreResult::failed(s.to_string(), detail),
            };
            if r.ok {
                written(&r.store);
            }
            let mark = if r.ok { '✓' } else { '✗' };
            self.printer
                .status(format!("{mark} {}: {}", r.store, r.detail));
            results.push(r);
        }
        // A signal that arrived while the last store was running counts too.
        (results, self.interrupt.is_set())
    }

    /// Put `old` back into the stores that already took the new token.
    /// Returns the stores that still hold the new one.
    pub async fn roll_back(
        &self,
        stores: &[Arc<dyn Store>],
        results: &[StoreResult],
        old: &Secret,
    ) -> Vec<String> {
        let mut still_new = Vec::new();
        for (s, _) in stores.iter().zip(results).filter(|(_, r)| r.ok) {
            let (store, tok) = (s.clone(), old.clone());
            match blocking(move || store.write(&tok)).await {
                Ok(_) => self.printer.status(format!("↺ {s}: old token restored")),
                Err(e) => {
                    self.printer
                        .status(format!("✗ {s}: could not restore the old token: {e}"));
                    still_new.push(s.to_string());
                }
            }
        }
        still_new
    }

    /// Check the new token: read it back (with its own credential for a
    /// management token, proving it authenticates; with `cred` for a database
    /// token) and compare description, expiry, permissions and revocation.
    pub async fn verify(
        &self,
        cred: &Credential,
        created: &CreatedToken,
        description: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), MintError> {
        let fail = |message: String| MintError::Verify {
            id: created.token.id.clone(),
            message,
        };
        let t = self
            .api
            .get(&self.checker(cred, created), &created.token.id)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let description = crate::cluster::ours::marked(description, &self.run);
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
        if sorted(&t.permissions) != sorted(self.api.permissions()) {
            let show = |ps: &[Permission]| {
                let v: Vec<String> = ps.iter().map(|p| p.to_string()).collect();
                v.join(" ")
            };
            return Err(fail(format!(
                "the cluster reports permissions [{}], expected [{}]",
                crate::text::sanitize(&show(&t.permissions)),
                show(self.api.permissions())
            )));
        }
        if t.revoked_at.is_some() {
            return Err(fail("the cluster reports it as revoked".into()));
        }
        Ok(())
    }

    /// The metadata of the token a store holds, found by using it: `None`
    /// when it no longer authenticates. Only a positively identified entry
    /// is returned ([`identify::held`]: `known_id` is the id a record for
    /// this very secret names); an unidentifiable one is an error.
    pub async fn describe_held(
        &self,
        token: &Secret,
        known_id: Option<&str>,
    ) -> anyhow::Result<Option<ManagementToken>> {
        match self.api.list(&management_credential(token)).await {
            Ok(all) => Ok(identify::held(all, token, known_id)?),
            Err(ClusterError::Unauthorized { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// Permissions in a canonical order, for comparing as sets (the cluster
/// may answer in another order than we asked).
fn sorted(ps: &[Permission]) -> Vec<(&str, &str)> {
    let mut v: Vec<(&str, &str)> = ps
        .iter()
        .map(|p| (p.action.as_str(), p.resource.as_str()))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

#[cfg(test)]
mod tests;
