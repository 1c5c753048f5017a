//! ID token verification (OIDC Core §3.1.3.7) and identity extraction.
//!
//! `jsonwebtoken` checks the signature with the provider's JWKS, `exp`, `iss`
//! and that `aud` contains our client_id; [`check_authorized_party`] adds the
//! `azp` rules (steps 4–5). Without a JWKS (no `issuer` configured) nothing can
//! be verified, and the identity is read from the access token's claims and
//! marked so. Why this is not the `openidconnect` crate: `docs/decisions.md`.
use crate::error::AuthError;
use crate::http::HttpClient;
use crate::secret::Secret;
use crate::text::sanitize;
use base64::Engine as _;
use chrono::{DateTime, Utc};
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
    sub: Option<String>,
    oid: Option<String>,
    name: Option<String>,
    email: Option<String>,
    preferred_username: Option<String>,
    upn: Option<String>,
    iss: Option<String>,
}

/// The ID token's claims: the identity plus what the `azp` rules need.
#[derive(Debug, Deserialize)]
struct IdTokenClaims {
    #[serde(flatten)]
    identity: Claims,
    #[serde(default)]
    aud: Audience,
    azp: Option<String>,
}

/// `aud` is one string or an array of strings (RFC 7519 §4.1.3).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Default for Audience {
    fn default() -> Self {
        Audience::Many(Vec::new())
    }
}

impl Audience {
    /// How many different audiences the token names.
    fn count(&self) -> usize {
        let names = match self {
            Audience::One(one) => std::slice::from_ref(one),
            Audience::Many(many) => many.as_slice(),
        };
        names
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    }
}

/// OpenID Connect Core 1.0 §3.1.3.7 steps 4–5, the `azp` (authorized party)
/// rules, applied strictly (`docs/decisions.md`):
/// - an `azp` claim, when present, must be our client_id, whatever `aud` says:
///   otherwise the token was issued to another client;
/// - a token with more than one audience must carry `azp` (the spec's SHOULD,
///   taken as a rejection): without it nothing says the token was issued to us
///   rather than to one of the other audiences.
///
/// That `aud` contains our client_id at all (step 3) is checked by
/// `jsonwebtoken` before this. Messages name claims, never the token.
fn check_authorized_party(
    aud: &Audience,
    azp: Option<&str>,
    client_id: &str,
) -> Result<(), String> {
    match azp {
        Some(azp) if azp == client_id => Ok(()),
        Some(azp) => Err(format!(
            "it was issued to another client: `azp` (authorized party) is `{}`, not this profile's client_id `{client_id}`",
            sanitize(azp)
        )),
        None if aud.count() > 1 => Err(format!(
            "it names {} audiences and no `azp` (authorized party) claim, so nothing shows it was issued to client_id `{client_id}`",
            aud.count()
        )),
        None => Ok(()),
    }
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
    let claims = decode::<IdTokenClaims>(id_token.expose(), &key, &v)
        .map_err(|e| fail(e.to_string()))?
        .claims;
    check_authorized_party(&claims.aud, claims.azp.as_deref(), client_id).map_err(fail)?;
    Ok(claims.identity.identity(true))
}

/// Read claims from a JWT access token without verifying it (display only).
pub fn unverified_identity(access_token: &Secret) -> Option<Identity> {
    let claims: Claims = unverified_claims(access_token)?;
    let id = claims.identity(false);
    (!id.subject.is_empty()).then_some(id)
}

/// The payload of a JWT, read without checking its signature.
fn unverified_claims<T: serde::de::DeserializeOwned>(token: &Secret) -> Option<T> {
    let payload = token.expose().split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The `exp` of a token that is a JWT (Keycloak's refresh tokens are),
/// unverified: only ever shown to the person (when `logout` could not revoke
/// it), never used to decide anything.
pub fn unverified_expiry(token: &Secret) -> Option<DateTime<Utc>> {
    #[derive(serde::Deserialize)]
    struct Exp {
        exp: i64,
    }
    let e: Exp = unverified_claims(token)?;
    DateTime::from_timestamp(e.exp, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::{Value, json};

    const CLIENT: &str = "influx-bootstrap";
    const ISSUER: &str = "https://idp.example.com";

    /// A fresh ES256 key and the JWKS that publishes it.
    fn signing_key() -> (EncodingKey, JwkSet) {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let raw = kp.public_key_raw(); // 0x04 || x || y
        assert_eq!(raw.len(), 65);
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let jwks = serde_json::from_value(json!({ "keys": [{
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": "k1",
            "x": b64(&raw[1..33]), "y": b64(&raw[33..65]),
        }]}))
        .unwrap();
        (EncodingKey::from_ec_der(&kp.serialize_der()), jwks)
    }

    /// A valid ID token from `ISSUER` with `claims` added (or replaced).
    fn id_token(key: &EncodingKey, claims: &Value) -> Secret {
        let mut all = json!({
            "iss": ISSUER,
            "sub": "alice",
            "exp": chrono::Utc::now().timestamp() + 600,
        });
        let all_map = all.as_object_mut().unwrap();
        for (k, v) in claims.as_object().unwrap() {
            all_map.insert(k.clone(), v.clone());
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("k1".into());
        Secret::new(jsonwebtoken::encode(&header, &all, key).unwrap())
    }

    #[test]
    fn authorized_party() {
        let (key, jwks) = signing_key();
        let cluster = "https://cluster.example.com";
        // (case, `aud`/`azp` claims, None = accepted, Some = part of the error)
        let cases: Vec<(&str, Value, Option<&str>)> = vec![
            ("one audience, no azp", json!({ "aud": CLIENT }), None),
            (
                "one-element array, no azp",
                json!({ "aud": [CLIENT] }),
                None,
            ),
            (
                "one audience, azp is this client",
                json!({ "aud": CLIENT, "azp": CLIENT }),
                None,
            ),
            (
                "one audience, azp is another client",
                json!({ "aud": CLIENT, "azp": "other-app" }),
                Some(
                    "`azp` (authorized party) is `other-app`, not this profile's client_id `influx-bootstrap`",
                ),
            ),
            (
                "several audiences, azp is this client",
                json!({ "aud": [CLIENT, cluster], "azp": CLIENT }),
                None,
            ),
            (
                "several audiences, no azp",
                json!({ "aud": [CLIENT, cluster] }),
                Some("it names 2 audiences and no `azp` (authorized party) claim"),
            ),
            (
                "several audiences, azp is another audience",
                json!({ "aud": [CLIENT, "other-app"], "azp": "other-app" }),
                Some("it was issued to another client"),
            ),
            (
                "the same audience twice counts once",
                json!({ "aud": [CLIENT, CLIENT] }),
                None,
            ),
            (
                "azp of the wrong case is another client",
                json!({ "aud": CLIENT, "azp": "Influx-Bootstrap" }),
                Some("`azp` (authorized party) is `Influx-Bootstrap`"),
            ),
            (
                "the provider's azp is printed on one line",
                json!({ "aud": CLIENT, "azp": "evil\napp" }),
                Some("is `evil app`"),
            ),
            (
                "azp that is not a string",
                json!({ "aud": CLIENT, "azp": 7 }),
                Some("JSON error: invalid type: integer `7`"),
            ),
            (
                "azp naming us does not stand in for aud",
                json!({ "aud": "other-app", "azp": CLIENT }),
                Some("InvalidAudience"),
            ),
        ];
        for (name, claims, want) in cases {
            let token = id_token(&key, &claims);
            let got = verify(&token, &jwks, ISSUER, CLIENT);
            match (want, got) {
                (None, Ok(id)) => {
                    assert_eq!(id.subject, "alice", "{name}");
                    assert!(id.verified, "{name}");
                }
                (None, Err(e)) => panic!("{name}: rejected: {e}"),
                (Some(part), Ok(id)) => panic!("{name}: accepted as {id:?}, want `{part}`"),
                (Some(part), Err(e)) => {
                    let msg = e.to_string();
                    assert!(msg.contains(part), "{name}: `{msg}` lacks `{part}`");
                    assert!(
                        msg.contains(ISSUER),
                        "{name}: `{msg}` does not name the issuer"
                    );
                    assert!(!msg.contains('\n'), "{name}: `{msg}` spans lines");
                    for part in token.expose().split('.') {
                        assert!(!msg.contains(part), "{name}: `{msg}` shows the token");
                    }
                }
            }
        }
    }

    #[test]
    fn audience_count() {
        let cases: Vec<(&str, &str, usize)> = vec![
            ("string", r#""a""#, 1),
            ("empty string", r#""""#, 1),
            ("empty array", "[]", 0),
            ("one", r#"["a"]"#, 1),
            ("two", r#"["a","b"]"#, 2),
            ("duplicates", r#"["a","b","a"]"#, 2),
        ];
        for (name, json, want) in cases {
            let aud: Audience = serde_json::from_str(json).unwrap();
            assert_eq!(aud.count(), want, "{name}");
        }
    }
}
