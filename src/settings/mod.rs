//! Profiles and configuration layering.
//!
//! Values are layered defaults < file < `INFLUX_BOOTSTRAP_*` env < flags by
//! one function, [`resolve`], which records where every value came from for
//! `config show`. The pieces:
//!
//! - `paths`: the platform directories, and which file is read (ours, else
//!   influxctl's, else none);
//! - `schema`: the file as people and influxctl write it (influxctl's
//!   profile schema plus `issuer`), strict about unknown keys in ours;
//! - `layer`: [`Value`]/[`Source`], and one typed layering method per kind
//!   of value (string, bool, path, URL, port…);
//! - `profile`: the resolved [`Profile`], built one line per field.
use crate::cli::GlobalArgs;
use crate::env::Env;
use crate::error::ConfigError;
use std::time::Duration;

mod layer;
mod paths;
mod profile;
mod schema;
mod values;
pub mod words;

pub use paths::{FileKind, Files, influxctl_config_path, our_config_path, unreadable};
pub use profile::{OAuth2, Profile, Tls};
pub use schema::parse_text;
pub use values::{Grant, KeyAlg, ManagementBackend, Product, Source, Value};

pub const DEFAULT_PROFILE: &str = "default";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Used when a profile names no scopes: an ID token for `status`, and a
/// refresh token so later commands need no new device flow.
pub const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// Everything a command needs from configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub profile: Profile,
    pub files: Files,
    pub timeout: Value<Duration>,
    /// Warnings to show once (e.g. reading influxctl's file).
    pub notes: Vec<String>,
}

impl Config {
    /// Nothing configured at all: no file was read (neither ours nor
    /// influxctl's) and the environment names no cluster, issuer, client or
    /// token. Commands that need a profile say so before anything else.
    pub fn nothing_configured(&self) -> bool {
        let p = &self.profile;
        let o = &p.oauth2;
        (self.files.kind == FileKind::None || self.files.blank)
            && p.host.is_none()
            && p.management_url.is_none()
            && p.mgmt_token.is_none()
            && o.issuer.is_none()
            && o.client_id.is_none()
            && o.device_url.is_none()
            && o.token_url.is_none()
    }

    /// The error for [`Config::nothing_configured`]: which files are missing.
    pub fn no_config_error(&self) -> ConfigError {
        if self.files.blank {
            return ConfigError::EmptyConfig {
                path: self.files.ours.value.display().to_string(),
            };
        }
        let influxctl = match &self.files.influxctl {
            Some(p) => format!(", and influxctl's {} was not found either", p.display()),
            None => String::new(),
        };
        ConfigError::NoConfig {
            ours: self.files.ours.value.display().to_string(),
            influxctl,
        }
    }

    /// Who handles management tokens for this profile (`management_backend`).
    pub fn management_backend(&self) -> ManagementBackend {
        self.profile.management_backend.value
    }

    /// Is `influxctl` driven for management tokens?
    pub fn uses_influxctl(&self) -> bool {
        self.management_backend() == ManagementBackend::Influxctl
    }
}

/// Resolve the active profile: defaults < file < env < flags.
pub fn resolve(env: &Env, flags: &GlobalArgs) -> Result<Config, ConfigError> {
    let mut notes = Vec::new();
    let files = Files::locate(env, flags, &mut notes)?;
    let l = layer::Layers::new(env, files.read.as_deref());
    let name = l.profile_name(flags.profile.as_deref());
    let entry = schema::load_profile(&files, &name, &mut notes)?;
    let profile = Profile::resolve(&l, name, entry)?;
    let timeout = l.timeout(flags.timeout.as_deref())?;
    Ok(Config {
        profile,
        files,
        timeout,
        notes,
    })
}

#[cfg(test)]
mod tests;
