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
mod reporter;
pub use reporter::Summaries;
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
    /// Renders the pipeline's reports.
    pub reporter: reporter::Summaries,
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

/// `--expires-at` / `--expires-in` as a time, counted from now.
fn expires_at(
    a: &crate::cli::ExpiryArgs,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, crate::error::ConfigError> {
    crate::cluster::expiry::parse_expiry(
        a.expires_at.as_deref(),
        a.expires_in.as_deref(),
        chrono::Utc::now(),
    )
}

/// Configuration and an HTTP client for a command that talks to a cluster
/// (the backend checks the cluster's address before anyone logs in).
pub fn configured(
    ctx: &Context,
) -> anyhow::Result<(crate::settings::Config, crate::http::HttpClient)> {
    let cfg = ctx.config()?;
    let http = ctx.http(&cfg)?;
    Ok((cfg, http))
}

/// What a command does on the cluster ([`Context::backend`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads only (lists, gets).
    Reads,
    /// May create or revoke.
    Writes,
}

impl Context {
    /// What a provision call talks to besides the cluster.
    pub fn io(&self) -> crate::provision::Io<'_> {
        crate::provision::Io {
            env: &self.env,
            printer: &self.printer,
            interrupt: &self.interrupt,
            reporter: &self.reporter,
        }
    }

    /// The backend for a command, and its credential: the profile's
    /// management token, else the OAuth session (a device flow if needed,
    /// its prompt on stderr only, so JSON on stdout stays one document).
    /// A signal while logging in just stops: nothing exists yet. A command
    /// that only [`Access::Reads`] lets its first read stand in for the
    /// pre-flight probe ([`crate::provision::Backend::defer_probe`]) where
    /// no person has to log in first (issue 21: `management list` makes one
    /// request, not two; a wrong host still ends in the probe's words).
    pub async fn backend<'a>(
        &self,
        cfg: &'a crate::settings::Config,
        http: &'a crate::http::HttpClient,
        want: crate::provision::Want,
        access: Access,
        device: &crate::cli::DeviceArgs,
    ) -> anyhow::Result<(crate::provision::Backend<'a>, crate::provision::Session<'a>)> {
        let backend = crate::provision::Backend::choose(cfg, http, want, true).await?;
        if access == Access::Reads {
            backend.defer_probe(true);
        }
        let mut ui = self.prompt(device, false);
        let session = backend.credential(&mut ui, &self.interrupt).await?;
        Ok((backend, session))
    }

    /// The credential for the documented Management API (databases,
    /// database tokens).
    pub async fn session<'a>(
        &self,
        cfg: &'a crate::settings::Config,
        http: &'a crate::http::HttpClient,
        device: &crate::cli::DeviceArgs,
    ) -> anyhow::Result<crate::provision::Session<'a>> {
        let want = crate::provision::Want::Database(Vec::new());
        Ok(self
            .backend(cfg, http, want, Access::Writes, device)
            .await?
            .1)
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
}

/// One call to the documented Management API with the session's
/// credential; a 401 drops a cached OAuth session
/// ([`crate::provision::Session::on_error`]).
pub async fn documented<T>(
    s: &crate::provision::Session<'_>,
    call: impl AsyncFnOnce(
        &crate::cluster::documented::DocumentedClient<'_>,
        &crate::cluster::Credential,
    ) -> crate::error::ClusterResult<T>,
) -> anyhow::Result<T> {
    let client = s.documented()?;
    call(&client, &s.cred).await.map_err(|e| s.on_error(e))
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
        exec_stop_on_signal: true,
        ..StoreOptions::default()
    }
}

pub async fn dispatch(
    cli: Cli,
    env: Env,
    interrupt: crate::interrupt::Interrupt,
    printer: crate::printer::Printer,
) -> anyhow::Result<()> {
    crate::output::summary::remember_selection(
        cli.global.config.as_deref(),
        cli.global.profile.as_deref(),
    );
    let ctx = Context {
        env,
        global: cli.global,
        interrupt,
        reporter: reporter::Summaries(printer.clone()),
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
        Command::Man(a) => completions::man(&ctx, a),
    }
}
