//! Verification of OAuth access tokens (JWTs) against the identity provider's JWKS.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::config::Identity;

/// Clock skew tolerated for `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 60;
/// An unknown `kid` triggers a JWKS refetch at most this often.
pub const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// After a failed JWKS fetch, requests are refused (503) without asking the
/// identity provider again for this long, doubling per further failure up to
/// [`JWKS_MAX_BACKOFF`]; a success resets it.
pub const JWKS_FIRST_BACKOFF: Duration = Duration::from_secs(1);
pub const JWKS_MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Why a JWT was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtError {
    /// The credential is not acceptable (401).
    Invalid(String),
    /// The JWKS could not be obtained (503).
    Unavailable(String),
}

struct Cache {
    jwks_uri: Option<String>,
    keys: Option<Vec<Jwk>>,
    last_fetch: Option<Instant>,
    gate: FetchGate,
}

/// Single flight and back-off for JWKS fetches. The fetch runs under the
/// cache lock, so requests that queued behind it take its outcome instead of
/// each asking the identity provider in turn (which stalled requests for
/// 9–36 s while the provider was down); after a failure, nobody asks again
/// until the back-off has passed.
#[derive(Debug, Default)]
struct FetchGate {
    /// When the last fetch ended, and its error if it failed.
    last: Option<(Instant, Option<String>)>,
    failures: u32,
}

impl FetchGate {
    /// Whether a request that started waiting at `started` may fetch at
    /// `now`: `Err` carries the outcome to report instead. `Ok(Some(()))`
    /// means a fetch that ended after `started` succeeded: use its keys.
    fn admit(&self, started: Instant, now: Instant) -> Result<Option<()>, String> {
        let Some((ended, error)) = &self.last else {
            return Ok(None);
        };
        if *ended >= started {
            // Someone fetched while we waited: share that outcome.
            return match error {
                None => Ok(Some(())),
                Some(e) => Err(e.clone()),
            };
        }
        match error {
            Some(e) if now < *ended + self.backoff() => Err(format!(
                "{e} (not retried for {}s)",
                (*ended + self.backoff() - now).as_secs_f32().ceil()
            )),
            _ => Ok(None),
        }
    }

    fn backoff(&self) -> Duration {
        let n = self.failures.saturating_sub(1).min(16);
        JWKS_FIRST_BACKOFF
            .saturating_mul(1 << n)
            .min(JWKS_MAX_BACKOFF)
    }

    fn record(&mut self, now: Instant, error: Option<String>) {
        self.failures = if error.is_some() {
            self.failures.saturating_add(1)
        } else {
            0
        };
        self.last = Some((now, error));
    }
}

/// Verifies RS256/ES256 JWT access tokens: signature (JWKS fetched lazily and
/// cached), `iss`, `aud`, `exp`/`nbf` with [`LEEWAY_SECS`].
pub struct JwtVerifier {
    identity: Identity,
    http: reqwest::Client,
    cache: tokio::sync::Mutex<Cache>,
    fetches: AtomicU64,
    refetch_interval_ms: AtomicU64,
}

impl JwtVerifier {
    pub fn new(identity: Identity) -> JwtVerifier {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("reference-cluster/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client with static settings");
        JwtVerifier {
            cache: tokio::sync::Mutex::new(Cache {
                jwks_uri: identity.jwks_endpoint.clone(),
                keys: None,
                last_fetch: None,
                gate: FetchGate::default(),
            }),
            identity,
            http,
            fetches: AtomicU64::new(0),
            refetch_interval_ms: AtomicU64::new(JWKS_REFETCH_INTERVAL.as_millis() as u64),
        }
    }

    /// Changes the minimum time between JWKS refetches caused by an unknown
    /// `kid` (default [`JWKS_REFETCH_INTERVAL`]); for tests.
    pub fn set_refetch_interval(&self, interval: Duration) {
        self.refetch_interval_ms
            .store(interval.as_millis() as u64, Ordering::Relaxed);
    }

    /// How many times the JWKS has been requested (successfully or not).
    pub fn jwks_fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    async fn fetch_json(&self, url: &str) -> Result<Value, String> {
        let resp = self
            .http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("GET {url}: {}", error_chain(&e)))?;
        if !resp.status().is_success() {
            return Err(format!("GET {url}: HTTP {}", resp.status()));
        }
        resp.json::<Value>()
            .await
            .map_err(|e| format!("GET {url}: {}", error_chain(&e)))
    }

    /// [`Self::refresh`] behind the [`FetchGate`]; `started` is when the
    /// request began waiting for the cache.
    async fn refresh_gated(&self, cache: &mut Cache, started: Instant) -> Result<(), JwtError> {
        match cache.gate.admit(started, Instant::now()) {
            Ok(Some(())) => return Ok(()),
            Err(e) => return Err(JwtError::Unavailable(e)),
            Ok(None) => {}
        }
        let r = self.refresh(cache).await;
        let error = match &r {
            Err(JwtError::Unavailable(e) | JwtError::Invalid(e)) => Some(e.clone()),
            Ok(()) => None,
        };
        cache.gate.record(Instant::now(), error);
        r
    }

    async fn refresh(&self, cache: &mut Cache) -> Result<(), JwtError> {
        let uri = match &cache.jwks_uri {
            Some(u) => u.clone(),
            None => {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    self.identity.issuer.trim_end_matches('/')
                );
                let doc = self.fetch_json(&url).await.map_err(JwtError::Unavailable)?;
                let uri = doc
                    .get("jwks_uri")
                    .and_then(Value::as_str)
                    .ok_or_else(|| JwtError::Unavailable(format!("{url} has no jwks_uri")))?
                    .to_string();
                cache.jwks_uri = Some(uri.clone());
                uri
            }
        };
        self.fetches.fetch_add(1, Ordering::Relaxed);
        cache.last_fetch = Some(Instant::now());
        let doc = self.fetch_json(&uri).await.map_err(JwtError::Unavailable)?;
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| JwtError::Unavailable(format!("{uri} is not a JWK set")))?;
        // Parse keys one by one so that one key of an unsupported kind does not
        // make the whole set unusable.
        let keys = keys
            .iter()
            .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
            .collect();
        cache.keys = Some(keys);
        Ok(())
    }

    fn candidates(keys: &[Jwk], alg: Algorithm, kid: Option<&str>) -> Vec<Jwk> {
        keys.iter()
            .filter(|k| kid.is_none() || k.common.key_id.as_deref() == kid)
            .filter(|k| key_fits(k, alg))
            .cloned()
            .collect()
    }

    /// Verifies `token` and returns its claims.
    /// The JOSE header of `token`, if its algorithm and type are accepted.
    fn accepted_header(&self, token: &str) -> Result<jsonwebtoken::Header, JwtError> {
        let invalid = |m: &str| JwtError::Invalid(m.to_string());
        let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::Json(_) => {
                invalid("token is not a JWT with an accepted algorithm (RS256 or ES256)")
            }
            _ => invalid("token is not a well-formed JWT"),
        })?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(JwtError::Invalid(format!(
                "token algorithm {:?} is not accepted (RS256 or ES256 only)",
                header.alg
            )));
        }
        // RFC 9068 §2.1/§4: access tokens are typed `at+jwt`; an ID token
        // (`JWT` or untyped) must not pass for one, even with our audience.
        let typ = header.typ.as_deref().unwrap_or("");
        let typ = typ
            .get(..12)
            .filter(|p| p.eq_ignore_ascii_case("application/"))
            .map_or(typ, |_| &typ[12..]);
        if !self
            .identity
            .access_token_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case(typ))
        {
            return Err(JwtError::Invalid(format!(
                "token type (JOSE typ) {typ:?} is not an access token type ({})",
                self.identity.access_token_types.join(", ")
            )));
        }
        Ok(header)
    }

    /// The published keys that may have signed a token of `header`
    /// (refetching the JWKS once, rate-limited, when none fits).
    async fn candidate_keys(&self, header: &jsonwebtoken::Header) -> Result<Vec<Jwk>, JwtError> {
        let kid = header.kid.as_deref();
        let candidates = {
            let started = Instant::now();
            let mut cache = self.cache.lock().await;
            if cache.keys.is_none() {
                self.refresh_gated(&mut cache, started).await?;
            }
            let mut found =
                Self::candidates(cache.keys.as_deref().unwrap_or_default(), header.alg, kid);
            let interval = Duration::from_millis(self.refetch_interval_ms.load(Ordering::Relaxed));
            let may_refetch = cache.last_fetch.is_none_or(|t| t.elapsed() >= interval);
            if found.is_empty() && may_refetch {
                self.refresh_gated(&mut cache, started).await?;
                found =
                    Self::candidates(cache.keys.as_deref().unwrap_or_default(), header.alg, kid);
            }
            found
        };
        if candidates.is_empty() {
            return Err(JwtError::Invalid(
                "token is signed with a key the issuer does not publish".into(),
            ));
        }
        Ok(candidates)
    }

    pub async fn verify(&self, token: &str) -> Result<Map<String, Value>, JwtError> {
        let invalid = |m: &str| JwtError::Invalid(m.to_string());
        let header = self.accepted_header(token)?;
        let candidates = self.candidate_keys(&header).await?;

        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.identity.issuer]);
        validation.set_audience(&[&self.identity.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);

        for jwk in &candidates {
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            match jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation) {
                Ok(data) => return Ok(data.claims),
                Err(e) => {
                    use jsonwebtoken::errors::ErrorKind as K;
                    let err = match e.kind() {
                        // Another candidate key (same kid or no kid) may fit.
                        K::InvalidSignature => continue,
                        K::ExpiredSignature => invalid("token has expired"),
                        K::ImmatureSignature => invalid("token is not valid yet (nbf)"),
                        K::InvalidIssuer => invalid("token has the wrong issuer"),
                        K::InvalidAudience => invalid("token has the wrong audience"),
                        K::MissingRequiredClaim(c) => {
                            JwtError::Invalid(format!("token has no {c:?} claim"))
                        }
                        _ => invalid("invalid token"),
                    };
                    return Err(err);
                }
            }
        }
        Err(invalid("invalid token signature"))
    }
}

/// `error: cause: cause …`, since reqwest's own message omits the causes.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

/// Whether `jwk` can verify a signature made with `alg`.
fn key_fits(jwk: &Jwk, alg: Algorithm) -> bool {
    if let Some(PublicKeyUse::Encryption) = jwk.common.public_key_use {
        return false;
    }
    let declared_ok = match jwk.common.key_algorithm {
        None => true,
        Some(KeyAlgorithm::RS256) => alg == Algorithm::RS256,
        Some(KeyAlgorithm::ES256) => alg == Algorithm::ES256,
        Some(_) => false,
    };
    let kind_ok = match (&jwk.algorithm, alg) {
        (AlgorithmParameters::RSA(_), Algorithm::RS256) => true,
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => {
            ec.curve == EllipticCurve::P256
        }
        _ => false,
    };
    declared_ok && kind_ok
}

/// Extracts the user id from `claims[claim]` (a string, or a number rendered as text).
pub fn user_id(claims: &Map<String, Value>, claim: &str) -> Option<String> {
    match claims.get(claim)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_gate_shares_outcomes_and_backs_off() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut g = FetchGate::default();
        // Nothing fetched yet: go ahead.
        assert_eq!(g.admit(t0, t0), Ok(None));
        g.record(t0 + s(1), Some("down".into()));
        // Queued before that fetch ended: its error, no second fetch.
        assert_eq!(g.admit(t0, t0 + s(1)), Err("down".into()));
        // Arrived later, within the back-off (1 s after one failure): refused.
        let later = t0 + Duration::from_millis(1500);
        assert!(g.admit(later, later).unwrap_err().contains("not retried"));
        // After it: fetch again.
        assert_eq!(g.admit(t0 + s(2), t0 + s(2)), Ok(None));
        // The back-off doubles per failure, capped.
        let cases = [(1, 1), (2, 2), (3, 4), (5, 16), (6, 30), (40, 30)];
        for (failures, secs) in cases {
            g.failures = failures;
            assert_eq!(g.backoff(), s(secs), "{failures}");
        }
        // A success resets it and is shared with those who waited.
        g.record(t0 + s(100), None);
        assert_eq!(g.failures, 0);
        assert_eq!(g.admit(t0 + s(99), t0 + s(100)), Ok(Some(())));
        assert_eq!(g.admit(t0 + s(101), t0 + s(101)), Ok(None));
    }
}
