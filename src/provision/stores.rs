//! Secret stores as the pipeline sees them, and their pre-flight.
use crate::secret::Secret;
use crate::store::{StoreError, StoreOptions, StoreOutcome, StoreSpec};
use std::sync::Arc;

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

pub(super) async fn blocking<T: Send + 'static>(
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
