//! One module per command, mirroring the CLI tree.
pub mod config;
pub mod login;
pub mod logout;
pub mod management;
pub mod status;

use crate::cli::{Cli, Command, ConfigCommand, ManagementCommand};
use crate::env::Env;

/// Shared by every command: the environment snapshot and global flags.
pub struct Context {
    pub env: Env,
    pub global: crate::cli::GlobalArgs,
}

impl Context {
    /// Resolve configuration; notes (e.g. "reading influxctl's file") go to stderr.
    pub fn config(&self) -> anyhow::Result<crate::config::Config> {
        let cfg = crate::config::resolve(&self.env, &self.global)?;
        for n in &cfg.notes {
            tracing::info!("{n}");
        }
        Ok(cfg)
    }
}

pub async fn dispatch(cli: Cli, env: Env) -> anyhow::Result<()> {
    let ctx = Context {
        env,
        global: cli.global,
    };
    match cli.command {
        Command::Login(a) => login::run(&ctx, a).await,
        Command::Status(a) => status::run(&ctx, a).await,
        Command::Logout(a) => logout::run(&ctx, a).await,
        Command::Management(ManagementCommand::Create(a)) => management::create(&ctx, a).await,
        Command::Management(ManagementCommand::List(a)) => management::list(&ctx, a).await,
        Command::Management(ManagementCommand::Revoke(a)) => management::revoke(&ctx, a).await,
        Command::Config(ConfigCommand::Show(a)) => config::show(&ctx, a),
        Command::Config(ConfigCommand::Path(a)) => config::path(&ctx, a),
    }
}
