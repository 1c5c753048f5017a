//! Activation delay (issue 17): on a real cluster a new token can take
//! seconds to minutes before queries and writes accept it (InfluxData's
//! docs-v2 issue "Delay between token creation and token being active for
//! queries"). This setting reproduces that, per token kind, so tests can show
//! that a rotation never hands consumers a token that does not work yet.
//!
//! - a **database** token younger than `database_ms` gets 401 on the data
//!   path (`/query`, `/write`, `/api/v2/write`), as an unknown token would:
//!   a real cluster does not say "not yet" either;
//! - a **management** token younger than `management_ms` gets 401 on the
//!   Management API.
//!
//! Set in the config (`[activation]`) or at run time with test control:
//! `POST /__test/activation {"database_ms": 3000, "management_ms": 0}`
//! (omitted fields unchanged); `GET /__test/activation` shows it. Refusals
//! are counted in `/__test/stats` under `not_active`.
//!
//! A delay is a race with the client under test on a loaded machine (its
//! first readiness check may come after the delay is over), so tests that
//! must see a refusal set a count instead: `{"management_refusals": 1}`
//! refuses the next presentation of a management token created from now
//! on, whatever its age (`database_refusals` likewise on the data path).
//! Tokens that existed before the setting (an admin's) are never counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, json_response};
use crate::state::AppState;

/// `[activation]` in the config: delays in milliseconds, 0 = at once.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ActivationConfig {
    #[serde(default)]
    pub database_ms: u64,
    #[serde(default)]
    pub management_ms: u64,
}

/// Which path a token is refused on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Database,
    Management,
}

/// The live settings and the count of refusals.
#[derive(Debug, Default)]
pub struct Activation {
    database_ms: AtomicU64,
    management_ms: AtomicU64,
    refused: AtomicU64,
    /// Presentations still to refuse, per kind, of tokens created at or
    /// after `since_micros` (test control only).
    database_refusals: AtomicU64,
    management_refusals: AtomicU64,
    since_micros: AtomicI64,
}

impl Activation {
    pub fn new(c: ActivationConfig) -> Self {
        let a = Activation::default();
        a.set(c);
        a
    }

    pub fn get(&self) -> ActivationConfig {
        ActivationConfig {
            database_ms: self.database_ms.load(Ordering::SeqCst),
            management_ms: self.management_ms.load(Ordering::SeqCst),
        }
    }

    pub fn set(&self, c: ActivationConfig) {
        self.database_ms.store(c.database_ms, Ordering::SeqCst);
        self.management_ms.store(c.management_ms, Ordering::SeqCst);
    }

    /// How many requests were refused because their token was too young.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::SeqCst)
    }

    /// `Err(401)` while a token created at `created_micros` is not active
    /// yet at `now_micros`.
    pub fn check(&self, kind: Kind, created_micros: i64, now_micros: i64) -> Result<(), ApiError> {
        let delay_ms = match kind {
            Kind::Database => self.database_ms.load(Ordering::SeqCst),
            Kind::Management => self.management_ms.load(Ordering::SeqCst),
        };
        let age_micros = now_micros.saturating_sub(created_micros);
        if age_micros >= (delay_ms as i64).saturating_mul(1000)
            && !self.take_refusal(kind, created_micros)
        {
            return Ok(());
        }
        self.refused.fetch_add(1, Ordering::SeqCst);
        Err(ApiError::unauthorized(match kind {
            Kind::Database => "unknown database token",
            Kind::Management => "unknown management token",
        }))
    }
}

impl Activation {
    fn refusals(&self, kind: Kind) -> &AtomicU64 {
        match kind {
            Kind::Database => &self.database_refusals,
            Kind::Management => &self.management_refusals,
        }
    }

    /// Arm `n` refusals of `kind` for tokens created from `now_micros` on.
    pub fn refuse_next(&self, kind: Kind, n: u64, now_micros: i64) {
        self.since_micros.store(now_micros, Ordering::SeqCst);
        self.refusals(kind).store(n, Ordering::SeqCst);
    }

    /// Use up one armed refusal, if this token is new enough to count.
    fn take_refusal(&self, kind: Kind, created_micros: i64) -> bool {
        created_micros >= self.since_micros.load(Ordering::SeqCst)
            && self
                .refusals(kind)
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
    }
}

/// Body of `POST /__test/activation`; omitted fields are left unchanged.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Update {
    database_ms: Option<u64>,
    management_ms: Option<u64>,
    database_refusals: Option<u64>,
    management_refusals: Option<u64>,
}

async fn set(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let u: Update = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => {
            return ApiError::bad_request(format!("bad activation body: {e}")).into_response();
        }
    };
    let mut c = state.activation.get();
    c.database_ms = u.database_ms.unwrap_or(c.database_ms);
    c.management_ms = u.management_ms.unwrap_or(c.management_ms);
    state.activation.set(c);
    let now = crate::token::now_micros();
    for (kind, n) in [
        (Kind::Database, u.database_refusals),
        (Kind::Management, u.management_refusals),
    ] {
        if let Some(n) = n {
            state.activation.refuse_next(kind, n, now);
        }
    }
    show(State(state)).await
}

async fn show(State(state): State<Arc<AppState>>) -> Response {
    let body = serde_json::json!({
        "database_ms": state.activation.get().database_ms,
        "management_ms": state.activation.get().management_ms,
        "database_refusals": state.activation.database_refusals.load(Ordering::SeqCst),
        "management_refusals": state.activation.management_refusals.load(Ordering::SeqCst),
        "not_active": state.activation.refused(),
    });
    json_response(StatusCode::OK, body.to_string().into_bytes())
}

/// The test-control routes (served only with `test_control = true`).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route(
        "/__test/activation",
        axum::routing::post(set)
            .get(show)
            .fallback(crate::error::method_not_allowed),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn young_tokens_are_refused_per_kind() {
        let a = Activation::new(ActivationConfig {
            database_ms: 3000,
            management_ms: 0,
        });
        let created = 1_000_000_000;
        // (kind, age in ms, accepted)
        let cases = [
            (Kind::Database, 0, false),
            (Kind::Database, 2999, false),
            (Kind::Database, 3000, true),
            (Kind::Management, 0, true),
        ];
        for (kind, age_ms, ok) in cases {
            let r = a.check(kind, created, created + age_ms * 1000);
            assert_eq!(r.is_ok(), ok, "{kind:?} at {age_ms} ms");
        }
        assert_eq!(a.refused(), 2);
    }

    #[test]
    fn armed_refusals_count_only_tokens_made_after_them() {
        let a = Activation::default();
        let (old, armed, new) = (1_000, 2_000, 3_000);
        a.refuse_next(Kind::Management, 2, armed);
        // (kind, created, accepted): an older token is never refused; a new
        // one twice, then it works; the other kind is not armed.
        let cases = [
            (Kind::Management, old, true),
            (Kind::Management, new, false),
            (Kind::Database, new, true),
            (Kind::Management, new, false),
            (Kind::Management, new, true),
        ];
        for (i, (kind, created, ok)) in cases.into_iter().enumerate() {
            let r = a.check(kind, created, new + 10);
            assert_eq!(r.is_ok(), ok, "case {i}: {kind:?} created at {created}");
        }
        assert_eq!(a.refused(), 2);
    }
}
