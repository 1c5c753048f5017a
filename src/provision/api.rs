//! The cluster side of the pipeline: the [`TokenApi`] trait, its
//! implementation for our API, and the credential a created token gives.
use crate::cluster::documented::Permission;
use crate::cluster::{
    ClusterClient, CreatedToken, Credential, CredentialKind, ManagementToken, NewToken,
};
use crate::error::ClusterResult;
use crate::secret::Secret;
use crate::state::TokenKind;

/// The cluster side of the pipeline ([`ClusterClient`] on a real cluster).
#[allow(async_fn_in_trait)] // used with concrete types on one thread, never boxed
pub trait TokenApi {
    /// Create a token; the key makes a replay return the same token.
    async fn create(&self, cred: &Credential, new: &NewToken<'_>) -> ClusterResult<CreatedToken>;
    async fn get(&self, cred: &Credential, id: &str) -> ClusterResult<ManagementToken>;
    async fn list(&self, cred: &Credential) -> ClusterResult<Vec<ManagementToken>>;
    async fn revoke(&self, cred: &Credential, id: &str) -> ClusterResult<ManagementToken>;

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

    /// Does `get` read just that token (one small answer)? influxctl's finds
    /// it in the whole list, so a caller that may use either reads the list
    /// there ([`Pipeline::describe_held`]).
    fn reads_one(&self) -> bool {
        true
    }

    /// Is `created` accepted where its consumers use it yet (issue 17)?
    /// The data path for a database token, the Management API for a
    /// management token (ours, or influxctl's on the documented API).
    async fn accepted(&self, _created: &CreatedToken) -> ClusterResult<bool> {
        Ok(true)
    }
}

impl TokenApi for ClusterClient<'_> {
    async fn create(&self, cred: &Credential, new: &NewToken<'_>) -> ClusterResult<CreatedToken> {
        ClusterClient::create(self, cred, new).await
    }
    async fn get(&self, cred: &Credential, id: &str) -> ClusterResult<ManagementToken> {
        ClusterClient::get(self, cred, id).await
    }
    async fn list(&self, cred: &Credential) -> ClusterResult<Vec<ManagementToken>> {
        ClusterClient::list(self, cred).await
    }
    async fn revoke(&self, cred: &Credential, id: &str) -> ClusterResult<ManagementToken> {
        ClusterClient::revoke(self, cred, id).await
    }
    /// A management token is used on the Management API: it is accepted
    /// once it can read itself there (401 until then).
    async fn accepted(&self, created: &CreatedToken) -> ClusterResult<bool> {
        let r = ClusterClient::get(self, &own_credential(created), &created.token.id).await;
        super::ready::accepted_unless_401(r)
    }
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

/// Permissions in a canonical order, for comparing as sets (the cluster
/// may answer in another order than we asked).
pub(super) fn sorted(ps: &[Permission]) -> Vec<(&str, &str)> {
    let mut v: Vec<(&str, &str)> = ps
        .iter()
        .map(|p| (p.action.as_str(), p.resource.as_str()))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}
