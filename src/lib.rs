//! influx-bootstrap: device-code login for InfluxDB 3 cluster admins, and the
//! automation tokens that follow from it.
pub mod auth;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod env;
pub mod error;
pub mod fsutil;
pub mod http;
pub mod logging;
pub mod output;
pub mod secret;
pub mod store;

use error::AuthError;

/// Run a parsed command line to completion.
pub fn run(cli: cli::Cli, env: env::Env) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        tokio::select! {
            r = commands::dispatch(cli, env) => r,
            // Ctrl-C or SIGTERM: dropping the command future stops polling at
            // once; nothing half-written is left (all writes are atomic).
            _ = interrupted() => Err(AuthError::Interrupted.into()),
        }
    })
}

async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
