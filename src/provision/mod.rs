//! The provisioning pipeline: credential → pre-checks → create → stores →
//! verify → summary, or rollback. `mint` and `rotate` are short scripts over
//! the steps here; the commands only parse flags and pick the credential.
//!
//! The promises every script keeps:
//! - **Nothing is created before everything checkable is checked**: every
//!   store is pre-flighted ([`preflight`]) before the cluster is asked.
//! - **Never orphan**: a token we created but could not keep is revoked
//!   ([`revoke_unstored`]), also when a signal arrives while the create is in
//!   flight ([`create_guarded`] replays its `Idempotency-Key` to find out).
//! - **Never lose**: with `--on-store-failure print` and a person at the
//!   terminal, an unstorable token is shown once instead of revoked.
//! - **Output never aborts the pipeline**: the printer cannot fail on stderr,
//!   and the summary is printed after the token is safe.
//!
//! The cluster and the stores are traits ([`TokenApi`], [`Store`]) so unit
//! tests drive every failure point against in-memory fakes (`tests.rs`).
mod credential;
mod mint;
mod rotate;

pub use credential::{Session, credential, credential_for};
pub use mint::{Held, held_token, mint};
pub use rotate::{RotatePlan, rotate};

use crate::cluster::{ClusterClient, CreatedToken, Credential, CredentialKind, ManagementToken};
use crate::error::{ClusterError, MintError};
use crate::interrupt::Interrupt;
use crate::output::summary::StoreResult;
use crate::printer::Printer;
use crate::secret::Secret;
use crate::store::{StoreError, StoreOptions, StoreOutcome, StoreSpec};
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
pub fn create_failed(e: ClusterError, description: &str) -> anyhow::Error {
    let ambiguous = e.create_outcome_unknown();
    let e = anyhow::Error::new(e);
    if ambiguous {
        e.context(format!(
            "the cluster may have created a token described {description:?} without telling us; \
             if `influx-bootstrap management list` shows one, revoke it"
        ))
    } else {
        e
    }
}

impl<A: TokenApi> Pipeline<'_, A> {
    /// Create under a fresh `Idempotency-Key`. If a signal arrives while the
    /// request is in flight, the token may or may not exist: replaying the
    /// same key (bounded) tells us, or creates it, and it is revoked. The
    /// outer `Err` is that interruption, already cleaned up, with what
    /// happened.
    pub async fn create_guarded(
        &self,
        cred: &Credential,
        description: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Result<CreatedToken, ClusterError>, String> {
        let key = uuid::Uuid::new_v4().to_string();
        tokio::select! {
            biased;
            r = self.api.create(cred, description, expires_at, &key) => Ok(r),
            _ = self.interrupt.wait() => {
                let replay = self.api.create(cred, description, expires_at, &key);
                Err(match tokio::time::timeout(CLEANUP_BUDGET, replay).await {
                    Ok(Ok(c)) => {
                        self.revoke_unstored(&[cred, &own_credential(&c)], &c.token.id).await
                    }
                    _ => "could not confirm whether a token was created".into(),
                })
            }
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
            "revoking it FAILED; run `influx-bootstrap management revoke {id} --force` when the cluster is reachable"
        )
    }

    /// Write the token to every store, in order, each reporting separately.
    /// The second value says whether a signal cut the run short.
    pub async fn write_stores(
        &self,
        stores: &[Arc<dyn Store>],
        token: &Secret,
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

    /// Check the new token by using it: it must authenticate and describe
    /// itself as we asked.
    pub async fn verify(
        &self,
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
            .get(&own_credential(created), &created.token.id)
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

    /// The metadata of the token a store holds, found by using it: `None`
    /// when it no longer authenticates.
    pub async fn describe_held(
        &self,
        token: &Secret,
    ) -> Result<Option<ManagementToken>, ClusterError> {
        match self.api.list(&management_credential(token)).await {
            Ok(all) => {
                let mut mine: Vec<ManagementToken> = all
                    .into_iter()
                    .filter(|t| {
                        t.revoked_at.is_none() && token.expose().starts_with(&t.token_prefix)
                    })
                    .collect();
                // Prefixes are short; with a collision take the longest match.
                mine.sort_by_key(|t| std::cmp::Reverse(t.token_prefix.len()));
                Ok(mine.into_iter().next())
            }
            Err(ClusterError::Unauthorized { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests;
