//! Finishing or rolling back a rotation that died half-way (issue 11 item 8).
//!
//! `rotate` journals its intent in the state directory before the create and
//! its progress after it ([`crate::state::Journal`]). When the next `rotate`
//! or `mint` with the same stores finds a journal, the run was cut short
//! (`kill -9`, power loss, a crash): [`recover`] reads what every store holds
//! and converges to exactly one live token, stored everywhere:
//!
//! - the create never answered (no new id): a token it may have made is
//!   found by listing, and it is ours only if it carries the journal's run
//!   marker ([`crate::cluster::ours`]); those are revoked, the stores hold the
//!   old token. A journal without a marker proves nothing: the candidates
//!   (same description and permissions, live) are named, nothing is revoked,
//!   exit 13 — the fleet rule: never revoke another host's token;
//! - some store still holds the old token: **back** — the stores that took the
//!   new one get the old one again, then the new one is revoked;
//! - no store holds the old token any more: **forward** — the remaining stores
//!   get the new one, then the old one is revoked.
//!
//! The journal is removed only once that is done; a failed step leaves it for
//! the next run. Nothing is sent before the journal's cluster is the active
//! profile's (M3 of the 2026-12-06 review): a journal's stored tokens go only
//! where they were made. `--keep-old`, journaled, is honoured going forward.
use super::{Pipeline, Stores, TokenApi, blocking, management_credential, sorted};
use crate::cluster::Credential;
use crate::error::{ClusterError, StateError};
use crate::secret::Secret;
use crate::state::{Journal, Records, TokenKind, fingerprint};
use std::sync::Arc;

/// The journal of an unfinished rotation of these stores, if any (an
/// unreadable one is a warning; an unsafe state directory stops the run,
/// exit 7).
pub fn journal_for(
    env: &crate::env::Env,
    printer: &crate::printer::Printer,
    stores: &Stores,
) -> Result<Option<(Records, Journal)>, StateError> {
    let Some(dir) = crate::state::state_dir(env) else {
        return Ok(None);
    };
    let records = Records::in_dir(&dir);
    let specs: Vec<String> = stores.iter().map(|s| s.to_string()).collect();
    match records.load_journal(&specs) {
        Ok(j) => Ok(j.map(|j| (records, j))),
        Err(e @ StateError::Unsafe { .. }) => Err(e),
        Err(e) => {
            printer.warn(format!("could not read the rotation journal: {e}"));
            Ok(None)
        }
    }
}

/// What recovery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovered {
    /// Back to the old token (or the create never answered).
    RolledBack(String),
    /// Forward to the new token: the rotation is complete.
    Finished(String),
}

/// What one store holds, compared with the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holds {
    Old,
    New,
    /// Something else, or nothing, or it cannot be read back.
    Unknown,
}

/// Converge the stores of an interrupted rotation (see the module docs).
/// `cred` is the management credential; for management tokens it may be
/// `None` (a token found in the stores is used).
pub async fn recover<A: TokenApi>(
    p: &Pipeline<'_, A>,
    records: &Records,
    journal: &Journal,
    stores: &Stores,
    cred: Option<&Credential>,
    here: &crate::state::ClusterRef,
) -> anyhow::Result<Recovered> {
    same_cluster(journal, here)?;
    p.printer.status(format!(
        "A rotation of these stores was interrupted (old token {}, new token {}); finishing it first.",
        journal.old_id,
        journal.new_id.as_deref().unwrap_or("unknown")
    ));
    let held = read_held(stores, journal).await;
    let secret_of = |h: Holds| {
        held.iter()
            .find(|(_, x, _)| *x == h)
            .and_then(|(_, _, s)| s.clone())
    };
    let old = secret_of(Holds::Old);
    let new = secret_of(Holds::New);
    // Who may list and revoke: the management credential, and for
    // management tokens any of the two tokens found in the stores.
    let mut creds: Vec<Credential> = cred.into_iter().cloned().collect();
    if journal.kind == TokenKind::Management {
        creds.extend(old.iter().chain(new.iter()).map(management_credential));
    }

    let r = Recovery {
        p,
        records,
        journal,
        held,
        creds,
    };
    let outcome = match (&journal.new_id, &old, &new) {
        (None, _, _) => {
            let ids = r.revoke_strays().await?;
            Recovered::RolledBack(if ids.is_empty() {
                "the interrupted create made no token".into()
            } else {
                format!(
                    "revoked the token the interrupted create made ({})",
                    ids.join(", ")
                )
            })
        }
        (Some(new_id), Some(old_secret), _) => r.back_to_old(new_id, old_secret).await?,
        (Some(new_id), None, Some(new_secret)) => r.on_to_new(new_id, new_secret).await?,
        (Some(new_id), None, None) => {
            p.printer.warn(format!(
                "no store holds the old token {} or the new token {new_id} any more; leaving both as they are",
                journal.old_id
            ));
            Recovered::RolledBack("nothing to do: the stores hold other tokens".into())
        }
    };
    records.remove_journal(&journal.stores)?;
    let what = match &outcome {
        Recovered::RolledBack(w) | Recovered::Finished(w) => w,
    };
    p.printer.status(format!("Interrupted rotation: {what}."));
    Ok(outcome)
}

/// An interrupted rotation is only ever finished with the profile of the
/// cluster it belongs to: nothing of one cluster is sent to another.
fn same_cluster(
    journal: &Journal,
    here: &crate::state::ClusterRef,
) -> Result<(), crate::error::ConfigError> {
    if journal.cluster == *here {
        return Ok(());
    }
    Err(crate::error::ConfigError::usage(
        "--store",
        format!(
            "an interrupted rotation of these stores belongs to {}, not to this profile's cluster {}; nothing was sent",
            journal.cluster.api_base, here.api_base
        ),
        "finish it with the profile of that cluster (--profile NAME)",
    ))
}

/// A store of the journal, what it holds compared with the journal, and
/// that secret (when it can be read back).
type HeldBy = (Arc<dyn super::Store>, Holds, Option<Secret>);

/// Read every store back and compare it with the journal's fingerprints;
/// a store that cannot be read back holds [`Holds::Unknown`].
async fn read_held(stores: &Stores, journal: &Journal) -> Vec<HeldBy> {
    let mut held = Vec::new();
    for s in stores {
        let store = s.clone();
        let secret = match blocking(move || store.read()).await {
            Ok(v) => v,
            Err(e) => {
                tracing::info!("{s}: cannot read it back: {e}");
                None
            }
        };
        let fp = secret.as_ref().map(fingerprint);
        let holds = match fp.as_deref() {
            Some(f) if f == journal.old_sha256 => Holds::Old,
            Some(f) if Some(f) == journal.new_sha256.as_deref() => Holds::New,
            _ => Holds::Unknown,
        };
        held.push((s.clone(), holds, secret));
    }
    held
}

/// One recovery: the journal it follows, what each store holds, and who
/// may list and revoke.
struct Recovery<'r, 'p, A: TokenApi> {
    p: &'r Pipeline<'p, A>,
    records: &'r Records,
    journal: &'r Journal,
    held: Vec<HeldBy>,
    creds: Vec<Credential>,
}

impl<A: TokenApi> Recovery<'_, '_, A> {
    /// Some store still holds the old token: put it back wherever the new
    /// one may be (held, or switched per the journal), then revoke the new one.
    async fn back_to_old(&self, new_id: &str, old_secret: &Secret) -> anyhow::Result<Recovered> {
        let may_hold_new =
            |h: Holds, switched: bool| h == Holds::New || (h == Holds::Unknown && switched);
        self.put_where(old_secret, may_hold_new, '↺', "old token restored")
            .await?;
        revoke(self.p, &self.creds, new_id).await?;
        Ok(Recovered::RolledBack(format!(
            "rolled back to the old token {}; the new token {new_id} was revoked",
            self.journal.old_id
        )))
    }

    /// Write `secret` to every store `picked` by what it holds and whether the
    /// journal says it was switched, saying `{mark} STORE: {done}` for each.
    async fn put_where(
        &self,
        secret: &Secret,
        picked: impl Fn(Holds, bool) -> bool,
        mark: char,
        done: &str,
    ) -> anyhow::Result<()> {
        for (s, holds, _) in &self.held {
            if picked(*holds, self.journal.switched.contains(&s.to_string())) {
                write(self.p, s, secret).await?;
                self.p.printer.status(format!("{mark} {s}: {done}"));
            }
        }
        Ok(())
    }

    /// No store holds the old token any more: finish forward, giving the new
    /// one to the stores not yet switched, and retire the old one.
    async fn on_to_new(&self, new_id: &str, new_secret: &Secret) -> anyhow::Result<Recovered> {
        let not_yet_new = |h: Holds, switched: bool| h != Holds::New && !switched;
        self.put_where(new_secret, not_yet_new, '✓', "new token stored")
            .await?;
        let journal = self.journal;
        // L4: the person asked to keep the old token.
        let old_fate = if journal.keep_old {
            "kept (--keep-old)"
        } else {
            revoke(self.p, &self.creds, &journal.old_id).await?;
            "revoked"
        };
        self.record_new(new_id).await;
        Ok(Recovered::Finished(format!(
            "finished: the new token {new_id} is in every store; the old token {} was {old_fate}",
            journal.old_id
        )))
    }

    /// After finishing forward: the records say every store holds the new token.
    async fn record_new(&self, new_id: &str) {
        let (p, records, journal) = (self.p, self.records, self.journal);
        let mut meta = None;
        for c in &self.creds {
            if let Ok(t) = p.api.get(c, new_id).await {
                meta = Some(t);
                break;
            }
        }
        let (created_at, expires_at) = meta
            .map(|t| (t.created_at, t.expires_at))
            .unwrap_or((journal.started_at, None));
        for store in &journal.stores {
            let r = crate::state::Record {
                version: crate::state::RECORD_VERSION,
                store: store.clone(),
                kind: journal.kind,
                token_id: new_id.to_string(),
                token_sha256: journal.new_sha256.clone().unwrap_or_default(),
                cluster: journal.cluster.clone(),
                description: journal.description.clone(),
                permissions: journal.permissions.clone(),
                created_at,
                expires_at,
                recorded_at: chrono::Utc::now(),
            };
            if let Err(e) = records.save(&r) {
                p.printer
                    .warn(format!("could not record which token {store} holds: {e}"));
            }
        }
    }

    /// The create never answered: revoke what it provably made (its run
    /// marker); without a marker, name the candidates and revoke nothing.
    async fn revoke_strays(&self) -> anyhow::Result<Vec<String>> {
        let (p, records, journal) = (self.p, self.records, self.journal);
        let mut all = None;
        for c in &self.creds {
            if let Ok(list) = p.api.list(c).await {
                all = Some((list, c));
                break;
            }
        }
        let Some((all, cred)) = all else {
            anyhow::bail!(
                "could not list tokens to finish an interrupted rotation (the journal is kept; run again)"
            );
        };
        let want = sorted(&journal.permissions);
        let live = all.into_iter().filter(|t| {
            t.id != journal.old_id && t.revoked_at.is_none() && sorted(&t.permissions) == want
        });
        let Some(run) = &journal.run else {
            let candidates: Vec<String> = live
                .filter(|t| crate::cluster::ours::unmarked(&t.description) == journal.description)
                .map(|t| t.id)
                .collect();
            if candidates.is_empty() {
                return Ok(Vec::new());
            }
            return Err(StateError::NotProvablyOurs {
                candidates: candidates.join(", "),
                journal: records.journal_path(&journal.stores),
            }
            .into());
        };
        let ours = crate::cluster::ours::marked(&journal.description, run);
        let mut ids = Vec::new();
        for t in live.filter(|t| t.description == ours) {
            revoke(p, std::slice::from_ref(cred), &t.id).await?;
            ids.push(t.id);
        }
        Ok(ids)
    }
}

async fn write<A: TokenApi>(
    _p: &Pipeline<'_, A>,
    store: &Arc<dyn super::Store>,
    token: &Secret,
) -> anyhow::Result<()> {
    let (s, t) = (store.clone(), token.clone());
    blocking(move || s.write(&t))
        .await
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("{store}: {e} (the rotation journal is kept; run again)"))
}

/// Revoke with the first credential that works; a token already gone is fine.
async fn revoke<A: TokenApi>(
    p: &Pipeline<'_, A>,
    creds: &[Credential],
    id: &str,
) -> anyhow::Result<()> {
    let mut last = None;
    for c in creds {
        match p.api.revoke(c, id).await {
            Ok(_) | Err(ClusterError::NotFound { .. }) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => anyhow::Error::new(e),
        None => anyhow::anyhow!("no credential to revoke {id} with"),
    }
    .context(format!(
        "could not revoke {id} while finishing an interrupted rotation (the journal is kept; run again)"
    )))
}
