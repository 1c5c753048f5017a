//! ID token verification (OIDC Core §3.1.3.7) and identity extraction.
//!
//! `jsonwebtoken` checks the signature with the provider's JWKS, `exp`, `iss`
//! and `aud`. Without a JWKS (no `issuer` configured) nothing can be verified,
//! and the identity is read from the access token's claims and marked so.
use crate::error::AuthError;
use crate::http::HttpClient;
use crate::secret::Secret;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
use serde::{Deserialize, Serialize};
use url::Url;

/// Who is logged in, as shown by `status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Identity {
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Taken from a signature-checked ID token (true) or read unverified from
    /// the access token (false).
    pub verified: bool,
}

#[derive(Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    oid: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    upn: Option<String>,
    #[serde(default)]
    iss: Option<String>,
}

impl Claims {
    fn identity(self, verified: bool) -> Identity {
        Identity {
            subject: self.sub.or(self.oid).unwrap_or_default(),
            name: self.name.or(self.preferred_username),
            email: self.email.or(self.upn),
            issuer: self.iss,
            verified,
        }
    }
}

const ALLOWED: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

pub async fn fetch_jwks(http: &HttpClient, url: &Url) -> Result<JwkSet, anyhow::Error> {
    let resp = http.get(url).await?;
    if resp.status != 200 {
        return Err(resp.unexpected().into());
    }
    Ok(resp.json()?)
}

/// Verify an ID token against the JWKS.
pub fn verify(
    id_token: &Secret,
    jwks: &JwkSet,
    issuer: &str,
    client_id: &str,
) -> Result<Identity, AuthError> {
    let fail = |message: String| AuthError::IdToken {
        issuer: issuer.to_string(),
        message,
    };
    let header = decode_header(id_token.expose()).map_err(|e| fail(format!("malformed: {e}")))?;
    if !ALLOWED.contains(&header.alg) {
        return Err(fail(format!("algorithm {:?} is not accepted", header.alg)));
    }
    let jwk = match &header.kid {
        Some(kid) => jwks.find(kid),
        None if jwks.keys.len() == 1 => jwks.keys.first(),
        None => None,
    }
    .ok_or_else(|| fail(format!("no key {:?} in the provider's JWKS", header.kid)))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| fail(format!("unusable JWKS key: {e}")))?;
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[issuer]);
    v.set_audience(&[client_id]);
    v.leeway = 60;
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = decode::<Claims>(id_token.expose(), &key, &v).map_err(|e| fail(e.to_string()))?;
    Ok(data.claims.identity(true))
}

/// Read claims from a JWT access token without verifying it (display only).
pub fn unverified_identity(access_token: &Secret) -> Option<Identity> {
    let payload = access_token.expose().split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Claims = serde_json::from_slice(&bytes).ok()?;
    let id = claims.identity(false);
    (!id.subject.is_empty()).then_some(id)
}
