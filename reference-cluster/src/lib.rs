//! Reference implementation of the cluster side of the management-token API
//! specified in `docs/management-api.yaml`, beside InfluxData's documented
//! Management API for databases and database tokens (`docs/documented-api.md`)
//! and a minimal data path that checks database tokens.
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
//! [`app()`] gives the bare axum router for `tower::ServiceExt::oneshot` use.

pub mod activation;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod data;
pub mod documented;
pub mod error;
pub mod idempotency;
pub mod jwt;
pub mod management;
pub mod private;
pub mod request;
pub mod routes;
pub mod server;
pub mod state;
pub mod store;
pub mod test_control;
pub mod token;

#[cfg(test)]
mod test_support;

pub use app::app;
pub use config::Config;
pub use error::ApiError;
pub use routes::{DATA_ROUTES, DOCUMENTED_ROUTES, ROUTES, Route, TEST_ROUTES, served_routes};
pub use server::{RunningServer, StartError, start};
pub use state::AppState;
