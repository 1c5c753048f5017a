//! Secret stores: where `mint` and `rotate` put the management token.
//!
//! A store is named on the command line by a spec (`--store SPEC`, repeatable):
//!
//! | spec | what `write` does | `read` |
//! | --- | --- | --- |
//! | `file:PATH` | new 0600 file holding the token and a newline; refuses to replace an existing file without `force` | first line, trimmed |
//! | `env-file:PATH[#KEY]` | sets one `KEY=value` line in a dotenv file (`INFLUX_MGMT_TOKEN` by default), every other byte kept; replacing a non-empty value needs `force` | the value of the last `KEY=` line |
//! | `keyring:SERVICE/ACCOUNT` | the OS keyring (Secret Service, macOS Keychain, Windows Credential Manager); replacing an entry needs `force` | yes |
//! | `exec:COMMAND` | runs `sh -c COMMAND` with the token on its stdin, in its own process group | no |
//! | `influxctl:PROFILE` | sets `mgmt_token` in that `[[profile]]` of influxctl's `config.toml` (one backup first); replacing a non-empty one needs `force` | yes |
//! | `stdout` | prints the bare token and a newline on stdout | no |
//!
//! Every file we write is written atomically (temp file in the same directory,
//! fsync, rename, fsync of the directory) into a fresh inode that we own, mode
//! 0600; directories we create are 0700. A symbolic link at a store path is
//! refused, never followed, and so is a directory that others can change
//! (`fsutil::check_target`): the tool runs as root on shared machines. No error message, `Debug` output or outcome ever holds
//! the token: the only places that call [`Secret::expose`] are the writers.
//!
//! [`StoreSpec::check`] is the cheap pre-flight run *before* a token is
//! created on the cluster: it reports the problems it can see without
//! creating or changing anything.
use crate::error::{Classify, exit, hinted};
use crate::secret::Secret;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

mod envfile;
mod exec;
mod file;
mod influxctl;
mod keyring_store;
mod util;

#[cfg(any(test, feature = "test-keyring"))]
pub use keyring_store::{DirKeyring, test_keyring_file};

/// The variable name `env-file:PATH` sets when no `#KEY` is given.
pub const DEFAULT_ENV_KEY: &str = "INFLUX_MGMT_TOKEN";
/// Default for [`StoreOptions::keyring_timeout`].
pub const DEFAULT_KEYRING_TIMEOUT: Duration = Duration::from_secs(5);
/// Default for [`StoreOptions::exec_timeout`].
pub const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(60);

/// Every form of spec, for error messages and `--help`.
pub const SPEC_FORMS: &str = "file:/etc/influxdb/mgmt-token, env-file:/srv/app/.env or env-file:/srv/app/.env#INFLUX_MGMT_TOKEN, \
keyring:influxdb/admin, exec:'vault kv put secret/influxdb token=-', influxctl:default, stdout";

/// Where a token goes (and, for most kinds, where it can be read back from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// `file:PATH`
    File { path: PathBuf },
    /// `env-file:PATH` or `env-file:PATH#KEY`
    EnvFile { path: PathBuf, key: String },
    /// `keyring:SERVICE/ACCOUNT` (the account may contain `/`, the service may not)
    Keyring { service: String, account: String },
    /// `exec:COMMAND`
    Exec { command: String },
    /// `influxctl:PROFILE`
    Influxctl { profile: String },
    /// `stdout`
    Stdout,
}

/// Which keyring `keyring:` stores use.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum KeyringBackend {
    /// The platform's keyring: Secret Service (over D-Bus, pure Rust) on
    /// Linux/BSD, Keychain on macOS, Credential Manager on Windows.
    #[default]
    Os,
    /// A file-backed stand-in for tests: one 0600 file per service/account in
    /// this directory (see [`test_keyring_file`]). Plugged into the `keyring`
    /// ecosystem through `keyring_core`'s store API, like a real backend.
    /// Only with the `test-keyring` feature, which release builds never enable.
    #[cfg(any(test, feature = "test-keyring"))]
    TestDir(PathBuf),
}

/// `rotate --on-rotated CMD` (issue 17): run `CMD` the way an `exec:` store
/// runs (`sh -c`, its own process group, every token variable removed from
/// its environment, the exec timeout, its stdout relayed to stderr) but
/// with no token: its stdin gets an empty line. It tells the consumers
/// (`systemctl reload telegraf`); the token is already where they read it.
pub fn run_hook(command: &str, opts: &StoreOptions) -> Result<(), StoreError> {
    exec::run(command, "", opts, &[], Box::new(std::io::stderr())).map(|_| ())
}

/// Settings shared by all stores, filled by the command from flags and [`crate::env::Env`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Replace a token the store already holds: an existing `file:`, a
    /// non-empty `KEY` in an `env-file:`, an existing `keyring:` entry, a
    /// non-empty `mgmt_token` in an `influxctl:` profile. Without it those
    /// are refused ([`StoreError::Exists`], [`StoreError::HoldsToken`]): the
    /// token there would stay live on the cluster and be stored nowhere.
    pub force: bool,
    /// influxctl's `config.toml` ([`crate::settings::influxctl_config_path`]).
    pub influxctl_config: Option<PathBuf>,
    pub keyring_backend: KeyringBackend,
    /// Whether a D-Bus session bus is there (`DBUS_SESSION_BUS_ADDRESS` set
    /// and non-empty). Only consulted for the OS keyring on Linux/BSD, where
    /// without it the Secret Service cannot be reached and `keyring:` fails at
    /// once instead of hanging.
    pub dbus_session: bool,
    /// How long connecting to the OS keyring may take before we give up.
    /// (Reading or writing after that may take longer: the keyring may show
    /// an unlock prompt to a person.)
    pub keyring_timeout: Duration,
    /// How long an `exec:` command may run before it is killed.
    pub exec_timeout: Duration,
    /// Names of variables to remove from the environment of `exec:`
    /// commands, on top of `INFLUX_MGMT_TOKEN` and every name in
    /// [`crate::env::VARS`]. Meant to hold every `INFLUX_BOOTSTRAP_*` name
    /// present in the process environment (the names only).
    pub exec_env_remove: Vec<String>,
    /// Stop an `exec:` command (kill its process group) as soon as a signal
    /// reaches this process (`interrupt::delivered`); the commands set it,
    /// library callers and unit tests (which raise signals of their own in
    /// the test process) leave it off.
    pub exec_stop_on_signal: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            force: false,
            influxctl_config: None,
            keyring_backend: KeyringBackend::Os,
            dbus_session: false,
            keyring_timeout: DEFAULT_KEYRING_TIMEOUT,
            exec_timeout: DEFAULT_EXEC_TIMEOUT,
            exec_env_remove: Vec::new(),
            exec_stop_on_signal: false,
        }
    }
}

/// What a successful write did, for the person running the command.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoreOutcome {
    /// e.g. "wrote /etc/influxdb/mgmt-token (0600)"
    pub summary: String,
    /// Further facts worth telling: directories created, modes tightened,
    /// duplicates removed, backups made.
    pub notes: Vec<String>,
    /// The backup made before editing (influxctl), if any.
    pub backup: Option<PathBuf>,
}

impl StoreOutcome {
    fn new(summary: impl Into<String>) -> Self {
        StoreOutcome {
            summary: summary.into(),
            notes: Vec::new(),
            backup: None,
        }
    }
    fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

impl fmt::Display for StoreOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary)?;
        for n in &self.notes {
            write!(f, "; {n}")?;
        }
        Ok(())
    }
}

/// Why a store could not be used. Messages name paths, profiles and
/// commands, never the token; they do not repeat the store spec (callers
/// print it next to them).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid store `{spec}`: {message} (forms: {SPEC_FORMS})")]
    Spec { spec: String, message: String },
    #[error("{} already exists", path.display())]
    Exists { path: PathBuf },
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Unusable { path: PathBuf, message: String },
    #[error("{kind} stores cannot be read back")]
    Unreadable { kind: &'static str },
    #[error("the token cannot be stored here: {reason}")]
    BadToken { reason: String },
    #[error("influxctl's config file location is unknown (no HOME or XDG_CONFIG_HOME)")]
    NoInfluxctlConfig,
    #[error("influxctl config {} does not exist", path.display())]
    NoInfluxctlFile { path: PathBuf },
    #[error("{}:{line}: {message}", path.display())]
    InfluxctlParse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("profile `{profile}` not found in {}", path.display())]
    NoProfile {
        profile: String,
        path: PathBuf,
        available: Vec<String>,
    },
    #[error("{backend} is unavailable: {reason}")]
    KeyringUnavailable {
        backend: &'static str,
        reason: String,
    },
    #[error("{backend}: {message}")]
    Keyring {
        backend: &'static str,
        message: String,
    },
    #[error("`sh -c` command failed ({status}){}", crate::text::colon(stderr))]
    ExecFailed { status: String, stderr: String },
    #[error("`sh -c` command did not finish within {}; it was killed{}", humantime::format_duration(*after), crate::text::colon(stderr))]
    ExecTimeout { after: Duration, stderr: String },
    #[error(
        "`sh -c` command is not valid shell syntax{}",
        crate::text::colon(stderr)
    )]
    ExecSyntax { stderr: String },
    #[error("`{program}`: command not found (not a shell builtin and not on PATH)")]
    ExecNotFound { program: String },
    /// `env-file:`, `influxctl:` or `keyring:` already holds a token and
    /// `--force` was not given: replacing it would leave that token live on
    /// the cluster and stored nowhere.
    #[error("{place} already holds a token")]
    HoldsToken { place: String },
    /// A problem [`StoreSpec::check`] found before anything was created:
    /// the same error, with the usage exit code (2), since nothing happened
    /// yet and the fix is to the command line or the machine.
    #[error(transparent)]
    Preflight(Box<StoreError>),
}

impl StoreError {
    /// The error itself, without the [`StoreError::Preflight`] wrapper.
    pub fn cause(&self) -> &StoreError {
        match self {
            StoreError::Preflight(e) => e.cause(),
            e => e,
        }
    }
}

impl Classify for StoreError {
    fn classify(&self) -> (i32, Option<String>) {
        let hint = match self {
            StoreError::Preflight(e) => return (exit::USAGE, e.hint()),
            StoreError::ExecNotFound { program } => format!(
                "install `{program}` or give its full path; `exec:` runs `sh -c COMMAND` with our PATH"
            ),
            StoreError::HoldsToken { .. } => {
                "pass --force to replace it (the token it holds stays valid on the cluster until revoked: \
                 see `influx-bootstrap management list`), or use `influx-bootstrap rotate` to replace and revoke it"
                    .into()
            }
            StoreError::Spec { .. } => {
                return hinted(
                    exit::USAGE,
                    "write --store KIND:WHERE, e.g. --store file:/etc/influxdb/mgmt-token",
                );
            }
            StoreError::Exists { path } => format!(
                "pass --force to replace {}, or run `influx-bootstrap rotate --store file:{}` to replace the token it holds",
                path.display(),
                path.display()
            ),
            StoreError::Unreadable { .. } => {
                "name a store that can be read back (file:, env-file:, keyring:, influxctl:) first".into()
            }
            StoreError::BadToken { .. } => "use a file:, keyring: or influxctl: store instead".into(),
            StoreError::NoInfluxctlConfig => {
                "set HOME (or XDG_CONFIG_HOME) so influxctl's config.toml can be found".into()
            }
            StoreError::NoInfluxctlFile { .. } => {
                "create the influxctl profile first (see influxctl's docs), or use another store such as file:PATH"
                    .into()
            }
            StoreError::NoProfile { available, .. } if available.is_empty() => {
                "the file has no [[profile]] entries; create one with influxctl first".into()
            }
            StoreError::NoProfile { available, .. } => {
                format!("profiles in the file: {}", available.join(", "))
            }
            StoreError::KeyringUnavailable { .. } => {
                let headless = if cfg!(any(target_os = "macos", target_os = "windows")) {
                    ""
                } else {
                    "a headless or SSH session usually has no Secret Service; "
                };
                format!(
                    "{headless}use another store, e.g. --store file:/etc/influxdb/mgmt-token (written 0600) \
                     or --store exec:'COMMAND' to hand the token to your secret manager on stdin"
                )
            }
            StoreError::ExecFailed { .. } => {
                "the command gets the token on its stdin (one line); check that it reads it from there".into()
            }
            StoreError::ExecTimeout { .. } => {
                "the command must read the token from stdin and exit; it must not wait for a terminal".into()
            }
            StoreError::ExecSyntax { .. } => {
                "quote the whole command once, e.g. --store exec:'vault kv put secret/influxdb token=-'".into()
            }
            StoreError::Io { .. }
            | StoreError::Unusable { .. }
            | StoreError::InfluxctlParse { .. }
            | StoreError::Keyring { .. } => return (exit::STORE_PARTIAL, None),
        };
        hinted(exit::STORE_PARTIAL, hint)
    }
}

impl FromStr for StoreSpec {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        let bad = |message: String| StoreError::Spec {
            spec: s.to_string(),
            message,
        };
        if s == "stdout" {
            return Ok(StoreSpec::Stdout);
        }
        let Some((kind, rest)) = s.split_once(':') else {
            return Err(bad("expected KIND:WHERE".into()));
        };
        match kind {
            "file" => Ok(StoreSpec::File {
                path: parse_path(rest).map_err(bad)?,
            }),
            "env-file" => {
                // The key follows the last `#`; a path containing `#` needs an
                // explicit `#KEY` after it.
                let (path, key) = match rest.rsplit_once('#') {
                    Some((p, k)) => (p, k),
                    None => (rest, DEFAULT_ENV_KEY),
                };
                if !valid_env_key(key) {
                    return Err(bad(format!(
                        "`{key}` is not a variable name (letters, digits and _, not starting with a digit)"
                    )));
                }
                Ok(StoreSpec::EnvFile {
                    path: parse_path(path).map_err(bad)?,
                    key: key.to_string(),
                })
            }
            "keyring" => match rest.split_once('/') {
                Some((service, account))
                    if !service.trim().is_empty() && !account.trim().is_empty() =>
                {
                    Ok(StoreSpec::Keyring {
                        service: service.to_string(),
                        account: account.to_string(),
                    })
                }
                _ => Err(bad(
                    "expected keyring:SERVICE/ACCOUNT, both non-empty".into()
                )),
            },
            "exec" => {
                if rest.trim().is_empty() {
                    return Err(bad("the command is empty".into()));
                }
                Ok(StoreSpec::Exec {
                    command: rest.to_string(),
                })
            }
            "influxctl" => {
                let profile = rest.trim();
                if profile.is_empty() {
                    return Err(bad("the profile name is empty".into()));
                }
                Ok(StoreSpec::Influxctl {
                    profile: profile.to_string(),
                })
            }
            "stdout" => Err(bad("write just `stdout`".into())),
            other => {
                const KINDS: [&str; 6] =
                    ["file", "env-file", "keyring", "exec", "influxctl", "stdout"];
                let guess = crate::settings::words::did_you_mean(other, &KINDS)
                    .map(|k| format!("; did you mean `{k}:`?"))
                    .unwrap_or_default();
                Err(bad(format!("unknown kind `{other}`{guess}")))
            }
        }
    }
}

fn parse_path(s: &str) -> Result<PathBuf, String> {
    if s.is_empty() {
        return Err("the path is empty".into());
    }
    if s.starts_with('~') {
        return Err("`~` is not expanded here; write the full path".into());
    }
    if s.ends_with('/') || s.ends_with(std::path::MAIN_SEPARATOR) {
        return Err("the path names a directory; name the file".into());
    }
    if s.contains('\0') {
        return Err("the path contains a NUL byte".into());
    }
    // A relative path is made absolute here, against the directory the
    // command runs in: the store, its record and the "schedule `rotate`"
    // hint then name the same file from anywhere (cron runs in another
    // directory; issue 23, A16). Lexical only (`..` kept, links not
    // followed): the file's directory is checked when it is written.
    std::path::absolute(s).map_err(|e| {
        format!(
            "cannot make the relative path absolute ({}); write the full path",
            crate::text::without_os_error(&e.to_string())
        )
    })
}

/// `[A-Za-z_][A-Za-z0-9_]*`
pub fn valid_env_key(key: &str) -> bool {
    let mut b = key.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

impl fmt::Display for StoreSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreSpec::File { path } => write!(f, "file:{}", path.display()),
            StoreSpec::EnvFile { path, key } => write!(f, "env-file:{}#{key}", path.display()),
            StoreSpec::Keyring { service, account } => write!(f, "keyring:{service}/{account}"),
            StoreSpec::Exec { command } => write!(f, "exec:{command}"),
            StoreSpec::Influxctl { profile } => write!(f, "influxctl:{profile}"),
            StoreSpec::Stdout => f.write_str("stdout"),
        }
    }
}

impl StoreSpec {
    /// The kind, as written before the colon.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreSpec::File { .. } => "file",
            StoreSpec::EnvFile { .. } => "env-file",
            StoreSpec::Keyring { .. } => "keyring",
            StoreSpec::Exec { .. } => "exec",
            StoreSpec::Influxctl { .. } => "influxctl",
            StoreSpec::Stdout => "stdout",
        }
    }

    /// Whether [`StoreSpec::read`] can work for this kind.
    pub fn can_read(&self) -> bool {
        !matches!(self, StoreSpec::Exec { .. } | StoreSpec::Stdout)
    }

    /// Put `token` into the store.
    ///
    /// The token must be non-empty and free of whitespace and control
    /// characters (a management token always is); anything else is refused
    /// before touching the store, since it could not be read back intact.
    pub fn write(&self, token: &Secret, opts: &StoreOptions) -> Result<StoreOutcome, StoreError> {
        let value = util::validate_token(token)?;
        match self {
            StoreSpec::File { path } => file::write(path, value, opts),
            StoreSpec::EnvFile { path, key } => envfile::write(path, key, value, opts),
            StoreSpec::Keyring { service, account } => {
                keyring_store::write(service, account, token, opts)
            }
            StoreSpec::Exec { command } => exec::write(command, value, opts),
            StoreSpec::Influxctl { profile } => influxctl::write(profile, value, opts),
            StoreSpec::Stdout => {
                let mut out = std::io::stdout().lock();
                write_stdout(&mut out, value)
            }
        }
    }

    /// The token the store holds now: `Ok(None)` when the store is empty or
    /// does not exist yet, an error when it cannot be read (and always for
    /// `exec:` and `stdout`).
    ///
    /// A `file:` or `env-file:` store that other users can read is still read,
    /// with a warning (through `tracing::warn!`) that says how to fix it; the
    /// next `write` makes it 0600.
    pub fn read(&self, opts: &StoreOptions) -> Result<Option<Secret>, StoreError> {
        match self {
            StoreSpec::File { path } => file::read(path),
            StoreSpec::EnvFile { path, key } => envfile::read(path, key),
            StoreSpec::Keyring { service, account } => keyring_store::read(service, account, opts),
            StoreSpec::Influxctl { profile } => influxctl::read(profile, opts),
            StoreSpec::Exec { .. } | StoreSpec::Stdout => {
                Err(StoreError::Unreadable { kind: self.kind() })
            }
        }
    }

    /// The cluster (`host:port`) the store itself says its token is for:
    /// only an `influxctl:` profile names one.
    pub fn cluster_address(&self, opts: &StoreOptions) -> Result<Option<String>, StoreError> {
        match self {
            StoreSpec::Influxctl { profile } => influxctl::address(profile, opts),
            _ => Ok(None),
        }
    }

    /// Pre-flight, before a token exists: report what would make `write`
    /// fail, as far as can be seen without creating or changing anything.
    ///
    /// - `file:` exists and no `force`; the path is a symlink or not a regular
    ///   file; the directory belongs to another user or others can write it;
    ///   the parent cannot be created, or a probe file cannot be created in it.
    /// - `env-file:` the same, and its `KEY` holds a token and no `force`.
    /// - `keyring:` backend unavailable (no D-Bus session, no Secret Service,
    ///   no answer within `keyring_timeout`); the entry exists and no `force`.
    /// - `exec:` command is not valid `sh` syntax (`sh -n`, nothing is run),
    ///   or its first word is a program `sh` cannot find.
    /// - `influxctl:` config path unknown, a symlink, file missing or
    ///   unparsable, profile missing, `mgmt_token` set and no `force`,
    ///   directory not writable.
    ///
    /// Every error comes wrapped in [`StoreError::Preflight`] (exit 2: nothing
    /// was created yet); [`StoreError::cause`] unwraps it.
    pub fn check(&self, opts: &StoreOptions) -> Result<(), StoreError> {
        self.check_inner(opts)
            .map_err(|e| StoreError::Preflight(Box::new(e)))
    }

    fn check_inner(&self, opts: &StoreOptions) -> Result<(), StoreError> {
        match self {
            StoreSpec::File { path } => file::check(path, opts),
            StoreSpec::EnvFile { path, key } => envfile::check(path, key, opts),
            StoreSpec::Keyring { service, account } => keyring_store::check(service, account, opts),
            StoreSpec::Exec { command } => exec::check(command, opts),
            StoreSpec::Influxctl { profile } => influxctl::check(profile, opts),
            StoreSpec::Stdout => Ok(()),
        }
    }
}

fn write_stdout(out: &mut dyn std::io::Write, token: &str) -> Result<StoreOutcome, StoreError> {
    let io = |source| StoreError::Io {
        what: "write to",
        path: PathBuf::from("stdout"),
        source,
    };
    out.write_all(token.as_bytes()).map_err(io)?;
    out.write_all(b"\n").map_err(io)?;
    out.flush().map_err(io)?;
    Ok(StoreOutcome::new("printed to stdout"))
}

/// How one store took (or did not take) the token.
#[derive(Debug, serde::Serialize, Clone, PartialEq, Eq)]
pub struct StoreResult {
    pub store: String,
    pub ok: bool,
    pub detail: String,
}

impl StoreResult {
    pub fn ok(store: String, detail: impl Into<String>) -> Self {
        StoreResult {
            store,
            ok: true,
            detail: detail.into(),
        }
    }
    pub fn failed(store: String, detail: impl Into<String>) -> Self {
        StoreResult {
            store,
            ok: false,
            detail: detail.into(),
        }
    }
}

/// The `env-file:` rewrite as a pure function, for fuzzing: `data` with
/// `KEY=token` set, or None when the token cannot be written as a value.
pub fn env_file_edit(data: &[u8], key: &str, token: &str) -> Option<Vec<u8>> {
    let value = envfile::format_value(token).ok()?;
    Some(envfile::edit(data, key, &value).contents)
}

/// The value `env-file:` would read back for `key` from `data`.
pub fn env_file_lookup(data: &[u8], key: &str) -> Option<Vec<u8>> {
    envfile::lookup(data, key)
}

#[cfg(test)]
mod tests;
