//! Management tokens through `influxctl` ([`crate::cluster::influxctl`]) for
//! stock clusters, as one more [`TokenApi`]: the pipeline (pre-checked
//! stores, never lose, never orphan, verify, summary) is the same; what
//! differs is declared here:
//!
//! - `idempotent_create() == false`: influxctl has no idempotency key, so an
//!   unknown outcome (influxctl failed, or a signal during the create) is
//!   reconciled by listing, never by creating again blindly;
//! - the credential: a management token we hold (`mgmt_token`, the token in
//!   a store for `rotate`, the new token for verify and cleanup) goes into the
//!   temporary profile's `mgmt_token`; otherwise influxctl runs its own device
//!   login with the terminal ([`person`]);
//! - `get` (what verify reads back) also proves the token works on the
//!   documented Management HTTP API: `GET …/databases` with it must answer
//!   200.
use super::TokenApi;
use crate::cluster::documented::DocumentedClient;
use crate::cluster::influxctl::{Auth, Endpoints, Influxctl};
use crate::cluster::{CreatedToken, Credential, CredentialKind, ManagementToken, NewToken};
use crate::error::{ClusterError, ClusterResult};
use crate::secret::Secret;
use crate::settings::Config;
use chrono::Utc;

pub struct InfluxctlTokens<'a> {
    pub ctl: Influxctl,
    /// The documented API, to verify a new token with.
    pub documented: Option<DocumentedClient<'a>>,
}

/// The credential that means "influxctl logs the person in itself" (no
/// secret: nothing of ours authenticates).
pub fn person() -> Credential {
    Credential {
        token: Secret::new(String::new()),
        kind: CredentialKind::OAuth { subject: None },
    }
}

/// The credential for the influxctl backend: the profile's management token
/// when set (no person needed), else [`person`].
pub fn influxctl_credential(cfg: &Config) -> Credential {
    match &cfg.profile.mgmt_token {
        Some(t) => super::management_credential(&t.value),
        None => person(),
    }
}

/// Let influxctl log the person in (its device login, on the terminal)
/// before anything is created, by listing; later runs use its cached login.
/// Nothing to do when a management token authenticates.
pub async fn login(api: &InfluxctlTokens<'_>, cred: &Credential) -> Result<(), ClusterError> {
    match auth(cred) {
        Auth::Token(_) => Ok(()),
        Auth::Person => api.ctl.list(Auth::Person).await.map(|_| ()),
    }
}

fn auth(cred: &Credential) -> Auth<'_> {
    match cred.kind {
        CredentialKind::ManagementToken if !cred.token.is_empty() => Auth::Token(&cred.token),
        _ => Auth::Person,
    }
}

/// The device and token endpoints influxctl needs (it does no discovery):
/// explicit ones win, else they are resolved from our `issuer`. When no
/// person will log in (`person_needed == false`: a management token
/// authenticates) a failed discovery is no reason to stop: the profile is
/// written without them.
pub async fn endpoints(
    cfg: &Config,
    http: &crate::http::HttpClient,
    person_needed: bool,
) -> anyhow::Result<Option<Endpoints>> {
    let o = &cfg.profile.oauth2;
    if let (Some(d), Some(t)) = (&o.device_url, &o.token_url) {
        return Ok(Some(Endpoints {
            device_url: d.value.clone(),
            token_url: t.value.clone(),
        }));
    }
    match crate::auth::discovery::resolve(http, o, &cfg.profile.name.value).await {
        Ok(e) => Ok(Some(Endpoints {
            device_url: e.device_authorization,
            token_url: e.token,
        })),
        Err(e) if person_needed => Err(e),
        Err(e) => {
            tracing::info!("no OAuth endpoints for influxctl ({e:#}); a management token is used");
            Ok(None)
        }
    }
}

/// The backend of a profile with `management_backend = "influxctl"`.
pub async fn influxctl_tokens<'a>(
    cfg: &Config,
    http: &'a crate::http::HttpClient,
    printer: &crate::printer::Printer,
    person_needed: bool,
) -> anyhow::Result<InfluxctlTokens<'a>> {
    let ep = endpoints(cfg, http, person_needed).await?;
    let documented = match DocumentedClient::new(cfg, http) {
        Ok(d) => Some(d),
        Err(e) => {
            printer.note(format!(
                "new tokens are verified by listing only: the documented Management API is not configured ({e})"
            ));
            None
        }
    };
    Ok(InfluxctlTokens {
        ctl: Influxctl::new(&cfg.profile, ep.as_ref(), printer),
        documented,
    })
}

impl InfluxctlTokens<'_> {
    async fn find(&self, cred: &Credential, id: &str) -> Result<ManagementToken, ClusterError> {
        self.ctl
            .list(auth(cred))
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| ClusterError::NotFound {
                what: format!("management token {id}"),
                list: "management list",
            })
    }
}

impl TokenApi for InfluxctlTokens<'_> {
    async fn create(&self, cred: &Credential, new: &NewToken<'_>) -> ClusterResult<CreatedToken> {
        // influxctl has no idempotency key: the pipeline reconciles by listing.
        let description = new.description;
        let c = self
            .ctl
            .create(auth(cred), description, new.expires_at)
            .await?;
        let mut token = c.meta;
        // What we asked for, where influxctl's output left it out.
        if token.description.is_empty() {
            token.description = description.to_string();
        }
        if token.expires_at.is_none() {
            token.expires_at = new.expires_at;
        }
        Ok(CreatedToken {
            token,
            access_token: c.token,
        })
    }

    /// Read a token back. With a management token as the credential (verify
    /// reads a new token back with itself) the documented API must accept it
    /// first: a `GET` of the databases answering 200.
    async fn get(&self, cred: &Credential, id: &str) -> ClusterResult<ManagementToken> {
        if let (Some(doc), Auth::Token(_)) = (&self.documented, auth(cred)) {
            doc.list_databases(cred).await?;
        }
        self.find(cred, id).await
    }

    async fn list(&self, cred: &Credential) -> ClusterResult<Vec<ManagementToken>> {
        self.ctl.list(auth(cred)).await
    }

    fn reads_one(&self) -> bool {
        false
    }

    /// influxctl's management tokens are used with influxctl and on the
    /// documented Management API, which accepts a new one only after a delay
    /// (issue 17): ready once `GET …/databases` with it is no longer 401.
    /// Without the documented API configured there is nothing to ask.
    async fn accepted(&self, created: &CreatedToken) -> ClusterResult<bool> {
        let Some(doc) = &self.documented else {
            return Ok(true);
        };
        let r = doc.list_databases(&super::own_credential(created)).await;
        super::ready::accepted_unless_401(r)
    }

    /// `management revoke --force ID`, then the token as listed (best
    /// effort: the revoke is what matters). A token that is not listed was
    /// never there (404), so cleanup does not report a failure for it.
    async fn revoke(&self, cred: &Credential, id: &str) -> ClusterResult<ManagementToken> {
        let before = self.find(cred, id).await;
        if let Err(e @ ClusterError::NotFound { .. }) = before {
            return Err(e);
        }
        self.ctl.revoke(auth(cred), id).await?;
        // A token cannot list after revoking itself: fall back to what we knew.
        match self.find(cred, id).await {
            Ok(t) => Ok(t),
            Err(_) => {
                let mut t = before.unwrap_or_else(|_| ManagementToken::revoked_now(id));
                t.revoked_at.get_or_insert_with(Utc::now);
                Ok(t)
            }
        }
    }

    fn idempotent_create(&self) -> bool {
        false
    }
}
