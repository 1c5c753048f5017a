//! Command-line definition (clap derive). Raw data only: no I/O, no defaults
//! that depend on the environment — layering happens in `config`.
//!
//! `build.rs` includes this file to generate the completion scripts and the
//! man pages at build time (so clap_complete and clap_mangen are not in the
//! binary): it must import nothing of ours, only `clap` and `std`.
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    other failure (e.g. no such token or database, a database that
       already exists)
  2    usage or configuration error (also a store problem found up front,
       before any device code: a symlink, a store holding a token, ...; and
       the identity provider refusing the client, its grant or its scopes:
       invalid_client, invalid_scope...)
  3    the request was denied at the identity provider
  4    the device code expired before approval
  5    the identity provider was unreachable or answered garbage
  6    no usable session (not logged in, or the session was refused)
  7    unsafe or unusable local state (e.g. a world-readable session cache,
       a cache or state directory or file another user owns or can write)
  8    the cluster refused the credential (HTTP 401/403)
  9    the cluster could not be reached or answered an error
  10   mint/rotate: some stores failed (the token is kept in the others)
  11   mint: no store took the token (it was revoked, or printed with
       --on-store-failure print)
  12   mint/rotate: the new token was stored but failed verification
  13   mint/rotate: an interrupted rotation may have made a token and
       nothing proves which is ours; nothing revoked, candidates named
  14   mint/rotate: another run holds the lock of these stores (named)
  128+n interrupted by signal n: 130 Ctrl-C, 129 SIGHUP, 131 SIGQUIT,
       143 SIGTERM (after cleanup)

Environment:
  INFLUX_BOOTSTRAP_CONFIG, INFLUX_BOOTSTRAP_PROFILE, INFLUX_BOOTSTRAP_TIMEOUT,
  INFLUX_BOOTSTRAP_CACHE_DIR, INFLUX_BOOTSTRAP_STATE_DIR, and
  INFLUX_BOOTSTRAP_<KEY> for profile keys (see `influx-bootstrap config show`).
  INFLUX_BOOTSTRAP_MGMT_TOKEN: a management token to use instead of a login
  (or `mgmt_token` in the profile). Never put a token on the command line:
  it ends up in shell history and `ps`.";

#[derive(Debug, Parser)]
#[command(
    name = "influx-bootstrap",
    // The package version and the git commit it was built from (build.rs;
    // the build script itself, which includes this file, has only the first).
    version = match option_env!("IB_BUILD_VERSION") {
        Some(v) => v,
        None => env!("CARGO_PKG_VERSION"),
    },
    about = "Log in to an InfluxDB 3 cluster's identity provider with a device code, and bootstrap automation tokens",
    after_long_help = EXIT_CODES,
    after_help = "Exit codes: 0 ok, 2 usage/config, 3 denied, 4 expired, 5 IdP unreachable, 128+n interrupted by signal n (see --help)\nA management token instead of a login: INFLUX_BOOTSTRAP_MGMT_TOKEN (never on the command line)"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Config file to read [env: INFLUX_BOOTSTRAP_CONFIG]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Profile to use [env: INFLUX_BOOTSTRAP_PROFILE] [default: default]
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Timeout for each HTTP request, e.g. 30s, 2m [env: INFLUX_BOOTSTRAP_TIMEOUT] [default: 30s]
    #[arg(long, global = true, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// More logging on stderr (-v info, -vv debug); tokens are never logged
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings, errors, the device code and data: no progress lines
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// No colours or styles (also NO_COLOR=1 or TERM=dumb)
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in with a device code (RFC 8628) for the active profile
    Login(LoginArgs),
    /// Show who is logged in, with which identity provider, and until when
    Status(FormatArgs),
    /// Forget the session (and revoke it at the identity provider when possible)
    Logout(LogoutArgs),
    /// Log in, create a management token (or, with --read-database/--write-database, a database token), store it, verify it: the whole bootstrap
    Mint(MintArgs),
    /// Replace the stored management or database token with a new one, then revoke the old
    Rotate(RotateArgs),
    /// Create, list and revoke the cluster's management tokens
    #[command(subcommand)]
    Management(ManagementCommand),
    /// List, create and delete databases (InfluxData's documented Management API)
    #[command(subcommand)]
    Database(DatabaseCommand),
    /// Create, list, show and revoke database tokens (documented Management API)
    #[command(subcommand)]
    Token(TokenCommand),
    /// Inspect the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Check the setup, one line per check (no login, nothing created)
    Doctor(DoctorArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    Completions(CompletionsArgs),
    /// Print a man page (roff): `man > influx-bootstrap.1`, `man mint`, or
    /// every page with `man --dir ~/.local/share/man/man1`
    Man(ManArgs),
}

#[derive(Debug, Args, Clone, Copy)]
pub struct CompletionsArgs {
    /// The shell, e.g. bash: `influx-bootstrap completions bash > ~/.local/share/bash-completion/completions/influx-bootstrap`
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The shells completion scripts are generated for (at build time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

impl Shell {
    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
            Shell::Powershell => "powershell",
            Shell::Elvish => "elvish",
        }
    }
}

#[derive(Debug, Args, Clone)]
pub struct ManArgs {
    /// The command whose page to print, e.g. `mint` or `management create`
    /// (default: the top-level page)
    #[arg(value_name = "COMMAND", conflicts_with = "dir")]
    pub command: Vec<String>,
    /// Write every page (one per command, `influx-bootstrap-mint.1`, …) into
    /// this directory instead
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

impl Command {
    /// Commands that handle Ctrl-C themselves (to revoke a token they made).
    pub fn cleans_up_on_interrupt(&self) -> bool {
        matches!(
            self,
            Command::Mint(_)
                | Command::Rotate(_)
                | Command::Management(ManagementCommand::Create(_))
                | Command::Token(TokenCommand::Create(_))
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OnStoreFailure {
    /// Revoke the new token at once
    #[default]
    Revoke,
    /// Show the token on the terminal (stderr, only if it is a terminal) so it can be saved
    Print,
}

#[derive(Debug, Args, Clone)]
pub struct MintArgs {
    /// What the token is for (1 to 255 characters)
    #[arg(long, value_name = "TEXT")]
    pub description: String,
    #[command(flatten)]
    pub expiry: ExpiryArgs,
    /// Where to put the token (repeatable, written in order): file:PATH,
    /// env-file:PATH[#KEY], keyring:SERVICE/ACCOUNT, exec:COMMAND,
    /// influxctl:PROFILE, stdout
    #[arg(long = "store", value_name = "SPEC", required = true)]
    pub stores: Vec<String>,
    /// Do nothing if the first store holds a token that still works here and
    /// does not expire within --min-remaining
    #[arg(long)]
    pub if_missing: bool,
    /// Store the new token at once, without waiting until the cluster's data
    /// path accepts it (database tokens)
    #[arg(long)]
    pub no_wait: bool,
    /// With --if-missing: how long the existing token must still be valid
    #[arg(long, value_name = "DURATION", default_value = "7d")]
    pub min_remaining: String,
    /// Mint a database token that can read this database (repeatable; `*` =
    /// every database). Any --read-database/--write-database makes `mint`
    /// create a database token through the documented Management API
    #[arg(long = "read-database", value_name = "DB")]
    pub read_databases: Vec<String>,
    /// Mint a database token that can write this database (repeatable; `*`)
    #[arg(long = "write-database", value_name = "DB")]
    pub write_databases: Vec<String>,
    /// Create the databases named by --read-database/--write-database when
    /// missing (an existing one is fine)
    #[arg(long)]
    pub create_database: bool,
    /// What to do when no store could take the token
    #[arg(long, value_enum, default_value_t = OnStoreFailure::Revoke)]
    pub on_store_failure: OnStoreFailure,
    /// Overwrite existing files (file: stores)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub device: DeviceArgs,
    #[command(flatten)]
    pub format: FormatArgs,
}

#[derive(Debug, Args, Clone)]
pub struct RotateArgs {
    /// The stores holding the current token; the first one is read
    #[arg(long = "store", value_name = "SPEC", required = true)]
    pub stores: Vec<String>,
    #[command(flatten)]
    pub expiry: ExpiryArgs,
    /// Revoke the old token once the new one is stored and verified (default)
    #[arg(long, conflicts_with = "keep_old")]
    pub revoke_old: bool,
    /// Keep the old token valid
    #[arg(long)]
    pub keep_old: bool,
    /// The old database token's id, when `mint` left no record of it (see
    /// README "Rotating database tokens"); needs the management credential
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// Rotate only if the stored token expires within this window (e.g.
    /// 14d); otherwise report it unchanged and exit 0 (for timers)
    #[arg(long, value_name = "DURATION")]
    pub when_remaining: Option<String>,
    /// Run this shell command once every store holds the new token (e.g.
    /// `systemctl reload telegraf`), before the old one is revoked; if it
    /// fails, the old token stays valid and rotate exits non-zero
    #[arg(long, value_name = "CMD")]
    pub on_rotated: Option<String>,
    /// Keep the old token valid this long (e.g. 1h); its revocation is
    /// recorded as pending and done by a later rotate of the same stores
    #[arg(long, value_name = "DURATION", conflicts_with = "keep_old")]
    pub grace: Option<String>,
    #[command(flatten)]
    pub device: DeviceArgs,
    #[command(flatten)]
    pub format: FormatArgs,
}

#[derive(Debug, Subcommand)]
pub enum ManagementCommand {
    /// Create a management token (shown once)
    Create(CreateArgs),
    /// List the cluster's management tokens (never the token strings)
    List(ListArgs),
    /// Revoke management tokens by id
    Revoke(RevokeArgs),
}

/// `--expires-at` / `--expires-in`, shared by `management create` and `mint`.
#[derive(Debug, Args, Clone, Default)]
pub struct ExpiryArgs {
    /// Expiry as RFC 3339 with `Z` or an offset, e.g. 2027-03-01T00:00:00Z
    #[arg(long, value_name = "RFC3339", conflicts_with = "expires_in")]
    pub expires_at: Option<String>,
    /// Expiry as a duration from now, e.g. 90d, 12h
    #[arg(long, value_name = "DURATION")]
    pub expires_in: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct CreateArgs {
    /// What the token is for (1 to 255 characters)
    #[arg(long, value_name = "TEXT")]
    pub description: String,
    #[command(flatten)]
    pub expiry: ExpiryArgs,
    #[command(flatten)]
    pub device: DeviceArgs,
    #[command(flatten)]
    pub format: FormatArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum SortKey {
    #[default]
    Created,
    Id,
    Description,
    Prefix,
    Expires,
    Revoked,
}

#[derive(Debug, Args, Clone)]
pub struct ListArgs {
    /// Sort order
    #[arg(long, value_enum, default_value_t = SortKey::Created)]
    pub sort: SortKey,
    #[command(flatten)]
    pub device: DeviceArgs,
    #[command(flatten)]
    pub format: FormatArgs,
}

#[derive(Debug, Args, Clone)]
pub struct RevokeArgs {
    /// Token ids (from `management list`)
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,
    /// Do not ask for confirmation (required without a terminal)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub device: DeviceArgs,
}

#[derive(Debug, Subcommand)]
pub enum DatabaseCommand {
    /// List the cluster's databases
    List(ReadArgs),
    /// Create a database
    Create(DatabaseCreateArgs),
    /// Delete a database and all of its data
    Delete(DatabaseDeleteArgs),
}

/// A command that only reads from the cluster.
#[derive(Debug, Args, Clone)]
pub struct ReadArgs {
    #[command(flatten)]
    pub device: DeviceArgs,
    #[command(flatten)]
    pub format: FormatArgs,
}

#[derive(Debug, Args, Clone)]
pub struct DatabaseCreateArgs {
    /// Database name (1 to 64 characters)
    #[arg(value_name = "NAME")]
    pub name: String,
    /// How long data is kept, e.g. 30d, 52w, 1y; `infinite` or 0 keeps it
    /// forever [cluster default: infinite]
    #[arg(long, value_name = "DURATION")]
    pub retention_period: Option<String>,
    /// Most tables in the database [cluster default: 500]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_tables: Option<u32>,
    /// Most columns per table [cluster default: 200]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_columns: Option<u32>,
    #[command(flatten)]
    pub device: DeviceArgs,
    #[command(flatten)]
    pub format: FormatArgs,
}

#[derive(Debug, Args, Clone)]
pub struct DatabaseDeleteArgs {
    /// Database name (from `database list`)
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Do not ask for confirmation (required without a terminal)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub device: DeviceArgs,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a database token (shown once)
    Create(TokenCreateArgs),
    /// List the cluster's database tokens, revoked ones included (never the token strings)
    List(ReadArgs),
    /// Show one database token (never the token string)
    Get(TokenGetArgs),
    /// Revoke database tokens by id
    Revoke(TokenRevokeArgs),
}

#[derive(Debug, Args, Clone)]
pub struct TokenCreateArgs {
    /// What the token is for (1 to 255 characters)
    #[arg(long, value_name = "TEXT")]
    pub description: String,
    /// Grant read on this database (repeatable; `*` = every database)
    #[arg(long = "read-database", value_name = "DB")]
    pub read_databases: Vec<String>,
    /// Grant write on this database (repeatable; `*` = every database)
    #[arg(long = "write-database", value_name = "DB")]
    pub write_databases: Vec<String>,
    #[command(flatten)]
    pub expiry: ExpiryArgs,
    #[command(flatten)]
    pub device: DeviceArgs,
    #[command(flatten)]
    pub format: FormatArgs,
}

#[derive(Debug, Args, Clone)]
pub struct TokenGetArgs {
    /// Token id (from `token list`)
    #[arg(value_name = "ID")]
    pub id: String,
    #[command(flatten)]
    pub device: DeviceArgs,
    #[command(flatten)]
    pub format: FormatArgs,
}

#[derive(Debug, Args, Clone)]
pub struct TokenRevokeArgs {
    /// Token ids (from `token list`)
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,
    /// Do not ask for confirmation (required without a terminal)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub device: DeviceArgs,
}

#[derive(Debug, Args, Clone, Copy, Default)]
pub struct FormatArgs {
    /// Output format: a table for people, JSON for scripts
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
}

#[derive(Debug, Args, Clone, Default)]
pub struct LoginArgs {
    /// Start a new device flow even if a valid or refreshable session exists
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub device: DeviceArgs,
    #[command(flatten)]
    pub format: FormatArgs,
}

/// How the device code is shown to the person.
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct DeviceArgs {
    /// Show a QR code of the verification URL (auto: when stderr is a terminal)
    #[arg(long, value_enum, default_value_t = When::Auto)]
    pub qr: When,
    /// Open the verification URL in a browser (auto: only with a display, not over SSH or in CI)
    #[arg(long, value_enum, default_value_t = When::Auto)]
    pub browser: When,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum When {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args, Clone, Default)]
pub struct LogoutArgs {
    /// Forget every cached session, not only the active profile's
    #[arg(long)]
    pub all: bool,
}

/// `doctor`: the profile comes from the global --profile.
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub format: FormatArgs,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// The resolved profile, each value with its source
    Show(FormatArgs),
    /// Which files are read and written
    Path(FormatArgs),
    /// Write a profile to the config file (asks on a terminal; scriptable with flags)
    Init(Box<ConfigInitArgs>),
}

/// Identity providers `config init` knows the right scopes and parameters for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// Keycloak: a public client with the device grant on
    Keycloak,
    /// Microsoft Entra ID: scope `<client-id>/.default`, public client flows on
    Entra,
    /// Auth0: an `audience` for a JWT access token, the Device Code grant on
    Auth0,
    /// Okta: a Native app with the Device Authorization grant
    Okta,
}

/// `config init`: the profile to write (the name from --profile, the file from --config).
#[derive(Debug, Args, Clone, Default)]
pub struct ConfigInitArgs {
    /// Identity provider preset (scopes and parameters it needs)
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// clustered or dedicated [default: clustered]
    #[arg(long, value_name = "PRODUCT")]
    pub product: Option<String>,
    /// The cluster's host name
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// The cluster's HTTPS port [default: 443]
    #[arg(long, value_name = "PORT")]
    pub port: Option<String>,
    /// Cloud Dedicated: the account id
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,
    /// Cloud Dedicated: the cluster id
    #[arg(long, value_name = "ID")]
    pub cluster_id: Option<String>,
    /// The identity provider's issuer URL (discovery is tried at once)
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// The OAuth client id (a public client with the device grant)
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// OAuth scopes (space or comma separated, or repeated) [default: the preset's]
    #[arg(long, value_name = "SCOPE", num_args = 1..)]
    pub scopes: Vec<String>,
    /// Auth0-style `audience` parameter of the device request
    #[arg(long, value_name = "A", conflicts_with = "resource")]
    pub audience: Option<String>,
    /// RFC 8707 `resource` parameter of the device request
    #[arg(long, value_name = "R")]
    pub resource: Option<String>,
    /// A workload (client credentials grant): the file holding the client secret
    #[arg(long, value_name = "PATH")]
    pub client_secret_file: Option<std::path::PathBuf>,
    /// A workload: the PEM private key that signs private_key_jwt assertions
    #[arg(long, value_name = "PATH")]
    pub private_key_file: Option<std::path::PathBuf>,
    /// A workload: the client assertion file the platform writes (Kubernetes, CI)
    #[arg(long, value_name = "PATH")]
    pub client_assertion_file: Option<std::path::PathBuf>,
    /// Replace a profile of the same name
    #[arg(long)]
    pub force: bool,
    /// Do not try discovery at the issuer or reach the cluster
    #[arg(long)]
    pub no_check: bool,
    /// The cluster speaks plain HTTP (loopback only): writes
    /// `[profile.tls] disable = true`; pasting an `http://` URL as --host
    /// does the same
    #[arg(long, conflicts_with = "ca")]
    pub tls_disable: bool,
    /// The CA certificate (PEM) that signed the cluster's certificate, for a
    /// private CA: writes `[profile.tls] ca = PATH`
    #[arg(long, value_name = "PATH")]
    pub ca: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_global_flags_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "influx-bootstrap",
            "login",
            "--profile",
            "prod",
            "-vv",
            "--format",
            "json",
            "--qr",
            "never",
        ])
        .unwrap();
        assert_eq!(cli.global.profile.as_deref(), Some("prod"));
        assert_eq!(cli.global.verbose, 2);
        match cli.command {
            Command::Login(a) => {
                assert_eq!(a.format.format, Format::Json);
                assert_eq!(a.device.qr, When::Never);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
