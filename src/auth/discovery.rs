//! Endpoint discovery: OpenID Connect Discovery 1.0, then RFC 8414.
use crate::error::{AuthError, ConfigError, HttpError};
use crate::http::HttpClient;
use crate::settings::OAuth2;
use serde::{Deserialize, Serialize};
use url::Url;

/// The endpoints a session needs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Endpoints {
    /// The issuer as the provider spells it (used to check ID tokens).
    pub issuer: Option<String>,
    pub device_authorization: Url,
    pub token: Url,
    pub revocation: Option<Url>,
    /// `revocation_endpoint_auth_methods_supported` (RFC 8414 §2) of the
    /// document that named the revocation endpoint, when it says.
    #[serde(default)]
    pub revocation_auth_methods: Option<Vec<String>>,
    pub jwks: Option<Url>,
}

impl Endpoints {
    /// Whether the provider says a public client (auth method `none`: this
    /// client has no secret) may use its revocation endpoint; `None` when it
    /// has none or does not say.
    pub fn public_client_may_revoke(&self) -> Option<bool> {
        self.revocation.as_ref()?;
        let methods = self.revocation_auth_methods.as_ref()?;
        Some(methods.iter().any(|m| m == "none"))
    }
}

#[derive(Debug, Deserialize)]
struct Metadata {
    issuer: String,
    token_endpoint: Option<Url>,
    device_authorization_endpoint: Option<Url>,
    revocation_endpoint: Option<Url>,
    #[serde(default)]
    revocation_endpoint_auth_methods_supported: Option<Vec<String>>,
    jwks_uri: Option<Url>,
    #[serde(default)]
    grant_types_supported: Option<Vec<String>>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

/// What a workload login (client credentials, issue 20) needs: the token
/// endpoint, and what the provider advertises about grants and client
/// authentication (RFC 8414 §2; absent lists mean "not advertised").
#[derive(Debug, Clone, PartialEq)]
pub struct TokenEndpoint {
    pub issuer: Option<String>,
    pub token: Url,
    pub grant_types: Option<Vec<String>>,
    pub auth_methods: Option<Vec<String>>,
}

/// The token endpoint: `token_url` when set (then nothing is fetched and
/// nothing is known about what the provider supports), else discovered from
/// `issuer`. Unlike [`resolve`] no device authorization endpoint is needed.
pub async fn token_endpoint(
    http: &HttpClient,
    oauth: &OAuth2,
    profile: &str,
) -> Result<TokenEndpoint, anyhow::Error> {
    let explicit = oauth.token_url.as_ref().map(|v| v.value.clone());
    let Some(issuer) = oauth.issuer.as_ref().map(|v| &v.value) else {
        return match explicit {
            Some(token) => Ok(TokenEndpoint {
                issuer: None,
                token,
                grant_types: None,
                auth_methods: None,
            }),
            None => Err(ConfigError::Missing {
                what: "`issuer` (or `token_url`)".into(),
                profile: profile.to_string(),
                hint: "add `issuer = \"https://...\"` under [profile.auth.oauth2]".into(),
            }
            .into()),
        };
    };
    let (meta, doc_url, _) = fetch(http, issuer).await?;
    check_issuer(&meta, issuer, &doc_url)?;
    let token = explicit
        .or(meta.token_endpoint)
        .ok_or_else(|| AuthError::Discovery {
            url: doc_url,
            message: "it has no `token_endpoint`; set `token_url` to override".into(),
        })?;
    Ok(TokenEndpoint {
        issuer: Some(meta.issuer),
        token,
        grant_types: meta.grant_types_supported,
        auth_methods: meta.token_endpoint_auth_methods_supported,
    })
}

/// OIDC Discovery §4.3 / RFC 8414 §3.3: the document's issuer must be the
/// one we asked for. We forgive only a trailing slash, and then use the
/// provider's spelling, which is what its tokens carry in `iss`.
fn check_issuer(meta: &Metadata, issuer: &Url, doc_url: &str) -> Result<(), AuthError> {
    if meta.issuer.trim_end_matches('/') != issuer.as_str().trim_end_matches('/') {
        return Err(AuthError::Discovery {
            url: doc_url.to_string(),
            message: format!(
                "it is for issuer `{}`, not the configured `{}` (issuers must match exactly; 127.0.0.1 is not localhost)",
                crate::text::sanitize(&meta.issuer),
                issuer
            ),
        });
    }
    Ok(())
}

/// `{issuer}/.well-known/openid-configuration` (OIDC Discovery §4).
fn oidc_url(issuer: &Url) -> Url {
    let mut u = issuer.clone();
    let path = format!(
        "{}/.well-known/openid-configuration",
        issuer.path().trim_end_matches('/')
    );
    u.set_path(&path);
    u.set_query(None);
    u
}

/// RFC 8414 §3.1: the well-known segment goes between host and path.
fn rfc8414_url(issuer: &Url) -> Url {
    let mut u = issuer.clone();
    let rest = issuer.path().trim_end_matches('/');
    u.set_path(&format!("/.well-known/oauth-authorization-server{rest}"));
    u.set_query(None);
    u
}

/// Resolve endpoints from configuration, fetching metadata when `issuer` is
/// set. Explicit `device_url`/`token_url`/`revocation_url` win over
/// discovered ones. When the first document found lacks the device
/// authorization or revocation endpoint, the other well-known document is
/// consulted too: providers split them (django-oauth-toolkit lists
/// `revocation_endpoint` only in its RFC 8414 document).
pub async fn resolve(
    http: &HttpClient,
    oauth: &OAuth2,
    profile: &str,
) -> Result<Endpoints, anyhow::Error> {
    let explicit_device = oauth.device_url.as_ref().map(|v| v.value.clone());
    let explicit_token = oauth.token_url.as_ref().map(|v| v.value.clone());
    let explicit_revocation = oauth.revocation_url.as_ref().map(|v| v.value.clone());
    let Some(issuer) = oauth.issuer.as_ref().map(|v| &v.value) else {
        return match (explicit_device, explicit_token) {
            (Some(device), Some(token)) => Ok(Endpoints {
                issuer: None,
                device_authorization: device,
                token,
                revocation: explicit_revocation,
                revocation_auth_methods: None,
                jwks: None,
            }),
            _ => Err(ConfigError::Missing {
                what: "`issuer` (or both `device_url` and `token_url`)".into(),
                profile: profile.to_string(),
                hint: "add `issuer = \"https://...\"` under [profile.auth.oauth2]; see `config/` for examples".into(),
            }
            .into()),
        };
    };
    let (mut meta, doc_url, other) = fetch(http, issuer).await?;
    check_issuer(&meta, issuer, &doc_url)?;
    let need_device = explicit_device.is_none() && meta.device_authorization_endpoint.is_none();
    let need_revocation = explicit_revocation.is_none() && meta.revocation_endpoint.is_none();
    if (need_device || need_revocation)
        && let Some(other) = other
        && let Some(extra) = supplement(http, &other, &meta.issuer).await
    {
        meta.device_authorization_endpoint = meta
            .device_authorization_endpoint
            .or(extra.device_authorization_endpoint);
        if meta.revocation_endpoint.is_none() {
            meta.revocation_endpoint = extra.revocation_endpoint;
            meta.revocation_endpoint_auth_methods_supported =
                extra.revocation_endpoint_auth_methods_supported;
        }
        meta.jwks_uri = meta.jwks_uri.or(extra.jwks_uri);
    }
    let device = explicit_device
        .or(meta.device_authorization_endpoint)
        .ok_or_else(|| AuthError::Discovery {
            url: doc_url.clone(),
            message: "it has no `device_authorization_endpoint`: the provider does not offer the device flow to this client, or it must be enabled (Keycloak: client setting \"OAuth 2.0 Device Authorization Grant\"); set `device_url` to override".into(),
        })?;
    let token = explicit_token
        .or(meta.token_endpoint)
        .ok_or_else(|| AuthError::Discovery {
            url: doc_url.clone(),
            message: "it has no `token_endpoint`; set `token_url` to override".into(),
        })?;
    Ok(Endpoints {
        issuer: Some(meta.issuer),
        device_authorization: device,
        token,
        revocation_auth_methods: match &explicit_revocation {
            Some(_) => None,
            None => meta.revocation_endpoint_auth_methods_supported,
        },
        revocation: explicit_revocation.or(meta.revocation_endpoint),
        jwks: meta.jwks_uri,
    })
}

/// The second well-known document, for endpoints the first one lacks. Best
/// effort: any failure (absent, unreadable, another issuer) only means
/// nothing is added; RFC 8414 §3.3's issuer check applies here too.
async fn supplement(http: &HttpClient, url: &Url, issuer: &str) -> Option<Metadata> {
    let resp = match http.get(url).await {
        Ok(r) if r.status == 200 => r,
        Ok(r) => {
            tracing::debug!(status = r.status, url = %url, "no second metadata document");
            return None;
        }
        Err(e) => {
            tracing::debug!(error = %e, url = %url, "second metadata document unreachable");
            return None;
        }
    };
    let meta: Metadata = resp.json().ok()?;
    if meta.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
        tracing::debug!(url = %url, "second metadata document is for another issuer; ignored");
        return None;
    }
    Some(meta)
}

/// The first metadata document found (OpenID, else RFC 8414), its display
/// URL, and the URL of the other document when the OpenID one was found.
async fn fetch(
    http: &HttpClient,
    issuer: &Url,
) -> Result<(Metadata, String, Option<Url>), anyhow::Error> {
    let first = oidc_url(issuer);
    let resp = http.get(&first).await?;
    let mut other = Some(rfc8414_url(issuer));
    let resp = if resp.status == 404 {
        other = None;
        tracing::debug!("no OpenID configuration, trying RFC 8414 metadata");
        let second = rfc8414_url(issuer);
        let r = http.get(&second).await?;
        if r.status == 404 {
            return Err(AuthError::Discovery {
                url: crate::text::display_url(&first),
                message: format!(
                    "neither it nor {} exists (HTTP 404); check `issuer`",
                    crate::text::display_url(&second)
                ),
            }
            .into());
        }
        r
    } else {
        resp
    };
    if resp.status != 200 {
        return Err(resp.unexpected().into());
    }
    let meta: Metadata = resp.json().map_err(|e| match e {
        HttpError::BadBody { url, status, cause } => HttpError::BadBody {
            url,
            status,
            cause: format!("not a provider metadata document: {cause}"),
        },
        other => other,
    })?;
    Ok((meta, resp.url, other))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_urls() {
        let cases = [
            (
                "https://idp.example.com",
                "https://idp.example.com/.well-known/openid-configuration",
                "https://idp.example.com/.well-known/oauth-authorization-server",
            ),
            (
                "https://kc.example.com/realms/influx/",
                "https://kc.example.com/realms/influx/.well-known/openid-configuration",
                "https://kc.example.com/.well-known/oauth-authorization-server/realms/influx",
            ),
            (
                "http://127.0.0.1:3000/tenant",
                "http://127.0.0.1:3000/tenant/.well-known/openid-configuration",
                "http://127.0.0.1:3000/.well-known/oauth-authorization-server/tenant",
            ),
        ];
        for (iss, oidc, oauth) in cases {
            let u = Url::parse(iss).unwrap();
            assert_eq!(oidc_url(&u).as_str(), oidc);
            assert_eq!(rfc8414_url(&u).as_str(), oauth);
        }
    }

    /// Whether a public client (`none`: no secret, RFC 8414 §2 / RFC 7591
    /// §2) may revoke, by what the provider advertises; `None` when it does
    /// not say (RFC 8414's default, `client_secret_basic`, is too often
    /// untrue of public clients to warn on).
    #[test]
    fn public_client_revocation() {
        let ep = |m: Option<&[&str]>| Endpoints {
            issuer: None,
            device_authorization: Url::parse("https://i/d").unwrap(),
            token: Url::parse("https://i/t").unwrap(),
            revocation: Some(Url::parse("https://i/r").unwrap()),
            revocation_auth_methods: m.map(|m| m.iter().map(|s| s.to_string()).collect()),
            jwks: None,
        };
        let cases: [(Option<&[&str]>, Option<bool>); 4] = [
            (None, None),
            (Some(&["client_secret_basic"]), Some(false)),
            (Some(&[]), Some(false)),
            (Some(&["client_secret_basic", "none"]), Some(true)),
        ];
        for (methods, want) in cases {
            assert_eq!(ep(methods).public_client_may_revoke(), want, "{methods:?}");
        }
        let none = Endpoints {
            revocation: None,
            ..ep(Some(&["client_secret_basic"]))
        };
        assert_eq!(none.public_client_may_revoke(), None, "no endpoint at all");
    }
}
