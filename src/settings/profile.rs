//! The resolved profile: every field layered from the file entry, the
//! environment and the defaults, one line per field.
use super::layer::Layers;
use super::schema::{FileOAuth2, FileProfile, FileTls};
use super::values::{Grant, KeyAlg, ManagementBackend, Product, Source, Value};
use crate::error::ConfigError;
use crate::secret::Secret;
use std::collections::BTreeMap;
use std::path::PathBuf;
use url::Url;

/// A fully resolved profile.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: Value<String>,
    pub product: Value<Product>,
    pub host: Option<Value<String>>,
    pub port: Value<u16>,
    pub account_id: Option<Value<String>>,
    pub cluster_id: Option<Value<String>>,
    /// Our extension: the origin of the Management API when it is not the
    /// cluster's address (Cloud Dedicated: `https://console.influxdata.com`
    /// by default for the documented API; see `cluster::management_origin`).
    pub management_url: Option<Value<Url>>,
    pub mgmt_token: Option<Value<Secret>>,
    /// Our extension: who creates, lists and revokes management tokens.
    pub management_backend: Value<ManagementBackend>,
    /// Our extension: the `influxctl` binary ([`ManagementBackend::Influxctl`]);
    /// `influxctl` on `PATH` by default.
    pub influxctl: Value<PathBuf>,
    pub tls: Tls,
    pub oauth2: OAuth2,
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
    /// RFC 7009 revocation endpoint; wins over discovery (for `logout`).
    pub revocation_url: Option<Value<Url>>,
    pub issuer: Option<Value<Url>>,
    /// `device` (a person) or `client_credentials` (a workload; issue 20).
    pub grant: Value<Grant>,
    /// The client secret, read from this file on every use.
    pub client_secret_file: Option<Value<PathBuf>>,
    /// The client secret itself, from `INFLUX_BOOTSTRAP_CLIENT_SECRET` only
    /// (never a file value, never a flag: argv is visible to every user).
    pub client_secret: Option<Value<Secret>>,
    /// A PEM private key that signs `private_key_jwt` assertions (RFC 7523).
    pub private_key_file: Option<Value<PathBuf>>,
    pub private_key_alg: Option<Value<KeyAlg>>,
    /// A client assertion the platform writes and rotates (a Kubernetes
    /// projected service-account token, a CI OIDC token), re-read on every use.
    pub client_assertion_file: Option<Value<PathBuf>>,
}

impl Profile {
    /// Layer the file's entry `fp` (empty when there is none) under the
    /// environment. Fields are checked in order; the first bad one is the error.
    pub(super) fn resolve(
        l: &Layers,
        name: Value<String>,
        fp: FileProfile,
    ) -> Result<Self, ConfigError> {
        let oauth2 = fp.auth.and_then(|a| a.oauth2).unwrap_or_default();
        Ok(Profile {
            name,
            product: l.product(fp.product)?,
            host: l.string(fp.host, "INFLUX_BOOTSTRAP_HOST"),
            port: l.port(fp.port)?,
            account_id: l.string(fp.account_id, "INFLUX_BOOTSTRAP_ACCOUNT_ID"),
            cluster_id: l.string(fp.cluster_id, "INFLUX_BOOTSTRAP_CLUSTER_ID"),
            management_url: l.url(
                fp.management_url,
                "INFLUX_BOOTSTRAP_MANAGEMENT_URL",
                "management_url",
            )?,
            mgmt_token: l.secret(fp.mgmt_token, "INFLUX_BOOTSTRAP_MGMT_TOKEN"),
            management_backend: l.management_backend(fp.management_backend)?,
            influxctl: l
                .path(fp.influxctl, "INFLUX_BOOTSTRAP_INFLUXCTL")
                .unwrap_or_else(|| Value::new(PathBuf::from("influxctl"), Source::Default)),
            tls: Tls::resolve(l, fp.tls.unwrap_or_default())?,
            oauth2: OAuth2::resolve(l, oauth2)?,
        })
    }

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

impl Tls {
    fn resolve(l: &Layers, f: FileTls) -> Result<Self, ConfigError> {
        Ok(Tls {
            insecure: l.bool(f.insecure, "INFLUX_BOOTSTRAP_TLS_INSECURE")?,
            disable: l.bool(f.disable, "INFLUX_BOOTSTRAP_TLS_DISABLE")?,
            ca: l.path(f.ca, "INFLUX_BOOTSTRAP_TLS_CA"),
            cert: l.path(f.cert, "INFLUX_BOOTSTRAP_TLS_CERT"),
            key: l.path(f.key, "INFLUX_BOOTSTRAP_TLS_KEY"),
        })
    }
}

impl OAuth2 {
    fn resolve(l: &Layers, f: FileOAuth2) -> Result<Self, ConfigError> {
        Ok(OAuth2 {
            client_id: l.string(f.client_id, "INFLUX_BOOTSTRAP_CLIENT_ID"),
            scopes: l.scopes(f.scopes),
            parameters: l.parameters(f.parameters),
            token_url: l.url(f.token_url, "INFLUX_BOOTSTRAP_TOKEN_URL", "token_url")?,
            device_url: l.url(f.device_url, "INFLUX_BOOTSTRAP_DEVICE_URL", "device_url")?,
            revocation_url: l.url(
                f.revocation_url,
                "INFLUX_BOOTSTRAP_REVOCATION_URL",
                "revocation_url",
            )?,
            issuer: l.url(f.issuer, "INFLUX_BOOTSTRAP_ISSUER", "issuer")?,
            grant: l.grant(f.grant)?,
            client_secret_file: l.path(f.client_secret_file, "INFLUX_BOOTSTRAP_CLIENT_SECRET_FILE"),
            client_secret: l.secret(None, "INFLUX_BOOTSTRAP_CLIENT_SECRET"),
            private_key_file: l.path(f.private_key_file, "INFLUX_BOOTSTRAP_PRIVATE_KEY_FILE"),
            private_key_alg: l.key_alg(f.private_key_alg)?,
            client_assertion_file: l.path(
                f.client_assertion_file,
                "INFLUX_BOOTSTRAP_CLIENT_ASSERTION_FILE",
            ),
        })
    }
}
