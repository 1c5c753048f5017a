//! `mint`: create → store everywhere → verify → summary, never losing or
//! orphaning the token.
use super::Finished;
use super::{OnNoStore, Pipeline, Plan, Store, TokenApi, read_first};
use crate::cluster::{CreatedToken, Credential, ManagementToken};
use crate::error::MintError;
use crate::secret::Secret;
use crate::store::StoreResult;
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;

/// Run the pipeline with a credential already in hand (the stores were
/// pre-flighted by the caller before the credential was obtained).
pub async fn mint<A: TokenApi>(
    p: &Pipeline<'_, A>,
    plan: &Plan,
    cred: &Credential,
) -> anyhow::Result<()> {
    // A signal during the steps before (login, --create-database): stop
    // before anything is created.
    if p.interrupt.is_set() {
        return Err(MintError::Interrupted {
            what: "no token was created".into(),
        }
        .into());
    }
    let created = p
        .create_guarded(cred, &plan.description, plan.expires_at)
        .await
        .map_err(|what| MintError::Interrupted {
            what: format!("no token was stored: {what}"),
        })??;
    let managers = p.managers(cred, &created);
    let cleanup: Vec<&Credential> = managers.iter().collect();
    if p.interrupt.is_set() {
        let what = p.revoke_unstored(&cleanup, &created.token.id).await;
        return Err(MintError::Interrupted {
            what: format!("the new token was not stored: {what}"),
        }
        .into());
    }
    p.printer.status(created_line(p.api.kind(), &created));
    // Ready before anyone sees it (issue 17): a consumer waiting for the
    // store must not pick up a token the data path refuses yet.
    if let Some(timeout) = plan.ready_timeout {
        p.ready_or_revoke(cred, &created, timeout, "nothing was stored")
            .await?;
    }

    let (results, interrupted) = p.write_stores(&plan.stores, &created.access_token).await;
    if let Some(rec) = &plan.record {
        let stored: Vec<String> = results
            .iter()
            .filter(|r| r.ok)
            .map(|r| r.store.clone())
            .collect();
        rec.save(p.printer, p.api.kind(), &created, &stored);
    }
    if results.iter().all(|r| !r.ok) {
        return no_store(p, plan, &created, &cleanup, results, interrupted).await;
    }

    let verified = tokio::select! {
        biased;
        _ = p.interrupt.wait() => None,
        v = p.verify(cred, &created, &plan.description, plan.expires_at) => Some(v),
    };
    let ok = matches!(verified, Some(Ok(())));
    let failed = results.iter().filter(|r| !r.ok).count();
    let total = results.len();
    p.reporter.finished(Finished {
        verified: ok,
        to_stderr: plan.stdout_taken(),
        ..Finished::unverified("minted", &created, results, plan.json)
    });
    outcome(&created.token.id, verified, interrupted, failed, total)
}

/// How a mint that stored its token somewhere ends: the verification's
/// verdict (`None`: a signal cut it short), then a signal during the
/// stores, then stores that failed (exit codes of [`MintError`]).
fn outcome(
    id: &str,
    verified: Option<Result<(), MintError>>,
    interrupted: bool,
    failed: usize,
    total: usize,
) -> anyhow::Result<()> {
    let stored_in = format!("{} of {total}", total - failed);
    match verified {
        None => Err(MintError::Interrupted {
            what: format!("the token {id} is stored but was not verified"),
        }
        .into()),
        Some(Err(e)) => Err(e.into()),
        Some(Ok(())) if interrupted => Err(MintError::Interrupted {
            what: format!("the token {id} was stored in {stored_in} stores"),
        }
        .into()),
        Some(Ok(())) if failed > 0 => Err(MintError::SomeStoresFailed {
            failed,
            total,
            id: id.to_string(),
        }
        .into()),
        Some(Ok(())) => Ok(()),
    }
}

/// "Created management token ID (prefix)." / "Created database token ID
/// (read:db write:db)."
pub(super) fn created_line(kind: crate::state::TokenKind, created: &CreatedToken) -> String {
    let t = &created.token;
    let what = if t.permissions.is_empty() {
        t.token_prefix.clone()
    } else {
        let ps: Vec<String> = t.permissions.iter().map(|p| p.to_string()).collect();
        crate::text::sanitize(&ps.join(" "))
    };
    format!("Created {} {} ({what}).", kind.noun(), t.id)
}

/// No store took the token: show it once (by request, to a person) or
/// revoke it, then report.
async fn no_store<A: TokenApi>(
    p: &Pipeline<'_, A>,
    plan: &Plan,
    created: &CreatedToken,
    cleanup: &[&Credential],
    results: Vec<StoreResult>,
    interrupted: bool,
) -> anyhow::Result<()> {
    let id = &created.token.id;
    let show = plan.on_no_store == OnNoStore::Print;
    // A person must be there to copy it.
    let person = p.printer.person_present();
    let what = if show && person && !interrupted {
        p.printer.block(&format!(
            "\nNo store took the token. Here it is — save it now, it is not shown again:\n\n    {}\n\n",
            created.access_token.expose()
        ));
        "it was printed on the terminal (--on-store-failure print)".to_string()
    } else {
        if show {
            p.printer
                .note("--on-store-failure print needs a person at a terminal (stdin and stderr terminals, CI unset); revoking instead");
        }
        p.revoke_unstored(cleanup, id).await
    };
    if interrupted {
        return Err(MintError::Interrupted {
            what: format!("no store took the new token: {what}"),
        }
        .into());
    }
    p.reporter
        .finished(Finished::unverified("minted", created, results, plan.json));
    Err(MintError::NoStore {
        id: id.clone(),
        what,
    }
    .into())
}

/// What `--if-missing` found in the first store.
pub enum Held {
    /// Works here and lives long enough.
    Fresh(ManagementToken),
    /// Present but unusable or expiring: the reason.
    Replace(String),
    Missing,
}

/// Is the first store's token still good here for at least `min_remaining`?
///
/// `bound` is asked first whether the token may be sent to this cluster at
/// all ([`super::check_bound`]): a refusal ends the run, nothing is sent.
pub async fn held_token<A: TokenApi>(
    p: &Pipeline<'_, A>,
    stores: &[Arc<dyn Store>],
    min_remaining: Duration,
    record: Option<&crate::state::Record>,
    bound: impl FnOnce(&Secret) -> Result<(), crate::error::ConfigError>,
) -> anyhow::Result<Held> {
    let Some(tok) = read_first(stores).await? else {
        return Ok(Held::Missing);
    };
    bound(&tok)?;
    let known = record
        .filter(|r| r.describes(&tok))
        .map(|r| r.token_id.as_str());
    let Some(t) = p.describe_held(&tok, known).await? else {
        return Ok(Held::Replace(
            "holds a token that no longer works on this cluster".into(),
        ));
    };
    let id = t.id.clone();
    Ok(unless_expiring(t, &id, min_remaining))
}

/// A working token `id` is fresh unless it expires within `min_remaining`.
pub(super) fn unless_expiring(t: ManagementToken, id: &str, min_remaining: Duration) -> Held {
    let left = t
        .expires_at
        .map(|e| (e - Utc::now()).to_std().unwrap_or_default());
    if left.is_some_and(|l| l < min_remaining) {
        return Held::Replace(format!(
            "holds token {id} but it expires within {}",
            humantime::format_duration(min_remaining)
        ));
    }
    Held::Fresh(t)
}
