//! `management create` / `token create`: one token, shown once.
use crate::cluster::{CreatedToken, Credential};
use crate::error::MintError;
use crate::provision::{Pipeline, TokenApi};
use chrono::{DateTime, Utc};

/// Create one token to be shown, never leaving it behind on a signal: a
/// signal between the cluster's commit and its answer is resolved by
/// `create_guarded` (replay or reconcile, then revoke); one after the answer
/// revokes it here, before it is shown.
pub async fn create_to_show<A: TokenApi>(
    p: &Pipeline<'_, A>,
    cred: &Credential,
    description: &str,
    expires_at: Option<DateTime<Utc>>,
) -> anyhow::Result<CreatedToken> {
    let created = p
        .create_guarded(cred, description, expires_at)
        .await
        .map_err(|what| MintError::Interrupted {
            what: format!("no token was shown: {what}"),
        })??;
    if p.interrupt.is_set() {
        let managers = p.managers(cred, &created);
        let cleanup: Vec<&Credential> = managers.iter().collect();
        let what = p.revoke_unstored(&cleanup, &created.token.id).await;
        return Err(MintError::Interrupted {
            what: format!("the new token was not shown: {what}"),
        }
        .into());
    }
    Ok(created)
}
