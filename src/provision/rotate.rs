//! `rotate`: replace the stored token. A management token rotates itself (no
//! person, no device flow); a database token is rotated with the management
//! credential (`mgmt_token` or the session). If any step fails, the old token
//! stays valid and stored: stores already switched are switched back and the
//! new token is revoked.
use super::Finished;
use super::{Pipeline, Recorder, Stores, TokenApi};
use crate::cluster::{CreatedToken, Credential, ManagementToken};
use crate::error::{ClusterError, MintError};
use crate::secret::Secret;
use crate::state::{Journal, TokenKind};
use crate::store::StoreResult;
use chrono::{DateTime, Utc};

/// What to rotate: the token the first store holds, as the cluster describes
/// it, and where the replacement goes.
pub struct RotatePlan {
    pub old: Secret,
    pub meta: ManagementToken,
    pub stores: Stores,
    /// `--expires-at`/`--expires-in`; `None` keeps the old token's lifetime.
    pub expires_at: Option<DateTime<Utc>>,
    pub keep_old: bool,
    /// How long to wait for the new token to be accepted before the stores
    /// get it ([`super::ready`]).
    pub ready_timeout: std::time::Duration,
    /// `--on-rotated CMD`: run once every store holds the new, ready token,
    /// before the old one is retired; its failure keeps the old token.
    pub on_rotated: Option<OnRotated>,
    /// `--grace`: keep the old token valid this long, its revocation
    /// pending in the state directory ([`crate::state::pending`]).
    pub grace: Option<std::time::Duration>,
    pub json: bool,
    /// The credential that creates and revokes: the old token itself for a
    /// management token, the management credential for a database token.
    pub cred: Credential,
    /// Where to record what each store now holds.
    pub record: Option<Recorder>,
}

impl RotatePlan {
    /// The replacement's expiry: as asked, else the same lifetime as the old
    /// token, counted from now.
    pub fn new_expiry(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let m = &self.meta;
        self.expires_at
            // Saturating: the cluster's dates may be far apart (issue 11, item 11).
            .or_else(|| {
                m.expires_at.map(|e| {
                    now.checked_add_signed(e - m.created_at)
                        .unwrap_or(DateTime::<Utc>::MAX_UTC)
                })
            })
    }
}

/// The journal of this rotation (issue 11 item 8), when there is a state
/// directory; every write is best effort (a warning), since the rotation
/// itself is still safe without it, only not crash-consistent.
struct Journaling<'a> {
    records: Option<&'a crate::state::Records>,
    journal: Journal,
}

impl Journaling<'_> {
    fn save(&self, p: &Pipeline<'_, impl TokenApi>) {
        if let Some(r) = self.records
            && let Err(e) = r.save_journal(&self.journal)
        {
            p.printer
                .warn(format!("could not write the rotation journal: {e}"));
        }
    }
    fn remove(&self, p: &Pipeline<'_, impl TokenApi>) {
        if let Some(r) = self.records
            && let Err(e) = r.remove_journal(&self.journal.stores)
        {
            p.printer
                .warn(format!("could not remove the rotation journal: {e}"));
        }
    }
}

impl<'a> Journaling<'a> {
    /// The intent of this rotation, before anything is created: what the
    /// old token is and which stores take part (the new token comes later).
    fn begin(p: &Pipeline<'_, impl TokenApi>, plan: &'a RotatePlan) -> Self {
        let meta = &plan.meta;
        Journaling {
            records: plan.record.as_ref().map(|r| &r.records),
            journal: Journal {
                version: crate::state::RECORD_VERSION,
                stores: plan.stores.iter().map(|s| s.to_string()).collect(),
                kind: p.api.kind(),
                cluster: plan
                    .record
                    .as_ref()
                    .map(|r| r.cluster.clone())
                    .unwrap_or_else(|| crate::state::ClusterRef {
                        product: String::new(),
                        api_base: String::new(),
                        account_id: None,
                        cluster_id: None,
                    }),
                description: crate::cluster::ours::unmarked(&meta.description).to_string(),
                permissions: meta.permissions.clone(),
                old_id: meta.id.clone(),
                old_sha256: crate::state::fingerprint(&plan.old),
                new_id: None,
                new_sha256: None,
                switched: Vec::new(),
                started_at: Utc::now(),
                run: Some(p.run.clone()),
                keep_old: plan.keep_old,
            },
        }
    }
}

pub async fn rotate<A: TokenApi>(p: &Pipeline<'_, A>, plan: &RotatePlan) -> anyhow::Result<()> {
    let meta = &plan.meta;
    let expires_at = plan.new_expiry(Utc::now());
    let mut journal = Journaling::begin(p, plan);
    // Intent first: a crash from here on is finished or rolled back by the
    // next run with these stores.
    journal.save(p);
    let created = create_journaled(p, plan, expires_at, &mut journal).await?;
    p.printer.status(format!(
        "{} Replaces {}.",
        super::mint::created_line(p.api.kind(), &created),
        meta.id
    ));
    // Ready before anyone sees it: until the cluster accepts the new token
    // where consumers use it, the stores keep the old one (issue 17).
    if let Err(e) = p
        .ready_or_revoke(
            &plan.cred,
            &created,
            plan.ready_timeout,
            "the old token is unchanged",
        )
        .await
    {
        journal.remove(p);
        return Err(e);
    }

    let (results, interrupted) = p
        .write_stores_noting(&plan.stores, &created.access_token, |store| {
            journal.journal.switched.push(store.to_string());
            journal.save(p);
        })
        .await;
    let failed = results.iter().filter(|r| !r.ok).count();
    let verified = if failed == 0 && !interrupted {
        p.verify(&plan.cred, &created, &meta.description, expires_at)
            .await
    } else {
        Ok(())
    };
    if failed > 0 || interrupted || verified.is_err() {
        let (what, consistent) = undo(p, plan, &created, &results).await;
        if consistent {
            journal.remove(p);
        }
        return Err(rolled_back(
            p,
            plan,
            &created,
            results,
            interrupted,
            verified,
            what,
        ));
    }
    let r = finish(p, plan, &created, results).await;
    // The stores agree on the new token; an old one that could not be
    // revoked is named in the error (and `rotate` again revokes it first).
    if r.is_ok() {
        journal.remove(p);
    }
    r
}

/// Create the replacement and journal its id and fingerprint, so a crash
/// from here on finds it. A definite refusal leaves nothing to recover and
/// ends the journal; an unknown outcome keeps it, so the next run looks for
/// the token ([`super::recover`]).
async fn create_journaled<A: TokenApi>(
    p: &Pipeline<'_, A>,
    plan: &RotatePlan,
    expires_at: Option<DateTime<Utc>>,
    journal: &mut Journaling<'_>,
) -> anyhow::Result<CreatedToken> {
    let created = p
        .create_guarded(&plan.cred, &plan.meta.description, expires_at)
        .await
        .map_err(|what| MintError::Interrupted {
            what: format!("the old token is unchanged; {what}"),
        })?
        .inspect_err(|e| {
            let unknown = e
                .downcast_ref::<ClusterError>()
                .is_some_and(ClusterError::create_outcome_unknown);
            if !unknown {
                journal.remove(p);
            }
        })?;
    journal.journal.new_id = Some(created.token.id.clone());
    journal.journal.new_sha256 = Some(crate::state::fingerprint(&created.access_token));
    journal.save(p);
    Ok(created)
}

/// Report a rotation that was undone, and the error it ends with: a signal,
/// else the failed verification, else the stores that failed; each names
/// the old token that is still valid and `what` became of the new one.
fn rolled_back<A: TokenApi>(
    p: &Pipeline<'_, A>,
    plan: &RotatePlan,
    created: &CreatedToken,
    results: Vec<StoreResult>,
    interrupted: bool,
    verified: Result<(), MintError>,
    what: String,
) -> anyhow::Error {
    let failed = results.iter().filter(|r| !r.ok).count();
    let total = results.len();
    p.reporter
        .finished(Finished::unverified("rotated", created, results, plan.json));
    let what = format!(
        "rotation rolled back, the old token {} is still valid; new token: {what}",
        plan.meta.id
    );
    if interrupted {
        MintError::Interrupted { what }.into()
    } else if let Err(e) = verified {
        anyhow::Error::new(e).context(what)
    } else {
        anyhow::Error::new(MintError::SomeStoresFailed {
            failed,
            total,
            id: created.token.id.clone(),
        })
        .context(what)
    }
}

/// Switch the stores back to the old token; revoke the new one unless a
/// store still holds it. Says what became of the new token, and whether the
/// stores agree again (all on the old token).
async fn undo<A: TokenApi>(
    p: &Pipeline<'_, A>,
    plan: &RotatePlan,
    created: &CreatedToken,
    results: &[StoreResult],
) -> (String, bool) {
    let still_new = p.roll_back(&plan.stores, results, &plan.old).await;
    if still_new.is_empty() {
        let managers = p.managers(&plan.cred, created);
        let creds: Vec<&Credential> = managers.iter().collect();
        (p.revoke_unstored(&creds, &created.token.id).await, true)
    } else {
        let what = format!(
            "the new token {} stays valid because {} still hold it",
            created.token.id,
            still_new.join(", ")
        );
        (what, false)
    }
}

/// `--grace`: record the old token's revocation as pending; the time it
/// becomes due, or `None` (no grace, no state directory, or it could not be
/// recorded: then it is revoked now, as without `--grace`).
fn pending_until<A: TokenApi>(
    p: &Pipeline<'_, A>,
    plan: &RotatePlan,
    created: &CreatedToken,
) -> Option<DateTime<Utc>> {
    let grace = plan.grace.filter(|g| !g.is_zero() && !plan.keep_old)?;
    let Some(rec) = &plan.record else {
        p.printer
            .warn("--grace needs a state directory: the old token is revoked now");
        return None;
    };
    let until = Utc::now() + chrono::Duration::from_std(grace).ok()?;
    let pending = crate::state::pending::Pending {
        version: crate::state::RECORD_VERSION,
        id: plan.meta.id.clone(),
        kind: p.api.kind(),
        cluster: rec.cluster.clone(),
        stores: plan.stores.iter().map(|s| s.to_string()).collect(),
        not_before: until,
        successor_id: created.token.id.clone(),
        successor_sha256: crate::state::fingerprint(&created.access_token),
    };
    match crate::state::pending::PendingList::in_dir(rec.records.root()).save(&pending) {
        Ok(()) => Some(until),
        Err(e) => {
            p.printer.warn(format!(
                "could not record the pending revocation ({e}): the old token is revoked now"
            ));
            None
        }
    }
}

/// `rotate --on-rotated CMD` and how to run it ([`crate::store::run_hook`]).
#[derive(Debug, Clone)]
pub struct OnRotated {
    pub command: String,
    pub opts: crate::store::StoreOptions,
}

/// Everything holds the new token: tell the consumers (`--on-rotated`),
/// revoke the old one (unless kept) and report.
async fn finish<A: TokenApi>(
    p: &Pipeline<'_, A>,
    plan: &RotatePlan,
    created: &CreatedToken,
    results: Vec<StoreResult>,
) -> anyhow::Result<()> {
    let meta = &plan.meta;
    if let Some(rec) = &plan.record {
        let stored: Vec<String> = results.iter().map(|r| r.store.clone()).collect();
        rec.save(p.printer, p.api.kind(), created, &stored);
    }
    let hook_error = run_on_rotated(p, plan).await.err();
    let (old, revoke_error) = match &hook_error {
        // The consumers may not have the new token yet: the old one stays.
        Some(e) => (format!("{} kept (--on-rotated failed: {e})", meta.id), None),
        None => retire_old(p, plan, created).await,
    };
    p.reporter.finished(Finished {
        verified: true,
        old: Some(old),
        to_stderr: plan.stores.iter().any(|s| s.is_stdout()),
        ..Finished::unverified("rotated", created, results, plan.json)
    });
    if let Some(e) = hook_error {
        return Err(anyhow::anyhow!(
            "--on-rotated failed: {e}; every store holds the new token, and the old token {} is kept valid \
             (revoke it with `{}` once the consumers use the new one)",
            meta.id,
            p.api.kind().revoke_command(&meta.id)
        ));
    }
    match revoke_error {
        Some(e) => Err(anyhow::Error::new(e).context(format!(
            "the new token is in place, but the old token {} is still valid; revoke it with `{}`",
            meta.id,
            p.api.kind().revoke_command(&meta.id)
        ))),
        None => Ok(()),
    }
}

/// `--on-rotated CMD`, once every store holds the new token: `Err` says why
/// it failed (the caller then keeps the old token).
async fn run_on_rotated<A: TokenApi>(p: &Pipeline<'_, A>, plan: &RotatePlan) -> Result<(), String> {
    let Some(h) = plan.on_rotated.clone() else {
        return Ok(());
    };
    let command = h.command.clone();
    super::blocking(move || crate::store::run_hook(&h.command, &h.opts)).await?;
    p.printer
        .status(format!("✓ --on-rotated `{command}` exited 0"));
    Ok(())
}

/// What becomes of the old token once the consumers have the new one:
/// pending (`--grace`), kept (`--keep-old`) or revoked now. Says which,
/// with the error when revoking failed.
async fn retire_old<A: TokenApi>(
    p: &Pipeline<'_, A>,
    plan: &RotatePlan,
    created: &CreatedToken,
) -> (String, Option<ClusterError>) {
    let meta = &plan.meta;
    if let Some(until) = pending_until(p, plan, created) {
        let until = crate::text::rfc3339(until);
        return (
            format!(
                "{} valid until {until}, then revoked by the next rotate (--grace)",
                meta.id
            ),
            None,
        );
    }
    if plan.keep_old {
        return (format!("{} kept (--keep-old)", meta.id), None);
    }
    // A management token: the new one revokes the old (the old one may
    // be the only other credential). A database token: the manager.
    let revoker = match p.api.kind() {
        TokenKind::Management => super::own_credential(created),
        TokenKind::Database => plan.cred.clone(),
    };
    match p.api.revoke(&revoker, &meta.id).await {
        Ok(t) => (
            format!(
                "{} revoked at {}",
                t.id,
                crate::text::rfc3339_or_dash(t.revoked_at)
            ),
            None,
        ),
        Err(e) => (format!("{} NOT revoked: {e}", meta.id), Some(e)),
    }
}
