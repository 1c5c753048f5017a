//! Reference implementation of the cluster side of the management-token API
//! specified in `docs/management-api.yaml`.
//!
//! In-process use (tests):
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = reference_cluster::Config::minimal(
//!     "http://127.0.0.1:4444", "https://cluster.example.test", &["admin"]);
//! let server = reference_cluster::start(config).await?;   // listens on 127.0.0.1:0
//! println!("{}", server.url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! [`app`] gives the bare axum router for `tower::ServiceExt::oneshot` use.

pub mod api;
pub mod auth;
pub mod config;
pub mod server;
pub mod store;
pub mod token;

pub use api::{AppState, ROUTES, Route, TEST_ROUTES, app};
pub use config::Config;
pub use server::{RunningServer, StartError, start};
