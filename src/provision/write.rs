//! After the create: write the stores, roll back, verify, identify a held token.
use super::{Pipeline, Store, TokenApi, blocking, identify, management_credential, sorted};
use crate::cluster::documented::Permission;
use crate::cluster::{CreatedToken, Credential, ManagementToken};
use crate::error::{ClusterError, MintError};
use crate::secret::Secret;
use crate::store::StoreResult;
use chrono::{DateTime, Utc};
use std::sync::Arc;

impl<A: TokenApi> Pipeline<'_, A> {
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
    ///
    /// With a recorded id the token reads itself (`GET …/tokens/{id}`, a few
    /// hundred bytes) instead of the whole list (2.7 MB on a cluster of
    /// 10,000 tokens, issue 21); the list is read only when that entry is
    /// not there or does not fit the secret.
    pub async fn describe_held(
        &self,
        token: &Secret,
        known_id: Option<&str>,
    ) -> anyhow::Result<Option<ManagementToken>> {
        let cred = management_credential(token);
        if let Some(id) = known_id.filter(|_| self.api.reads_one()) {
            match self.api.get(&cred, id).await {
                Ok(t) => {
                    if let Some(t) = identify::held(vec![t], token, known_id)? {
                        return Ok(Some(t));
                    }
                }
                Err(ClusterError::Unauthorized { .. }) => return Ok(None),
                Err(ClusterError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        match self.api.list(&cred).await {
            Ok(all) => Ok(identify::held(all, token, known_id)?),
            Err(ClusterError::Unauthorized { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
