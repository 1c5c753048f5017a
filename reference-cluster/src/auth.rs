//! Who is calling: the credential of `Authorization` (RFC 6750 section 2.1,
//! and InfluxDB's `Token` scheme on the data path) turned into a
//! [`Principal`] for the Management APIs, or into a database token for the
//! data path. Handlers never read the header themselves: the Management APIs
//! go through `request::Call`, the data path through
//! `database_token`.

use axum::http::{HeaderMap, StatusCode, header};

use crate::config::Config;
use crate::error::ApiError;
use crate::jwt::{self, JwtError, JwtVerifier};
use crate::store::{DatabaseTokenRecord, Store, TokenKind, TokenRecord};
use crate::token;

/// `Retry-After` sent when the identity provider's JWKS cannot be fetched.
pub const JWKS_UNAVAILABLE_RETRY_AFTER: u64 = 5;

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// An OAuth user (value of the user-id claim) who is a cluster admin.
    User(String),
    /// A management token, by id.
    Token(String),
}

impl Principal {
    /// The `createdBy` value of tokens this principal creates.
    pub fn created_by(&self) -> String {
        match self {
            Principal::User(id) => id.clone(),
            Principal::Token(id) => format!("token:{id}"),
        }
    }

    /// For logs.
    pub fn describe(&self) -> String {
        match self {
            Principal::User(id) => format!("user:{id}"),
            Principal::Token(id) => format!("token:{id}"),
        }
    }
}

/// What authenticates a Management API request.
pub(crate) struct Authority<'a> {
    pub config: &'a Config,
    pub store: &'a Store,
    pub verifier: &'a JwtVerifier,
    /// When new management tokens start to work (`crate::activation`).
    pub activation: &'a crate::activation::Activation,
}

/// The credential of `Authorization: SCHEME credential` for one of
/// `schemes` (case-insensitive); a missing header is answered with
/// `WWW-Authenticate: challenge`.
pub(crate) fn credential_of<'h>(
    headers: &'h HeaderMap,
    schemes: &[&str],
    challenge: &'static str,
) -> Result<&'h str, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError {
            www_authenticate: Some(challenge),
            ..ApiError::new(StatusCode::UNAUTHORIZED, "missing Authorization header")
        });
    };
    value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            schemes
                .iter()
                .any(|s| scheme.eq_ignore_ascii_case(s))
                .then(|| rest.trim())
        })
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized(format!(
                "Authorization header is not a {} credential",
                schemes.join(" or ")
            ))
        })
}

/// The stored token of kind `K` whose hash is `hash`, if it may still
/// authenticate (401 otherwise). `kind` names it in the messages
/// ("management token"); `seen` learns its id as soon as it is found (for
/// the access log).
async fn stored<K: TokenKind>(
    store: &Store,
    hash: Vec<u8>,
    kind: &str,
    seen: impl FnOnce(&str),
) -> Result<K, ApiError> {
    let record: K = store
        .run(move |s| s.get_by_hash(&hash))
        .await
        .map_err(|e| ApiError::internal("token lookup", e))?
        .ok_or_else(|| ApiError::unauthorized(format!("unknown {kind}")))?;
    let common = record.common();
    seen(common.id);
    if common.revoked_at.is_some() {
        return Err(ApiError::unauthorized(format!("{kind} has been revoked")));
    }
    if !record.is_usable(token::now_micros()) {
        return Err(ApiError::unauthorized(format!("{kind} has expired")));
    }
    Ok(record)
}

impl Authority<'_> {
    /// Authenticates a Management API request from its `Authorization:
    /// Bearer` header: a management token, or an admin's OAuth access token
    /// (a JWT checked against the identity provider's keys).
    pub(crate) async fn principal(&self, headers: &HeaderMap) -> Result<Principal, ApiError> {
        let credential = credential_of(headers, &["Bearer"], "Bearer")?;
        if credential.starts_with(token::DATABASE_TOKEN_PREFIX) {
            // Never looked up: a database token is for the data path only.
            return Err(ApiError::unauthorized(
                "a database token cannot call the Management API",
            ));
        }
        if credential.starts_with(token::TOKEN_PREFIX) {
            let hash = token::hash_token(credential).to_vec();
            let record: TokenRecord = stored(self.store, hash, "management token", |_| ()).await?;
            self.activation.check(
                crate::activation::Kind::Management,
                record.created_at,
                token::now_micros(),
            )?;
            return Ok(Principal::Token(record.id));
        }
        self.admin(credential).await
    }

    /// The admin a JWT names, or why it names none.
    async fn admin(&self, credential: &str) -> Result<Principal, ApiError> {
        let claims = self
            .verifier
            .verify(credential)
            .await
            .map_err(|e| match e {
                JwtError::Invalid(m) => ApiError::unauthorized(m),
                JwtError::Unavailable(m) => {
                    tracing::warn!("identity provider unavailable: {m}");
                    ApiError {
                        retry_after: Some(JWKS_UNAVAILABLE_RETRY_AFTER),
                        ..ApiError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "cannot verify the token: the identity provider's keys are unavailable",
                        )
                    }
                }
            })?;
        let claim = &self.config.identity.user_id_claim;
        let Some(user) = jwt::user_id(&claims, claim) else {
            return Err(ApiError::forbidden(format!(
                "token has no {claim:?} claim to identify the user"
            )));
        };
        if !self.config.is_admin(&user) {
            return Err(ApiError::forbidden(format!(
                "user {user:?} (claim {claim}) is not an admin of this cluster"
            )));
        }
        Ok(Principal::User(user))
    }
}

/// The database token of `Authorization: Bearer|Token apiv1_…`, if usable
/// (the data path). Management tokens and JWTs are unknown here.
/// `seen` learns the token's id as soon as it is found (for the access log).
pub(crate) async fn database_token(
    store: &Store,
    headers: &HeaderMap,
    seen: impl FnOnce(&str),
) -> Result<DatabaseTokenRecord, ApiError> {
    let credential = credential_of(headers, &["Bearer", "Token"], "Token")?;
    if !credential.starts_with(token::DATABASE_TOKEN_PREFIX) {
        return Err(ApiError::unauthorized("unknown database token"));
    }
    let hash = token::hash_database_token(credential).to_vec();
    stored(store, hash, "database token", seen).await
}
