//! One module per command, mirroring the CLI tree.
pub mod completions;
pub mod config;
pub mod database;
pub mod doctor;
pub mod init;
pub mod login;
pub mod logout;
pub mod management;
pub mod mint;
pub mod rotate;
pub mod status;
pub mod token;

use crate::cli::{Cli, Command, ConfigCommand, DatabaseCommand, ManagementCommand, TokenCommand};
use crate::env::Env;

/// Shared by every command: the environment snapshot and global flags.
pub struct Context {
    pub env: Env,
    pub global: crate::cli::GlobalArgs,
    pub interrupt: crate::interrupt::Interrupt,
    pub printer: crate::printer::Printer,
}

impl Context {
    /// Resolve configuration; notes (e.g. "reading influxctl's file") go to
    /// the log. Nothing configured at all is an error naming the missing
    /// files and `config init` (the same first message for every command).
    pub fn config(&self) -> anyhow::Result<crate::settings::Config> {
        let cfg = self.config_even_if_empty()?;
        if cfg.nothing_configured() {
            return Err(cfg.no_config_error().into());
        }
        Ok(cfg)
    }

    /// Resolve configuration even when nothing is configured (`config show`,
    /// `config path`, `doctor`: they report what is missing).
    pub fn config_even_if_empty(&self) -> anyhow::Result<crate::settings::Config> {
        let cfg = crate::settings::resolve(&self.env, &self.global)?;
        for n in &cfg.notes {
            tracing::info!("{n}");
        }
        // A management token in a file other users can read.
        if let Some(t) = &cfg.profile.mgmt_token
            && let crate::settings::Source::File(p) = &t.source
            && let Ok(Some(mode)) = crate::fsutil::mode(p)
            && mode & 0o077 != 0
        {
            self.printer.warn(format!(
                "{} holds `mgmt_token` and is readable by other users (mode {:o}); run `chmod 600 {}`",
                p.display(),
                mode & 0o777,
                p.display()
            ));
        }
        Ok(cfg)
    }
}

/// Configuration and an HTTP client for a command that talks to the cluster.
/// The cluster address is checked here, before anyone is asked to log in.
pub fn cluster_context(
    ctx: &Context,
) -> anyhow::Result<(crate::settings::Config, crate::http::HttpClient)> {
    let cfg = ctx.config()?;
    crate::cluster::base_url(&cfg.profile)?;
    let http = ctx.http(&cfg)?;
    Ok((cfg, http))
}

/// Configuration and an HTTP client for a command of InfluxData's documented
/// Management API (databases, database tokens). Where that API is served is
/// checked here, before anyone is asked to log in.
pub fn documented_context(
    ctx: &Context,
) -> anyhow::Result<(crate::settings::Config, crate::http::HttpClient)> {
    let cfg = ctx.config()?;
    crate::cluster::documented::Target::from_profile(&cfg.profile)?;
    let http = ctx.http(&cfg)?;
    Ok((cfg, http))
}

impl Context {
    /// The credential for a cluster command: the profile's management token,
    /// else the OAuth session (a device flow if needed, its prompt on stderr
    /// only, so JSON on stdout stays one document).
    pub async fn session<'a>(
        &self,
        cfg: &'a crate::settings::Config,
        http: &'a crate::http::HttpClient,
        device: &crate::cli::DeviceArgs,
    ) -> anyhow::Result<crate::provision::Session<'a>> {
        let mut ui = self.prompt(device, false);
        let need = crate::cluster::probe::Need::Documented;
        crate::provision::credential_for(cfg, http, &mut ui, need).await
    }

    /// The HTTP client for this profile, speaking through our printer.
    pub fn http(&self, cfg: &crate::settings::Config) -> anyhow::Result<crate::http::HttpClient> {
        Ok(crate::http::HttpClient::new(
            &cfg.profile,
            cfg.timeout.value,
            &self.printer,
        )?)
    }

    /// The device-code prompt, for commands that may have to log in.
    pub fn prompt(
        &self,
        device: &crate::cli::DeviceArgs,
        json_events: bool,
    ) -> crate::output::prompt::DevicePrompt {
        crate::output::prompt::DevicePrompt::new(device, json_events, &self.env, &self.printer)
    }

    /// The pipeline steps over this cluster client.
    pub fn pipeline<'a, A: crate::provision::TokenApi>(
        &'a self,
        api: &'a A,
    ) -> crate::provision::Pipeline<'a, A> {
        crate::provision::Pipeline {
            api,
            printer: &self.printer,
            interrupt: &self.interrupt,
            run: crate::cluster::ours::new_run(),
        }
    }
}

/// Print a data document (JSON) on stdout.
pub fn json<T: serde::Serialize>(ctx: &Context, value: &T) -> anyhow::Result<()> {
    Ok(ctx.printer.json(value)?)
}

/// Print data text (a table) on stdout.
pub fn data(ctx: &Context, text: &str) -> anyhow::Result<()> {
    Ok(ctx.printer.data(text)?)
}

/// The outcome of revoking `total` tokens one by one (each failure was
/// already reported as it happened): the one error itself when a single id
/// was asked for, else how many of them failed and which.
pub fn revocations(mut failed: Vec<(String, anyhow::Error)>, total: usize) -> anyhow::Result<()> {
    match failed.len() {
        0 => Ok(()),
        1 if total == 1 => Err(failed
            .pop()
            .map(|(_, e)| e)
            .unwrap_or_else(|| anyhow::anyhow!("failed"))),
        n => Err(anyhow::anyhow!(
            "{n} of {total} revocations failed: {}",
            failed
                .iter()
                .map(|(id, _)| crate::text::sanitize(id))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
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
        influxctl_config: crate::settings::influxctl_config_path(env),
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
    printer: crate::printer::Printer,
) -> anyhow::Result<()> {
    let ctx = Context {
        env,
        global: cli.global,
        interrupt,
        printer,
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
        Command::Database(DatabaseCommand::List(a)) => database::list(&ctx, a).await,
        Command::Database(DatabaseCommand::Create(a)) => database::create(&ctx, a).await,
        Command::Database(DatabaseCommand::Delete(a)) => database::delete(&ctx, a).await,
        Command::Token(TokenCommand::Create(a)) => token::create(&ctx, a).await,
        Command::Token(TokenCommand::List(a)) => token::list(&ctx, a).await,
        Command::Token(TokenCommand::Get(a)) => token::get(&ctx, a).await,
        Command::Token(TokenCommand::Revoke(a)) => token::revoke(&ctx, a).await,
        Command::Config(ConfigCommand::Show(a)) => config::show(&ctx, a),
        Command::Config(ConfigCommand::Path(a)) => config::path(&ctx, a),
        Command::Config(ConfigCommand::Init(a)) => init::run(&ctx, *a).await,
        Command::Doctor(a) => doctor::run(&ctx, a).await,
        Command::Completions(a) => completions::completions(&ctx, a),
        Command::Man => completions::man(&ctx),
    }
}
