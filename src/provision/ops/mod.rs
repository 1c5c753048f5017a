//! One call per command: each takes the plan its command built from the
//! flags and runs the whole job (choose the backend, pre-flight, log in,
//! the pipeline) — cargo's `ops::x`, gh's `shared.Login`.
mod create;
mod mint;
mod rotate;

pub use create::create_to_show;
pub use mint::{MintPlan, run_mint};
pub use rotate::{RotateRequest, run_rotate};

use super::{Pipeline, Reporter, TokenApi};
use crate::env::Env;
use crate::interrupt::Interrupt;
use crate::printer::Printer;

/// What a run talks to besides the cluster: the environment snapshot,
/// people (stderr), signals, and whoever renders the reports.
pub struct Io<'a> {
    pub env: &'a Env,
    pub printer: &'a Printer,
    pub interrupt: &'a Interrupt,
    pub reporter: &'a dyn Reporter,
}

impl<'a> Io<'a> {
    /// The pipeline steps over `api`.
    pub fn pipeline<A: TokenApi>(&'a self, api: &'a A) -> Pipeline<'a, A> {
        Pipeline {
            api,
            printer: self.printer,
            interrupt: self.interrupt,
            reporter: self.reporter,
            run: crate::cluster::ours::new_run(),
        }
    }
}
