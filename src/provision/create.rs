//! The guarded create: never leave a token behind whose secret we did not
//! get, with server idempotency (replay) or without it (reconcile by listing).
use super::{Pipeline, TokenApi, sorted};
use crate::cluster::{CreatedToken, Credential, NewToken};
use crate::error::ClusterError;
use crate::state::TokenKind;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// How long cleanup (revoking an unstored token) may take on the way out.
pub const CLEANUP_BUDGET: Duration = Duration::from_secs(10);

/// A create's outcome, or (the outer `Err`) that a signal interrupted it:
/// already cleaned up, with what became of the token.
type Interruptible<T> = Result<anyhow::Result<T>, String>;

/// What [`Pipeline::create_guarded`] was asked to make (its description
/// already marked with the run); each request adds a fresh key.
#[derive(Clone, Copy)]
pub struct Ask<'a> {
    description: &'a str,
    expires_at: Option<DateTime<Utc>>,
}

impl<'a> Ask<'a> {
    /// The request under `key`, a fresh `Idempotency-Key`.
    fn keyed(self, key: &'a str) -> NewToken<'a> {
        NewToken {
            description: self.description,
            expires_at: self.expires_at,
            idempotency_key: key,
        }
    }
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
    ) -> Interruptible<CreatedToken> {
        let description = &crate::cluster::ours::marked(description, &self.run);
        let ask = Ask {
            description,
            expires_at,
        };
        let created = if self.api.idempotent_create() {
            self.create_replayed(cred, ask).await?
        } else {
            self.create_reconciled(cred, ask).await?
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
        ask: Ask<'_>,
    ) -> Interruptible<CreatedToken> {
        let key = uuid::Uuid::new_v4().to_string();
        let new = ask.keyed(&key);
        let description = ask.description;
        let kind = self.api.kind();
        tokio::select! {
            biased;
            r = self.api.create(cred, &new) => {
                Ok(r.map_err(|e| create_failed(e, description, kind)))
            }
            _ = self.interrupt.wait() => {
                let replay = self.api.create(cred, &new);
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
    /// 1. Create (the `Idempotency-Key` is sent; nothing depends on it).
    /// 2. If the outcome is unknown (connection dropped after sending, a
    ///    timeout, a 5xx; [`ClusterError::create_outcome_unknown`]), list:
    ///    a live token with exactly our permissions and this run's marked
    ///    description ([`crate::cluster::ours`]) is one whose secret we never
    ///    received — never another host's token of the same description. It
    ///    is revoked, and only then is the create sent once more. If it cannot
    ///    be revoked, nothing is created again (two live tokens would be worse
    ///    than an error that names the one to revoke).
    ///
    /// No listing before the create (issue 21: one round trip fewer per
    /// database token): the run's marker is 48 random bits drawn for this
    /// run, so no token that existed before it can carry it, and the ones an
    /// earlier attempt of this run made are revoked before the next attempt.
    ///
    /// A signal while the create is in flight lets the request finish
    /// (bounded by [`CLEANUP_BUDGET`]) and revokes what it made, or, with no
    /// answer, reconciles by listing as in step 2.
    pub async fn create_reconciled(
        &self,
        cred: &Credential,
        ask: Ask<'_>,
    ) -> Interruptible<CreatedToken> {
        let description = ask.description;
        let kind = self.api.kind();
        for attempt in 0..2 {
            let key = uuid::Uuid::new_v4().to_string();
            let new = ask.keyed(&key);
            let create = self.api.create(cred, &new);
            tokio::pin!(create);
            let r = tokio::select! {
                biased;
                r = &mut create => r,
                _ = self.interrupt.wait() => {
                    return Err(match tokio::time::timeout(CLEANUP_BUDGET, &mut create).await {
                        Ok(Ok(c)) => self.revoke_unstored(&[cred], &c.token.id).await,
                        _ => match self.revoke_lost(cred, description).await {
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
            match self.revoke_lost(cred, description).await {
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

    /// Revoke every live token with this run's marked `description` and our
    /// permissions: the ids revoked, or what went wrong (naming the ids).
    async fn revoke_lost(
        &self,
        cred: &Credential,
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
                t.revoked_at.is_none()
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
}
