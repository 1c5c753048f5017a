//! Client of the cluster's management-token API (docs/management-api.yaml).
//!
//! The conventions are those of the InfluxDB 3 Management HTTP API: a
//! `/api/v0` prefix (dedicated: `/api/v0/accounts/{account}/clusters/{cluster}`),
//! `Authorization: Bearer`, camelCase JSON, RFC 3339 times, errors as
//! `{"code","message"}`.
use crate::error::{ClusterError, ConfigError, HttpError};
use crate::http::{HttpClient, Response};
use crate::secret::Secret;
use crate::settings::{Product, Profile, Source, Value};
use crate::text::sanitize;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use url::Url;

pub mod documented;
pub mod expiry;
pub mod ids;
pub mod influxctl;
pub mod listing;
pub mod ours;
pub mod probe;

pub use ids::{is_prefix, resolve_id, resolve_ids};

/// A management token as the cluster describes it (never the secret). The
/// API speaks camelCase; everything we print is snake_case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "snake_case", deserialize = "camelCase"))]
pub struct ManagementToken {
    pub id: String,
    pub description: String,
    pub token_prefix: String,
    #[serde(with = "crate::text::utc_serde")]
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    #[serde(default, with = "crate::text::utc_opt_serde")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, with = "crate::text::utc_opt_serde")]
    pub revoked_at: Option<DateTime<Utc>>,
    /// A database token's permissions (through `provision`'s database-token
    /// adapter); management tokens have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<documented::Permission>,
}

impl ManagementToken {
    /// A token revoked just now that can no longer be read back (a token
    /// cannot read itself once revoked): all we know is its id.
    pub fn revoked_now(id: &str) -> Self {
        let now = Utc::now();
        ManagementToken {
            id: id.to_string(),
            description: String::new(),
            token_prefix: String::new(),
            created_at: now,
            created_by: String::new(),
            expires_at: None,
            revoked_at: Some(now),
            permissions: Vec::new(),
        }
    }
}

/// What to create, the same for every token API. The key makes a replay of
/// a create whose answer was lost return the same token, where the server
/// honours it (ours does; the documented API and influxctl ignore it).
#[derive(Debug, Clone, Copy)]
pub struct NewToken<'a> {
    pub description: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
    pub idempotency_key: &'a str,
}

/// The answer to a create: metadata plus the token, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all(serialize = "snake_case", deserialize = "camelCase"))]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: ManagementToken,
    pub access_token: Secret,
}

/// What we authenticate to the cluster with.
#[derive(Debug, Clone)]
pub struct Credential {
    pub token: Secret,
    pub kind: CredentialKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CredentialKind {
    /// The OAuth access token of a person's session.
    OAuth { subject: Option<String> },
    /// A management token (profile `mgmt_token`, a store, …).
    ManagementToken,
}

impl CredentialKind {
    fn describe(&self) -> &'static str {
        match self {
            CredentialKind::OAuth { .. } => "OAuth session",
            CredentialKind::ManagementToken => "management token",
        }
    }
}

/// Retries for 429/503/connection errors (and gateway errors), with backoff
/// that honours `Retry-After`. POSTs are only retried with an Idempotency-Key.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base: Duration,
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            base: Duration::from_millis(500),
            max_wait: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `n + 1` after `n` failures (n ≥ 1).
    pub fn wait(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = self.base * (1u32 << (failures - 1).min(10));
        retry_after.unwrap_or(backoff).min(self.max_wait)
    }
}

pub struct ClusterClient<'a> {
    http: &'a HttpClient,
    base: Url,
    pub retry: RetryPolicy,
}

/// Is an answer with this status retried ([`RetryPolicy`]): busy or a
/// gateway between us and the cluster failing, which a moment later may
/// answer otherwise.
pub fn retried_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// Should this answer be retried?
enum Attempt {
    Done(Response),
    Retry {
        why: String,
        retry_after: Option<Duration>,
        last: Result<Response, HttpError>,
    },
}

impl<'a> ClusterClient<'a> {
    pub fn new(profile: &Profile, http: &'a HttpClient) -> Result<Self, ConfigError> {
        Ok(ClusterClient {
            http,
            base: base_url(profile)?,
            retry: RetryPolicy::default(),
        })
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    fn url(&self, tail: &[&str]) -> Url {
        let mut u = self.base.clone();
        {
            let mut segs = u.path_segments_mut().expect("http(s) URLs have paths");
            segs.pop_if_empty();
            segs.extend(["management", "tokens"]);
            segs.extend(tail);
        }
        u
    }

    /// This client with one attempt and no retry (a first request that
    /// stands in for the pre-flight probe, which is never retried).
    pub fn once(&self) -> ClusterClient<'a> {
        ClusterClient {
            http: self.http,
            base: self.base.clone(),
            retry: RetryPolicy {
                attempts: 1,
                ..self.retry
            },
        }
    }

    /// Send with retries. `idempotent` is false only for a POST without a key.
    async fn call(
        &self,
        method: Method,
        url: &Url,
        cred: &Credential,
        body: Option<&serde_json::Value>,
        headers: &[(&str, &str)],
        idempotent: bool,
    ) -> Result<Response, ClusterError> {
        let shown = crate::text::display_url(url);
        let mut failures = 0;
        loop {
            let r = self
                .http
                .request_json(method.clone(), url, &cred.token, body, headers)
                .await;
            let attempt = match r {
                Ok(resp) if retried_status(resp.status) => Attempt::Retry {
                    why: format!("HTTP {}", resp.status),
                    retry_after: resp.retry_after,
                    last: Ok(resp),
                },
                Ok(resp) => Attempt::Done(resp),
                Err(HttpError::Transport { url, cause }) => Attempt::Retry {
                    why: cause.clone(),
                    retry_after: None,
                    last: Err(HttpError::Transport { url, cause }),
                },
                Err(e) => return Err(from_http(e, &shown)),
            };
            match attempt {
                Attempt::Done(resp) => return Ok(resp),
                Attempt::Retry {
                    why,
                    retry_after,
                    last,
                } => {
                    failures += 1;
                    if !idempotent || failures >= self.retry.attempts {
                        return match last {
                            Ok(resp) => Err(status_error(&resp, cred, None)),
                            Err(e) => Err(from_http(e, &shown)),
                        };
                    }
                    let wait = self.retry.wait(failures, retry_after);
                    tracing::info!(
                        "{method} {shown}: {why}; retrying in {:.1}s (attempt {} of {})",
                        wait.as_secs_f32(),
                        failures + 1,
                        self.retry.attempts
                    );
                    self.http.printer().note(format!(
                        "the cluster is not answering ({why}); retrying in {}s",
                        wait.as_secs_f32().ceil()
                    ));
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Create a management token. The key makes a retry after a lost
    /// response return the same token instead of minting a second one.
    pub async fn create(
        &self,
        cred: &Credential,
        new: &NewToken<'_>,
    ) -> Result<CreatedToken, ClusterError> {
        let url = self.url(&[]);
        let body = serde_json::json!({
            "description": new.description,
            "expiresAt": new.expires_at.map(crate::text::rfc3339),
        });
        let resp = self
            .call(
                Method::POST,
                &url,
                cred,
                Some(&body),
                &[("Idempotency-Key", new.idempotency_key)],
                true,
            )
            .await?;
        expect(&resp, 201, cred, None)
    }

    pub async fn list(&self, cred: &Credential) -> Result<Vec<ManagementToken>, ClusterError> {
        let url = self.url(&[]);
        let resp = self.call(Method::GET, &url, cred, None, &[], true).await?;
        expect(&resp, 200, cred, None)
    }

    /// [`Self::list`] unparsed: `management list` reads the items one by
    /// one ([`listing::Listing`]) instead of holding them all parsed.
    pub async fn list_response(&self, cred: &Credential) -> Result<Response, ClusterError> {
        let url = self.url(&[]);
        let resp = self.call(Method::GET, &url, cred, None, &[], true).await?;
        expect_status(resp, 200, cred)
    }

    pub async fn get(&self, cred: &Credential, id: &str) -> Result<ManagementToken, ClusterError> {
        let url = self.url(&[id]);
        let resp = self.call(Method::GET, &url, cred, None, &[], true).await?;
        expect(&resp, 200, cred, Some(management_token(id)))
    }

    /// Revoke; revoking twice is not an error (the first `revokedAt` stays).
    pub async fn revoke(
        &self,
        cred: &Credential,
        id: &str,
    ) -> Result<ManagementToken, ClusterError> {
        let url = self.url(&[id]);
        let resp = self
            .call(Method::DELETE, &url, cred, None, &[], true)
            .await?;
        expect(&resp, 200, cred, Some(management_token(id)))
    }
}

/// `https://host:port{prefix}` (`http` only with `[profile.tls] disable`), or
/// `{management_url}{prefix}` when the profile sets `management_url`.
pub fn base_url(p: &Profile) -> Result<Url, ConfigError> {
    let mut url = match &p.management_url {
        Some(u) => checked_management_url(u)?,
        None => cluster_origin(p)?,
    };
    {
        let mut segs = url.path_segments_mut().expect("http(s) URLs have paths");
        segs.pop_if_empty();
        segs.extend(["api", "v0"]);
        if p.product.value == Product::Dedicated {
            let (account, cluster) = dedicated_ids(p)?;
            segs.extend(["accounts", &account, "clusters", &cluster]);
        }
    }
    Ok(url)
}

/// Where Cloud Dedicated serves the documented Management API.
pub const DEDICATED_MANAGEMENT_URL: &str = "https://console.influxdata.com/";

/// The origin of the documented Management API: the profile's
/// `management_url`, else `https://console.influxdata.com` for Cloud
/// Dedicated, else the cluster itself (`https://host:port`).
pub fn management_origin(p: &Profile) -> Result<Value<Url>, ConfigError> {
    if let Some(u) = &p.management_url {
        return Ok(Value {
            value: checked_management_url(u)?,
            source: u.source.clone(),
        });
    }
    let value = match p.product.value {
        Product::Dedicated => Url::parse(DEDICATED_MANAGEMENT_URL).expect("a valid constant URL"),
        Product::Clustered => cluster_origin(p)?,
    };
    Ok(Value {
        value,
        source: Source::Default,
    })
}

/// `management_url` is a base: no query, no fragment.
fn checked_management_url(u: &Value<Url>) -> Result<Url, ConfigError> {
    if u.value.query().is_some() || u.value.fragment().is_some() {
        return Err(ConfigError::invalid(
            "management_url",
            &u.source,
            format!("`{}` has a query or a fragment", u.value),
            "write only scheme, host, port (and a path prefix if any), e.g. management_url = \"https://console.influxdata.com\"",
        ));
    }
    Ok(u.value.clone())
}

/// The account and cluster ids a Dedicated profile must have.
fn dedicated_ids(p: &Profile) -> Result<(String, String), ConfigError> {
    let need = |v: &Option<Value<String>>, what: &str| {
        v.as_ref().map(|v| v.value.clone()).ok_or_else(|| ConfigError::Missing {
            what: format!("`{what}`"),
            profile: p.name.value.clone(),
            hint: format!(
                "product = \"dedicated\" needs account_id and cluster_id in the profile (INFLUX_BOOTSTRAP_{})",
                what.to_uppercase()
            ),
        })
    };
    Ok((
        need(&p.account_id, "account_id")?,
        need(&p.cluster_id, "cluster_id")?,
    ))
}

/// `https://host:port/` of the cluster, `http` only with `[profile.tls] disable`.
fn cluster_origin(p: &Profile) -> Result<Url, ConfigError> {
    let host = p.host.as_ref().ok_or_else(|| ConfigError::Missing {
        what: "`host`".into(),
        profile: p.name.value.clone(),
        hint: "set host (and port) of the cluster in the profile, or INFLUX_BOOTSTRAP_HOST".into(),
    })?;
    let scheme = if p.tls.disable.value { "http" } else { "https" };
    let h = host.value.trim();
    let h = if h.contains(':') && !h.starts_with('[') {
        format!("[{h}]")
    } else {
        h.to_string()
    };
    Url::parse(&format!("{scheme}://{h}:{}/", p.port.value)).map_err(|e| {
        ConfigError::invalid(
            "host",
            &host.source,
            format!("`{}` is not a host name: {e}", host.value),
            "write only the host name, e.g. host = \"influxdb.example.com\"",
        )
    })
}

/// An error body, `{"code", "message"}`. `code` is the HTTP status as a
/// number in InfluxData's specs; one of their own clients decodes it as a
/// string, so both are accepted (and neither is required).
#[derive(Deserialize)]
struct ApiError {
    code: Option<ErrorCode>,
    message: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorCode {
    Number(serde_json::Number),
    Text(String),
}

impl ApiError {
    /// The message, else the code: something a person can act on.
    fn text(self) -> Option<String> {
        let m = self
            .message
            .map(|m| sanitize(&m))
            .filter(|m| !m.trim().is_empty());
        m.or_else(|| {
            let code = match self.code? {
                ErrorCode::Number(n) => n.to_string(),
                ErrorCode::Text(t) => sanitize(&t),
            };
            (!code.trim().is_empty()).then(|| format!("code {code}"))
        })
    }
}

/// What an item route's 404 means: "no {what} on this cluster"; `list` is
/// the command that shows what there is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Missing<'s> {
    pub what: &'s str,
    pub name: &'s str,
    pub list: &'static str,
}

impl Missing<'_> {
    fn error(&self) -> ClusterError {
        ClusterError::NotFound {
            what: format!("{} `{}`", self.what, self.name),
            list: self.list,
        }
    }
}

/// The management token `id`, for 404s.
fn management_token(id: &str) -> Missing<'_> {
    Missing {
        what: "management token with id",
        name: id,
        list: "management list",
    }
}

fn from_http(e: HttpError, url: &str) -> ClusterError {
    match e {
        HttpError::Transport { cause, .. } => ClusterError::Unreachable {
            url: url.to_string(),
            cause,
        },
        HttpError::BadBody { cause, .. } => ClusterError::BadResponse {
            url: url.to_string(),
            cause,
        },
        other => ClusterError::BadResponse {
            url: url.to_string(),
            cause: other.to_string(),
        },
    }
}

fn expect<T: serde::de::DeserializeOwned>(
    resp: &Response,
    want: u16,
    cred: &Credential,
    missing: Option<Missing<'_>>,
) -> Result<T, ClusterError> {
    if resp.status == want {
        return serde_json::from_slice(&resp.body).map_err(|e| not_the_api(resp, e));
    }
    Err(status_error(resp, cred, missing))
}

/// `resp` when it has the status wanted, else the error [`expect`] gives:
/// for a body read item by item ([`listing`]).
fn expect_status(resp: Response, want: u16, cred: &Credential) -> Result<Response, ClusterError> {
    if resp.status == want {
        return Ok(resp);
    }
    Err(status_error(&resp, cred, None))
}

/// A body that does not parse as what the API documents.
pub(crate) fn not_the_api(resp: &Response, e: serde_json::Error) -> ClusterError {
    ClusterError::BadResponse {
        url: resp.url.clone(),
        cause: format!(
            "HTTP {} with a body that does not match the API ({e})",
            resp.status
        ),
    }
}

fn status_error(resp: &Response, cred: &Credential, missing: Option<Missing<'_>>) -> ClusterError {
    let message = serde_json::from_slice::<ApiError>(&resp.body)
        .ok()
        .and_then(ApiError::text);
    let url = resp.url.clone();
    if let (404, Some(m)) = (resp.status, missing) {
        return m.error();
    }
    match resp.status {
        401 => ClusterError::Unauthorized {
            url,
            credential: cred.kind.describe(),
            message: message.map(|m| format!(": {m}")).unwrap_or_default(),
        },
        403 => {
            let fallback = match &cred.kind {
                CredentialKind::OAuth { subject: Some(s) } => {
                    format!("user {s} is not an admin of this cluster")
                }
                _ => "the credential is not allowed to manage this cluster".into(),
            };
            ClusterError::Forbidden {
                url,
                message: message.unwrap_or(fallback),
            }
        }
        400 | 404 | 409 | 422 => ClusterError::Rejected {
            url,
            status: resp.status,
            message: message.unwrap_or_else(|| "no reason given".into()),
        },
        status if !resp.is_json() && resp.status >= 300 => {
            // A proxy's HTML page: name it, do not print it.
            ClusterError::Server {
                url,
                status,
                message: format!(
                    " ({}, {} bytes)",
                    if resp.content_type.is_empty() {
                        "no content type"
                    } else {
                        &resp.content_type
                    },
                    resp.body.len()
                ),
            }
        }
        status => ClusterError::Server {
            url,
            status,
            message: message.map(|m| format!(": {m}")).unwrap_or_default(),
        },
    }
}

#[cfg(test)]
mod tests;
