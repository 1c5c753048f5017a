//! The provisioning pipeline: credential → pre-checks → create → stores →
//! verify → summary, or rollback. Each command makes one call into
//! [`ops`] with its plan; [`Backend`] is chosen once there and decides the
//! token API and the credential; `mint` and `rotate` are short scripts over
//! the steps here, reporting through a [`Reporter`].
//!
//! The promises every script keeps:
//! - **Nothing is created before everything checkable is checked**: every
//!   store is pre-flighted ([`preflight`]) before the cluster is asked.
//! - **Never orphan**: a token we created but could not keep is revoked
//!   ([`revoke_unstored`]), also when a signal arrives while the create is in
//!   flight ([`create_guarded`] replays its `Idempotency-Key` to find out;
//!   without server idempotency it lists after an unknown outcome instead, see
//!   [`Pipeline::create_reconciled`]).
//! - **Crash-consistent rotation**: `rotate` journals its intent and
//!   progress; the next run with the same stores rolls back or finishes
//!   ([`recover`]).
//! - **Never lose**: with `--on-store-failure print` and a person at the
//!   terminal, an unstorable token is shown once instead of revoked.
//! - **Output never aborts the pipeline**: the printer cannot fail on stderr,
//!   and the summary is reported after the token is safe.
//!
//! The cluster and the stores are traits ([`TokenApi`], [`Store`]) so unit
//! tests drive every failure point against in-memory fakes (`tests.rs`).
//! Three implementations of [`TokenApi`] make tokens — management tokens
//! over our API ([`ClusterClient`]) or influxctl ([`InfluxctlTokens`]), and
//! database tokens over the documented API ([`DatabaseTokens`]) — and
//! [`Backend`] wraps whichever the profile chose; what differs is declared
//! by the trait (kind, idempotency, permissions, readiness), not by copies
//! of the pipeline.
mod api;
mod backend;
mod binding;
mod create;
mod credential;
mod database;
mod fleet;
mod identify;
mod influxctl;
mod mint;
pub mod ops;
mod pipeline;
mod ready;
mod records;
mod recover;
mod report;
mod rotate;
mod stores;
mod write;

use api::sorted;
pub use api::{TokenApi, management_credential, own_credential};
pub use backend::{Backend, Want};
pub use binding::check_bound;
pub use create::{CLEANUP_BUDGET, create_failed};
pub use credential::Session;
pub use database::{DatabaseTokens, database_token_meta, held_database_token};
pub use fleet::{due, has_pending, lock_stores, retire_pending};
pub use influxctl::{
    InfluxctlTokens, influxctl_credential, influxctl_tokens, login as influxctl_login,
};
pub use mint::{Held, held_token, mint};
pub use ops::{Io, MintPlan, RotateRequest, create_to_show, run_mint, run_rotate};
pub use pipeline::{OnNoStore, Pipeline, Plan};
pub use ready::ready_timeout;
pub use records::{Recorder, documented_ref, management_ref, profile_address, record_of, recorder};
pub use recover::{Recovered, journal_for, recover};
pub use report::{Finished, Reporter, Silent};
pub use rotate::{OnRotated, RotatePlan, rotate};
use stores::blocking;
pub use stores::{SpecStore, Store, Stores, preflight, read_first, spec_stores};

#[cfg(test)]
mod tests;
