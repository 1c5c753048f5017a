//! The backend, chosen once: which API makes this profile's tokens, and how
//! a credential for it is obtained. ripgrep builds its matcher once in
//! `HiArgs` and everything downstream just uses it; here [`Backend::choose`]
//! is the only place that reads `management_backend`, and commands and
//! pipeline steps only ever see a [`Backend`] (which is itself a
//! [`TokenApi`]).
//!
//! | want            | profile                          | backend                     |
//! |-----------------|----------------------------------|-----------------------------|
//! | management token| `management_backend = "api"`     | [`Backend::Api`] (ours)     |
//! | management token| `management_backend = "influxctl"`| [`Backend::Influxctl`]     |
//! | database token  | either                           | [`Backend::Database`] (documented API) |
use super::credential::Session;
use super::{DatabaseTokens, InfluxctlTokens, TokenApi};
use crate::auth::LoginUi;
use crate::cluster::documented::{DocumentedClient, Permission};
use crate::cluster::probe::PROBE_TIMEOUT;
use crate::cluster::{ClusterClient, CreatedToken, Credential, ManagementToken, NewToken};
use crate::error::{AuthError, ClusterError, ProbeError};
use crate::http::HttpClient;
use crate::interrupt::Interrupt;
use crate::secret::Secret;
use crate::settings::Config;
use crate::state::{ClusterRef, TokenKind};
use std::cell::{Cell, RefCell};

/// Would the pre-flight probe have passed on the API that gave this answer
/// (the route is there and wants a credential)? The documented probe takes
/// 403 as 401 (`probe::documented_api`); ours does not (`probe::check`).
fn probe_would_pass(e: &ClusterError, documented: bool) -> bool {
    match e {
        ClusterError::Unauthorized { .. } => true,
        ClusterError::Forbidden { .. } => documented,
        _ => false,
    }
}

/// Could the same read be answered differently a moment later (what the
/// retry policy retries: [`crate::cluster::retried_status`], no connection)?
fn worth_again(e: &ClusterError) -> bool {
    match e {
        ClusterError::Unreachable { .. } => true,
        ClusterError::Server { status, .. } => crate::cluster::retried_status(*status),
        _ => false,
    }
}

/// What a command wants to make or manage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// Management tokens (ours, or influxctl's on a stock cluster).
    Management,
    /// Database tokens with these permissions (the documented API). Empty
    /// until known for a rotation, which reads them back from the old token.
    Database(Vec<Permission>),
}

/// Which API makes the tokens, with the profile and HTTP client it speaks
/// with. Built once per command by [`Backend::choose`].
pub struct Backend<'a> {
    cfg: &'a Config,
    http: &'a HttpClient,
    api: Api<'a>,
    /// Where the pre-flight probe stands (it runs at most once per command).
    probe: Cell<Probe>,
    /// What the readiness check of a management token this run made read
    /// back, with the token's own credential: the verify that follows the
    /// stores makes the same read with the same credential, and takes this
    /// answer instead of a second round trip (issue 21). Taken once.
    read_back: RefCell<Option<(Secret, ManagementToken)>>,
}

/// The pre-flight probe of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    /// Not run yet: it runs before anything is sent.
    Due,
    /// The next read (`list` or `get`) stands in for it
    /// ([`Backend::defer_probe`]).
    Deferred,
    /// It ran, or a read answered as it would have.
    Passed,
}

// One per command, never moved around: the size difference is harmless.
#[allow(clippy::large_enum_variant)]
enum Api<'a> {
    /// Our management-token API.
    Ours(ClusterClient<'a>),
    /// `influxctl` on a stock cluster (its private gRPC API).
    Influxctl(InfluxctlTokens<'a>),
    /// Database tokens on InfluxData's documented Management API.
    Database(DatabaseTokens<'a>),
}

impl<'a> Backend<'a> {
    /// Choose the backend from the profile, once. `person_needed`: whether
    /// influxctl may have to log a person in (it then needs the provider's
    /// endpoints); a rotation authenticates with the stored token.
    pub async fn choose(
        cfg: &'a Config,
        http: &'a HttpClient,
        want: Want,
        person_needed: bool,
    ) -> anyhow::Result<Backend<'a>> {
        let api = match want {
            // The client checks where the documented API is served.
            Want::Database(permissions) => Api::Database(DatabaseTokens {
                client: DocumentedClient::new(cfg, http)?,
                permissions,
            }),
            Want::Management => {
                // The cluster's address, checked before anyone logs in
                // (influxctl builds no client of ours that would).
                crate::cluster::base_url(&cfg.profile)?;
                if cfg.uses_influxctl() {
                    let person = person_needed && cfg.profile.mgmt_token.is_none();
                    let printer = http.printer();
                    Api::Influxctl(super::influxctl_tokens(cfg, http, printer, person).await?)
                } else {
                    Api::Ours(ClusterClient::new(&cfg.profile, http)?)
                }
            }
        };
        Ok(Backend {
            cfg,
            http,
            api,
            probe: Cell::new(Probe::Due),
            read_back: RefCell::new(None),
        })
    }

    pub fn cfg(&self) -> &'a Config {
        self.cfg
    }

    /// The documented API's client (database tokens, databases).
    pub fn documented(&self) -> Option<&DocumentedClient<'a>> {
        match &self.api {
            Api::Database(t) => Some(&t.client),
            _ => None,
        }
    }

    /// Does this backend make tokens through influxctl (which logs a person
    /// in itself and authenticates with the token it is given)?
    pub fn is_influxctl(&self) -> bool {
        matches!(self.api, Api::Influxctl(_))
    }

    /// The permissions of the database tokens made from now on (a rotation
    /// learns them from the old token).
    pub fn set_permissions(&mut self, ps: Vec<Permission>) {
        if let Api::Database(t) = &mut self.api {
            t.permissions = ps;
        }
    }

    /// The cluster the tokens belong to, as the state directory records it.
    pub fn cluster_ref(&self) -> anyhow::Result<ClusterRef> {
        Ok(match &self.api {
            Api::Database(t) => super::documented_ref(self.cfg, t.client.target()),
            Api::Ours(_) | Api::Influxctl(_) => {
                let base = crate::cluster::base_url(&self.cfg.profile)?;
                super::management_ref(self.cfg, base.as_str())
            }
        })
    }

    /// The list answer unparsed, where this backend reads it over HTTP
    /// itself (our API, the documented API's database tokens): lists are
    /// read item by item (`cluster::listing`). `None`: use
    /// [`TokenApi::list`]. The read stands in for a deferred probe.
    pub async fn list_response(
        &self,
        cred: &Credential,
    ) -> Option<Result<crate::http::Response, ClusterError>> {
        let once = self.standing_in();
        Some(match (&self.api, once) {
            (Api::Influxctl(_), _) => return None,
            (Api::Ours(c), Some(Api::Ours(once))) => {
                let again = async || c.list_response(cred).await;
                self.as_probe(once.list_response(cred), again).await
            }
            (Api::Database(t), Some(Api::Database(once))) => {
                let again = async || t.client.list_tokens_response(cred).await;
                self.as_probe(once.client.list_tokens_response(cred), again)
                    .await
            }
            (Api::Ours(c), _) => c.list_response(cred).await,
            (Api::Database(t), _) => t.client.list_tokens_response(cred).await,
        })
    }

    /// Probe the cluster for what this backend needs (a wrong host, a
    /// failed TLS handshake or a stock cluster for our API stops here, in
    /// plain words, before anything is sent or anyone is asked to log in),
    /// at most once per command. influxctl needs no probe of ours.
    pub async fn probe(&self) -> anyhow::Result<()> {
        Ok(self.probe_once().await?)
    }

    async fn probe_once(&self) -> Result<(), ProbeError> {
        if self.probe.get() == Probe::Passed {
            return Ok(());
        }
        self.probe.set(Probe::Due);
        let profile = &self.cfg.profile;
        match &self.api {
            Api::Ours(_) => {
                crate::cluster::probe::check(profile, self.http).await?;
            }
            // The documented API's `/databases` must answer as a cluster's
            // does (a wrong port's 404 stops here, issue 23 A8b); a path
            // form it settled (the other one answered 404) is the client's
            // from now on.
            Api::Database(t) => {
                let known = t.client.form();
                if let Some(form) =
                    crate::cluster::probe::documented_api(profile, self.http, known).await?
                {
                    t.client.found(form);
                }
            }
            Api::Influxctl(_) => return Ok(()),
        }
        self.probe.set(Probe::Passed);
        Ok(())
    }

    /// Let the next read (`list` or `get`) stand in for the pre-flight
    /// probe: a scheduled run with nothing to do then makes one request, not
    /// two (issue 21). Only for a stored token whose record says it was made
    /// on this cluster or for a command that only reads
    /// ([`crate::commands::Access::Reads`]: `made_here` true), on
    /// our API or on the documented API in a path form already known (a
    /// form still to be found needs the probe's answers). The read is tried
    /// once, without retries and within the probe's time limit; an answer
    /// the probe would also have taken as "this API is here" (200, 401; 403
    /// on the documented API) ends it. Anything else runs the probe after
    /// all, so a wrong host, a stock cluster or another service ends the run
    /// with the probe's words, exit code and hint, and a busy cluster gets
    /// the usual retries. The caller makes sure nothing else is sent first
    /// (no revocation due, no journal to finish) and, for a session, that no
    /// person is asked to log in before the probe ([`Backend::credential`]).
    ///
    /// Returns whether the probe is deferred.
    pub fn defer_probe(&self, made_here: bool) -> bool {
        if self.probe.get() == Probe::Passed {
            return false;
        }
        let can = made_here
            && match &self.api {
                Api::Ours(_) => true,
                Api::Database(t) => t.client.form().is_some(),
                Api::Influxctl(_) => false,
            };
        self.probe
            .set(if can { Probe::Deferred } else { Probe::Due });
        can
    }

    /// [`Backend::defer_probe`], else [`Backend::probe`] now.
    pub async fn probe_or_defer(&self, made_here: bool) -> anyhow::Result<()> {
        if self.defer_probe(made_here) {
            return Ok(());
        }
        self.probe().await
    }

    /// The API for a read that stands in for the probe (one attempt, no
    /// retries), when the probe was deferred; the deferral is used up.
    fn standing_in(&self) -> Option<Api<'a>> {
        if self.probe.get() != Probe::Deferred {
            return None;
        }
        self.probe.set(Probe::Due);
        match &self.api {
            Api::Ours(c) => Some(Api::Ours(c.once())),
            Api::Database(t) => Some(Api::Database(DatabaseTokens {
                client: t.client.once(),
                permissions: Vec::new(),
            })),
            Api::Influxctl(_) => None,
        }
    }

    /// `first` (the read on [`Backend::standing_in`]'s API) as the probe.
    /// When its answer did not settle it ([`Backend::defer_probe`]), the
    /// probe runs; once it passed, `again` (the same read with retries)
    /// follows only where a second try may be answered differently (no
    /// answer in time, unreachable, 429, 502–504); any other answer is the read's
    /// own error (a body over the size cap is not fetched twice).
    async fn as_probe<T>(
        &self,
        first: impl Future<Output = Result<T, ClusterError>>,
        again: impl AsyncFnOnce() -> Result<T, ClusterError>,
    ) -> Result<T, ClusterError> {
        let documented = matches!(self.api, Api::Database(_));
        let answered = match tokio::time::timeout(PROBE_TIMEOUT, first).await {
            Ok(Ok(v)) => {
                self.probe.set(Probe::Passed);
                return Ok(v);
            }
            Ok(Err(e)) if probe_would_pass(&e, documented) => {
                self.probe.set(Probe::Passed);
                return Err(e);
            }
            Ok(Err(e)) => Some(e),
            Err(_) => None,
        };
        self.probe_once().await?;
        match answered {
            Some(e) if !worth_again(&e) => Err(e),
            _ => again().await,
        }
    }

    /// Only a read stands in for the probe: a create or a revocation that
    /// comes first (a caller that deferred and then had something else to
    /// send) waits for the probe's verdict.
    async fn probe_if_deferred(&self) -> Result<(), ClusterError> {
        if self.probe.get() == Probe::Deferred {
            self.probe_once().await?;
        }
        Ok(())
    }

    /// The credential for this backend, obtained before anything exists (a
    /// signal just stops): the profile's management token, else the OAuth
    /// session (a device flow with `ui` if needed), else, for influxctl,
    /// influxctl's own login.
    pub async fn credential(
        &self,
        ui: &mut dyn LoginUi,
        interrupt: &Interrupt,
    ) -> anyhow::Result<Session<'a>> {
        let work = async {
            match &self.api {
                Api::Influxctl(t) => {
                    let cred = super::influxctl_credential(self.cfg);
                    super::influxctl_login(t, &cred).await?;
                    Ok(Session::fixed(self.cfg, self.http, cred))
                }
                Api::Ours(_) | Api::Database(_) => {
                    let mut s = match &self.cfg.profile.mgmt_token {
                        // A deferred probe stays deferred: the first read
                        // stands in for it (`defer_probe`).
                        Some(t) => {
                            if self.probe.get() != Probe::Deferred {
                                self.probe().await?;
                            }
                            super::credential::management_token(self.cfg, self.http, t)
                        }
                        None => {
                            let auth = crate::auth::Auth::new(self.cfg, self.http)?;
                            // ... only where no person can be asked to log
                            // in before the probe's verdict.
                            let deferred = self.probe.get() == Probe::Deferred;
                            if !(deferred && auth.needs_no_person()) {
                                // The provider's discovery runs beside the
                                // probe when a login is certain (issue 21);
                                // the device authorization request still
                                // waits for the probe's verdict.
                                let (probed, ()) =
                                    tokio::join!(self.probe(), auth.prefetch_endpoints());
                                probed?;
                            }
                            super::credential::session(self.cfg, self.http, ui, auth).await?
                        }
                    };
                    // The clients the session makes start from the form found.
                    s.documented_form = self.documented().and_then(|c| c.form());
                    Ok(s)
                }
            }
        };
        tokio::select! {
            biased;
            _ = interrupt.wait() => Err(AuthError::Interrupted.into()),
            s = work => s,
        }
    }
}

/// The same call on whichever API was chosen.
macro_rules! on_api {
    ($api:expr, $t:ident => $call:expr) => {
        match $api {
            Api::Ours($t) => $call,
            Api::Influxctl($t) => $call,
            Api::Database($t) => $call,
        }
    };
}

impl TokenApi for Backend<'_> {
    async fn create(
        &self,
        cred: &Credential,
        new: &NewToken<'_>,
    ) -> Result<CreatedToken, ClusterError> {
        self.probe_if_deferred().await?;
        on_api!(&self.api, t => TokenApi::create(t, cred, new).await)
    }
    async fn get(&self, cred: &Credential, id: &str) -> Result<ManagementToken, ClusterError> {
        let kept = self.read_back.take();
        if let Some((secret, t)) = kept
            && t.id == id
            && secret == cred.token
        {
            tracing::info!("token {id} was read back with its own credential when it became ready");
            return Ok(t);
        }
        if let Some(once) = self.standing_in() {
            let first = async { on_api!(&once, t => TokenApi::get(t, cred, id).await) };
            let again = async || on_api!(&self.api, t => TokenApi::get(t, cred, id).await);
            return self.as_probe(first, again).await;
        }
        on_api!(&self.api, t => TokenApi::get(t, cred, id).await)
    }
    async fn list(&self, cred: &Credential) -> Result<Vec<ManagementToken>, ClusterError> {
        if let Some(once) = self.standing_in() {
            let first = async { on_api!(&once, t => TokenApi::list(t, cred).await) };
            let again = async || on_api!(&self.api, t => TokenApi::list(t, cred).await);
            return self.as_probe(first, again).await;
        }
        on_api!(&self.api, t => TokenApi::list(t, cred).await)
    }
    async fn revoke(&self, cred: &Credential, id: &str) -> Result<ManagementToken, ClusterError> {
        self.probe_if_deferred().await?;
        on_api!(&self.api, t => TokenApi::revoke(t, cred, id).await)
    }
    fn kind(&self) -> TokenKind {
        on_api!(&self.api, t => TokenApi::kind(t))
    }
    fn idempotent_create(&self) -> bool {
        on_api!(&self.api, t => TokenApi::idempotent_create(t))
    }
    fn permissions(&self) -> &[Permission] {
        on_api!(&self.api, t => TokenApi::permissions(t))
    }
    fn reads_one(&self) -> bool {
        on_api!(&self.api, t => TokenApi::reads_one(t))
    }
    async fn accepted(&self, created: &CreatedToken) -> Result<bool, ClusterError> {
        match &self.api {
            // Our API: the token reads itself (as `ClusterClient`'s
            // `accepted` does); the answer is kept for the verify.
            Api::Ours(c) => {
                let own = super::own_credential(created);
                let r = ClusterClient::get(c, &own, &created.token.id).await;
                if let Ok(t) = &r {
                    *self.read_back.borrow_mut() = Some((own.token, t.clone()));
                }
                super::ready::accepted_unless_401(r)
            }
            Api::Influxctl(t) => TokenApi::accepted(t, created).await,
            Api::Database(t) => TokenApi::accepted(t, created).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::NewToken;

    /// A backend for a profile whose cluster is a loopback port nothing
    /// listens on, with a management token (no login).
    fn with_backend(test: impl AsyncFnOnce(&Backend<'_>)) {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            format!(
                "[[profile]]\nname = \"default\"\nhost = \"127.0.0.1\"\nport = {port}\n[profile.tls]\ndisable = true\n"
            ),
        )
        .unwrap();
        let home = dir.path().to_str().unwrap();
        let config = path.to_str().unwrap();
        let env = crate::env::Env::from_pairs([
            ("HOME", home),
            ("INFLUX_BOOTSTRAP_CONFIG", config),
            ("INFLUX_BOOTSTRAP_MGMT_TOKEN", "M.V1.test"),
        ]);
        let cfg = crate::settings::resolve(&env, &Default::default()).unwrap();
        let printer = crate::printer::Printer::new(&env, true);
        let http = HttpClient::new(&cfg.profile, cfg.timeout.value, &printer).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let b = Backend::choose(&cfg, &http, Want::Management, false)
                .await
                .unwrap();
            test(&b).await
        });
    }

    /// The stand-in read is sent again after the probe only for what the
    /// retry policy retries.
    #[test]
    fn only_what_is_retried_is_read_again() {
        let server = |status| ClusterError::Server {
            url: "u".into(),
            status,
            message: String::new(),
        };
        let cases = [
            (server(429), true),
            (server(503), true),
            (server(504), true),
            (server(500), false),
            (server(501), false),
            (
                ClusterError::Unreachable {
                    url: "u".into(),
                    cause: "refused".into(),
                },
                true,
            ),
            (
                ClusterError::BadResponse {
                    url: "u".into(),
                    cause: "too large".into(),
                },
                false,
            ),
        ];
        for (e, want) in cases {
            assert_eq!(worth_again(&e), want, "{e:?}");
        }
    }

    /// Only a read stands in for a deferred probe: a create (or a
    /// revocation) sent first waits for the probe, whose verdict ends it.
    #[test]
    fn a_deferred_probe_runs_before_anything_but_a_read() {
        let cred = crate::provision::management_credential(&Secret::new("M.V1.test"));
        with_backend(async |b| {
            assert!(b.defer_probe(true));
            let new = NewToken {
                description: "x",
                expires_at: None,
                idempotency_key: "k",
            };
            let e = b.create(&cred, &new).await.unwrap_err();
            assert!(matches!(e, ClusterError::Probe(_)), "{e:?}");
        });
        with_backend(async |b| {
            assert!(b.defer_probe(true));
            let e = b.revoke(&cred, "id").await.unwrap_err();
            assert!(matches!(e, ClusterError::Probe(_)), "{e:?}");
        });
        // A read stands in: tried once; no answer runs the probe after all.
        with_backend(async |b| {
            assert!(b.defer_probe(true));
            let e = b.get(&cred, "id").await.unwrap_err();
            assert!(matches!(e, ClusterError::Probe(_)), "{e:?}");
        });
        with_backend(async |b| assert!(!b.defer_probe(false)));
    }
}
