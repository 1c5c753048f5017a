//! Client of InfluxData's **documented** Management HTTP API: databases and
//! database tokens, as every stock Clustered and Cloud Dedicated cluster
//! serves it (`docs/documented-api.md`).
//!
//! - **Where**: Cloud Dedicated serves it at
//!   `{management_url}/api/v0/accounts/{accountId}/clusters/{clusterId}` (the
//!   "long" form; `management_url` defaults to `https://console.influxdata.com`).
//!   Clustered serves `https://host:port/api/v0` (the "short" form, as the
//!   docs show) and, on many releases, the long form with any ids (InfluxData's
//!   own clients send `11111111-…`). We try the short form first; a 404 on a
//!   collection route (`/databases`, `/tokens`) sends us to the long form, with
//!   the profile's `account_id`/`cluster_id` when set. The form that answered
//!   is remembered per management origin in a small non-secret file in the
//!   cache directory ([`PathMemory`]), so later commands go straight to it.
//! - **Requests** go through [`ClusterClient::call`]: retries with back-off
//!   and `Retry-After` for GET and DELETE; a POST is never retried (the
//!   documented API has no idempotency; we send an `Idempotency-Key` with a
//!   token create anyway, and never depend on it).
//! - **Shapes**: camelCase on the wire, snake_case in everything we print.
//!   `200` for POSTs (201 accepted too), `204` for DELETEs (any 2xx accepted).
use super::{ClusterClient, Credential, Missing, RetryPolicy, expect, expect_status, status_error};
use crate::error::{ClusterError, ConfigError};
use crate::http::{HttpClient, Response};
use crate::secret::Secret;
use crate::settings::{Config, Product, Profile, Value};
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use url::Url;

/// The account and cluster id InfluxData's own clients send to Clustered.
pub const PLACEHOLDER_ID: &str = "11111111-1111-1111-1111-111111111111";
/// Database names: 1 to 64 characters.
pub const MAX_DATABASE_NAME: usize = 64;
/// The file (in the cache directory) that remembers the path form per origin.
pub const PATH_MEMORY_FILE: &str = "documented-api-paths.json";

// ---------------------------------------------------------------------------
// Shapes

/// A database as the cluster describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "snake_case", deserialize = "camelCase"))]
pub struct Database {
    /// Only through the long form (Dedicated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub max_tables: Option<u64>,
    #[serde(default)]
    pub max_columns_per_table: Option<u64>,
    /// Nanoseconds; 0 = infinite.
    #[serde(default)]
    pub retention_period: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_template: Option<serde_json::Value>,
}

/// What `POST /databases` takes; unset fields keep the cluster's defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewDatabase {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tables: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_columns_per_table: Option<u32>,
    /// Nanoseconds; 0 = infinite.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_period: Option<u64>,
}

/// One permission of a database token: `read` or `write` on a database
/// name or on `*` (every database).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    pub action: String,
    pub resource: String,
}

impl Permission {
    pub fn new(action: &str, resource: &str) -> Self {
        Permission {
            action: action.into(),
            resource: resource.into(),
        }
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.action, self.resource)
    }
}

/// A database token as the cluster describes it (never the secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "snake_case", deserialize = "camelCase"))]
pub struct DatabaseToken {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    pub id: String,
    pub description: String,
    #[serde(default)]
    pub permissions: Vec<Permission>,
    #[serde(with = "crate::text::utc_serde")]
    pub created_at: DateTime<Utc>,
    /// None: never expires.
    #[serde(default, with = "crate::text::utc_opt_serde")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, with = "crate::text::utc_opt_serde")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The answer to a token create: metadata plus the `apiv1_` token, shown
/// this once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all(serialize = "snake_case", deserialize = "camelCase"))]
pub struct CreatedDatabaseToken {
    #[serde(flatten)]
    pub token: DatabaseToken,
    pub access_token: Secret,
}

// ---------------------------------------------------------------------------
// Checks of what a person typed (before any network call)

/// A database name: 1 to 64 characters. The cluster checks the rest.
pub fn check_database_name(what: &str, name: &str) -> Result<String, ConfigError> {
    let n = name.chars().count();
    if n == 0 || n > MAX_DATABASE_NAME {
        return Err(ConfigError::usage(
            what,
            format!("a database name has 1 to {MAX_DATABASE_NAME} characters, `{name}` has {n}"),
            "e.g. telegraf or sensors_2026",
        ));
    }
    Ok(name.to_string())
}

/// `--retention-period`: a duration (`30d`, `1y`, `12h`) in nanoseconds, or
/// `infinite` / `0` for 0 (keep everything).
pub fn parse_retention(s: &str) -> Result<u64, ConfigError> {
    let hint = "write a duration such as 30d, 52w or 1y, or `infinite`";
    let t = s.trim();
    if t.eq_ignore_ascii_case("infinite") || t == "0" {
        return Ok(0);
    }
    let d = humantime::parse_duration(t)
        .map_err(|e| ConfigError::usage("--retention-period", format!("`{s}`: {e}"), hint))?;
    u64::try_from(d.as_nanos())
        .ok()
        .filter(|n| i64::try_from(*n).is_ok())
        .ok_or_else(|| {
            ConfigError::usage(
                "--retention-period",
                format!("`{s}` is too long (at most about 292 years)"),
                hint,
            )
        })
}

/// A retention period for people: `infinite`, or `30days`.
pub fn show_retention(ns: i64) -> String {
    match u64::try_from(ns) {
        Ok(0) => "infinite".into(),
        Ok(n) => humantime::format_duration(Duration::from_nanos(n)).to_string(),
        Err(_) => format!("{ns}ns"),
    }
}

/// `--read-database`/`--write-database` (repeatable, `*` = every database)
/// as permissions: reads first, each in the order given, duplicates dropped.
pub fn permissions(read: &[String], write: &[String]) -> Result<Vec<Permission>, ConfigError> {
    let mut out: Vec<Permission> = Vec::new();
    for (action, flag, dbs) in [
        ("read", "--read-database", read),
        ("write", "--write-database", write),
    ] {
        for db in dbs {
            if db != "*" {
                check_database_name(flag, db)?;
            }
            let p = Permission::new(action, db);
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    if out.is_empty() {
        return Err(ConfigError::usage(
            "permissions",
            "a database token needs at least one permission",
            "add --read-database DB and/or --write-database DB (`*` for every database)",
        ));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Where the API is

/// The short form `/api/v0/…` or the long form
/// `/api/v0/accounts/{accountId}/clusters/{clusterId}/…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PathForm {
    Short,
    Long,
}

impl PathForm {
    pub(crate) fn other(self) -> Self {
        match self {
            PathForm::Short => PathForm::Long,
            PathForm::Long => PathForm::Short,
        }
    }
}

/// The origin of the documented API and the ids of its long form.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// `https://console.influxdata.com/`, `https://host:port/`, or the
    /// profile's `management_url`.
    pub origin: Url,
    pub account_id: String,
    pub cluster_id: String,
    /// Dedicated: the long form only. Clustered: found out (short first).
    pub fixed: Option<PathForm>,
}

impl Target {
    pub fn from_profile(p: &Profile) -> Result<Target, ConfigError> {
        let origin = super::management_origin(p)?.value;
        Ok(match p.product.value {
            Product::Dedicated => {
                let (account_id, cluster_id) = super::dedicated_ids(p)?;
                Target {
                    origin,
                    account_id,
                    cluster_id,
                    fixed: Some(PathForm::Long),
                }
            }
            Product::Clustered => {
                let id = |v: &Option<Value<String>>| {
                    v.as_ref()
                        .map_or_else(|| PLACEHOLDER_ID.to_string(), |v| v.value.clone())
                };
                Target {
                    origin,
                    account_id: id(&p.account_id),
                    cluster_id: id(&p.cluster_id),
                    fixed: None,
                }
            }
        })
    }

    /// The base URL of one path form.
    pub fn base(&self, form: PathForm) -> Url {
        let mut u = self.origin.clone();
        {
            let mut segs = u.path_segments_mut().expect("http(s) URLs have paths");
            segs.pop_if_empty();
            segs.extend(["api", "v0"]);
            if form == PathForm::Long {
                segs.extend(["accounts", &self.account_id, "clusters", &self.cluster_id]);
            }
        }
        u
    }

    fn url(&self, form: PathForm, route: Route<'_>) -> Url {
        let mut u = self.base(form);
        {
            let mut segs = u.path_segments_mut().expect("http(s) URLs have paths");
            segs.push(route.collection.segment());
            if let Some(item) = route.item {
                segs.push(item);
            }
        }
        u
    }

    /// What the path form is remembered under.
    fn key(&self) -> String {
        self.origin.as_str().to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Collection {
    Databases,
    Tokens,
}

impl Collection {
    fn segment(self) -> &'static str {
        match self {
            Collection::Databases => "databases",
            Collection::Tokens => "tokens",
        }
    }
}

/// `/{collection}` or `/{collection}/{item}`.
#[derive(Debug, Clone, Copy)]
struct Route<'r> {
    collection: Collection,
    item: Option<&'r str>,
}

/// Which path forms a request tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// This form only.
    Only(PathForm),
    /// The first; on 404 the second (collection routes only, where a 404
    /// means "no such route", not "no such item").
    Fallback(PathForm, PathForm),
    /// An item route before the form is known: a 404 there could mean "no
    /// such item", so find the form on the collection route first.
    Probe,
}

fn plan(fixed: Option<PathForm>, known: Option<PathForm>, collection: bool) -> Plan {
    match (fixed, known, collection) {
        (Some(f), _, _) => Plan::Only(f),
        (None, Some(k), false) => Plan::Only(k),
        (None, Some(k), true) => Plan::Fallback(k, k.other()),
        (None, None, true) => Plan::Fallback(PathForm::Short, PathForm::Long),
        (None, None, false) => Plan::Probe,
    }
}

/// The path form that answered, per management origin: a small non-secret
/// JSON file in the cache directory. Best effort: a missing, unreadable or
/// corrupt file means "not known yet", a failed write is logged.
#[derive(Debug, Clone)]
pub struct PathMemory {
    path: Option<PathBuf>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct MemoryFile {
    version: u32,
    #[serde(default)]
    forms: BTreeMap<String, PathForm>,
}

impl PathMemory {
    pub fn in_dir(cache_dir: &Path) -> Self {
        PathMemory {
            path: Some(cache_dir.join(PATH_MEMORY_FILE)),
        }
    }

    /// Remembers nothing (tests).
    pub fn none() -> Self {
        PathMemory { path: None }
    }

    fn load(&self) -> MemoryFile {
        let Some(path) = &self.path else {
            return MemoryFile::default();
        };
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::info!("ignoring {}: {e}", path.display());
                MemoryFile::default()
            }),
            Err(_) => MemoryFile::default(),
        }
    }

    pub fn get(&self, key: &str) -> Option<PathForm> {
        self.load().forms.get(key).copied()
    }

    pub fn set(&self, key: &str, form: PathForm) {
        let Some(path) = &self.path else {
            return;
        };
        let mut file = self.load();
        file.version = 1;
        if file.forms.insert(key.to_string(), form) == Some(form) {
            return;
        }
        let bytes = serde_json::to_vec_pretty(&file).expect("serialising strings cannot fail");
        let written = path
            .parent()
            .map_or(Ok(()), crate::fsutil::create_private_dir)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                crate::fsutil::write_private(path, &bytes, Default::default())
                    .map_err(|e| std::io::Error::from(e).to_string())
            });
        match written {
            Ok(()) => tracing::info!("remembered the {form:?} path form for {key}"),
            Err(e) => tracing::info!("could not write {}: {e}", path.display()),
        }
    }
}

// ---------------------------------------------------------------------------
// The client

/// The path form in use, and whether [`PathMemory`] already holds it.
#[derive(Debug, Clone, Copy)]
struct Known {
    form: Option<PathForm>,
    saved: bool,
}

pub struct DocumentedClient<'a> {
    api: ClusterClient<'a>,
    target: Target,
    memory: PathMemory,
    /// The form in use: fixed, remembered, or found in this run.
    known: Mutex<Known>,
    /// `https://host:port/` of the cluster: its data path (readiness).
    data_origin: Option<Url>,
}

impl<'a> DocumentedClient<'a> {
    /// For the profile of `cfg`, remembering path forms in its cache dir.
    pub fn new(cfg: &Config, http: &'a HttpClient) -> Result<Self, ConfigError> {
        let target = Target::from_profile(&cfg.profile)?;
        let mut c = Self::with(target, PathMemory::in_dir(&cfg.files.cache_dir.value), http);
        c.data_origin = super::cluster_origin(&cfg.profile).ok();
        Ok(c)
    }

    /// Does the cluster's data path accept `token` yet (issue 17)? A
    /// read-only InfluxQL query (`SHOW MEASUREMENTS`, which cannot change
    /// data) on `database`: 401 is "not accepted yet" (the token was just
    /// created and is live, so nothing else makes it unknown); any other
    /// 2xx/4xx answer (200, 400, 403 for a write-only token, 404) means the
    /// token authenticated; a 5xx or no answer is an error.
    pub async fn accepted(&self, token: &Secret, database: &str) -> Result<bool, ClusterError> {
        let Some(origin) = &self.data_origin else {
            return Ok(true);
        };
        let mut url = origin
            .join("query")
            .map_err(|e| ClusterError::BadResponse {
                url: origin.to_string(),
                cause: e.to_string(),
            })?;
        url.query_pairs_mut()
            .append_pair("db", database)
            .append_pair("q", "SHOW MEASUREMENTS");
        let shown = crate::text::display_url(&url);
        let r = self
            .api
            .http
            .request_json(Method::GET, &url, token, None, &[])
            .await
            .map_err(|e| ClusterError::Unreachable {
                url: shown.clone(),
                cause: e.to_string(),
            })?;
        match r.status {
            401 => Ok(false),
            s if s >= 500 => Err(ClusterError::Server {
                url: shown,
                status: s,
                message: String::new(),
            }),
            _ => Ok(true),
        }
    }

    pub fn with(target: Target, memory: PathMemory, http: &'a HttpClient) -> Self {
        let known = target.fixed.or_else(|| memory.get(&target.key()));
        DocumentedClient {
            api: ClusterClient {
                http,
                base: target.base(known.unwrap_or(PathForm::Short)),
                retry: RetryPolicy::default(),
            },
            target,
            memory,
            known: Mutex::new(Known {
                form: known,
                saved: known.is_some(),
            }),
            data_origin: None,
        }
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// This client with one attempt and no retry, in the form known now
    /// ([`ClusterClient::once`]: a read that stands in for the probe).
    pub fn once(&self) -> DocumentedClient<'a> {
        DocumentedClient {
            api: self.api.once(),
            target: self.target.clone(),
            memory: self.memory.clone(),
            known: Mutex::new(*self.known()),
            data_origin: self.data_origin.clone(),
        }
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The path form in use, once known.
    pub fn form(&self) -> Option<PathForm> {
        self.known().form
    }

    /// The pre-flight probe found `form` answering 401/403 on `/databases`
    /// where the other form answered 404 (`probe::documented_api`): use it
    /// from the first request on, instead of finding it again (a 404 on a
    /// collection route still falls back).
    /// It is remembered once a request succeeds on it, as a found form is.
    pub fn found(&self, form: PathForm) {
        let mut k = self.known();
        if k.form != Some(form) {
            *k = Known {
                form: Some(form),
                saved: false,
            };
        }
    }

    /// A request succeeded on `form`: use it, and remember it for later
    /// commands unless it is already remembered (or fixed by the product).
    fn learn(&self, form: PathForm) {
        {
            let mut k = self.known();
            if k.form == Some(form) && k.saved {
                return;
            }
            *k = Known {
                form: Some(form),
                saved: true,
            };
        }
        if self.target.fixed.is_none() {
            self.memory.set(&self.target.key(), form);
        }
    }

    /// Send with the path form chosen by [`plan`]. A POST is never retried.
    async fn send(
        &self,
        cred: &Credential,
        method: Method,
        route: Route<'_>,
        body: Option<&serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Result<Response, ClusterError> {
        let idempotent = method != Method::POST;
        let forms = match plan(self.target.fixed, self.form(), route.item.is_none()) {
            Plan::Only(f) => vec![f],
            Plan::Fallback(a, b) => vec![a, b],
            Plan::Probe => {
                let probe = Route {
                    item: None,
                    ..route
                };
                let resp = Box::pin(self.send(cred, Method::GET, probe, None, &[])).await?;
                if !(200..300).contains(&resp.status) {
                    return Err(status_error(&resp, cred, None));
                }
                vec![self.form().unwrap_or(PathForm::Short)]
            }
        };
        let mut tried = Vec::new();
        for (i, form) in forms.iter().copied().enumerate() {
            let url = self.target.url(form, route);
            let resp = self
                .api
                .call(method.clone(), &url, cred, body, headers, idempotent)
                .await?;
            if resp.status == 404 && route.item.is_none() && self.target.fixed.is_none() {
                tried.push(resp.url.clone());
                if i + 1 < forms.len() {
                    tracing::info!(
                        "{} answered 404; trying the {:?} path form",
                        resp.url,
                        forms[i + 1]
                    );
                    continue;
                }
                return Err(ClusterError::Server {
                    url: crate::text::display_url(&self.target.origin),
                    status: 404,
                    message: format!(
                        ": no documented Management API there (tried {}); if it is served elsewhere, set management_url in the profile",
                        tried.join(" and ")
                    ),
                });
            }
            if (200..300).contains(&resp.status) {
                self.learn(form);
            }
            return Ok(resp);
        }
        unreachable!("every plan tries at least one form")
    }

    pub async fn list_databases(&self, cred: &Credential) -> Result<Vec<Database>, ClusterError> {
        let route = Route {
            collection: Collection::Databases,
            item: None,
        };
        let resp = self.send(cred, Method::GET, route, None, &[]).await?;
        expect(&resp, 200, cred, None)
    }

    /// Create a database; 409 is [`ClusterError::AlreadyExists`].
    pub async fn create_database(
        &self,
        cred: &Credential,
        db: &NewDatabase,
    ) -> Result<Database, ClusterError> {
        let route = Route {
            collection: Collection::Databases,
            item: None,
        };
        let body = serde_json::to_value(db).expect("serialising a database cannot fail");
        let resp = self
            .send(cred, Method::POST, route, Some(&body), &[])
            .await?;
        if resp.status == 409 {
            return Err(ClusterError::AlreadyExists {
                what: format!("database `{}`", db.name),
                list: "database list",
            });
        }
        created(&resp, cred)
    }

    pub async fn delete_database(&self, cred: &Credential, name: &str) -> Result<(), ClusterError> {
        let route = Route {
            collection: Collection::Databases,
            item: Some(name),
        };
        let resp = self.send(cred, Method::DELETE, route, None, &[]).await?;
        let missing = Missing {
            what: "database",
            name,
            list: "database list",
        };
        no_content(&resp, cred, missing)
    }

    pub async fn list_tokens(&self, cred: &Credential) -> Result<Vec<DatabaseToken>, ClusterError> {
        let route = Route {
            collection: Collection::Tokens,
            item: None,
        };
        let resp = self.send(cred, Method::GET, route, None, &[]).await?;
        expect(&resp, 200, cred, None)
    }

    /// [`Self::list_tokens`] unparsed, for `token list` (read item by item).
    pub async fn list_tokens_response(&self, cred: &Credential) -> Result<Response, ClusterError> {
        let route = Route {
            collection: Collection::Tokens,
            item: None,
        };
        let resp = self.send(cred, Method::GET, route, None, &[]).await?;
        expect_status(resp, 200, cred)
    }

    /// Create a database token. Never retried: the documented API has no
    /// idempotency (the key is sent, and nothing depends on it).
    pub async fn create_token(
        &self,
        cred: &Credential,
        description: &str,
        permissions: &[Permission],
        expires_at: Option<DateTime<Utc>>,
        idempotency_key: &str,
    ) -> Result<CreatedDatabaseToken, ClusterError> {
        let route = Route {
            collection: Collection::Tokens,
            item: None,
        };
        let mut body = serde_json::json!({
            "description": description,
            "permissions": permissions,
        });
        if let Some(t) = expires_at {
            body["expiresAt"] = crate::text::rfc3339(t).into();
        }
        let resp = self
            .send(
                cred,
                Method::POST,
                route,
                Some(&body),
                &[("Idempotency-Key", idempotency_key)],
            )
            .await?;
        created(&resp, cred)
    }

    pub async fn get_token(
        &self,
        cred: &Credential,
        id: &str,
    ) -> Result<DatabaseToken, ClusterError> {
        let route = Route {
            collection: Collection::Tokens,
            item: Some(id),
        };
        let resp = self.send(cred, Method::GET, route, None, &[]).await?;
        expect(&resp, 200, cred, Some(token_missing(id)))
    }

    /// Revoke (`DELETE /tokens/{id}`); the token stays listed with `revoked_at`.
    pub async fn revoke_token(&self, cred: &Credential, id: &str) -> Result<(), ClusterError> {
        let route = Route {
            collection: Collection::Tokens,
            item: Some(id),
        };
        let resp = self.send(cred, Method::DELETE, route, None, &[]).await?;
        no_content(&resp, cred, token_missing(id))
    }
}

fn token_missing(id: &str) -> Missing<'_> {
    Missing {
        what: "database token with id",
        name: id,
        list: "token list",
    }
}

/// A create's answer: 200 as documented (201 accepted).
fn created<T: serde::de::DeserializeOwned>(
    resp: &Response,
    cred: &Credential,
) -> Result<T, ClusterError> {
    let want = if resp.status == 201 { 201 } else { 200 };
    expect(resp, want, cred, None)
}

/// A DELETE's answer: 204 as documented (any 2xx accepted).
fn no_content(
    resp: &Response,
    cred: &Credential,
    missing: Missing<'_>,
) -> Result<(), ClusterError> {
    if (200..300).contains(&resp.status) {
        return Ok(());
    }
    Err(status_error(resp, cred, Some(missing)))
}

#[cfg(test)]
mod tests;
