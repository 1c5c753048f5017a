//! The plan of one run and the pipeline value every step borrows.
use super::{Recorder, Reporter, Stores, TokenApi, own_credential};
use crate::cluster::{CreatedToken, Credential};
use crate::interrupt::Interrupt;
use crate::printer::Printer;
use crate::state::TokenKind;
use chrono::{DateTime, Utc};

/// What the person chose for a token no store would take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnNoStore {
    Revoke,
    /// Show it on stderr, only when stderr is a terminal (else revoke).
    Print,
}

/// What to create and where to put it.
pub struct Plan {
    pub description: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub stores: Stores,
    pub on_no_store: OnNoStore,
    pub json: bool,
    /// Where to record what each store now holds (`crate::state`).
    pub record: Option<Recorder>,
    /// Wait this long at most for the new token to be accepted before the
    /// stores get it (`provision::ready`); `None`: `--no-wait`.
    pub ready_timeout: Option<std::time::Duration>,
}

impl Plan {
    pub fn stdout_taken(&self) -> bool {
        self.stores.iter().any(|s| s.is_stdout())
    }
}

/// What every step needs: the cluster, the printer and the signal flag.
pub struct Pipeline<'a, A: TokenApi> {
    pub api: &'a A,
    pub printer: &'a Printer,
    pub interrupt: &'a Interrupt,
    /// This run's marker, appended to every description it creates
    /// ([`crate::cluster::ours`]): what proves a listed token is ours.
    pub run: String,
    pub reporter: &'a dyn Reporter,
}

impl<A: TokenApi> Pipeline<'_, A> {
    /// The credentials that may clean up after `created`: the pipeline's, and
    /// for a management token the token itself (the session may have just
    /// expired; a management token can always revoke itself).
    pub fn managers(&self, cred: &Credential, created: &CreatedToken) -> Vec<Credential> {
        match self.api.kind() {
            TokenKind::Management => vec![cred.clone(), own_credential(created)],
            TokenKind::Database => vec![cred.clone()],
        }
    }

    /// The credential that reads a new token back: its own for a management
    /// token (proving it authenticates), the pipeline's for a database token
    /// (which cannot call the Management API).
    pub fn checker(&self, cred: &Credential, created: &CreatedToken) -> Credential {
        match self.api.kind() {
            TokenKind::Management => own_credential(created),
            TokenKind::Database => cred.clone(),
        }
    }
}
