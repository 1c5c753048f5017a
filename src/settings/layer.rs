//! Layering one value: default < file < `INFLUX_BOOTSTRAP_*` env < flag,
//! recording where the value came from.
use super::values::{FilePort, Grant, KeyAlg, ManagementBackend, Product, Source, Value};
use super::{DEFAULT_PROFILE, DEFAULT_SCOPES, DEFAULT_TIMEOUT};
use crate::env::Env;
use crate::error::ConfigError;
use crate::secret::Secret;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

/// The environment and the file a profile was read from: one method per kind
/// of value, each taking the file's value and the variable that overrides it.
pub(super) struct Layers<'a> {
    env: &'a Env,
    file: Source,
}

impl<'a> Layers<'a> {
    pub(super) fn new(env: &'a Env, file: Option<&Path>) -> Self {
        let file = Source::File(file.map(Path::to_path_buf).unwrap_or_default());
        Layers { env, file }
    }

    fn file_value<T>(&self, value: T) -> Value<T> {
        Value::new(value, self.file.clone())
    }

    fn env_value(&self, var: &'static str) -> Option<Value<String>> {
        self.env.get(var).map(|v| Value::new(v, Source::Env(var)))
    }

    /// A flag, else a variable: the values that no file sets.
    fn flag_or_env(
        &self,
        flag: Option<&str>,
        name: &'static str,
        var: &'static str,
    ) -> Option<Value<String>> {
        flag.map(|f| Value::new(f.to_string(), Source::Flag(name)))
            .or_else(|| self.env_value(var))
    }

    /// A string; empty strings in the file count as unset.
    pub(super) fn string(&self, file: Option<String>, var: &'static str) -> Option<Value<String>> {
        self.env_value(var)
            .or_else(|| file.filter(|s| !s.is_empty()).map(|v| self.file_value(v)))
    }

    pub(super) fn secret(&self, file: Option<String>, var: &'static str) -> Option<Value<Secret>> {
        self.string(file, var)
            .map(|v| Value::new(Secret::new(v.value), v.source))
    }

    /// A boolean, `false` by default; the variable takes true/false, 1/0, yes/no, on/off.
    pub(super) fn bool(
        &self,
        file: Option<bool>,
        var: &'static str,
    ) -> Result<Value<bool>, ConfigError> {
        if let Some(v) = self.env.get(var) {
            let b = parse_bool(&v).ok_or_else(|| {
                ConfigError::invalid(
                    var,
                    Source::Env(var),
                    format!("`{v}` is not a boolean"),
                    "use true or false",
                )
            })?;
            return Ok(Value::new(b, Source::Env(var)));
        }
        Ok(match file {
            Some(b) => self.file_value(b),
            None => Value::new(false, Source::Default),
        })
    }

    /// A path; an empty path in the file counts as unset.
    pub(super) fn path(&self, file: Option<PathBuf>, var: &'static str) -> Option<Value<PathBuf>> {
        let from_env = self.env.path(var).map(|p| Value::new(p, Source::Env(var)));
        from_env.or_else(|| {
            file.filter(|p| !p.as_os_str().is_empty())
                .map(|p| self.file_value(p))
        })
    }

    /// An absolute http(s) URL, named `what` in errors.
    pub(super) fn url(
        &self,
        file: Option<String>,
        var: &'static str,
        what: &str,
    ) -> Result<Option<Value<Url>>, ConfigError> {
        self.string(file, var)
            .map(|v| parse_url(v, what))
            .transpose()
    }

    /// `clustered` (the default) or `dedicated`, in any case.
    pub(super) fn product(&self, file: Option<String>) -> Result<Value<Product>, ConfigError> {
        self.word_or(file, &PRODUCT, Product::Clustered)
    }

    /// `api` (the default) or `influxctl`, in any case.
    pub(super) fn management_backend(
        &self,
        file: Option<String>,
    ) -> Result<Value<ManagementBackend>, ConfigError> {
        self.word_or(file, &MANAGEMENT_BACKEND, ManagementBackend::Api)
    }

    /// `device` (the default) or `client_credentials` (issue 20).
    pub(super) fn grant(&self, file: Option<String>) -> Result<Value<Grant>, ConfigError> {
        self.word_or(file, &GRANT, Grant::Device)
    }

    /// `RS256` or `ES256`, when set.
    pub(super) fn key_alg(
        &self,
        file: Option<String>,
    ) -> Result<Option<Value<KeyAlg>>, ConfigError> {
        self.word(file, &KEY_ALG)
    }

    /// A value written as one word, `None` when unset; a word `key.parse`
    /// does not know is not `key.what` (named by the key `key.var`
    /// overrides), and `key.hint` says what to write.
    fn word<T>(
        &self,
        file: Option<String>,
        key: &Word<T>,
    ) -> Result<Option<Value<T>>, ConfigError> {
        let Some(v) = self.string(file, key.var) else {
            return Ok(None);
        };
        let Some(w) = (key.parse)(&v.value) else {
            let name = key
                .var
                .trim_start_matches("INFLUX_BOOTSTRAP_")
                .to_ascii_lowercase();
            let message = format!("`{}` is not {}", v.value, key.what);
            return Err(ConfigError::invalid(&name, &v.source, message, key.hint));
        };
        Ok(Some(Value::new(w, v.source)))
    }

    /// [`Self::word`], `default` when unset.
    fn word_or<T>(
        &self,
        file: Option<String>,
        key: &Word<T>,
        default: T,
    ) -> Result<Value<T>, ConfigError> {
        let v = self.word(file, key)?;
        Ok(v.unwrap_or_else(|| Value::new(default, Source::Default)))
    }

    /// A TCP port, 443 by default; the file may write it as a string or a number.
    pub(super) fn port(&self, file: Option<FilePort>) -> Result<Value<u16>, ConfigError> {
        let Some(v) = self.string(file.map(FilePort::into_text), "INFLUX_BOOTSTRAP_PORT") else {
            return Ok(Value::new(443, Source::Default));
        };
        let n = v.value.trim().parse::<u16>().ok().filter(|n| *n > 0);
        let n = n.ok_or_else(|| {
            let message = format!("`{}` is not a TCP port", v.value);
            ConfigError::invalid(
                "port",
                &v.source,
                message,
                "use a number from 1 to 65535, e.g. port = \"443\"",
            )
        })?;
        Ok(Value::new(n, v.source))
    }

    /// OAuth scopes: the variable separates them by spaces or commas. influxctl
    /// writes `scopes = [""]` for "none", so empties count as unset and
    /// [`DEFAULT_SCOPES`] apply.
    pub(super) fn scopes(&self, file: Option<Vec<String>>) -> Value<Vec<String>> {
        if let Some(v) = self.env_value("INFLUX_BOOTSTRAP_SCOPES") {
            let scopes = v.value.split([' ', ',']).filter(|s| !s.is_empty());
            return Value::new(scopes.map(str::to_string).collect(), v.source);
        }
        let file = file.map(|v| {
            v.into_iter()
                .filter(|s| !s.trim().is_empty())
                .collect::<Vec<_>>()
        });
        match file.filter(|v| !v.is_empty()) {
            Some(v) => self.file_value(v),
            None => Value::new(
                DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
                Source::Default,
            ),
        }
    }

    /// Extra authorization-request parameters (file only); empty values are dropped.
    pub(super) fn parameters(
        &self,
        file: Option<BTreeMap<String, String>>,
    ) -> Value<BTreeMap<String, String>> {
        match file {
            Some(p) => self.file_value(p.into_iter().filter(|(_, v)| !v.is_empty()).collect()),
            None => Value::new(BTreeMap::new(), Source::Default),
        }
    }

    /// `--profile`, else `INFLUX_BOOTSTRAP_PROFILE`, else [`DEFAULT_PROFILE`].
    pub(super) fn profile_name(&self, flag: Option<&str>) -> Value<String> {
        self.flag_or_env(flag, "--profile", "INFLUX_BOOTSTRAP_PROFILE")
            .unwrap_or_else(|| Value::new(DEFAULT_PROFILE.to_string(), Source::Default))
    }

    /// `--timeout`, else `INFLUX_BOOTSTRAP_TIMEOUT`, else [`DEFAULT_TIMEOUT`].
    pub(super) fn timeout(&self, flag: Option<&str>) -> Result<Value<Duration>, ConfigError> {
        match self.flag_or_env(flag, "--timeout", "INFLUX_BOOTSTRAP_TIMEOUT") {
            Some(v) => Ok(Value::new(parse_timeout(&v.value, &v.source)?, v.source)),
            None => Ok(Value::new(DEFAULT_TIMEOUT, Source::Default)),
        }
    }
}

/// A setting written as one word: the variable that overrides the file,
/// how a word is read, what the value is ("a product") and what to write.
struct Word<T> {
    var: &'static str,
    parse: fn(&str) -> Option<T>,
    what: &'static str,
    hint: &'static str,
}

const PRODUCT: Word<Product> = Word {
    var: "INFLUX_BOOTSTRAP_PRODUCT",
    parse: Product::parse,
    what: "a product",
    hint: "use `clustered` or `dedicated`",
};

const MANAGEMENT_BACKEND: Word<ManagementBackend> = Word {
    var: "INFLUX_BOOTSTRAP_MANAGEMENT_BACKEND",
    parse: ManagementBackend::parse,
    what: "a management backend",
    hint: "use `api` (our HTTP endpoints) or `influxctl` (drive InfluxData's influxctl)",
};

const GRANT: Word<Grant> = Word {
    var: "INFLUX_BOOTSTRAP_GRANT",
    parse: Grant::parse,
    what: "a grant",
    hint: "use `device` (a person approves in a browser) or `client_credentials` (a workload logs in as its client)",
};

const KEY_ALG: Word<KeyAlg> = Word {
    var: "INFLUX_BOOTSTRAP_PRIVATE_KEY_ALG",
    parse: KeyAlg::parse,
    what: "a supported signing algorithm",
    hint: "use `RS256` (an RSA key) or `ES256` (a P-256 key)",
};

fn parse_url(v: Value<String>, what: &str) -> Result<Value<Url>, ConfigError> {
    let u = Url::parse(v.value.trim()).map_err(|e| {
        let message = format!("`{}` is not a URL: {e}", v.value);
        let hint = "write an absolute URL such as https://idp.example.com/realms/influxdb";
        ConfigError::invalid(what, &v.source, message, hint)
    })?;
    if !matches!(u.scheme(), "http" | "https") {
        let message = format!("`{}` is not an http(s) URL", v.value);
        return Err(ConfigError::invalid(
            what,
            &v.source,
            message,
            "use an https:// URL",
        ));
    }
    Ok(Value::new(u, v.source))
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_timeout(s: &str, source: &Source) -> Result<Duration, ConfigError> {
    let d = humantime::parse_duration(s.trim()).map_err(|_| {
        let (message, hint) = super::words::duration_problem(s, "30s or 2m");
        ConfigError::invalid("timeout", source, message, hint.as_str())
    })?;
    if d.is_zero() || d > Duration::from_secs(3600) {
        let hint = "use a duration between 1s and 1h, e.g. 30s";
        return Err(ConfigError::invalid(
            "timeout",
            source,
            format!("`{s}` is out of range"),
            hint,
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_reads_as_one_usage_error() {
        let cases: Vec<(ConfigError, &str, Option<&str>)> = vec![
            (
                ConfigError::invalid("port", Source::Env("P"), "`x` is not a TCP port", "use 443"),
                "invalid value for port (from env P): `x` is not a TCP port",
                Some("use 443"),
            ),
            (
                ConfigError::invalid("--store", "command line", format!("`{}`", 1), None),
                "invalid value for --store (from command line): `1`",
                None,
            ),
        ];
        for (err, want, want_hint) in cases {
            assert_eq!(err.to_string(), want);
            let ConfigError::Invalid { hint, .. } = err else {
                panic!("not Invalid: {err:?}");
            };
            assert_eq!(hint.as_deref(), want_hint);
        }
    }

    #[test]
    fn env_beats_file_and_empty_file_values_are_unset() {
        let file = Some(Path::new("/c.toml"));
        let file_value = Source::File(PathBuf::from("/c.toml"));
        // (env value, file value, expected)
        let cases: Vec<(Option<&str>, Option<&str>, Option<(&str, Source)>)> = vec![
            (None, None, None),
            (None, Some(""), None),
            (None, Some("f"), Some(("f", file_value.clone()))),
            (Some("e"), Some("f"), Some(("e", Source::Env("V")))),
            (Some(""), Some("f"), Some(("f", file_value))),
        ];
        for (env, fv, want) in cases {
            let env = Env::from_pairs(env.map(|v| ("V", v)));
            let got = Layers::new(&env, file).string(fv.map(str::to_string), "V");
            let want = want.map(|(v, s)| Value::new(v.to_string(), s));
            assert_eq!(got, want, "env {env:?}, file {fv:?}");
        }
    }
}
