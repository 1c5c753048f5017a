//! One module per command, mirroring the CLI tree.
pub mod config;
pub mod login;
pub mod logout;
pub mod management;
pub mod mint;
pub mod rotate;
pub mod status;

use crate::cli::{Cli, Command, ConfigCommand, ManagementCommand};
use crate::env::Env;

/// Shared by every command: the environment snapshot and global flags.
pub struct Context {
    pub env: Env,
    pub global: crate::cli::GlobalArgs,
    pub interrupt: crate::interrupt::Interrupt,
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

/// Configuration and an HTTP client for a command that talks to the cluster.
/// The cluster address is checked here, before anyone is asked to log in.
pub fn cluster_context(
    ctx: &Context,
) -> anyhow::Result<(crate::config::Config, crate::http::HttpClient)> {
    let cfg = ctx.config()?;
    crate::cluster::base_url(&cfg.profile)?;
    let http = crate::http::HttpClient::new(&cfg.profile, cfg.timeout.value)?;
    Ok((cfg, http))
}

/// Options for the secret stores, from the environment snapshot.
pub fn store_options(ctx: &Context, force: bool) -> crate::store::StoreOptions {
    use crate::store::{KeyringBackend, StoreOptions};
    let env = &ctx.env;
    // The test keyring exists only in builds with the `test-keyring` feature.
    #[cfg(feature = "test-keyring")]
    let keyring_backend = env
        .path("INFLUX_BOOTSTRAP_TEST_KEYRING_DIR")
        .map_or(KeyringBackend::Os, KeyringBackend::TestDir);
    #[cfg(not(feature = "test-keyring"))]
    let keyring_backend = KeyringBackend::Os;
    StoreOptions {
        force,
        influxctl_config: crate::config::influxctl_config_path(env),
        keyring_backend,
        dbus_session: env.is_set("DBUS_SESSION_BUS_ADDRESS"),
        // `exec:` children never see our variables (they may hold a token).
        exec_env_remove: env
            .names()
            .filter(|n| n.starts_with("INFLUX_BOOTSTRAP_"))
            .map(str::to_string)
            .collect(),
        ..StoreOptions::default()
    }
}

pub async fn dispatch(
    cli: Cli,
    env: Env,
    interrupt: crate::interrupt::Interrupt,
) -> anyhow::Result<()> {
    let ctx = Context {
        env,
        global: cli.global,
        interrupt,
    };
    match cli.command {
        Command::Login(a) => login::run(&ctx, a).await,
        Command::Status(a) => status::run(&ctx, a).await,
        Command::Logout(a) => logout::run(&ctx, a).await,
        Command::Mint(a) => mint::run(&ctx, a).await,
        Command::Rotate(a) => rotate::run(&ctx, a).await,
        Command::Management(ManagementCommand::Create(a)) => management::create(&ctx, a).await,
        Command::Management(ManagementCommand::List(a)) => management::list(&ctx, a).await,
        Command::Management(ManagementCommand::Revoke(a)) => management::revoke(&ctx, a).await,
        Command::Config(ConfigCommand::Show(a)) => config::show(&ctx, a),
        Command::Config(ConfigCommand::Path(a)) => config::path(&ctx, a),
    }
}
