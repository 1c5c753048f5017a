//! What makes `mint` and `rotate` safe to run from a scheduler on every host
//! of a fleet (issue 17): one run at a time per store
//! ([`crate::state::lock`]), and `rotate --when-remaining` ([`due`]).
use super::Stores;
use crate::error::ConfigError;
use crate::printer::Printer;
use crate::state::lock::{DEFAULT_WAIT, StoreLocks};
use chrono::{DateTime, Utc};

/// `rotate --when-remaining WINDOW`: is a token expiring at `expires_at`
/// due for rotation at `now`? A token that never expires never is (it is
/// rotated when it stops working, or on request without the flag).
pub fn due(
    expires_at: Option<DateTime<Utc>>,
    window: std::time::Duration,
    now: DateTime<Utc>,
) -> bool {
    let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    match expires_at {
        None => false,
        Some(e) => now
            .checked_add_signed(window)
            .is_none_or(|limit| e <= limit),
    }
}

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

/// Does a `rotate --grace` of these stores have revocations pending? A
/// cheap local look, so a run with nothing pending never reads its stores
/// back just to compare.
pub fn has_pending(env: &crate::env::Env, stores: &Stores) -> anyhow::Result<bool> {
    let Some(root) = crate::state::state_dir(env) else {
        return Ok(false);
    };
    let specs: Vec<String> = stores.iter().map(|s| s.to_string()).collect();
    let list = crate::state::pending::PendingList::in_dir(&root);
    Ok(!list.for_stores(&specs)?.is_empty())
}

/// `rotate --grace`: revoke the pending old tokens of a rotation of these
/// stores whose grace has passed and whose successor is in use — the first
/// store holds it (`held`), and it was accepted before it was stored
/// ([`super::ready`]). Each file goes only once the cluster confirmed (or
/// said the token is gone), so a crash repeats a revocation, never skips
/// one. Failures are warnings: the next run tries again.
pub async fn retire_pending<A: super::TokenApi>(
    p: &super::Pipeline<'_, A>,
    env: &crate::env::Env,
    stores: &Stores,
    held: &crate::secret::Secret,
    cred: &crate::cluster::Credential,
) -> anyhow::Result<()> {
    let Some(root) = crate::state::state_dir(env) else {
        return Ok(());
    };
    let list = crate::state::pending::PendingList::in_dir(&root);
    let specs: Vec<String> = stores.iter().map(|s| s.to_string()).collect();
    let now = Utc::now();
    let held_sha = crate::state::fingerprint(held);
    for pending in list.for_stores(&specs)? {
        if pending.not_before > now || pending.successor_sha256 != held_sha {
            continue;
        }
        match p.api.revoke(cred, &pending.id).await {
            Ok(_) | Err(crate::error::ClusterError::NotFound { .. }) => {
                list.remove(&pending.id)?;
                p.printer.status(format!(
                    "Revoked {} {}: its grace ended and its successor {} is in use.",
                    pending.kind.noun(),
                    pending.id,
                    pending.successor_id
                ));
            }
            Err(e) => p.printer.warn(format!(
                "could not revoke {} after its grace (the next run tries again): {e}",
                pending.id
            )),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_only_within_the_window() {
        let now = Utc::now();
        let day = chrono::Duration::days(1);
        let window = std::time::Duration::from_secs(14 * 86_400);
        let cases = [
            (None, false),
            (Some(now + day * 30), false),
            (Some(now + day * 14 + chrono::Duration::seconds(1)), false),
            (Some(now + day * 14), true),
            (Some(now + day), true),
            (Some(now - day), true),
        ];
        for (expires, want) in cases {
            assert_eq!(due(expires, window, now), want, "{expires:?}");
        }
        assert!(due(Some(now), std::time::Duration::MAX, now));
    }
}
