//! How the pipeline tells its caller what became of a token, without
//! knowing how that is shown (uv's `Reporter`): `provision` never imports
//! `output`; the command layer renders [`Finished`] as a table or JSON.
use crate::cluster::{CreatedToken, ManagementToken};
use crate::store::StoreResult;

/// The end of a `mint` or `rotate`, successful or not.
pub struct Finished<'a> {
    /// `minted` or `rotated` (the JSON `event`).
    pub event: &'static str,
    pub created: &'a CreatedToken,
    pub stores: Vec<StoreResult>,
    pub verified: bool,
    /// What became of the token a rotation replaced.
    pub old: Option<String>,
    pub json: bool,
    /// The report goes to stderr: stdout holds the token (a `stdout`
    /// store), or the run failed (a script reading stdout must never take
    /// a failure report for data).
    pub to_stderr: bool,
}

/// Receives the pipeline's reports.
pub trait Reporter: Sync {
    fn finished(&self, f: Finished<'_>);
    /// `--if-missing` found a working token in `store`: nothing was done.
    fn unchanged(&self, store: &str, held: &ManagementToken, json: bool) -> anyhow::Result<()>;
}

impl<'a> Finished<'a> {
    /// The report of a run whose token was not verified (a failure, or a
    /// token no store took): no old token, and on stderr, since stdout must
    /// never carry a failure report a script could take for data.
    pub fn unverified(
        event: &'static str,
        created: &'a CreatedToken,
        stores: Vec<StoreResult>,
        json: bool,
    ) -> Self {
        Finished {
            event,
            created,
            stores,
            verified: false,
            old: None,
            json,
            to_stderr: true,
        }
    }
}

/// Reports nothing (tests that only look at the cluster and the stores).
pub struct Silent;

impl Reporter for Silent {
    fn finished(&self, _: Finished<'_>) {}
    fn unchanged(&self, _: &str, _: &ManagementToken, _: bool) -> anyhow::Result<()> {
        Ok(())
    }
}
