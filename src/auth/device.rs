//! The HTTP exchanges of the device flow and refresh, one request each.
//!
//! Responses are parsed with the `oauth2` crate's RFC types
//! (`StandardDeviceAuthorizationResponse` already accepts Google's
//! `verification_url` and a null `interval`; `StandardTokenResponse` matches
//! `token_type` case-insensitively). The requests themselves are sent here
//! because the crate's poller cannot express the RFC 8628 branches we need
//! (see `poller.rs`), and classification must also cope with providers that
//! put an OAuth error inside an HTTP 200 body (GitHub) or answer with a
//! proxy's HTML page.
use crate::error::{AuthError, HttpError};
use crate::http::{HttpClient, Response};
use crate::secret::Secret;
use crate::text::sanitize;
use oauth2::TokenResponse as _;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use url::Url;

pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The ID token rides along in the token response as an extra field.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct IdTokenField {
    id_token: Option<Secret>,
    /// Keycloak's lifetime of the refresh token (not in RFC 6749): shown by
    /// `logout` when the refresh token could not be revoked.
    refresh_expires_in: Option<serde_json::Value>,
}
impl oauth2::ExtraTokenFields for IdTokenField {}

type RawTokenResponse = oauth2::StandardTokenResponse<IdTokenField, oauth2::basic::BasicTokenType>;

/// What the device authorization endpoint told us (RFC 8628 §3.2).
#[derive(Debug, Clone)]
pub struct DeviceAuthorization {
    pub device_code: Secret,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub expires_in: Duration,
    pub interval: Duration,
}

/// Tokens from a successful token response.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub id_token: Option<Secret>,
    pub expires_in: Option<Duration>,
    /// How long the refresh token lives, when the provider says so.
    pub refresh_expires_in: Option<Duration>,
    pub scope: Option<String>,
}

/// One token-endpoint answer, classified for the poller.
#[derive(Debug)]
pub enum PollResponse {
    Token(TokenSet),
    /// `authorization_pending`
    Pending,
    /// `slow_down`
    SlowDown,
    /// `access_denied`
    Denied,
    /// `expired_token`
    Expired,
    /// Any other OAuth error: stop, showing the server's description.
    OAuthError {
        error: String,
        description: String,
    },
    /// HTTP 429 or 503: wait (Retry-After) and poll again.
    RetryLater {
        retry_after: Option<Duration>,
        status: u16,
        description: String,
    },
    /// The request did not reach the server or got no answer.
    Unreachable(String),
    /// Anything else: an HTML page, garbage, a redirect.
    Failed(AuthError),
}

/// An OAuth error body (RFC 6749 §5.2).
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: String,
    error_description: Option<String>,
}

impl ErrorBody {
    /// An OAuth error as ours, with the server's text made printable.
    fn into_error(self) -> AuthError {
        AuthError::OAuth {
            error: sanitize(&self.error),
            description: self
                .error_description
                .map(|d| format!(": {}", sanitize(&d)))
                .unwrap_or_default(),
        }
    }
}

fn oauth_error(resp: &Response) -> Option<ErrorBody> {
    serde_json::from_slice::<ErrorBody>(&resp.body).ok()
}

/// POST the device authorization request (RFC 8628 §3.1).
pub async fn request_device_code(
    http: &HttpClient,
    url: &Url,
    client_id: &str,
    scopes: &[String],
    parameters: &std::collections::BTreeMap<String, String>,
) -> Result<DeviceAuthorization, anyhow::Error> {
    let scope = scopes.join(" ");
    let mut form: Vec<(&str, &str)> = vec![("client_id", client_id)];
    if !scope.is_empty() {
        form.push(("scope", &scope));
    }
    for (k, v) in parameters {
        if !matches!(k.as_str(), "client_id" | "scope") {
            form.push((k, v));
        }
    }
    let resp = http.post_form(url, &form).await?;
    parse_device_authorization(&resp)
}

pub fn parse_device_authorization(resp: &Response) -> Result<DeviceAuthorization, anyhow::Error> {
    // Errors may come with any status, GitHub even sends them with 200.
    if let Some(e) = oauth_error(resp) {
        return Err(e.into_error().into());
    }
    if resp.status != 200 || !looks_like_json(resp) {
        return Err(resp.unexpected().into());
    }
    let parsed: oauth2::StandardDeviceAuthorizationResponse = resp.json()?;
    let user_code = parsed.user_code().secret().trim().to_string();
    if user_code.is_empty() {
        return Err(HttpError::BadBody {
            url: resp.url.clone(),
            status: resp.status,
            cause: "empty user_code".into(),
        }
        .into());
    }
    Ok(DeviceAuthorization {
        device_code: Secret::new(parsed.device_code().secret().clone()),
        user_code,
        verification_uri: parsed.verification_uri().to_string(),
        verification_uri_complete: parsed
            .verification_uri_complete()
            .map(|u| u.secret().clone()),
        // A zero or absurd lifetime would end the flow at once; cap at a day.
        expires_in: parsed.expires_in().min(Duration::from_secs(86_400)),
        // Likewise the interval: a huge one overflowed `Instant` arithmetic.
        interval: parsed.interval().min(Duration::from_secs(86_400)),
    })
}

/// Some servers send JSON as text/plain; we judge by the body, not the label,
/// except that an HTML page is never JSON.
fn looks_like_json(resp: &Response) -> bool {
    resp.is_json() || resp.body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// POST one device access token request (RFC 8628 §3.4) and classify the answer.
pub async fn poll_once(
    http: &HttpClient,
    token_url: &Url,
    client_id: &str,
    device_code: &Secret,
) -> PollResponse {
    let form = [
        ("grant_type", DEVICE_CODE_GRANT),
        ("device_code", device_code.expose()),
        ("client_id", client_id),
    ];
    match http.post_form(token_url, &form).await {
        Ok(resp) => classify_poll(&resp),
        Err(HttpError::Transport { cause, .. }) => PollResponse::Unreachable(cause),
        Err(e) => PollResponse::Failed(AuthError::OAuth {
            error: "request failed".into(),
            description: format!(": {e}"),
        }),
    }
}

pub fn classify_poll(resp: &Response) -> PollResponse {
    // Overload first: a 429/503 keeps polling whatever its body says.
    if matches!(resp.status, 429 | 503) {
        return PollResponse::RetryLater {
            retry_after: resp.retry_after,
            status: resp.status,
            description: format!("{} answered HTTP {}", resp.url, resp.status),
        };
    }
    if let Some(e) = oauth_error(resp) {
        let description = e
            .error_description
            .as_deref()
            .map(|d| format!(": {}", sanitize(d)))
            .unwrap_or_default();
        return match e.error.as_str() {
            "authorization_pending" => PollResponse::Pending,
            "slow_down" => PollResponse::SlowDown,
            "access_denied" => PollResponse::Denied,
            "expired_token" => PollResponse::Expired,
            // Some gateways wrap overload in an OAuth-looking body.
            "temporarily_unavailable" => PollResponse::RetryLater {
                retry_after: resp.retry_after,
                status: resp.status,
                description: format!("{} answered {}{description}", resp.url, e.error),
            },
            other => PollResponse::OAuthError {
                error: sanitize(other),
                description,
            },
        };
    }
    if resp.status == 200 && looks_like_json(resp) {
        return match parse_tokens(resp) {
            Ok(t) => PollResponse::Token(t),
            Err(e) => PollResponse::Failed(AuthError::OAuth {
                error: "unusable token response".into(),
                description: format!(": {e}"),
            }),
        };
    }
    PollResponse::Failed(AuthError::OAuth {
        error: "unexpected answer from the token endpoint".into(),
        description: format!(": {}", resp.unexpected()),
    })
}

pub fn parse_tokens(resp: &Response) -> Result<TokenSet, HttpError> {
    let raw: RawTokenResponse = resp.json()?;
    let access = raw.access_token().secret().clone();
    if access.is_empty() {
        return Err(HttpError::BadBody {
            url: resp.url.clone(),
            status: resp.status,
            cause: "empty access_token".into(),
        });
    }
    Ok(TokenSet {
        access_token: Secret::new(access),
        refresh_token: raw
            .refresh_token()
            .map(|r| Secret::new(r.secret().clone()))
            .filter(|s| !s.is_empty()),
        id_token: raw
            .extra_fields()
            .id_token
            .clone()
            .filter(|s| !s.is_empty()),
        expires_in: raw.expires_in(),
        refresh_expires_in: raw
            .extra_fields()
            .refresh_expires_in
            .as_ref()
            .and_then(serde_json::Value::as_u64)
            .filter(|s| *s > 0)
            .map(Duration::from_secs),
        scope: raw
            .scopes()
            .map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")),
    })
}

/// Outcome of a refresh (RFC 6749 §6).
#[derive(Debug)]
pub enum RefreshOutcome {
    Refreshed(TokenSet),
    /// The IdP refused the refresh token (`invalid_grant`, or any client
    /// error): the session is over and a new login is needed. The text says
    /// what the provider answered, for the person.
    Rejected(String),
}

pub async fn refresh(
    http: &HttpClient,
    token_url: &Url,
    client_id: &str,
    refresh_token: &Secret,
) -> Result<RefreshOutcome, anyhow::Error> {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.expose()),
        ("client_id", client_id),
    ];
    let resp = http.post_form(token_url, &form).await?;
    classify_refresh(&resp)
}

/// A refresh answer: new tokens, a refusal (the session is over), or an
/// error worth retrying later (a 5xx, overload, a proxy's page).
pub fn classify_refresh(resp: &Response) -> Result<RefreshOutcome, anyhow::Error> {
    let body_error = oauth_error(resp);
    if let Some(e) = &body_error
        && matches!(
            e.error.as_str(),
            "invalid_grant" | "invalid_token" | "unauthorized_client"
        )
    {
        return Ok(RefreshOutcome::Rejected(sanitize(&e.error)));
    }
    // RFC 6749 §5.2 says 400 `invalid_grant`, but Glewlwyd 2.7 answers an
    // expired, revoked or disabled refresh token with a bare 400 and an empty
    // body. Any client error means this refresh token will not work again:
    // asking again later cannot help, only a new login can. 408 and 429 are
    // about the moment, not the token.
    if (400..500).contains(&resp.status) && !matches!(resp.status, 408 | 429) {
        let what = match (&body_error, resp.body.is_empty()) {
            (Some(e), _) => format!("HTTP {} {}", resp.status, sanitize(&e.error)),
            (None, true) => format!("HTTP {} with an empty body", resp.status),
            (None, false) => format!("HTTP {}", resp.status),
        };
        return Ok(RefreshOutcome::Rejected(what));
    }
    if let Some(e) = body_error {
        return Err(e.into_error().into());
    }
    if resp.status == 200 && looks_like_json(resp) {
        return Ok(RefreshOutcome::Refreshed(parse_tokens(resp)?));
    }
    Err(resp.unexpected().into())
}

/// RFC 7009 token revocation; best effort, the caller reports failures.
pub async fn revoke(
    http: &HttpClient,
    url: &Url,
    client_id: &str,
    token: &Secret,
    hint: &str,
) -> Result<(), HttpError> {
    let form = [
        ("token", token.expose()),
        ("token_type_hint", hint),
        ("client_id", client_id),
    ];
    let resp = http.post_form(url, &form).await?;
    // §2.2: 200 for success, also when the token was already invalid.
    if resp.status == 200 {
        Ok(())
    } else {
        Err(resp.unexpected())
    }
}

#[cfg(test)]
mod tests;
