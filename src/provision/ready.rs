//! Ready before anyone sees it (issue 17): a new token can take seconds to
//! minutes before a cluster's data path accepts it (InfluxData documents
//! the delay), and a consumer that re-reads its store (Telegraf, Grafana,
//! a script) must never pick up a token that does not work yet. So `rotate`
//! writes the stores only once [`TokenApi::accepted`] says yes; until then
//! the old token stays in the stores, valid.
//!
//! A data path we cannot reach at all says nothing about the token: the
//! rotation then goes on with a warning (as before readiness existed); a 5xx
//! is asked again.
//!
//! The wait is bounded (`INFLUX_BOOTSTRAP_READY_TIMEOUT`, default
//! [`DEFAULT_READY_TIMEOUT`]), says once what it waits for, backs off from
//! 250 ms to 5 s between asks, and stops at a signal.
use super::{Pipeline, TokenApi};
use crate::cluster::CreatedToken;
use crate::error::ClusterError;
use std::time::Duration;

/// Real clusters take "seconds to minutes"; five minutes covers that and is
/// still short enough for an hourly timer.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(300);
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// Why the new token is not ready.
#[derive(Debug)]
pub enum NotReady {
    /// Not accepted within the bound.
    TimedOut(Duration),
    /// A signal arrived while waiting.
    Interrupted,
    /// The cluster answered an error.
    Failed(ClusterError),
}

/// A request made with the new token says whether it is accepted yet: any
/// answer it authenticates for means yes, a 401 means "not yet" (clusters
/// activate new tokens late), anything else is the answer to report.
pub(super) fn accepted_unless_401<T>(r: Result<T, ClusterError>) -> Result<bool, ClusterError> {
    match r {
        Ok(_) => Ok(true),
        Err(ClusterError::Unauthorized { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

impl<A: TokenApi> Pipeline<'_, A> {
    /// Wait until `created` is accepted where its consumers use it.
    pub async fn wait_ready(
        &self,
        created: &CreatedToken,
        timeout: Duration,
    ) -> Result<(), NotReady> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut pause = FIRST_PAUSE;
        let mut told = false;
        loop {
            match self.api.accepted(created).await {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                // The data path may not be reachable from where we run (a
                // management-only network, Dedicated's data host elsewhere):
                // that says nothing about the token, so the rotation goes on
                // as it did before readiness existed, with a warning.
                Err(e @ ClusterError::Unreachable { .. }) => {
                    self.printer.warn(format!(
                        "cannot ask the cluster's data path whether the new token works yet ({e}); not waiting"
                    ));
                    return Ok(());
                }
                // A 5xx is the gateway, not the token: ask again.
                Err(ClusterError::Server { .. }) => {}
                Err(e) => return Err(NotReady::Failed(e)),
            }
            if tokio::time::Instant::now() + pause > deadline {
                return Err(NotReady::TimedOut(timeout));
            }
            if !told {
                self.printer.status(format!(
                    "Waiting for the cluster to accept the new token on its data path (up to {})…",
                    humantime::format_duration(timeout)
                ));
                told = true;
            }
            tokio::select! {
                biased;
                _ = self.interrupt.wait() => return Err(NotReady::Interrupted),
                _ = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }
}

impl<A: TokenApi> Pipeline<'_, A> {
    /// [`Self::wait_ready`]; if the token is not ready, revoke it (never
    /// stored) and say what happened, `before` saying what the stores hold.
    pub async fn ready_or_revoke(
        &self,
        cred: &crate::cluster::Credential,
        created: &CreatedToken,
        timeout: Duration,
        before: &str,
    ) -> anyhow::Result<()> {
        use crate::error::MintError;
        let Err(why) = self.wait_ready(created, timeout).await else {
            return Ok(());
        };
        let managers = self.managers(cred, created);
        let creds: Vec<&crate::cluster::Credential> = managers.iter().collect();
        let what = self.revoke_unstored(&creds, &created.token.id).await;
        Err(match why {
            NotReady::TimedOut(waited) => MintError::NotReady {
                id: created.token.id.clone(),
                waited: humantime::format_duration(waited).to_string(),
                what,
            }
            .into(),
            NotReady::Interrupted => MintError::Interrupted {
                what: format!("{before}; new token: {what}"),
            }
            .into(),
            NotReady::Failed(e) => anyhow::Error::new(e).context(format!(
                "could not tell whether the new token works yet; {before}; new token: {what}"
            )),
        })
    }
}

/// The bound: `INFLUX_BOOTSTRAP_READY_TIMEOUT` (a duration), else the default.
pub fn ready_timeout(env: &crate::env::Env) -> Result<Duration, crate::error::ConfigError> {
    match env.get("INFLUX_BOOTSTRAP_READY_TIMEOUT") {
        None => Ok(DEFAULT_READY_TIMEOUT),
        Some(t) => crate::cluster::expiry::parse_window("INFLUX_BOOTSTRAP_READY_TIMEOUT", &t),
    }
}
