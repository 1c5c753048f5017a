//! Test helpers shared by the tests of both workspace packages
//! (`influx-bootstrap` and `reference-cluster`):
//!
//! * [`idp`]: the local OpenID provider of `tests/idp` (oidc-provider on
//!   Node.js): `npm ci` under a lock, [`Idp`] / [`IdpBuilder`] to run it, its
//!   test-only control routes, and a device flow driven over plain HTTP;
//! * [`pyidp`]: the Python device-flow servers of `tests/providers`
//!   (django-oauth-toolkit, Authlib): their venv under a lock, [`pyidp::PyIdp`]
//!   to run one, their test-only routes;
//! * [`glewlwyd`]: Glewlwyd 2.7 from Debian's package (installed once under
//!   a lock), run per test with a throwaway SQLite database and configured
//!   through its admin REST API; device approval through the same API;
//! * [`tls`]: a throwaway CA and a server certificate for 127.0.0.1/localhost;
//! * [`cluster_db`]: the reference cluster's SQLite file, edited behind the
//!   server's back to put a token into a state that would otherwise take
//!   waiting (expired, revoked at a known time);
//! * [`process`]: waiting for a child process with a bound, and signals;
//! * [`setup`]: installing a fixture's dependencies once, under a lock;
//! * [`server`]: a fixture server as a child process (ready line, log, drop);
//! * [`users`]: a second local user (the attacker of the hardening tests).
//!
//! Waits in here are on events (a line on a pipe, a process exit), each bounded
//! by a generous timeout that panics with the relevant diagnostics; nothing
//! sleeps for a fixed time.
//!
//! The local stack for people and the benchmark (not for these tests) is
//! `scripts/stack.sh`.

pub mod cluster_db;
pub mod glewlwyd;
pub mod idp;
pub mod process;
pub mod pyidp;
pub mod server;
pub mod setup;
pub mod tls;
#[cfg(unix)]
pub mod users;

pub use idp::{DEFAULT_AUDIENCE, Idp, IdpBuilder};

use std::path::{Path, PathBuf};

/// The workspace root (where the top-level `Cargo.toml` lives).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .expect("test-support lives in the workspace root")
        .to_path_buf()
}
