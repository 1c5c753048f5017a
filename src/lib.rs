//! influx-bootstrap: device-code login for InfluxDB 3 cluster admins, and the
//! automation tokens that follow from it.
pub mod args;
pub mod auth;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod env;
pub mod error;
pub mod fsutil;
pub mod harden;
pub mod http;
pub mod interrupt;
pub mod logging;
pub mod output;
pub mod printer;
pub mod provision;
pub mod secret;
pub mod settings;
pub mod state;
pub mod store;
pub mod text;

use error::AuthError;

/// Run a parsed command line to completion.
pub fn run(cli: cli::Cli, env: env::Env, printer: printer::Printer) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let intr = interrupt::Interrupt::install();
        if cli.command.cleans_up_on_interrupt() {
            return commands::dispatch(cli, env, intr, printer).await;
        }
        let waiter = intr.clone();
        tokio::select! {
            r = commands::dispatch(cli, env, intr, printer) => r,
            // Ctrl-C or SIGTERM: dropping the command future stops polling at
            // once; nothing half-written is left (all writes are atomic).
            _ = waiter.wait() => Err(AuthError::Interrupted.into()),
        }
    })
}
