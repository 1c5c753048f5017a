//! The OAuth session: discovery, device flow, token cache, refresh.
pub mod cache;
pub mod client;
pub mod device;
pub mod discovery;
pub mod idtoken;
pub mod poller;

use crate::error::{AuthError, ConfigError};
use crate::http::HttpClient;
use crate::settings::Config;
use cache::{Cache, Session, SessionKey};
use chrono::{DateTime, Utc};
use device::{DeviceAuthorization, RefreshOutcome, TokenSet};
use discovery::Endpoints;
use poller::PollEvent;
use std::path::PathBuf;

/// Receives what the person (or a wrapper) should see during a login.
pub trait LoginUi {
    /// The user code is known: show it (RFC 8628 §3.3).
    fn device_code(&mut self, auth: &DeviceAuthorization, expires_at: DateTime<Utc>);
    /// Something changed while polling (slow down, retry, back-off).
    fn poll_event(&mut self, event: &PollEvent);
    /// Another process holds the session lock.
    fn waiting_for_other_process(&mut self);
    /// The flow is over (success or not): stop any live display.
    fn finish(&mut self);
    /// A session is in hand (reused, refreshed or new) for `profile`: the
    /// `authorized` event of `--format json`, for `login` and for every
    /// command that logs in on its way (issue 23, A12).
    fn authorized(&mut self, _profile: &str, _acquired: &Acquired) {}
}

/// How the returned session was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Obtained {
    Cached,
    Refreshed,
    DeviceFlow,
    /// A workload's token from the client credentials grant (never cached).
    ClientCredentials,
}

#[derive(Debug)]
pub struct Acquired {
    pub session: Session,
    pub how: Obtained,
    /// Where the session is cached (none for a workload's token).
    pub path: Option<PathBuf>,
    /// A new login's session, still being written there
    /// ([`cache::Cache::store_beside`]).
    pub saving: Option<cache::Saving>,
}

/// What to do when the provider refuses the saved session's refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenRefused {
    /// Start a new device flow (`login`: a new login is what was asked for).
    LogIn,
    /// Start one only where a person can approve it (stdin and stderr
    /// terminals, not CI); a script stops with exit 6 and the command to run,
    /// instead of waiting for an approval nobody will give.
    LogInIfPersonPresent,
}

/// Session management for one profile.
pub struct Auth<'a> {
    cfg: &'a Config,
    http: &'a HttpClient,
    cache: Cache,
    key: SessionKey,
    when_refused: WhenRefused,
    /// The provider's endpoints, discovered ahead while the cluster is
    /// probed ([`Auth::prefetch_endpoints`]); taken by the device flow.
    endpoints: std::sync::Mutex<Option<anyhow::Result<Endpoints>>>,
}

/// The cache key of the active profile, from configuration alone.
pub fn session_key(cfg: &Config) -> Result<SessionKey, ConfigError> {
    let p = &cfg.profile;
    let client_id = p
        .oauth2
        .client_id
        .as_ref()
        .ok_or_else(|| ConfigError::Missing {
            what: "`client_id`".into(),
            profile: p.name.value.clone(),
            hint: "set client_id under [profile.auth.oauth2] (or INFLUX_BOOTSTRAP_CLIENT_ID)"
                .into(),
        })?;
    let authority = p
        .oauth2
        .issuer
        .as_ref()
        .or(p.oauth2.token_url.as_ref())
        .ok_or_else(|| ConfigError::Missing {
            what: "`issuer` (or `token_url` and `device_url`)".into(),
            profile: p.name.value.clone(),
            hint: "add `issuer = \"https://...\"` under [profile.auth.oauth2]; see `config/` for examples".into(),
        })?;
    let mut scopes = p.oauth2.scopes.value.clone();
    scopes.sort();
    scopes.dedup();
    Ok(SessionKey {
        authority: authority.value.as_str().trim_end_matches('/').to_string(),
        client_id: client_id.value.clone(),
        audience: p.audience().map(str::to_string),
        cluster: p.cluster_address(),
        scopes,
        parameters: p.oauth2.parameters.value.clone(),
    })
}

impl<'a> Auth<'a> {
    pub fn new(cfg: &'a Config, http: &'a HttpClient) -> Result<Self, ConfigError> {
        Ok(Auth {
            cfg,
            http,
            cache: Cache::new(cfg.files.cache_dir.value.clone(), http.printer().clone()),
            key: session_key(cfg)?,
            when_refused: WhenRefused::LogInIfPersonPresent,
            endpoints: std::sync::Mutex::new(None),
        })
    }

    /// Discover the provider's endpoints now when a device flow is certain
    /// (no session cached for this key), so a caller can run it beside the
    /// cluster's pre-flight probe (issue 21: one round trip less before the
    /// user code) and still send the device authorization request only once
    /// the probe passed. A cached session (valid or refreshable) needs no
    /// discovery, so nothing is fetched for it; whether the file exists is
    /// all that is looked at here (reading it, with its trust checks, is the
    /// locked [`Auth::session`]'s job). A failed discovery is kept and
    /// reported by the device flow, after the probe's verdict.
    pub async fn prefetch_endpoints(&self) {
        let p = &self.cfg.profile;
        if p.oauth2.grant.value != crate::settings::Grant::Device
            || self.cache.path(&self.key).exists()
        {
            return;
        }
        let found = discovery::resolve(self.http, &p.oauth2, &p.name.value).await;
        *self.endpoints.lock().unwrap_or_else(|e| e.into_inner()) = Some(found);
    }

    /// Can [`Auth::session`] run without asking a person to log in: a
    /// workload's grant, or a cached access token valid for at least
    /// another minute (so it is still valid when `session` reads it again
    /// under the lock)? A cache that cannot be read says no (`session`
    /// reports why). A deferred pre-flight probe relies on this
    /// (`Backend::credential`): no device flow starts before its verdict.
    pub fn needs_no_person(&self) -> bool {
        if self.cfg.profile.oauth2.grant.value == crate::settings::Grant::ClientCredentials {
            return true;
        }
        let soon = Utc::now() + chrono::Duration::minutes(1);
        matches!(self.cache.load(&self.key), Ok(Some(s)) if s.access_token_valid(soon))
    }

    /// What a refused refresh token leads to (default: a new login only
    /// where a person is present).
    pub fn when_refused(mut self, then: WhenRefused) -> Self {
        self.when_refused = then;
        self
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    pub fn key(&self) -> &SessionKey {
        &self.key
    }

    fn client_id(&self) -> &str {
        &self.key.client_id
    }

    /// A usable session: the cached one if still valid, else refreshed, else
    /// (unless `allow_device_flow` is false) a new device flow. `force` skips
    /// straight to the device flow.
    pub async fn session(
        &self,
        force: bool,
        allow_device_flow: bool,
        ui: &mut dyn LoginUi,
    ) -> Result<Acquired, anyhow::Error> {
        // A workload logs in afresh every time: no cache, no lock, no
        // device flow, no refresh token (issue 20).
        if self.cfg.profile.oauth2.grant.value == crate::settings::Grant::ClientCredentials {
            return self.workload().await;
        }
        // Hold the lock across read-refresh-write so a concurrent process
        // cannot refresh with the same (rotating) refresh token.
        let lock = match self.cache.try_lock(&self.key)? {
            cache::Locking::Held(lock) => lock,
            cache::Locking::Busy(pending) => {
                ui.waiting_for_other_process();
                tokio::task::spawn_blocking(move || pending.wait()).await??
            }
        };
        let now = Utc::now();
        if !force {
            if let Some(s) = self.cache.load(&self.key)? {
                if s.access_token_valid(now) {
                    tracing::info!("using the cached session");
                    let path = Some(self.cache.path(&self.key));
                    return Ok(Acquired {
                        session: s,
                        how: Obtained::Cached,
                        path,
                        saving: None,
                    });
                }
                if let Some(rt) = s.refresh_token.clone() {
                    if let Some(acquired) = self.refresh(s, &rt, allow_device_flow).await? {
                        return Ok(acquired);
                    }
                } else if !allow_device_flow {
                    return Err(AuthError::RefreshRejected {
                        error: "access token expired and no refresh token".into(),
                        profile: self.cfg.profile.name.value.clone(),
                    }
                    .into());
                }
            } else if !allow_device_flow {
                return Err(AuthError::NotLoggedIn {
                    profile: self.cfg.profile.name.value.clone(),
                }
                .into());
            }
        }
        let session = self.device_flow(ui).await?;
        // Written beside what comes next (the lock held until then); the
        // caller waits for it where it must ([`Acquired::saving`]).
        let saving = self.cache.store_beside(session.clone(), lock);
        Ok(Acquired {
            session,
            how: Obtained::DeviceFlow,
            path: Some(self.cache.path(&self.key)),
            saving: Some(saving),
        })
    }

    /// Refresh the expired session `s` (RFC 6749 §6). `None`: the provider
    /// refused the refresh token and a new login may start (the caller runs
    /// the device flow); refused where no login may start is an error.
    async fn refresh(
        &self,
        s: Session,
        rt: &crate::secret::Secret,
        allow_device_flow: bool,
    ) -> Result<Option<Acquired>, anyhow::Error> {
        tracing::info!("access token expired; refreshing");
        // The provider's keys are fetched beside the refresh when the
        // session has an ID token (its refresh is likely to bring a new one,
        // OIDC Core 12.2), so checking it costs no round trip after the
        // answer (issue 21); a set that fails is fetched again once.
        let keys = async {
            match (&s.id_token, &s.jwks_uri) {
                (Some(_), Some(uri)) => idtoken::fetch_jwks(self.http, uri).await.ok(),
                _ => None,
            }
        };
        let refresh = device::refresh(self.http, &s.token_endpoint, self.client_id(), rt);
        let (outcome, jwks) = tokio::join!(refresh, keys);
        match outcome? {
            RefreshOutcome::Refreshed(tokens) => {
                let session = self.refreshed(s, tokens, jwks).await?;
                // Saved before anyone uses the new tokens: the old
                // refresh token is already spent at the provider.
                let path = Some(self.cache.store(&session)?);
                Ok(Some(Acquired {
                    session,
                    how: Obtained::Refreshed,
                    path,
                    saving: None,
                }))
            }
            RefreshOutcome::Rejected(error) => {
                // The session is over (RFC 6749 §5.2): keeping it
                // would only fail the same way next time.
                tracing::info!(%error, "refresh token rejected; dropping the session");
                self.cache.remove(&self.key)?;
                let profile = self.cfg.profile.name.value.clone();
                let person = self.http.printer().person_present();
                let log_in =
                    allow_device_flow && (self.when_refused == WhenRefused::LogIn || person);
                if !log_in {
                    return Err(AuthError::RefreshRejected { error, profile }.into());
                }
                self.http.printer().note(format!(
                    "the saved session of profile `{profile}` is over: the identity provider refused its refresh token ({error}); it was deleted; starting a new login"
                ));
                Ok(None)
            }
        }
    }

    /// The client credentials grant (RFC 6749 §4.4) with the profile's one
    /// client credential; the session is built but never stored.
    async fn workload(&self) -> Result<Acquired, anyhow::Error> {
        let p = &self.cfg.profile;
        let auth = client::ClientAuth::from_profile(&p.oauth2, &p.name.value)?;
        let endpoint = discovery::token_endpoint(self.http, &p.oauth2, &p.name.value).await?;
        tracing::info!(
            client_id = %self.client_id(),
            method = auth.method(),
            "logging in as a workload (client credentials): {}",
            auth.describe()
        );
        let grant =
            client::client_credentials(self.http, &p.oauth2, self.client_id(), &auth, &endpoint)
                .await?;
        tracing::info!(
            client_id = %self.client_id(),
            subject = %grant.identity.subject,
            "workload access token obtained (not cached)"
        );
        let now = Utc::now();
        let tokens = grant.tokens;
        Ok(Acquired {
            session: Session {
                version: cache::FORMAT_VERSION,
                key: self.key.clone(),
                profile: p.name.value.clone(),
                token_endpoint: endpoint.token,
                revocation_endpoint: None,
                jwks_uri: None,
                issuer: endpoint.issuer,
                expires_at: tokens.expires_in.map(|d| cache::expires_at(now, d)),
                access_token: tokens.access_token,
                // RFC 6749 §4.4.3: none is expected; one sent anyway is
                // dropped, since nothing is kept between runs.
                refresh_token: None,
                refresh_expires_at: None,
                id_token: None,
                scope: tokens.scope,
                identity: Some(grant.identity),
                obtained_at: now,
                refreshed_at: None,
            },
            how: Obtained::ClientCredentials,
            path: None,
            saving: None,
        })
    }

    async fn device_flow(&self, ui: &mut dyn LoginUi) -> Result<Session, anyhow::Error> {
        let p = &self.cfg.profile;
        let prefetched = self
            .endpoints
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let endpoints = match prefetched {
            Some(found) => found?,
            None => discovery::resolve(self.http, &p.oauth2, &p.name.value).await?,
        };
        let auth = device::request_device_code(
            self.http,
            &endpoints.device_authorization,
            self.client_id(),
            &p.oauth2.scopes.value,
            &p.oauth2.parameters.value,
        )
        .await?;
        let started = Utc::now();
        let expires_at = started + chrono::Duration::from_std(auth.expires_in).unwrap_or_default();
        ui.device_code(&auth, expires_at);
        let poller = poller::Poller::new(auth.interval, auth.expires_in, std::time::Instant::now());
        let token_url = endpoints.token.clone();
        // The provider's keys are fetched while the person approves, so the
        // ID token is checked without another round trip after approval.
        let prefetch = async {
            match &endpoints.jwks {
                Some(uri) => idtoken::fetch_jwks(self.http, uri).await.ok(),
                None => None,
            }
        };
        let (result, jwks) = {
            let ui_cell = std::cell::RefCell::new(&mut *ui);
            let poll = poller::run(
                poller,
                &poller::TokioClock,
                || device::poll_once(self.http, &token_url, self.client_id(), &auth.device_code),
                std::future::pending::<()>(),
                |e, _| ui_cell.borrow_mut().poll_event(e),
            );
            let (result, jwks) = tokio::join!(poll, prefetch);
            (result, jwks)
        };
        ui.finish();
        let tokens = result?;
        self.new_session(&endpoints, tokens, jwks).await
    }

    async fn identity(
        &self,
        issuer: Option<&str>,
        jwks_uri: Option<&url::Url>,
        tokens: &TokenSet,
        prefetched: Option<jsonwebtoken::jwk::JwkSet>,
    ) -> Result<Option<idtoken::Identity>, anyhow::Error> {
        if let (Some(id_token), Some(issuer), Some(jwks_uri)) = (&tokens.id_token, issuer, jwks_uri)
        {
            // Keys fetched during this login (prefetched while waiting) or
            // now; never cached across logins, so a rotated signing key is
            // never a problem. A prefetched set that fails is fetched again
            // once, in case the key rotated in between.
            if let Some(jwks) = prefetched
                && let Ok(id) = idtoken::verify(id_token, &jwks, issuer, self.client_id())
            {
                return Ok(Some(id));
            }
            let jwks = idtoken::fetch_jwks(self.http, jwks_uri).await?;
            let id = idtoken::verify(id_token, &jwks, issuer, self.client_id());
            return Ok(Some(id?));
        }
        if let Some(id_token) = &tokens.id_token {
            // Explicit endpoints and no issuer: no keys to check it with. The
            // ID token still names the person better than the access token
            // (which may be opaque, as on django-oauth-toolkit), so it is read
            // and marked unverified (OIDC Core 3.1.3.7 cannot be applied).
            tracing::info!(
                "no issuer/JWKS configured: the ID token cannot be verified; identity shown unverified"
            );
            if let Some(id) = idtoken::unverified_identity(id_token) {
                return Ok(Some(id));
            }
        }
        Ok(idtoken::unverified_identity(&tokens.access_token))
    }

    async fn new_session(
        &self,
        endpoints: &Endpoints,
        tokens: TokenSet,
        jwks: Option<jsonwebtoken::jwk::JwkSet>,
    ) -> Result<Session, anyhow::Error> {
        let identity = self
            .identity(
                endpoints.issuer.as_deref(),
                endpoints.jwks.as_ref(),
                &tokens,
                jwks,
            )
            .await?;
        let now = Utc::now();
        Ok(Session {
            version: cache::FORMAT_VERSION,
            key: self.key.clone(),
            profile: self.cfg.profile.name.value.clone(),
            token_endpoint: endpoints.token.clone(),
            revocation_endpoint: endpoints.revocation.clone(),
            jwks_uri: endpoints.jwks.clone(),
            issuer: endpoints.issuer.clone(),
            expires_at: tokens.expires_in.map(|d| cache::expires_at(now, d)),
            refresh_expires_at: refresh_expiry(now, &tokens),
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            id_token: tokens.id_token,
            scope: tokens.scope,
            identity,
            obtained_at: now,
            refreshed_at: None,
        })
    }

    async fn refreshed(
        &self,
        old: Session,
        tokens: TokenSet,
        prefetched: Option<jsonwebtoken::jwk::JwkSet>,
    ) -> Result<Session, anyhow::Error> {
        let now = Utc::now();
        // The newest ID token names the person (a provider may issue one only
        // on refresh, as django-oauth-toolkit does for the device grant).
        // A refreshed ID token that fails verification is not trusted, but
        // it must not lose the session either: the old refresh token is
        // already spent (RFC 6749 §6 rotation), so the new tokens are kept
        // and the earlier identity stays.
        let identity = if tokens.id_token.is_some() {
            match self
                .identity(
                    old.issuer.as_deref(),
                    old.jwks_uri.as_ref(),
                    &tokens,
                    prefetched,
                )
                .await
            {
                Ok(id) => id.or(old.identity.clone()),
                Err(e) => {
                    self.http.printer().warn(format!(
                        "the ID token of the refreshed session was not accepted ({e:#}); showing the earlier identity"
                    ));
                    old.identity.clone()
                }
            }
        } else {
            old.identity.clone()
        };
        // A new refresh token brings its own lifetime; a kept one keeps its.
        let refresh_expires_at = if tokens.refresh_token.is_some() {
            refresh_expiry(now, &tokens)
        } else {
            old.refresh_expires_at
        };
        Ok(Session {
            expires_at: tokens.expires_in.map(|d| cache::expires_at(now, d)),
            refresh_expires_at,
            access_token: tokens.access_token,
            // RFC 6749 §6: the server MAY issue a new refresh token; if it
            // does not, the old one stays valid.
            refresh_token: tokens.refresh_token.or(old.refresh_token.clone()),
            id_token: tokens.id_token.or(old.id_token.clone()),
            scope: tokens.scope.or(old.scope.clone()),
            identity,
            refreshed_at: Some(now),
            ..old
        })
    }
}

/// When the refresh token of `tokens` stops working, if the provider says:
/// `refresh_expires_in` (Keycloak), else the `exp` of a JWT refresh token.
fn refresh_expiry(now: DateTime<Utc>, tokens: &TokenSet) -> Option<DateTime<Utc>> {
    let rt = tokens.refresh_token.as_ref()?;
    match tokens.refresh_expires_in {
        Some(d) => Some(cache::expires_at(now, d)),
        None => idtoken::unverified_expiry(rt),
    }
}
