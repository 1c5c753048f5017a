//! The credential a cluster call is made with: the profile's management
//! token when set, else the person's OAuth session (logging in with a device
//! flow when there is none): one command, no separate `login`.
use crate::auth::{Auth, LoginUi};
use crate::cluster::documented::DocumentedClient;
use crate::cluster::{ClusterClient, Credential, CredentialKind};
use crate::error::{ClusterError, ConfigError};
use crate::http::HttpClient;
use crate::printer::Printer;
use crate::secret::Secret;
use crate::settings::{Config, Value};

/// Everything a cluster call needs, with the credential chosen once.
pub struct Session<'a> {
    pub cfg: &'a Config,
    pub http: &'a HttpClient,
    pub cred: Credential,
    auth: Option<Auth<'a>>,
    /// A new login's session being written to the cache beside the cluster
    /// calls (issue 21); waited for before the cache is touched again and
    /// when the session is dropped.
    saving: Option<crate::auth::cache::Saving>,
    printer: Printer,
    /// The documented API's path form the pre-flight found (or the backend
    /// knew): every [`Session::documented`] client starts from it.
    pub(super) documented_form: Option<crate::cluster::documented::PathForm>,
}

/// A fixed credential (a management token, or influxctl's own login): no
/// session to drop on a 401.
impl<'a> Session<'a> {
    pub fn fixed(cfg: &'a Config, http: &'a HttpClient, cred: Credential) -> Self {
        Session {
            cfg,
            http,
            cred,
            auth: None,
            saving: None,
            printer: http.printer().clone(),
            documented_form: None,
        }
    }
}

/// The profile's management token as the credential for our APIs, once the
/// cluster was probed ([`super::Backend::credential`]).
pub(super) fn management_token<'a>(
    cfg: &'a Config,
    http: &'a HttpClient,
    token: &Value<Secret>,
) -> Session<'a> {
    tracing::info!(
        "authenticating with the management token from {}",
        token.source
    );
    Session::fixed(cfg, http, super::management_credential(&token.value))
}

/// The person's (or workload's) OAuth session through `auth` as the
/// credential for our APIs, once the cluster was probed
/// ([`super::Backend::credential`]), logging in with a device flow when
/// there is none.
pub(super) async fn session<'a>(
    cfg: &'a Config,
    http: &'a HttpClient,
    ui: &mut dyn LoginUi,
    auth: Auth<'a>,
) -> anyhow::Result<Session<'a>> {
    let mut acq = auth.session(false, true, ui).await?;
    // Whoever approved is named before anything is created with their session.
    match acq.how {
        crate::auth::Obtained::DeviceFlow => {
            ui.authorized(&cfg.profile.name.value, &acq);
            http.printer()
                .status(format!("Signed in as {}.", who(&acq.session)))
        }
        crate::auth::Obtained::ClientCredentials => http
            .printer()
            .status(format!("Signed in as workload {}.", who(&acq.session))),
        _ => {}
    }
    Ok(Session {
        cfg,
        http,
        cred: Credential {
            token: acq.session.access_token.clone(),
            kind: CredentialKind::OAuth {
                subject: acq.session.identity.as_ref().map(|i| i.subject.clone()),
            },
        },
        auth: Some(auth),
        saving: acq.saving.take(),
        printer: http.printer().clone(),
        documented_form: None,
    })
}

impl Session<'_> {
    pub fn client(&self) -> Result<ClusterClient<'_>, ConfigError> {
        ClusterClient::new(&self.cfg.profile, self.http)
    }

    /// The client of the documented Management API (databases, database tokens).
    pub fn documented(&self) -> Result<DocumentedClient<'_>, ConfigError> {
        let c = DocumentedClient::new(self.cfg, self.http)?;
        if let Some(form) = self.documented_form {
            c.found(form);
        }
        Ok(c)
    }

    /// A 401 for an OAuth session means the cached session is useless for
    /// this cluster: drop it so the next command starts clean.
    pub fn on_error(&self, e: impl Into<anyhow::Error>) -> anyhow::Error {
        let e = e.into();
        let unauthorized = matches!(
            e.downcast_ref::<ClusterError>(),
            Some(ClusterError::Unauthorized { .. })
        );
        if let (true, Some(auth)) = (unauthorized, &self.auth) {
            if let Some(saving) = &self.saving {
                saving.settle();
            }
            match auth.cache().remove(auth.key()) {
                Ok(_) => tracing::info!("dropped the cached session after HTTP 401"),
                Err(err) => self
                    .printer
                    .warn(format!("could not drop the cached session: {err}")),
            }
        }
        e
    }
}

/// "Alice Admin <alice@example.com>", the subject when there is no name,
/// or a plain phrase when the provider sent no identity.
fn who(s: &crate::auth::cache::Session) -> String {
    match &s.identity {
        Some(i) => {
            let mut w = i.name.clone().unwrap_or_else(|| i.subject.clone());
            if let Some(e) = &i.email {
                w.push_str(&format!(" <{e}>"));
            }
            crate::text::sanitize(&w)
        }
        None => "an unknown user (the provider sent no ID token)".into(),
    }
}
