//! The one place that reads the process environment.
//!
//! Everything else receives an [`Env`] snapshot, so tests can run the whole
//! configuration layering with a hand-made environment, and a reviewer can
//! see every variable the tool honours in one list. (The HTTP stack reads the
//! standard proxy variables itself; see `http.rs`.)
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Every `INFLUX_BOOTSTRAP_*` variable we read, for `config show` and the docs.
pub const VARS: &[&str] = &[
    "INFLUX_BOOTSTRAP_CONFIG",
    "INFLUX_BOOTSTRAP_PROFILE",
    "INFLUX_BOOTSTRAP_CACHE_DIR",
    "INFLUX_BOOTSTRAP_TIMEOUT",
    "INFLUX_BOOTSTRAP_PRODUCT",
    "INFLUX_BOOTSTRAP_HOST",
    "INFLUX_BOOTSTRAP_PORT",
    "INFLUX_BOOTSTRAP_ACCOUNT_ID",
    "INFLUX_BOOTSTRAP_CLUSTER_ID",
    "INFLUX_BOOTSTRAP_MANAGEMENT_URL",
    "INFLUX_BOOTSTRAP_MGMT_TOKEN",
    "INFLUX_BOOTSTRAP_MANAGEMENT_BACKEND",
    "INFLUX_BOOTSTRAP_INFLUXCTL",
    "INFLUX_BOOTSTRAP_ISSUER",
    "INFLUX_BOOTSTRAP_CLIENT_ID",
    "INFLUX_BOOTSTRAP_SCOPES",
    "INFLUX_BOOTSTRAP_DEVICE_URL",
    "INFLUX_BOOTSTRAP_TOKEN_URL",
    "INFLUX_BOOTSTRAP_REVOCATION_URL",
    "INFLUX_BOOTSTRAP_GRANT",
    // The one environment form of a client secret (issue 20): like every
    // variable here, never passed to a child we start.
    "INFLUX_BOOTSTRAP_CLIENT_SECRET",
    "INFLUX_BOOTSTRAP_CLIENT_SECRET_FILE",
    "INFLUX_BOOTSTRAP_PRIVATE_KEY_FILE",
    "INFLUX_BOOTSTRAP_PRIVATE_KEY_ALG",
    "INFLUX_BOOTSTRAP_CLIENT_ASSERTION_FILE",
    "INFLUX_BOOTSTRAP_TLS_CA",
    "INFLUX_BOOTSTRAP_TLS_DISABLE",
    "INFLUX_BOOTSTRAP_TLS_INSECURE",
    "INFLUX_BOOTSTRAP_TLS_CERT",
    "INFLUX_BOOTSTRAP_TLS_KEY",
    // Tests only (the `test-keyring` feature): a directory-backed keyring
    // instead of the OS keyring.
    #[cfg(feature = "test-keyring")]
    "INFLUX_BOOTSTRAP_TEST_KEYRING_DIR",
];

/// A snapshot of the variables the tool cares about.
#[derive(Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, OsString>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be secrets (INFLUX_BOOTSTRAP_MGMT_TOKEN): names only.
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

/// Variables outside our prefix that change behaviour.
const OTHER_VARS: &[&str] = &[
    "HOME",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_STATE_HOME",
    "APPDATA",
    "LOCALAPPDATA",
    "SSH_CONNECTION",
    "SSH_TTY",
    "CI",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "NO_COLOR",
    "TERM",
    "RUST_LOG",
    "DBUS_SESSION_BUS_ADDRESS",
    // The browser to open the verification page with (a `:`-separated list).
    "BROWSER",
    // Where `influxctl` is looked for (`doctor`, the pre-flight hint).
    "PATH",
];

/// Variables named like a token or a client secret of ours or of another
/// InfluxDB tool: `INFLUX*` containing `TOKEN` or `SECRET` (any case).
/// Children we start (`exec:` stores, influxctl) never get them.
pub fn is_token_var(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    n.starts_with("INFLUX") && (n.contains("TOKEN") || n.contains("SECRET"))
}

impl Env {
    /// Read the real process environment (once, at start-up).
    pub fn from_process() -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| {
                let k = k.into_string().ok()?;
                (k.starts_with("INFLUX_BOOTSTRAP_") || OTHER_VARS.contains(&k.as_str()))
                    .then_some((k, v))
            })
            .collect();
        Env { vars }
    }

    /// The names (never the values) of every variable in the process
    /// environment, e.g. to keep `INFLUX*TOKEN*` variables away from the
    /// `exec:` store's child.
    pub fn process_names() -> Vec<String> {
        std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .collect()
    }

    /// Where `program` would be run from: itself when it names a path, else
    /// the first executable file of that name on `PATH` (like `command -v`
    /// for a plain program).
    pub fn find_program(&self, program: &Path) -> Option<PathBuf> {
        let runnable = |p: &Path| {
            let Ok(m) = std::fs::metadata(p) else {
                return false;
            };
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            }
            #[cfg(not(unix))]
            m.is_file()
        };
        if program.components().count() > 1 {
            return runnable(program).then(|| program.to_path_buf());
        }
        let path = self.vars.get("PATH")?;
        std::env::split_paths(path)
            .map(|d| d.join(program))
            .find(|p| runnable(p))
    }

    /// A hand-made environment, for tests.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), OsString::from(v)))
                .collect(),
        }
    }

    /// A non-empty UTF-8 value; empty variables count as unset, like most CLIs.
    pub fn get(&self, name: &str) -> Option<String> {
        let v = self.vars.get(name)?.to_str()?.to_string();
        (!v.is_empty()).then_some(v)
    }

    pub fn path(&self, name: &str) -> Option<PathBuf> {
        let v = self.vars.get(name)?;
        (!v.is_empty()).then(|| PathBuf::from(v))
    }

    /// Names of the variables in the snapshot (never values).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }

    pub fn is_set(&self, name: &str) -> bool {
        self.vars.get(name).is_some_and(|v| !v.is_empty())
    }

    /// Over SSH a browser on "this" machine is not the user's browser.
    pub fn over_ssh(&self) -> bool {
        self.is_set("SSH_CONNECTION") || self.is_set("SSH_TTY")
    }

    pub fn in_ci(&self) -> bool {
        self.get("CI").is_some_and(|v| v != "false" && v != "0")
    }

    pub fn has_display(&self) -> bool {
        if cfg!(any(target_os = "macos", target_os = "windows")) {
            return true;
        }
        self.is_set("DISPLAY") || self.is_set("WAYLAND_DISPLAY")
    }

    /// A platform base directory. On Linux and other Unixes we follow the
    /// XDG Base Directory rules from this snapshot (so tests and `config
    /// path` agree with what is read): `$XDG_…_HOME` when absolute, else
    /// under `$HOME`; on macOS and Windows the `directories` crate knows the
    /// conventions.
    pub fn base_dir(&self, which: BaseDir) -> Option<PathBuf> {
        let (var, under_home): (&str, &[&str]) = match which {
            BaseDir::Config => ("XDG_CONFIG_HOME", &[".config"]),
            BaseDir::Cache => ("XDG_CACHE_HOME", &[".cache"]),
            BaseDir::State => ("XDG_STATE_HOME", &[".local", "state"]),
        };
        if cfg!(all(unix, not(target_os = "macos"))) {
            self.path(var).filter(|p| p.is_absolute()).or_else(|| {
                self.path("HOME")
                    .map(|h| h.join(under_home.iter().collect::<PathBuf>()))
            })
        } else {
            let dirs = directories::BaseDirs::new()?;
            Some(
                match which {
                    BaseDir::Config => dirs.config_dir(),
                    BaseDir::Cache => dirs.cache_dir(),
                    BaseDir::State => dirs.data_local_dir(),
                }
                .to_path_buf(),
            )
        }
    }
}

/// Which platform base directory ([`Env::base_dir`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseDir {
    Config,
    Cache,
    State,
}
