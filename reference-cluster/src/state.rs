//! The state shared by every request: configuration, store, JWT verifier,
//! fault settings, request counters and idempotency records.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::auth::Authority;
use crate::config::{Config, Faults};
use crate::error::ApiError;
use crate::idempotency::Idempotency;
use crate::jwt::JwtVerifier;
use crate::store::{Store, StoreResult, TokenRecord};
use crate::token;

/// Shared server state.
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub verifier: JwtVerifier,
    faults: Mutex<Faults>,
    /// Request counts per route (`"METHOD /path/template"`).
    requests: Mutex<BTreeMap<String, u64>>,
    pub(crate) idempotency: Arc<Idempotency>,
    /// When new tokens start to work (`crate::activation`).
    pub activation: crate::activation::Activation,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    /// Opens the database and prepares the verifier; inside a tokio runtime
    /// also starts the timer that expires idempotency records.
    pub fn new(config: Config) -> Result<Arc<AppState>, rusqlite::Error> {
        let store = Store::open(&config.database)?;
        Ok(Arc::new(AppState {
            verifier: JwtVerifier::new(config.identity.clone()),
            faults: Mutex::new(config.faults),
            activation: crate::activation::Activation::new(config.activation),
            config: Arc::new(config),
            store,
            requests: Mutex::default(),
            idempotency: Idempotency::start(),
        }))
    }

    /// Current fault settings.
    pub fn faults(&self) -> Faults {
        *lock(&self.faults)
    }

    /// Replaces the fault settings.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.faults) = faults;
    }

    /// Changes the fault settings in place; returns them as they now are.
    pub(crate) fn update_faults(&self, change: impl FnOnce(&mut Faults)) -> Faults {
        let mut f = lock(&self.faults);
        change(&mut f);
        *f
    }

    /// Uses up one of the armed faults `which`; whether there was one.
    pub(crate) fn take_fault(&self, which: fn(&mut Faults) -> &mut u64) -> bool {
        let mut f = lock(&self.faults);
        let n = which(&mut f);
        if *n > 0 {
            *n -= 1;
            true
        } else {
            false
        }
    }

    /// Request counts per route (`"METHOD /path/template"`).
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.requests).clone()
    }

    pub(crate) fn count_request(&self, route: String) {
        *lock(&self.requests).entry(route).or_default() += 1;
    }

    /// What authenticates a Management API request.
    pub(crate) fn authority(&self) -> Authority<'_> {
        Authority {
            config: &self.config,
            store: &self.store,
            verifier: &self.verifier,
            activation: &self.activation,
        }
    }

    /// Runs `f` on the store (on a blocking thread); a failure is a 500
    /// naming `what` ("listing databases").
    pub(crate) async fn db<T, F>(&self, what: &str, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> StoreResult<T> + Send + 'static,
    {
        self.store
            .run(f)
            .await
            .map_err(|e| ApiError::internal(what, e))
    }

    /// Runs `f` on the store for the object named `name` (a token id, a
    /// database name); when it finds none, the 404 `missing(name)`.
    pub(crate) async fn found<T, F>(
        &self,
        what: &str,
        name: &str,
        missing: fn(&str) -> ApiError,
        f: F,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store, &str) -> StoreResult<Option<T>> + Send + 'static,
    {
        let lookup = name.to_string();
        self.db(what, move |s| f(s, &lookup))
            .await?
            .ok_or_else(|| missing(name))
    }

    /// Creates and stores a management token, whatever the
    /// `management_tokens` switch says (tests use this to hand a "stock"
    /// cluster a management token). Returns the record and the token.
    pub async fn issue_management_token(
        &self,
        description: String,
        expires_at: Option<i64>,
        created_by: String,
    ) -> Result<(TokenRecord, String), rusqlite::Error> {
        let access_token = token::generate_token();
        let record = TokenRecord {
            id: token::new_uuid_v4(),
            description,
            token_prefix: token::display_prefix(&access_token),
            created_at: token::now_micros(),
            created_by,
            expires_at,
            revoked_at: None,
        };
        let hash = token::hash_token(&access_token);
        let rec = record.clone();
        self.store.run(move |s| s.insert(&rec, &hash)).await?;
        Ok((record, access_token))
    }
}
