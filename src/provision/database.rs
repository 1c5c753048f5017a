//! Database tokens through the pipeline: [`TokenApi`] for the documented
//! Management API, carrying the permissions every token it makes gets. The
//! pipeline is the same as for management tokens; what differs is declared
//! by the trait: a database token cannot call the Management API
//! (`kind() == Database`: verify and clean up with the pipeline's
//! credential), and the documented create has no idempotency
//! (`idempotent_create() == false`: an unknown outcome is reconciled by
//! listing, never replayed).
use super::TokenApi;
use crate::cluster::documented::{DatabaseToken, DocumentedClient, Permission};
use crate::cluster::{CreatedToken, Credential, ManagementToken, NewToken};
use crate::error::{ClusterError, ClusterResult};
use crate::state::TokenKind;

pub struct DatabaseTokens<'a> {
    pub client: DocumentedClient<'a>,
    pub permissions: Vec<Permission>,
}

/// A database token in the pipeline's shape. The documented API reveals no
/// prefix of the secret (and `apiv1_` is the same for every token), so the
/// prefix is left empty; `created_by` is not part of the documented shape.
pub fn database_token_meta(t: DatabaseToken) -> ManagementToken {
    ManagementToken {
        id: t.id,
        description: t.description,
        token_prefix: String::new(),
        created_at: t.created_at,
        created_by: String::new(),
        expires_at: t.expires_at,
        revoked_at: t.revoked_at,
        permissions: t.permissions,
    }
}

impl TokenApi for DatabaseTokens<'_> {
    async fn create(&self, cred: &Credential, new: &NewToken<'_>) -> ClusterResult<CreatedToken> {
        let c = self
            .client
            .create_token(
                cred,
                new.description,
                &self.permissions,
                new.expires_at,
                new.idempotency_key,
            )
            .await?;
        Ok(CreatedToken {
            token: database_token_meta(c.token),
            access_token: c.access_token,
        })
    }

    async fn get(&self, cred: &Credential, id: &str) -> ClusterResult<ManagementToken> {
        Ok(database_token_meta(self.client.get_token(cred, id).await?))
    }

    async fn list(&self, cred: &Credential) -> ClusterResult<Vec<ManagementToken>> {
        let all = self.client.list_tokens(cred).await?;
        Ok(all.into_iter().map(database_token_meta).collect())
    }

    /// `DELETE` answers 204 without a body: read the token back for its
    /// `revokedAt` (best effort; the revoke itself is what matters).
    async fn revoke(&self, cred: &Credential, id: &str) -> ClusterResult<ManagementToken> {
        self.client.revoke_token(cred, id).await?;
        match self.client.get_token(cred, id).await {
            Ok(t) => Ok(database_token_meta(t)),
            Err(_) => Ok(ManagementToken::revoked_now(id)),
        }
    }

    fn kind(&self) -> TokenKind {
        TokenKind::Database
    }

    fn idempotent_create(&self) -> bool {
        false
    }

    fn permissions(&self) -> &[Permission] {
        &self.permissions
    }
    /// The data path, on a database the token may use (any name for `*`:
    /// a 404 there still says the token authenticated).
    async fn accepted(&self, created: &CreatedToken) -> ClusterResult<bool> {
        let database = self
            .permissions
            .iter()
            .map(|p| p.resource.as_str())
            .find(|r| *r != "*")
            .unwrap_or("influx_bootstrap_readiness");
        self.client.accepted(&created.access_token, database).await
    }
}

/// `--if-missing` for a database token: the first store's token is the one
/// `mint` recorded (same secret, by digest), and the management credential
/// reads it back: live, exactly these permissions, long enough to live. The
/// data path is not used: a fresh token can take minutes to work there,
/// which would make a just-minted token look broken.
pub async fn held_database_token<A: TokenApi>(
    p: &super::Pipeline<'_, A>,
    cred: &Credential,
    token_id: &str,
    min_remaining: std::time::Duration,
) -> Result<super::Held, ClusterError> {
    use super::Held;
    let t = match p.api.get(cred, token_id).await {
        Ok(t) => t,
        Err(ClusterError::NotFound { .. }) => {
            return Ok(Held::Replace(format!(
                "holds token {token_id}, which the cluster no longer knows"
            )));
        }
        Err(e) => return Err(e),
    };
    if t.revoked_at.is_some() {
        return Ok(Held::Replace(format!(
            "holds token {token_id}, which was revoked"
        )));
    }
    if super::sorted(&t.permissions) != super::sorted(p.api.permissions()) {
        return Ok(Held::Replace(format!(
            "holds token {token_id}, which has other permissions than asked for"
        )));
    }
    Ok(super::mint::unless_expiring(t, token_id, min_remaining))
}
