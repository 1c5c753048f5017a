//! Where configuration lives: the platform directories, our file and
//! influxctl's, and which of them is read.
use super::values::{Source, Value};
use crate::cli::GlobalArgs;
use crate::env::Env;
use crate::error::ConfigError;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Which file a configuration came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// Our own `influx-bootstrap/config.toml` (or `--config`).
    Ours,
    /// influxctl's `config.toml`, read because ours does not exist. Never written.
    Influxctl,
    /// No file at all: defaults and environment only.
    None,
}

/// The files involved, for `config path` and `config show`.
#[derive(Debug, Clone)]
pub struct Files {
    /// Our config file: read when it exists, the one to edit.
    pub ours: Value<PathBuf>,
    /// influxctl's config file, read only as a fallback.
    pub influxctl: Option<PathBuf>,
    /// The file actually read, if any.
    pub read: Option<PathBuf>,
    pub kind: FileKind,
    /// Our file is there but holds nothing (whitespace and comments only):
    /// first-run advice, as for no file (issue 19, item 15).
    pub blank: bool,
    pub cache_dir: Value<PathBuf>,
}

impl Files {
    /// Find the files; a note tells when influxctl's file stands in for ours.
    pub(super) fn locate(
        env: &Env,
        flags: &GlobalArgs,
        notes: &mut Vec<String>,
    ) -> Result<Self, ConfigError> {
        let ours = our_file(env, flags)?;
        let influxctl = influxctl_config_path(env);
        let cache_dir = cache_dir(env)?;
        let (read, kind) = choose(&ours, influxctl.as_deref(), notes)?;
        let blank = kind == FileKind::Ours
            && std::fs::read_to_string(&ours.value).is_ok_and(|t| {
                t.lines()
                    .map(str::trim)
                    .all(|l| l.is_empty() || l.starts_with('#'))
            });
        Ok(Files {
            ours,
            influxctl,
            read,
            kind,
            blank,
            cache_dir,
        })
    }
}

/// Our config file (`config init` writes it): `--config`, else
/// `INFLUX_BOOTSTRAP_CONFIG`, else the platform default.
pub fn our_config_path(env: &Env, flags: &GlobalArgs) -> Result<Value<PathBuf>, ConfigError> {
    our_file(env, flags)
}

/// `--config`, else `INFLUX_BOOTSTRAP_CONFIG`, else `influx-bootstrap/config.toml`
/// in the platform config directory.
fn our_file(env: &Env, flags: &GlobalArgs) -> Result<Value<PathBuf>, ConfigError> {
    if let Some(p) = &flags.config {
        return Ok(Value::new(p.clone(), Source::Flag("--config")));
    }
    if let Some(p) = env.path("INFLUX_BOOTSTRAP_CONFIG") {
        return Ok(Value::new(p, Source::Env("INFLUX_BOOTSTRAP_CONFIG")));
    }
    let dir = config_home(env).ok_or_else(|| ConfigError::Missing {
        what: "a config directory".into(),
        profile: String::new(),
        hint: "set HOME, XDG_CONFIG_HOME or INFLUX_BOOTSTRAP_CONFIG".into(),
    })?;
    let path = dir.join("influx-bootstrap").join("config.toml");
    Ok(Value::new(path, Source::Default))
}

/// `INFLUX_BOOTSTRAP_CACHE_DIR`, else `influx-bootstrap` in the platform cache directory.
fn cache_dir(env: &Env) -> Result<Value<PathBuf>, ConfigError> {
    if let Some(p) = env.path("INFLUX_BOOTSTRAP_CACHE_DIR") {
        return Ok(Value::new(p, Source::Env("INFLUX_BOOTSTRAP_CACHE_DIR")));
    }
    let dir = cache_home(env).ok_or_else(|| ConfigError::Missing {
        what: "a cache directory".into(),
        profile: String::new(),
        hint: "set HOME, XDG_CACHE_HOME or INFLUX_BOOTSTRAP_CACHE_DIR".into(),
    })?;
    Ok(Value::new(dir.join("influx-bootstrap"), Source::Default))
}

/// Which file to read: ours if it exists (or was named explicitly, in which
/// case it must exist), else influxctl's, else none.
fn choose(
    ours: &Value<PathBuf>,
    influxctl: Option<&Path>,
    notes: &mut Vec<String>,
) -> Result<(Option<PathBuf>, FileKind), ConfigError> {
    match ours.value.try_exists() {
        Ok(true) => return Ok((Some(ours.value.clone()), FileKind::Ours)),
        Ok(false) => {}
        // EACCES on the way to it (another user's 0700 directory, the sudo
        // case) is not "does not exist" (issue 23, A11).
        Err(e) => return Err(unreadable(&ours.value, &e)),
    }
    if ours.source != Source::Default {
        return Err(ConfigError::NamedFileMissing {
            path: ours.value.clone(),
            source_name: match &ours.source {
                Source::Flag(f) => (*f).to_string(),
                other => other.to_string(),
            },
        });
    }
    let Some(p) = influxctl.filter(|p| p.exists()) else {
        return Ok((None, FileKind::None));
    };
    notes.push(format!(
        "{} does not exist; reading influxctl's config {} (never written by influx-bootstrap)",
        ours.value.display(),
        p.display()
    ));
    Ok((Some(p.to_path_buf()), FileKind::Influxctl))
}

/// The error for a config file we may not read: "permission denied", with
/// the owner and mode of the nearest directory on its path we can see, which
/// is usually the one in the way.
pub fn unreadable(path: &Path, e: &std::io::Error) -> ConfigError {
    let why = match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => crate::text::without_os_error(&e.to_string()),
    };
    #[cfg(unix)]
    let owner = {
        use std::os::unix::fs::MetadataExt;
        std::iter::successors(Some(path), |p| p.parent())
            .find_map(|p| std::fs::metadata(p).ok().map(|m| (p, m)))
            .map(|(p, m)| {
                format!(
                    " ({} is owned by uid {}, mode {:04o})",
                    p.display(),
                    m.uid(),
                    m.mode() & 0o7777
                )
            })
            .unwrap_or_default()
    };
    #[cfg(not(unix))]
    let owner = String::new();
    ConfigError::Unreadable {
        path: path.to_path_buf(),
        why: format!("{why}{owner}"),
    }
}

/// Platform config directory. On Linux and other Unixes we follow XDG from our
/// own [`Env`] snapshot (so tests and `config path` agree with what is read);
/// on macOS and Windows the `directories` crate knows the conventions.
fn config_home(env: &Env) -> Option<PathBuf> {
    if cfg!(all(unix, not(target_os = "macos"))) {
        env.path("XDG_CONFIG_HOME")
            .filter(|p| p.is_absolute())
            .or_else(|| env.path("HOME").map(|h| h.join(".config")))
    } else {
        directories::BaseDirs::new().map(|d| d.config_dir().to_path_buf())
    }
}

fn cache_home(env: &Env) -> Option<PathBuf> {
    if cfg!(all(unix, not(target_os = "macos"))) {
        env.path("XDG_CACHE_HOME")
            .filter(|p| p.is_absolute())
            .or_else(|| env.path("HOME").map(|h| h.join(".cache")))
    } else {
        directories::BaseDirs::new().map(|d| d.cache_dir().to_path_buf())
    }
}

/// influxctl's default config file for this OS.
pub fn influxctl_config_path(env: &Env) -> Option<PathBuf> {
    config_home(env).map(|d| d.join("influxctl").join("config.toml"))
}
