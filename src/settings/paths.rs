//! Where configuration lives: the platform directories, our file and
//! influxctl's, and which of them is read.
use super::values::{Source, Value};
use crate::cli::GlobalArgs;
use crate::env::{BaseDir, Env};
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
    let v = env_or_ours(env, "INFLUX_BOOTSTRAP_CONFIG", BaseDir::Config)?;
    Ok(match v.source {
        Source::Default => Value::new(v.value.join("config.toml"), Source::Default),
        _ => v,
    })
}

/// `INFLUX_BOOTSTRAP_CACHE_DIR`, else `influx-bootstrap` in the platform cache directory.
fn cache_dir(env: &Env) -> Result<Value<PathBuf>, ConfigError> {
    env_or_ours(env, "INFLUX_BOOTSTRAP_CACHE_DIR", BaseDir::Cache)
}

/// `var`, else our `influx-bootstrap` directory in the platform's `base`
/// directory.
fn env_or_ours(env: &Env, var: &'static str, base: BaseDir) -> Result<Value<PathBuf>, ConfigError> {
    if let Some(p) = env.path(var) {
        return Ok(Value::new(p, Source::Env(var)));
    }
    let kind = match base {
        BaseDir::Config => "config",
        BaseDir::Cache => "cache",
        BaseDir::State => "state",
    };
    let dir = env.base_dir(base).ok_or_else(|| ConfigError::Missing {
        what: format!("a {kind} directory"),
        profile: String::new(),
        hint: format!("set HOME, XDG_{}_HOME or {var}", kind.to_ascii_uppercase()),
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

/// influxctl's default config file for this OS.
pub fn influxctl_config_path(env: &Env) -> Option<PathBuf> {
    env.base_dir(BaseDir::Config)
        .map(|d| d.join("influxctl").join("config.toml"))
}
