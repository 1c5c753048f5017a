//! What makes `mint` and `rotate` safe to run from a scheduler on every host
//! of a fleet (issue 17): one run at a time per store
//! ([`crate::state::lock`]).
use super::Stores;
use crate::error::ConfigError;
use crate::printer::Printer;
use crate::state::lock::{DEFAULT_WAIT, StoreLocks};

/// Lock every store of this run for its whole length; `None` without a
/// state directory (nothing to protect: no records, no journal).
pub async fn lock_stores(
    env: &crate::env::Env,
    printer: &Printer,
    stores: &Stores,
) -> anyhow::Result<Option<StoreLocks>> {
    let Some(root) = crate::state::state_dir(env) else {
        return Ok(None);
    };
    let wait = match env.get("INFLUX_BOOTSTRAP_LOCK_WAIT") {
        None => DEFAULT_WAIT,
        Some(text) => humantime::parse_duration(text.trim()).map_err(|_| {
            ConfigError::usage(
                "INFLUX_BOOTSTRAP_LOCK_WAIT",
                format!("{text:?} is not a duration"),
                "e.g. INFLUX_BOOTSTRAP_LOCK_WAIT=30s (0 does not wait)",
            )
        })?,
    };
    let specs: Vec<String> = stores
        .iter()
        .filter(|s| !s.is_stdout())
        .map(|s| s.to_string())
        .collect();
    let locks = crate::state::lock::lock_stores(&root, &specs, wait, |holder| {
        printer.status(format!(
            "Waiting for another run of these stores to finish ({holder})…"
        ))
    })
    .await?;
    Ok(Some(locks))
}
