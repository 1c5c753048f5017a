//! Server configuration (TOML), modelled on the admin section of an InfluxDB
//! Clustered `AppInstance`. Unknown keys are rejected with an error naming them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Default listen address when neither the config nor `--listen` names one.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8086";
/// Default SQLite database path (relative to the working directory).
pub const DEFAULT_DATABASE: &str = "reference-cluster.sqlite";

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `host:port` to listen on; port 0 picks a free port.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// SQLite file holding the management tokens, databases and database
    /// tokens; `":memory:"` keeps them in memory.
    #[serde(default = "default_database")]
    pub database: String,
    pub identity: Identity,
    pub admin: Admin,
    #[serde(default)]
    pub tls: Option<Tls>,
    #[serde(default)]
    pub dedicated: Option<Dedicated>,
    #[serde(default)]
    pub faults: Faults,
    /// When new tokens start to work (`crate::activation`).
    #[serde(default)]
    pub activation: crate::activation::ActivationConfig,
    /// Serve our management-token routes (`docs/management-api.yaml`). With
    /// `false` they answer 404 like any unknown path, so the server plays a
    /// stock cluster that serves only InfluxData's documented Management API.
    /// Management tokens already stored still authenticate.
    #[serde(default = "default_true")]
    pub management_tokens: bool,
    /// Which path forms of the documented Management API (databases, database
    /// tokens) are served: `both` (default), `short` (`/api/v0/...` only) or
    /// `long` (`/api/v0/accounts/{accountId}/clusters/{clusterId}/...` only).
    #[serde(default)]
    pub documented_paths: DocumentedPaths,
}

/// Path forms of the documented Management API that are served.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum DocumentedPaths {
    #[default]
    Both,
    Short,
    Long,
}

impl DocumentedPaths {
    pub fn serves_short(self) -> bool {
        matches!(self, DocumentedPaths::Both | DocumentedPaths::Short)
    }
    pub fn serves_long(self) -> bool {
        matches!(self, DocumentedPaths::Both | DocumentedPaths::Long)
    }
}

impl std::str::FromStr for DocumentedPaths {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "both" => Ok(DocumentedPaths::Both),
            "short" => Ok(DocumentedPaths::Short),
            "long" => Ok(DocumentedPaths::Long),
            _ => Err(format!("{s:?} is not one of both, short, long")),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// Expected `iss` of OAuth access tokens; also the base of OIDC discovery.
    pub issuer: String,
    /// JWKS URL; when absent it is discovered from
    /// `{issuer}/.well-known/openid-configuration` (`jwks_uri`).
    #[serde(default)]
    pub jwks_endpoint: Option<String>,
    /// Expected `aud` (the token's `aud` may be a string or an array containing it).
    pub audience: String,
    /// Claim holding the user id that is matched against `[[admin.users]] id`.
    #[serde(default = "default_user_id_claim")]
    pub user_id_claim: String,
    /// JOSE header `typ` values accepted for access tokens (case-insensitive;
    /// an `application/` prefix is ignored, RFC 9068 §4). The default,
    /// `["at+jwt"]`, accepts only RFC 9068 access tokens, so an ID token
    /// (`typ` `JWT` or none) is refused even when its `aud` (the client id)
    /// equals `audience`. A provider that does not type its access tokens
    /// (Keycloak, Entra ID: `JWT`) needs `["at+jwt", "JWT"]` here, and then an
    /// `audience` that is not any client's id. `""` stands for "no `typ`".
    #[serde(default = "default_access_token_types")]
    pub access_token_types: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Admin {
    #[serde(default)]
    pub users: Vec<AdminUser>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AdminUser {
    pub id: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// PEM certificate chain (leaf first).
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Cloud Dedicated ids. With this set, the long path forms answer only for
/// these ids (others get 404); without it, the documented routes' long form
/// accepts any ids (as Clustered does with InfluxData's placeholder ids) and
/// our management-token routes' long form is not served.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Dedicated {
    pub account_id: String,
    pub cluster_id: String,
}

/// Fault injection, all off by default.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Fail the next N API requests with `fail_status` + `Retry-After`.
    #[serde(default)]
    pub fail_next: u64,
    /// Status used by `fail_next`: 503 (default) or 429.
    #[serde(default = "default_fail_status")]
    pub fail_status: u16,
    /// `Retry-After` seconds sent with injected failures.
    #[serde(default = "default_retry_after")]
    pub retry_after: u64,
    /// For the next N successful token creates (management tokens or database
    /// tokens): commit the token, then close the connection without sending
    /// any response.
    #[serde(default)]
    pub drop_after_create: u64,
    /// Serve `POST /__test/faults` and `GET /__test/stats`.
    #[serde(default)]
    pub test_control: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            fail_next: 0,
            fail_status: default_fail_status(),
            retry_after: default_retry_after(),
            drop_after_create: 0,
            test_control: false,
        }
    }
}

fn default_listen() -> SocketAddr {
    DEFAULT_LISTEN
        .parse()
        .expect("valid default listen address")
}
fn default_database() -> String {
    DEFAULT_DATABASE.to_string()
}
fn default_user_id_claim() -> String {
    "sub".to_string()
}
fn default_access_token_types() -> Vec<String> {
    vec!["at+jwt".to_string()]
}
fn default_true() -> bool {
    true
}
fn default_fail_status() -> u16 {
    503
}
fn default_retry_after() -> u64 {
    1
}

crate::error::message_error!(
    /// A configuration error with a human-readable message.
    ConfigError
);

impl Config {
    /// Parses and validates a TOML document.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a TOML file. Relative `database` and TLS paths
    /// are resolved against the current directory (not the file's directory).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        Config::from_toml(&text).map_err(|e| ConfigError(format!("{}: {e}", path.display())))
    }

    /// A minimal in-memory configuration, handy for tests.
    pub fn minimal(issuer: &str, audience: &str, admins: &[&str]) -> Config {
        Config {
            listen: "127.0.0.1:0".parse().expect("valid address"),
            database: ":memory:".to_string(),
            identity: Identity {
                issuer: issuer.to_string(),
                jwks_endpoint: None,
                audience: audience.to_string(),
                user_id_claim: default_user_id_claim(),
                access_token_types: default_access_token_types(),
            },
            admin: Admin {
                users: admins
                    .iter()
                    .map(|id| AdminUser {
                        id: id.to_string(),
                        first_name: None,
                        last_name: None,
                        email: None,
                    })
                    .collect(),
            },
            tls: None,
            dedicated: None,
            faults: Faults::default(),
            activation: Default::default(),
            management_tokens: true,
            documented_paths: DocumentedPaths::Both,
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError(m));
        if self.identity.issuer.trim().is_empty() {
            return bad("identity.issuer must not be empty".into());
        }
        if self.identity.audience.trim().is_empty() {
            return bad("identity.audience must not be empty".into());
        }
        if self.identity.user_id_claim.trim().is_empty() {
            return bad("identity.user_id_claim must not be empty".into());
        }
        if self.identity.access_token_types.is_empty() {
            return bad(
                "identity.access_token_types must name at least one typ (default [\"at+jwt\"])"
                    .into(),
            );
        }
        for url in std::iter::once(&self.identity.issuer).chain(self.identity.jwks_endpoint.iter())
        {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return bad(format!("{url:?} is not an http(s) URL"));
            }
        }
        for user in &self.admin.users {
            if user.id.is_empty() {
                return bad("admin.users: id must not be empty".into());
            }
        }
        if let Some(d) = &self.dedicated
            && (d.account_id.is_empty() || d.cluster_id.is_empty())
        {
            return bad("dedicated: account_id and cluster_id must not be empty".into());
        }
        if !matches!(self.faults.fail_status, 429 | 500 | 502 | 503 | 504) {
            return bad(format!(
                "faults.fail_status must be 429, 500, 502, 503 or 504, not {}",
                self.faults.fail_status
            ));
        }
        if self.database.is_empty() {
            return bad("database must not be empty".into());
        }
        Ok(())
    }

    pub fn is_admin(&self, user_id: &str) -> bool {
        self.admin.users.iter().any(|u| u.id == user_id)
    }
}
