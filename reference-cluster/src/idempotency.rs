//! `Idempotency-Key` on our management-token create
//! (draft-ietf-httpapi-idempotency-key-header): a retried create with the
//! same key and the same request gets the first response again instead of a
//! second token. Records are kept in memory only: the stored response holds
//! the raw token, which thus never reaches the disk and is forgotten after
//! [`IDEMPOTENCY_TTL`] (or a restart).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;

use crate::auth::Principal;
use crate::error::ApiError;

/// How long an `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(600);
/// How often a timer drops expired idempotency records (they hold raw
/// tokens: they must not outlive their TTL by waiting for the next create).
pub const IDEMPOTENCY_SWEEP: Duration = Duration::from_secs(30);
/// At most this many idempotency records are kept; past it the oldest is
/// dropped (its key then no longer replays: a retry of that create would
/// make a second token). 10,000 is 16 keyed creates a second for the whole
/// TTL, far beyond any real use, and bounds the raw tokens held in memory.
pub const MAX_IDEMPOTENCY_RECORDS: usize = 10_000;
/// Maximum length of an `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

#[derive(Debug, Clone)]
struct Idempotent {
    request_hash: [u8; 32],
    /// `None` while the first request is still being processed.
    response: Option<(Bytes, String)>,
    expires: Instant,
}

type IdemKey = (Principal, String);

/// Idempotency records plus their expiry order, so expiring them costs
/// amortised O(1) per request instead of a scan of every record under the
/// lock (which halved create throughput once a few minutes of records had
/// piled up: bench/RESULTS.md, "reference cluster under load").
#[derive(Default)]
struct Records {
    map: HashMap<IdemKey, Idempotent>,
    /// (expiry, key) in the order they were set; entries whose record was
    /// since removed or given a later expiry are skipped when popped.
    order: VecDeque<(Instant, IdemKey)>,
}

impl Records {
    fn expire(&mut self, now: Instant) {
        while let Some((t, _)) = self.order.front() {
            if *t > now {
                break;
            }
            let Some((_, k)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&k).is_some_and(|r| r.expires <= now) {
                self.map.remove(&k);
            }
        }
    }

    fn insert(&mut self, k: IdemKey, rec: Idempotent) {
        while self.map.len() >= MAX_IDEMPOTENCY_RECORDS {
            self.evict_oldest();
        }
        self.order.push_back((rec.expires, k.clone()));
        self.map.insert(k, rec);
    }

    /// Drops the record that expires first (skipping queue entries whose
    /// record was since removed or extended).
    fn evict_oldest(&mut self) {
        while let Some((t, k)) = self.order.pop_front() {
            if self.map.get(&k).is_some_and(|r| r.expires == t) {
                self.map.remove(&k);
                return;
            }
        }
        // The queue always holds an entry for each record; be safe anyway.
        self.map.clear();
    }

    fn complete(&mut self, k: &IdemKey, response: (Bytes, String), expires: Instant) {
        if let Some(rec) = self.map.get_mut(k) {
            rec.response = Some(response);
            rec.expires = expires;
            self.order.push_back((expires, k.clone()));
        }
    }
}

/// The idempotency records of one server, keyed by (principal, key).
#[derive(Default)]
pub struct Idempotency(Mutex<Records>);

/// What a keyed create is to do.
pub(crate) enum Begun<'a> {
    /// The same request was answered before: answer it again.
    Replay { body: Bytes, location: String },
    /// Go ahead; [`InFlight::complete`] records the answer.
    Fresh(InFlight<'a>),
}

/// The clock of idempotency records: tokio's, so tests can move it
/// (`tokio::time::pause`); the real monotonic clock otherwise.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl Idempotency {
    /// New, empty records; inside a tokio runtime also starts the timer that
    /// drops expired ones every [`IDEMPOTENCY_SWEEP`] until they are gone.
    pub fn start() -> Arc<Idempotency> {
        let records = Arc::new(Idempotency::default());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(sweep(Arc::downgrade(&records)));
        }
        records
    }

    fn lock(&self) -> MutexGuard<'_, Records> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many records have not expired.
    pub fn live(&self) -> usize {
        let now = now();
        self.lock().map.values().filter(|r| r.expires > now).count()
    }

    /// Checks `key` of `principal` for a request whose meaning hashes to
    /// `request_hash`: a replay, a conflict (409: another request, or the
    /// first still running), or a fresh create holding the key (`key: None`
    /// holds nothing).
    pub(crate) fn begin(
        &self,
        principal: &Principal,
        key: Option<String>,
        request_hash: [u8; 32],
    ) -> Result<Begun<'_>, ApiError> {
        let mut fresh = InFlight {
            records: self,
            key: None,
        };
        let Some(key) = key else {
            return Ok(Begun::Fresh(fresh));
        };
        let now = now();
        let mut records = self.lock();
        records.expire(now);
        let k = (principal.clone(), key);
        if let Some(rec) = records.map.get(&k) {
            if rec.request_hash != request_hash {
                return Err(ApiError::conflict(
                    "Idempotency-Key was already used with a different request body",
                ));
            }
            return match &rec.response {
                Some((body, location)) => Ok(Begun::Replay {
                    body: body.clone(),
                    location: location.clone(),
                }),
                None => Err(ApiError::conflict(
                    "a request with this Idempotency-Key is still being processed",
                )),
            };
        }
        let rec = Idempotent {
            request_hash,
            response: None,
            expires: now + IDEMPOTENCY_TTL,
        };
        records.insert(k.clone(), rec);
        fresh.key = Some(k);
        Ok(Begun::Fresh(fresh))
    }
}

/// Drops expired records every [`IDEMPOTENCY_SWEEP`] until they are gone.
async fn sweep(records: Weak<Idempotency>) {
    let mut tick = tokio::time::interval(IDEMPOTENCY_SWEEP);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(records) = records.upgrade() else {
            return;
        };
        records.lock().expire(now());
    }
}

/// The `Idempotency-Key` header, if any: 1 to 255 visible ASCII characters.
pub(crate) fn key_of(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bad = || {
        ApiError::bad_request(format!(
            "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"
        ))
    };
    let s = v.to_str().map_err(|_| bad())?;
    if s.is_empty() || s.len() > MAX_IDEMPOTENCY_KEY_LEN || !s.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(bad());
    }
    Ok(Some(s.to_string()))
}

/// A create holding its key: removes the in-flight record unless completed
/// (so that a failed or cancelled create does not block its key).
pub(crate) struct InFlight<'a> {
    records: &'a Idempotency,
    key: Option<IdemKey>,
}

impl InFlight<'_> {
    /// Records the answer, replayed for [`IDEMPOTENCY_TTL`] from now.
    pub(crate) fn complete(mut self, body: Bytes, location: String) {
        if let Some(k) = self.key.take() {
            let expires = now() + IDEMPOTENCY_TTL;
            self.records.lock().complete(&k, (body, location), expires);
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            self.records.lock().map.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(expires: Instant) -> Idempotent {
        Idempotent {
            request_hash: [0; 32],
            response: None,
            expires,
        }
    }

    #[test]
    fn idempotency_records_expire_in_order_and_completion_extends() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let key = |n: &str| (Principal::User("admin".into()), n.to_string());
        let mut r = Records::default();
        r.insert(key("a"), rec(t0 + s));
        r.insert(key("b"), rec(t0 + 2 * s));
        r.insert(key("c"), rec(t0 + 3 * s));
        // Completing `a` pushes its expiry out; the old queue entry is skipped.
        r.complete(&key("a"), (Bytes::new(), String::new()), t0 + 10 * s);
        // `b` removed by a failed create, then reused later. (Expiries are
        // always now + TTL with a monotonic clock, so the queue stays sorted.)
        r.map.remove(&key("b"));
        r.insert(key("b"), rec(t0 + 11 * s));

        let cases = [
            (t0, vec!["a", "b", "c"]),
            (t0 + 2 * s, vec!["a", "b", "c"]),
            (t0 + 3 * s, vec!["a", "b"]),
            (t0 + 10 * s, vec!["b"]),
            (t0 + 11 * s, vec![]),
        ];
        for (now, want) in cases {
            r.expire(now);
            let mut have: Vec<&str> = r.map.keys().map(|(_, k)| k.as_str()).collect();
            have.sort();
            assert_eq!(have, want, "at +{:?}", now - t0);
        }
        assert!(r.order.is_empty(), "nothing left to expire");
    }

    #[test]
    fn idempotency_records_are_capped_oldest_first() {
        let t0 = Instant::now();
        let key = |n: usize| (Principal::User("admin".into()), n.to_string());
        let mut r = Records::default();
        for n in 0..MAX_IDEMPOTENCY_RECORDS + 3 {
            r.insert(key(n), rec(t0 + Duration::from_millis(n as u64)));
        }
        assert_eq!(r.map.len(), MAX_IDEMPOTENCY_RECORDS);
        for n in 0..3 {
            assert!(!r.map.contains_key(&key(n)), "{n} kept");
        }
        assert!(r.map.contains_key(&key(3)));
        assert!(r.map.contains_key(&key(MAX_IDEMPOTENCY_RECORDS + 2)));
    }

    /// The records (raw tokens inside) go on a timer, with no create coming
    /// along to expire them.
    #[tokio::test(start_paused = true)]
    async fn idempotency_records_expire_on_a_timer() {
        let app = crate::test_support::TestApp::new(crate::test_support::config());
        let m = app.management_token().await;
        let req = axum::http::Request::builder()
            .method("POST")
            .uri("/api/v0/management/tokens")
            .header("authorization", format!("Bearer {m}"))
            .header("content-type", "application/json")
            .header("idempotency-key", "k-1")
            .body(axum::body::Body::from(r#"{"description":"x"}"#))
            .unwrap();
        let resp = tower::ServiceExt::oneshot(app.router.clone(), req)
            .await
            .unwrap();
        assert_eq!(resp.status(), axum::http::StatusCode::CREATED);
        assert_eq!(app.state.idempotency.lock().map.len(), 1);
        // Paused clock: this moves time, it does not wait. The sweeper's tick
        // at TTL + one period runs before the clock reaches our wake-up.
        tokio::time::sleep(IDEMPOTENCY_TTL + 2 * IDEMPOTENCY_SWEEP).await;
        assert_eq!(app.state.idempotency.lock().map.len(), 0);
    }
}
