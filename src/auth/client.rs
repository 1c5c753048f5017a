//! Workload login (issue 20): the OAuth 2.0 client credentials grant
//! (RFC 6749 §4.4). No person, no device code, no refresh token (§4.4.3:
//! "A refresh token SHOULD NOT be included"), nothing cached: each command
//! asks for a fresh access token, which is cheap (one POST) and means a
//! rotated secret, key or platform assertion takes effect at once.
//!
//! Three ways for the client to authenticate, exactly one per profile:
//! - a client secret (RFC 6749 §2.3.1) from `client_secret_file`, re-read
//!   on every use, or from `INFLUX_BOOTSTRAP_CLIENT_SECRET`;
//! - `private_key_jwt` (OIDC Core §9, RFC 7523 §2.2): a short-lived JWT
//!   signed here with the key in `private_key_file`;
//! - a client assertion the platform writes and rotates (a Kubernetes
//!   projected service-account token, a CI OIDC token) in
//!   `client_assertion_file`, re-read on every use and sent as is.
//!
//! The request is three form fields, so it is sent here with our HTTP client
//! (the same TLS, loopback and body-size rules as every other call to the
//! provider) rather than through the `oauth2` crate, whose client has no
//! hook for RFC 7523 client assertions; the answer is parsed with the
//! crate's RFC types (`device::parse_tokens`).
use super::device::{TokenSet, parse_tokens};
use super::discovery::TokenEndpoint;
use super::idtoken::Identity;
use crate::error::ClientError;
use crate::http::HttpClient;
use crate::secret::Secret;
use crate::settings::{KeyAlg, OAuth2};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// RFC 7523 §2.2.
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Lifetime of the assertions we sign: long enough for one request on a
/// slow network, short enough to be useless if it leaks (RFC 7523 §3 item 4
/// asks for an `exp`; Okta and Entra ID cap it at one hour).
const ASSERTION_LIFETIME_SECS: i64 = 60;
/// Tolerated clock difference before a platform assertion is called
/// "not yet valid" here (the provider applies its own).
const SKEW_SECS: i64 = 60;

/// How the client proves who it is, from the profile.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientAuth {
    /// `client_secret_basic`, or `client_secret_post` when the provider
    /// advertises only that.
    SecretFile(PathBuf),
    SecretEnv(Secret),
    /// `private_key_jwt`.
    PrivateKey {
        path: PathBuf,
        alg: Option<KeyAlg>,
    },
    /// A JWT the platform wrote (RFC 7523 §2.2 client assertion).
    AssertionFile(PathBuf),
}

impl ClientAuth {
    /// Exactly one of the profile's client credentials.
    pub fn from_profile(o: &OAuth2, profile: &str) -> Result<Self, ClientError> {
        let mut found = Vec::new();
        if let Some(p) = &o.client_secret_file {
            found.push((
                "client_secret_file",
                ClientAuth::SecretFile(p.value.clone()),
            ));
        }
        if let Some(s) = &o.client_secret {
            found.push((
                "INFLUX_BOOTSTRAP_CLIENT_SECRET",
                ClientAuth::SecretEnv(s.value.clone()),
            ));
        }
        if let Some(p) = &o.private_key_file {
            found.push((
                "private_key_file",
                ClientAuth::PrivateKey {
                    path: p.value.clone(),
                    alg: o.private_key_alg.as_ref().map(|a| a.value),
                },
            ));
        }
        if let Some(p) = &o.client_assertion_file {
            found.push((
                "client_assertion_file",
                ClientAuth::AssertionFile(p.value.clone()),
            ));
        }
        match found.len() {
            0 => Err(ClientError::NoCredential {
                profile: profile.to_string(),
            }),
            1 => Ok(found.remove(0).1),
            _ => Err(ClientError::Conflicting {
                profile: profile.to_string(),
                keys: found.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// The client authentication method, as RFC 8414 / OIDC Discovery name
    /// it in `token_endpoint_auth_methods_supported` (the assertion file is
    /// `private_key_jwt` at the provider, whoever signed it).
    pub fn method(&self) -> &'static str {
        match self {
            ClientAuth::SecretFile(_) | ClientAuth::SecretEnv(_) => "client_secret_basic",
            ClientAuth::PrivateKey { .. } | ClientAuth::AssertionFile(_) => "private_key_jwt",
        }
    }

    /// For people: which credential the profile uses.
    pub fn describe(&self) -> String {
        match self {
            ClientAuth::SecretFile(p) => format!("client secret from {}", p.display()),
            ClientAuth::SecretEnv(_) => "client secret from INFLUX_BOOTSTRAP_CLIENT_SECRET".into(),
            ClientAuth::PrivateKey { path, .. } => {
                format!("private_key_jwt signed with {}", path.display())
            }
            ClientAuth::AssertionFile(p) => format!("client assertion from {}", p.display()),
        }
    }

    /// The file holding the credential, if any.
    pub fn file(&self) -> Option<&Path> {
        match self {
            ClientAuth::SecretFile(p)
            | ClientAuth::PrivateKey { path: p, .. }
            | ClientAuth::AssertionFile(p) => Some(p),
            ClientAuth::SecretEnv(_) => None,
        }
    }
}

/// The token request's client authentication, ready to send.
enum Proof {
    Basic(Secret),
    Post(Secret),
    Assertion {
        jwt: Secret,
        /// The platform's assertion: what it says, for error hints.
        claims: Option<AssertionClaims>,
    },
}

/// The claims of an assertion that explain a refusal (never the signature).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AssertionClaims {
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub aud: Option<serde_json::Value>,
    pub exp: Option<i64>,
    pub nbf: Option<i64>,
    pub iat: Option<i64>,
}

impl AssertionClaims {
    /// The payload of a compact JWS, unverified (we are not its audience).
    pub fn read(jwt: &str) -> Option<Self> {
        use base64::Engine;
        let payload = jwt.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn audience(&self) -> String {
        match &self.aud {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            _ => "(none)".into(),
        }
    }

    /// Why the assertion cannot be used at `now`, if it cannot: expired, or
    /// issued in the future by more than [`SKEW_SECS`] (a clock problem).
    pub fn problem(&self, now: DateTime<Utc>) -> Option<String> {
        let t = now.timestamp();
        let at = |s: i64| {
            DateTime::from_timestamp(s, 0)
                .map(crate::text::rfc3339)
                .unwrap_or_else(|| s.to_string())
        };
        if let Some(exp) = self.exp
            && exp <= t
        {
            return Some(format!(
                "expired at {} ({}s ago); the platform did not rotate it",
                at(exp),
                t - exp
            ));
        }
        let from = self.nbf.or(self.iat);
        if let Some(from) = from
            && from > t + SKEW_SECS
        {
            return Some(format!(
                "is not valid before {} ({}s from now by this machine's clock): one of the two clocks is wrong",
                at(from),
                from - t
            ));
        }
        None
    }
}

/// Read a file holding a client credential, refusing one that someone else
/// could read or replace: it must be a regular file owned by us (or root,
/// as platform-mounted files are) with no group or other permissions.
/// The checks run on the opened file, so a swap after the check is not
/// read. Symbolic links are followed: Kubernetes mounts every secret and
/// projected token through one (`..data/`).
pub fn read_credential_file(path: &Path, what: &'static str) -> Result<Vec<u8>, ClientError> {
    use std::io::Read;
    let unreadable = |e: std::io::Error| ClientError::Unreadable {
        what,
        path: path.to_path_buf(),
        cause: crate::text::without_os_error(&e.to_string()),
    };
    let mut f = std::fs::File::open(path).map_err(unreadable)?;
    let meta = f.metadata().map_err(unreadable)?;
    if let Some(why) = unsafe_because(&meta) {
        return Err(ClientError::UnsafeFile {
            path: path.to_path_buf(),
            why,
        });
    }
    let mut out = Vec::new();
    f.read_to_end(&mut out).map_err(unreadable)?;
    Ok(out)
}

/// Why a credential file with this metadata is not safely ours, if it is not.
pub fn unsafe_because(meta: &std::fs::Metadata) -> Option<String> {
    if !meta.is_file() {
        return Some("it is not a regular file".into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let (uid, mode) = (meta.uid(), meta.mode() & 0o7777);
        if uid != crate::fsutil::euid() && uid != 0 {
            return Some(format!(
                "it belongs to another user (uid {uid}), who could replace the credential"
            ));
        }
        if mode & 0o077 != 0 {
            let who = if mode & 0o007 != 0 {
                "other users"
            } else {
                "its group"
            };
            return Some(format!(
                "it holds a client credential and {who} can access it (mode {mode:04o})"
            ));
        }
    }
    None
}

/// One text credential from a file: trimmed, non-empty, printable ASCII
/// (a stray newline from `echo` is common; a binary file is a mistake).
fn text_credential(path: &Path, what: &'static str) -> Result<Secret, ClientError> {
    let bytes = read_credential_file(path, what)?;
    let text = String::from_utf8(bytes).unwrap_or_default();
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ClientError::Unreadable {
            what,
            path: path.to_path_buf(),
            cause: "it is empty or not one line of printable text".into(),
        });
    }
    Ok(Secret::new(text.to_string()))
}

/// RFC 7523 §3 claims of a `private_key_jwt` assertion.
#[derive(serde::Serialize)]
struct SignedClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    /// The token endpoint: RFC 7523 §3 item 3 names it as a value the
    /// server must accept, and Okta, Entra ID and Auth0 require it (Keycloak
    /// and oidc-provider also take the issuer).
    aud: &'a str,
    jti: String,
    iat: i64,
    exp: i64,
}

/// Sign a `private_key_jwt` client assertion with the PEM key `pem`.
pub fn sign_assertion(
    pem: &[u8],
    alg: Option<KeyAlg>,
    path: &Path,
    client_id: &str,
    audience: &str,
    now: DateTime<Utc>,
) -> Result<Secret, ClientError> {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let bad = |why: String| ClientError::BadKey {
        path: path.to_path_buf(),
        why,
    };
    // The key says what it is (an RSA or an EC key); `private_key_alg`
    // insists on one.
    let rsa = || EncodingKey::from_rsa_pem(pem).map(|k| (k, Algorithm::RS256));
    let ec = || EncodingKey::from_ec_pem(pem).map(|k| (k, Algorithm::ES256));
    let (key, algorithm) = match alg {
        Some(KeyAlg::RS256) => rsa().map_err(|e| bad(format!("not an RSA private key ({e})")))?,
        Some(KeyAlg::ES256) => {
            ec().map_err(|e| bad(format!("not a PKCS#8 EC private key ({e})")))?
        }
        None => rsa()
            .or_else(|_| ec())
            .map_err(|e| bad(format!("neither an RSA nor a PKCS#8 EC private key ({e})")))?,
    };
    let claims = SignedClaims {
        iss: client_id,
        sub: client_id,
        aud: audience,
        jti: uuid::Uuid::new_v4().to_string(),
        iat: now.timestamp(),
        exp: now.timestamp() + ASSERTION_LIFETIME_SECS,
    };
    let jwt = jsonwebtoken::encode(&Header::new(algorithm), &claims, &key)
        // ring refuses a P-384 key for ES256, for example.
        .map_err(|e| bad(format!("signing with {algorithm:?} failed ({e})")))?;
    Ok(Secret::new(jwt))
}

/// The client authentication for one request.
fn proof(
    auth: &ClientAuth,
    client_id: &str,
    endpoint: &TokenEndpoint,
    now: DateTime<Utc>,
) -> Result<Proof, ClientError> {
    // RFC 6749 §2.3.1: servers MUST support Basic; `client_secret_post` only
    // when the provider says it takes nothing else.
    let post_only = endpoint.auth_methods.as_ref().is_some_and(|m| {
        m.iter().any(|x| x == "client_secret_post") && !m.iter().any(|x| x == "client_secret_basic")
    });
    let secret = |s: Secret| {
        if post_only {
            Proof::Post(s)
        } else {
            Proof::Basic(s)
        }
    };
    Ok(match auth {
        ClientAuth::SecretFile(p) => secret(text_credential(p, "the client secret file")?),
        ClientAuth::SecretEnv(s) => secret(s.clone()),
        ClientAuth::PrivateKey { path, alg } => {
            let pem = read_credential_file(path, "the private key file")?;
            Proof::Assertion {
                jwt: sign_assertion(&pem, *alg, path, client_id, endpoint.token.as_str(), now)?,
                claims: None,
            }
        }
        ClientAuth::AssertionFile(path) => {
            // Re-read on every use: the platform rotates it (a Kubernetes
            // projected token is refreshed at 80% of its lifetime).
            let jwt = text_credential(path, "the client assertion file")?;
            let claims =
                AssertionClaims::read(jwt.expose()).ok_or_else(|| ClientError::Assertion {
                    path: path.clone(),
                    problem: "is not a JWT (three base64url parts, a JSON payload)".into(),
                })?;
            if let Some(problem) = claims.problem(now) {
                return Err(ClientError::Assertion {
                    path: path.clone(),
                    problem,
                });
            }
            Proof::Assertion {
                jwt,
                claims: Some(claims),
            }
        }
    })
}

/// For `doctor`: whether the credential can be used now, without sending
/// it — the file is read and checked (owner, mode), a key signs a throwaway
/// assertion, a platform assertion is checked for expiry. Returns a line
/// for people.
pub fn check_usable(
    auth: &ClientAuth,
    client_id: &str,
    endpoint: &TokenEndpoint,
) -> Result<String, ClientError> {
    let now = Utc::now();
    Ok(match proof(auth, client_id, endpoint, now)? {
        Proof::Assertion {
            claims: Some(c), ..
        } => {
            let left = c
                .exp
                .map(|e| format!("; expires in {}s", e - now.timestamp()))
                .unwrap_or_else(|| "; no expiry".into());
            format!(
                "{} (aud {}{left})",
                auth.describe(),
                crate::text::sanitize(&c.audience())
            )
        }
        _ => auth.describe(),
    })
}

/// A workload's access token, and who the provider says it is.
#[derive(Debug)]
pub struct WorkloadToken {
    pub tokens: TokenSet,
    pub identity: Identity,
}

/// Run the client credentials grant once (RFC 6749 §4.4.2).
pub async fn client_credentials(
    http: &HttpClient,
    o: &OAuth2,
    client_id: &str,
    auth: &ClientAuth,
    endpoint: &TokenEndpoint,
) -> Result<WorkloadToken, anyhow::Error> {
    let proof = proof(auth, client_id, endpoint, Utc::now())?;
    let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
    // The default scopes are a person's (openid, offline_access): a client
    // asks only for scopes the profile names.
    let scope = o.scopes.value.join(" ");
    if o.scopes.source != crate::settings::Source::Default && !scope.is_empty() {
        form.push(("scope", &scope));
    }
    // `resource` (RFC 8707) / `audience` (Auth0) select the cluster as the
    // token's audience, as in the device flow.
    for (k, v) in &o.parameters.value {
        if matches!(k.as_str(), "resource" | "audience") {
            form.push((k, v));
        }
    }
    let resp = match &proof {
        Proof::Basic(s) => {
            http.post_form_as(&endpoint.token, &form, Some((client_id, s)))
                .await?
        }
        Proof::Post(s) => {
            form.push(("client_id", client_id));
            form.push(("client_secret", s.expose()));
            http.post_form(&endpoint.token, &form).await?
        }
        Proof::Assertion { jwt, .. } => {
            // RFC 7521 §4.2: client_id is optional; Entra ID requires it.
            form.push(("client_id", client_id));
            form.push(("client_assertion_type", JWT_BEARER_ASSERTION));
            form.push(("client_assertion", jwt.expose()));
            http.post_form(&endpoint.token, &form).await?
        }
    };
    if let Ok(e) = serde_json::from_slice::<ErrorBody>(&resp.body) {
        let claims = match &proof {
            Proof::Assertion { claims, .. } => claims.as_ref(),
            _ => None,
        };
        return Err(refused(client_id, auth, endpoint, claims, e).into());
    }
    if resp.status != 200 {
        return Err(resp.unexpected().into());
    }
    let tokens = parse_tokens(&resp)?;
    let identity = identity(&tokens.access_token, client_id, endpoint.issuer.as_deref());
    Ok(WorkloadToken { tokens, identity })
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// The provider's refusal with the hint for this kind of client (RFC 6749
/// §5.2 error codes; the device-flow hints do not apply here).
fn refused(
    client_id: &str,
    auth: &ClientAuth,
    endpoint: &TokenEndpoint,
    claims: Option<&AssertionClaims>,
    e: ErrorBody,
) -> ClientError {
    let error = crate::text::sanitize(&e.error);
    let description = e
        .error_description
        .map(|d| format!(": {}", crate::text::sanitize(&d)))
        .unwrap_or_default();
    let lower = description.to_ascii_lowercase();
    // Whole words only: "unexpected" is not about `exp`.
    let clock = lower.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
        matches!(
            w,
            "exp" | "iat" | "nbf" | "expired" | "future" | "clock" | "skew"
        )
    });
    // RFC 6749 §5.2 says `unauthorized_client`; oidc-provider answers
    // `invalid_request` "requested grant type is not allowed for this client".
    let grant_refused = matches!(
        error.as_str(),
        "unauthorized_client" | "unsupported_grant_type"
    ) || (error == "invalid_request" && lower.contains("grant"));
    let hint = match (error.as_str(), auth) {
        _ if grant_refused => format!(
            "enable the client credentials grant for client `{client_id}` at the identity provider (a confidential client), or set `grant = \"device\"` to log in as a person"
        ),
        ("invalid_client", ClientAuth::SecretFile(_) | ClientAuth::SecretEnv(_)) => format!(
            "check `client_id` and the client secret ({}); the provider must take `{}` for this client",
            auth.describe(),
            auth.method()
        ),
        ("invalid_client", ClientAuth::PrivateKey { .. }) if clock => {
            "the provider did not accept the assertion's times: check this machine's clock (`influx-bootstrap doctor` measures the skew)".into()
        }
        ("invalid_client", ClientAuth::PrivateKey { .. }) => format!(
            "register this key's public half for client `{client_id}` (private_key_jwt) at the identity provider; the assertion's audience is {}",
            endpoint.token
        ),
        ("invalid_client", ClientAuth::AssertionFile(p)) => {
            let c = claims.cloned().unwrap_or_default();
            let clock_part = if clock {
                " The provider objects to its times: check this machine's clock and the platform's."
            } else {
                ""
            };
            format!(
                "the provider did not accept the platform's assertion in {} (iss {}, sub {}, aud {}): its audience must be one the provider accepts for client `{client_id}` (set it where the platform writes the token, e.g. the projected volume's `audience`), and the provider must trust its issuer.{clock_part}",
                p.display(),
                crate::text::sanitize(c.iss.as_deref().unwrap_or("(none)")),
                crate::text::sanitize(c.sub.as_deref().unwrap_or("(none)")),
                crate::text::sanitize(&c.audience()),
            )
        }
        ("invalid_scope", _) => "check `scopes` under [profile.auth.oauth2]: a client asks only for what it names, and the provider refused at least one".into(),
        ("invalid_target", _) => "check `parameters` (`resource` or `audience`) under [profile.auth.oauth2]: the provider does not know that audience for this client".into(),
        _ => "see the identity provider's log for this client".into(),
    };
    ClientError::Refused {
        client_id: client_id.to_string(),
        error,
        description,
        hint,
    }
}

/// Who the token is for: the access token's `sub` when it is a JWT (an
/// opaque token, as django-oauth-toolkit issues, names no one), else the
/// client id. Never verified here: the cluster checks the token itself.
fn identity(access_token: &Secret, client_id: &str, issuer: Option<&str>) -> Identity {
    let mut id = super::idtoken::unverified_identity(access_token).unwrap_or_else(|| Identity {
        subject: client_id.to_string(),
        name: None,
        email: None,
        issuer: issuer.map(str::to_string),
        verified: false,
    });
    if id.name.is_none() && id.subject != client_id {
        id.name = Some(format!("client {client_id}"));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Source, Value};

    fn oauth(
        secret_file: Option<&str>,
        secret_env: Option<&str>,
        key: Option<&str>,
        assertion: Option<&str>,
    ) -> OAuth2 {
        let p = |s: Option<&str>| {
            s.map(|s| Value {
                value: PathBuf::from(s),
                source: Source::Default,
            })
        };
        OAuth2 {
            client_id: None,
            scopes: Value {
                value: vec![],
                source: Source::Default,
            },
            parameters: Value {
                value: Default::default(),
                source: Source::Default,
            },
            token_url: None,
            device_url: None,
            revocation_url: None,
            issuer: None,
            grant: Value {
                value: crate::settings::Grant::ClientCredentials,
                source: Source::Default,
            },
            client_secret_file: p(secret_file),
            client_secret: secret_env.map(|s| Value {
                value: Secret::new(s.to_string()),
                source: Source::Env("INFLUX_BOOTSTRAP_CLIENT_SECRET"),
            }),
            private_key_file: p(key),
            private_key_alg: None,
            client_assertion_file: p(assertion),
        }
    }

    #[test]
    fn exactly_one_client_credential() {
        let cases: Vec<(OAuth2, Result<&str, &str>)> = vec![
            (
                oauth(None, None, None, None),
                Err("names no client credential"),
            ),
            (
                oauth(Some("/s"), None, None, None),
                Ok("client_secret_basic"),
            ),
            (
                oauth(None, Some("x"), None, None),
                Ok("client_secret_basic"),
            ),
            (oauth(None, None, Some("/k"), None), Ok("private_key_jwt")),
            (oauth(None, None, None, Some("/a")), Ok("private_key_jwt")),
            (
                oauth(Some("/s"), None, None, Some("/a")),
                Err("client_secret_file, client_assertion_file"),
            ),
        ];
        for (o, want) in cases {
            match (ClientAuth::from_profile(&o, "p"), want) {
                (Ok(a), Ok(m)) => assert_eq!(a.method(), m),
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{e}"),
                (got, want) => panic!("{got:?} for {want:?}"),
            }
        }
    }

    #[test]
    fn refusals_get_the_hint_for_the_client_and_method() {
        let endpoint = TokenEndpoint {
            issuer: None,
            token: url::Url::parse("https://idp.example/token").unwrap(),
            grant_types: None,
            auth_methods: None,
        };
        let secret = ClientAuth::SecretEnv(Secret::new("s"));
        let key = ClientAuth::PrivateKey {
            path: "/k".into(),
            alg: None,
        };
        let file = ClientAuth::AssertionFile("/a".into());
        let claims = AssertionClaims {
            iss: Some("https://k8s".into()),
            sub: Some("system:serviceaccount:ns:sa".into()),
            aud: Some(serde_json::json!(["api://AzureADTokenExchange"])),
            ..Default::default()
        };
        // (auth, error, description, claims, hint contains, exit code)
        let cases: Vec<(
            &ClientAuth,
            &str,
            Option<&str>,
            Option<&AssertionClaims>,
            &str,
            i32,
        )> = vec![
            (
                &secret,
                "unauthorized_client",
                None,
                None,
                "enable the client credentials grant for client `c`",
                2,
            ),
            (
                &secret,
                "invalid_request",
                Some("requested grant type is not allowed for this client"),
                None,
                "enable the client credentials grant",
                2,
            ),
            (
                &secret,
                "invalid_client",
                None,
                None,
                "check `client_id` and the client secret",
                2,
            ),
            (
                &key,
                "invalid_client",
                Some("jwt expired"),
                None,
                "clock",
                2,
            ),
            (&key, "invalid_client", None, None, "aud", 2),
            (
                &key,
                "invalid_client",
                Some("unexpected key"),
                None,
                "register this key",
                2,
            ),
            (
                &file,
                "invalid_client",
                None,
                Some(&claims),
                "aud api://AzureADTokenExchange",
                2,
            ),
            (
                &file,
                "invalid_client",
                None,
                Some(&claims),
                "sub system:serviceaccount:ns:sa",
                2,
            ),
            (&secret, "invalid_scope", None, None, "`scopes`", 2),
            (
                &secret,
                "server_error",
                None,
                None,
                "identity provider's log",
                5,
            ),
        ];
        for (auth, error, description, claims, want, code) in cases {
            let e = refused(
                "c",
                auth,
                &endpoint,
                claims,
                ErrorBody {
                    error: error.into(),
                    error_description: description.map(str::to_string),
                },
            );
            let hint = crate::error::Classify::hint(&e).unwrap();
            assert!(hint.contains(want), "{error}: {hint}");
            assert_eq!(crate::error::Classify::exit_code(&e), code, "{error}");
        }
    }

    #[test]
    fn assertion_times() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let t = now.timestamp();
        let c = |exp: Option<i64>, iat: Option<i64>| AssertionClaims {
            exp,
            iat,
            ..Default::default()
        };
        let cases = [
            (c(Some(t + 600), Some(t - 10)), None),
            (c(None, None), None),
            (c(Some(t), None), Some("expired")),
            (c(Some(t - 5), Some(t - 3600)), Some("5s ago")),
            (c(Some(t + 7200), Some(t + 30)), None),
            (c(Some(t + 7200), Some(t + 600)), Some("clocks is wrong")),
        ];
        for (claims, want) in cases {
            let got = claims.problem(now);
            match (got, want) {
                (None, None) => {}
                (Some(g), Some(w)) => assert!(g.contains(w), "{g}"),
                (g, w) => panic!("{g:?} for {w:?} ({claims:?})"),
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn credential_files_others_can_read_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "s3cret\n").unwrap();
        for (mode, ok) in [(0o600, true), (0o400, true), (0o640, false), (0o604, false)] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let got = text_credential(&path, "the client secret file");
            match (got, ok) {
                (Ok(s), true) => assert_eq!(s.expose(), "s3cret"),
                (Err(ClientError::UnsafeFile { why, .. }), false) => {
                    assert!(why.contains(&format!("{mode:04o}")), "{why}")
                }
                (got, _) => panic!("mode {mode:o}: {got:?}"),
            }
        }
    }

    #[test]
    fn signed_assertions_carry_rfc7523_claims() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        // ring cannot generate RSA keys: RS256 is signed end to end
        // (tests/it/workload.rs, with a key made by the provider fixture).
        let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .unwrap()
            .serialize_pem();
        // (key, private_key_alg, the header's alg or None for BadKey)
        let cases: [(&str, Option<KeyAlg>, Option<&str>); 4] = [
            (&ec, None, Some("ES256")),
            (&ec, Some(KeyAlg::ES256), Some("ES256")),
            (&ec, Some(KeyAlg::RS256), None),
            ("not a key", None, None),
        ];
        for (pem, alg, want) in cases {
            let got = sign_assertion(
                pem.as_bytes(),
                alg,
                Path::new("k"),
                "c1",
                "https://t/token",
                now,
            );
            let Some(want) = want else {
                assert!(
                    matches!(got, Err(ClientError::BadKey { .. })),
                    "{alg:?}: {got:?}"
                );
                continue;
            };
            let jwt = got.unwrap();
            let header = jsonwebtoken::decode_header(jwt.expose()).unwrap();
            assert_eq!(format!("{:?}", header.alg), want);
            let c = AssertionClaims::read(jwt.expose()).unwrap();
            assert_eq!(
                (c.iss.as_deref(), c.sub.as_deref()),
                (Some("c1"), Some("c1"))
            );
            assert_eq!(c.audience(), "https://t/token");
            assert_eq!(c.exp, Some(now.timestamp() + ASSERTION_LIFETIME_SECS));
        }
    }
}
