//! Profiles and configuration layering.
//!
//! The file format is influxctl's profile schema (`[[profile]]`, `port` as a
//! string, `[profile.auth.oauth2]`…) plus one extension, `issuer`. Values are
//! layered defaults < file < `INFLUX_BOOTSTRAP_*` env < flags by one function,
//! [`resolve`], which records where every value came from for `config show`.
use crate::cli::GlobalArgs;
use crate::env::Env;
use crate::error::ConfigError;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

pub const DEFAULT_PROFILE: &str = "default";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Used when a profile names no scopes: an ID token for `status`, and a
/// refresh token so later commands need no new device flow.
pub const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(&'static str),
    Flag(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(p) => write!(f, "file {}", p.display()),
            Source::Env(v) => write!(f, "env {v}"),
            Source::Flag(n) => write!(f, "flag {n}"),
        }
    }
}

/// A value and its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Value<T> {
    fn new(value: T, source: Source) -> Self {
        Value { value, source }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Product {
    Clustered,
    Dedicated,
}

impl Product {
    fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "clustered" => Some(Product::Clustered),
            "dedicated" => Some(Product::Dedicated),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Product::Clustered => "clustered",
            Product::Dedicated => "dedicated",
        }
    }
}

// ---------------------------------------------------------------------------
// The file, as written by people and by influxctl.

#[derive(Debug, Default, Deserialize)]
struct FileConfig {
    #[serde(default)]
    profile: Vec<FileProfile>,
}

/// influxctl writes `port = "443"`; people also write `port = 443`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FilePort {
    Str(String),
    Int(i64),
}

#[derive(Debug, Default, Deserialize)]
struct FileProfile {
    name: String,
    product: Option<String>,
    host: Option<String>,
    port: Option<FilePort>,
    account_id: Option<String>,
    cluster_id: Option<String>,
    mgmt_token: Option<String>,
    tls: Option<FileTls>,
    auth: Option<FileAuth>,
}

#[derive(Debug, Default, Deserialize)]
struct FileTls {
    insecure: Option<bool>,
    disable: Option<bool>,
    ca: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
struct FileAuth {
    oauth2: Option<FileOAuth2>,
}

#[derive(Debug, Default, Deserialize)]
struct FileOAuth2 {
    client_id: Option<String>,
    scopes: Option<Vec<String>>,
    parameters: Option<BTreeMap<String, String>>,
    token_url: Option<String>,
    device_url: Option<String>,
    issuer: Option<String>,
}

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
    pub cache_dir: Value<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Tls {
    pub insecure: Value<bool>,
    pub disable: Value<bool>,
    pub ca: Option<Value<PathBuf>>,
    pub cert: Option<Value<PathBuf>>,
    pub key: Option<Value<PathBuf>>,
}

#[derive(Debug, Clone)]
pub struct OAuth2 {
    pub client_id: Option<Value<String>>,
    pub scopes: Value<Vec<String>>,
    pub parameters: Value<BTreeMap<String, String>>,
    pub token_url: Option<Value<Url>>,
    pub device_url: Option<Value<Url>>,
    pub issuer: Option<Value<Url>>,
}

/// A fully resolved profile.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: Value<String>,
    pub product: Value<Product>,
    pub host: Option<Value<String>>,
    pub port: Value<u16>,
    pub account_id: Option<Value<String>>,
    pub cluster_id: Option<Value<String>>,
    pub mgmt_token: Option<Value<Secret>>,
    pub tls: Tls,
    pub oauth2: OAuth2,
}

/// Everything a command needs from configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub profile: Profile,
    pub files: Files,
    pub timeout: Value<Duration>,
    /// Warnings to show once (e.g. reading influxctl's file).
    pub notes: Vec<String>,
}

impl Profile {
    /// `host:port` of the cluster, part of the session cache key.
    pub fn cluster_address(&self) -> String {
        match &self.host {
            Some(h) => format!("{}:{}", h.value, self.port.value),
            None => String::new(),
        }
    }

    /// The RFC 8707 `resource` or Auth0 `audience` parameter, part of the cache key.
    pub fn audience(&self) -> Option<&str> {
        let p = &self.oauth2.parameters.value;
        p.get("resource")
            .or_else(|| p.get("audience"))
            .map(String::as_str)
    }
}

// ---------------------------------------------------------------------------
// Paths.

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

// ---------------------------------------------------------------------------
// Layering.

/// Resolve the active profile: defaults < file < env < flags.
pub fn resolve(env: &Env, flags: &GlobalArgs) -> Result<Config, ConfigError> {
    let mut notes = Vec::new();

    let ours = if let Some(p) = &flags.config {
        Value::new(p.clone(), Source::Flag("--config"))
    } else if let Some(p) = env.path("INFLUX_BOOTSTRAP_CONFIG") {
        Value::new(p, Source::Env("INFLUX_BOOTSTRAP_CONFIG"))
    } else {
        let dir = config_home(env).ok_or_else(|| ConfigError::Missing {
            what: "a config directory".into(),
            profile: String::new(),
            hint: "set HOME, XDG_CONFIG_HOME or INFLUX_BOOTSTRAP_CONFIG".into(),
        })?;
        Value::new(
            dir.join("influx-bootstrap").join("config.toml"),
            Source::Default,
        )
    };
    let explicit_file = ours.source != Source::Default;
    let influxctl = influxctl_config_path(env);

    let cache_dir = if let Some(p) = env.path("INFLUX_BOOTSTRAP_CACHE_DIR") {
        Value::new(p, Source::Env("INFLUX_BOOTSTRAP_CACHE_DIR"))
    } else {
        let dir = cache_home(env).ok_or_else(|| ConfigError::Missing {
            what: "a cache directory".into(),
            profile: String::new(),
            hint: "set HOME, XDG_CACHE_HOME or INFLUX_BOOTSTRAP_CACHE_DIR".into(),
        })?;
        Value::new(dir.join("influx-bootstrap"), Source::Default)
    };

    // Which file to read: ours if it exists (or was named explicitly, in which
    // case it must exist), else influxctl's, else none.
    let (read, kind) = if ours.value.exists() {
        (Some(ours.value.clone()), FileKind::Ours)
    } else if explicit_file {
        return Err(ConfigError::Read {
            path: ours.value.clone(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    } else if let Some(p) = influxctl.as_ref().filter(|p| p.exists()) {
        notes.push(format!(
            "{} does not exist; reading influxctl's config {} (never written by influx-bootstrap)",
            ours.value.display(),
            p.display()
        ));
        (Some(p.clone()), FileKind::Influxctl)
    } else {
        (None, FileKind::None)
    };

    let profile_name = if let Some(p) = &flags.profile {
        Value::new(p.clone(), Source::Flag("--profile"))
    } else if let Some(p) = env.get("INFLUX_BOOTSTRAP_PROFILE") {
        Value::new(p, Source::Env("INFLUX_BOOTSTRAP_PROFILE"))
    } else {
        Value::new(DEFAULT_PROFILE.to_string(), Source::Default)
    };

    let file_profile = match &read {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            let parsed = parse_file(path, &text, kind == FileKind::Ours, &mut notes)?;
            let available: Vec<String> = parsed.profile.iter().map(|p| p.name.clone()).collect();
            let found = parsed
                .profile
                .into_iter()
                .find(|p| p.name == profile_name.value);
            match found {
                Some(p) => Some(p),
                // No profile of that name: fine only if the user did not ask
                // for one by name and the environment supplies the rest.
                None if profile_name.source == Source::Default && available.is_empty() => None,
                None => {
                    return Err(ConfigError::NoSuchProfile {
                        name: profile_name.value.clone(),
                        path: path.display().to_string(),
                        available,
                    });
                }
            }
        }
        None => None,
    };

    let src = || Source::File(read.clone().unwrap_or_default());
    let fp = file_profile.unwrap_or_default();
    let tls = fp.tls.unwrap_or_default();
    let oauth = fp.auth.and_then(|a| a.oauth2).unwrap_or_default();

    // Helper: layer an optional string from file then env.
    let layer = |file: Option<String>, var: &'static str| -> Option<Value<String>> {
        let from_env = env.get(var).map(|v| Value::new(v, Source::Env(var)));
        from_env.or_else(|| file.filter(|s| !s.is_empty()).map(|v| Value::new(v, src())))
    };

    let product = match layer(fp.product, "INFLUX_BOOTSTRAP_PRODUCT") {
        None => Value::new(Product::Clustered, Source::Default),
        Some(v) => {
            let p = Product::parse(&v.value).ok_or_else(|| {
                invalid(
                    "product",
                    &v.source,
                    format!("`{}` is not a product", v.value),
                    "use `clustered` or `dedicated`",
                )
            })?;
            Value::new(p, v.source)
        }
    };

    let port_file = fp.port.map(|p| match p {
        FilePort::Str(s) => s,
        FilePort::Int(i) => i.to_string(),
    });
    let port = match layer(port_file, "INFLUX_BOOTSTRAP_PORT") {
        None => Value::new(443, Source::Default),
        Some(v) => {
            let n = v
                .value
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    invalid(
                        "port",
                        &v.source,
                        format!("`{}` is not a TCP port", v.value),
                        "use a number from 1 to 65535, e.g. port = \"443\"",
                    )
                })?;
            Value::new(n, v.source)
        }
    };

    let url = |v: Option<Value<String>>, what: &str| -> Result<Option<Value<Url>>, ConfigError> {
        v.map(|v| {
            let u = Url::parse(v.value.trim()).map_err(|e| {
                invalid(
                    what,
                    &v.source,
                    format!("`{}` is not a URL: {e}", v.value),
                    "write an absolute URL such as https://idp.example.com/realms/influxdb",
                )
            })?;
            if !matches!(u.scheme(), "http" | "https") {
                return Err(invalid(
                    what,
                    &v.source,
                    format!("`{}` is not an http(s) URL", v.value),
                    "use an https:// URL",
                ));
            }
            Ok(Value::new(u, v.source))
        })
        .transpose()
    };

    let scopes = if let Some(s) = env.get("INFLUX_BOOTSTRAP_SCOPES") {
        Value::new(
            s.split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            Source::Env("INFLUX_BOOTSTRAP_SCOPES"),
        )
    } else {
        // influxctl writes `scopes = [""]` for "none"; treat empties as absent.
        match oauth
            .scopes
            .map(|v| {
                v.into_iter()
                    .filter(|s| !s.trim().is_empty())
                    .collect::<Vec<_>>()
            })
            .filter(|v| !v.is_empty())
        {
            Some(v) => Value::new(v, src()),
            None => Value::new(
                DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
                Source::Default,
            ),
        }
    };
    let parameters = match oauth.parameters {
        Some(p) => Value::new(
            p.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
            src(),
        ),
        None => Value::new(BTreeMap::new(), Source::Default),
    };

    let bool_layer = |file: Option<bool>, var: &'static str| -> Result<Value<bool>, ConfigError> {
        if let Some(v) = env.get(var) {
            let b = parse_bool(&v).ok_or_else(|| {
                invalid(
                    var,
                    &Source::Env(var),
                    format!("`{v}` is not a boolean"),
                    "use true or false",
                )
            })?;
            return Ok(Value::new(b, Source::Env(var)));
        }
        Ok(match file {
            Some(b) => Value::new(b, src()),
            None => Value::new(false, Source::Default),
        })
    };
    let path_layer = |file: Option<PathBuf>, var: &'static str| -> Option<Value<PathBuf>> {
        env.path(var)
            .map(|p| Value::new(p, Source::Env(var)))
            .or_else(|| {
                file.filter(|p| !p.as_os_str().is_empty())
                    .map(|p| Value::new(p, src()))
            })
    };

    let profile = Profile {
        name: profile_name,
        product,
        host: layer(fp.host, "INFLUX_BOOTSTRAP_HOST"),
        port,
        account_id: layer(fp.account_id, "INFLUX_BOOTSTRAP_ACCOUNT_ID"),
        cluster_id: layer(fp.cluster_id, "INFLUX_BOOTSTRAP_CLUSTER_ID"),
        mgmt_token: layer(fp.mgmt_token, "INFLUX_BOOTSTRAP_MGMT_TOKEN")
            .map(|v| Value::new(Secret::new(v.value), v.source)),
        tls: Tls {
            insecure: bool_layer(tls.insecure, "INFLUX_BOOTSTRAP_TLS_INSECURE")?,
            disable: bool_layer(tls.disable, "INFLUX_BOOTSTRAP_TLS_DISABLE")?,
            ca: path_layer(tls.ca, "INFLUX_BOOTSTRAP_TLS_CA"),
            cert: path_layer(tls.cert, "INFLUX_BOOTSTRAP_TLS_CERT"),
            key: path_layer(tls.key, "INFLUX_BOOTSTRAP_TLS_KEY"),
        },
        oauth2: OAuth2 {
            client_id: layer(oauth.client_id, "INFLUX_BOOTSTRAP_CLIENT_ID"),
            scopes,
            parameters,
            token_url: url(
                layer(oauth.token_url, "INFLUX_BOOTSTRAP_TOKEN_URL"),
                "token_url",
            )?,
            device_url: url(
                layer(oauth.device_url, "INFLUX_BOOTSTRAP_DEVICE_URL"),
                "device_url",
            )?,
            issuer: url(layer(oauth.issuer, "INFLUX_BOOTSTRAP_ISSUER"), "issuer")?,
        },
    };

    let timeout = if let Some(t) = &flags.timeout {
        Value::new(
            parse_timeout(t, &Source::Flag("--timeout"))?,
            Source::Flag("--timeout"),
        )
    } else if let Some(t) = env.get("INFLUX_BOOTSTRAP_TIMEOUT") {
        let s = Source::Env("INFLUX_BOOTSTRAP_TIMEOUT");
        Value::new(parse_timeout(&t, &s)?, s)
    } else {
        Value::new(DEFAULT_TIMEOUT, Source::Default)
    };

    Ok(Config {
        profile,
        files: Files {
            ours,
            influxctl,
            read,
            kind,
            cache_dir,
        },
        timeout,
        notes,
    })
}

fn invalid(what: &str, source: &Source, message: String, hint: &str) -> ConfigError {
    ConfigError::Invalid {
        what: what.to_string(),
        source_name: source.to_string(),
        message,
        hint: Some(hint.to_string()),
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_timeout(s: &str, source: &Source) -> Result<Duration, ConfigError> {
    let d = humantime::parse_duration(s.trim()).map_err(|e| {
        invalid(
            "timeout",
            source,
            format!("`{s}`: {e}"),
            "write a duration such as 30s or 2m",
        )
    })?;
    if d.is_zero() || d > Duration::from_secs(3600) {
        return Err(invalid(
            "timeout",
            source,
            format!("`{s}` is out of range"),
            "use a duration between 1s and 1h, e.g. 30s",
        ));
    }
    Ok(d)
}

/// Parse config text strictly (as our own file), returning the profile
/// names. For fuzzing and property tests: never panics, whatever the input.
pub fn parse_text(text: &str) -> Result<Vec<String>, ConfigError> {
    let mut notes = Vec::new();
    let parsed = parse_file(Path::new("config.toml"), text, true, &mut notes)?;
    Ok(parsed.profile.into_iter().map(|p| p.name).collect())
}

/// Parse a config file. Unknown keys are an error in our own file (naming the
/// key and its line) and a debug note in influxctl's, which may grow keys we
/// do not know about.
fn parse_file(
    path: &Path,
    text: &str,
    strict: bool,
    notes: &mut Vec<String>,
) -> Result<FileConfig, ConfigError> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let de = toml::de::Deserializer::parse(text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        line: e.span().map_or(1, |s| line_of(s.start)),
        message: crate::text::sanitize(e.message().trim()),
    })?;
    let mut unknown: Vec<Vec<Seg>> = Vec::new();
    let parsed: FileConfig = serde_ignored::deserialize(de, |p| unknown.push(segments(&p)))
        .map_err(|e: toml::de::Error| ConfigError::Parse {
            path: path.to_path_buf(),
            line: e.span().map_or(1, |s| line_of(s.start)),
            message: crate::text::sanitize(e.message().trim()),
        })?;
    if let Some(first) = unknown.first() {
        // Quoted TOML keys may hold newlines or escapes: keep errors one line.
        let key = crate::text::sanitize(&dotted(first));
        if strict {
            return Err(ConfigError::UnknownKey {
                path: path.to_path_buf(),
                line: locate(text, first).map_or(1, line_of),
                key,
            });
        }
        notes.push(format!(
            "ignoring unknown key `{key}` in {}",
            path.display()
        ));
    }
    for (i, p) in parsed.profile.iter().enumerate() {
        if p.name.trim().is_empty() {
            let seg = vec![Seg::Key("profile".into()), Seg::Index(i)];
            return Err(ConfigError::Parse {
                path: path.to_path_buf(),
                line: locate(text, &seg).map_or(1, line_of),
                message: "a [[profile]] has an empty `name`".into(),
            });
        }
    }
    Ok(parsed)
}

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

fn segments(p: &serde_ignored::Path) -> Vec<Seg> {
    use serde_ignored::Path as P;
    let mut out = match p {
        P::Root => return Vec::new(),
        P::Seq { parent, .. }
        | P::Map { parent, .. }
        | P::Some { parent }
        | P::NewtypeStruct { parent }
        | P::NewtypeVariant { parent } => segments(parent),
    };
    match p {
        P::Seq { index, .. } => out.push(Seg::Index(*index)),
        P::Map { key, .. } => out.push(Seg::Key(key.clone())),
        _ => {}
    }
    out
}

/// `profile[1].auth.oauth2.foo` style, using the profile's position.
fn dotted(segs: &[Seg]) -> String {
    let mut s = String::new();
    for seg in segs {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Byte offset of the key a path points at, using toml_edit's spans.
fn locate(text: &str, segs: &[Seg]) -> Option<usize> {
    let doc = toml_edit::Document::parse(text).ok()?;
    in_table_like(doc.as_table(), segs, None)
}

fn in_item(item: &toml_edit::Item, segs: &[Seg], best: Option<usize>) -> Option<usize> {
    use toml_edit::{Item, Value as V};
    match (segs.first(), item) {
        (Some(Seg::Key(_)), Item::Table(t)) => in_table_like(t, segs, best),
        (Some(Seg::Key(_)), Item::Value(V::InlineTable(t))) => in_table_like(t, segs, best),
        (Some(Seg::Index(i)), Item::ArrayOfTables(a)) => match a.get(*i) {
            Some(t) => in_table_like(t, &segs[1..], t.span().map(|s| s.start).or(best)),
            None => best,
        },
        _ => best,
    }
}

fn in_table_like(t: &dyn toml_edit::TableLike, segs: &[Seg], best: Option<usize>) -> Option<usize> {
    let Some(Seg::Key(k)) = segs.first() else {
        return best;
    };
    match t.get_key_value(k) {
        Some((key, item)) => in_item(item, &segs[1..], key.span().map(|s| s.start).or(best)),
        None => best,
    }
}

#[cfg(test)]
mod tests;
