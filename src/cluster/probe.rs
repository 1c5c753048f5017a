//! The pre-flight probe: unauthenticated requests, made before anyone is
//! asked to approve a device code, that tell
//!
//! * a cluster serving our management-token API (401 on
//!   `/api/v0/management/tokens`: the route exists and wants a credential),
//! * a stock cluster (404 there; InfluxData's documented Management API
//!   answers 401 on `/api/v0/databases`, in the short or the long path form),
//! * and a wrong host or port: connection refused, a name that does not
//!   resolve, a TLS handshake that fails, plain HTTP on an HTTPS port, or
//!   some other service (404 on both APIs).
//!
//! The probe is never retried: a refused connection or a failed handshake
//! will not change in the next two seconds, and the person should hear about
//! it before they pick up their phone, not after five retries.
use super::documented::{PathForm, Target};
use crate::error::ProbeError;
use crate::http::HttpClient;
use crate::settings::Profile;
use crate::text::display_url;
use std::time::Duration;
use url::Url;

/// What the cluster answered to the probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Serves {
    /// 401 on our management-token route.
    ManagementTokens,
    /// 404 on our route (a stock cluster, or another HTTP service).
    NotOurApi { status: u16 },
    /// Some HTTP answer we did not ask to interpret (the documented origin).
    Http { status: u16 },
}

impl Serves {
    fn status(&self) -> u16 {
        match self {
            Serves::ManagementTokens => 401,
            Serves::NotOurApi { status } | Serves::Http { status } => *status,
        }
    }
}

/// The probe's answer, with the URL it asked.
#[derive(Debug, Clone)]
pub struct Probe {
    pub url: String,
    pub serves: Serves,
}

/// How long the probe waits at most: a cluster that accepts the connection
/// but says nothing for this long is not one we want to log in for.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Probe the cluster for our management-token API; `Err` is the plain-words
/// reason to stop now (exit 9 unreachable or another service, exit 2 a
/// stock cluster).
pub async fn check(profile: &Profile, http: &HttpClient) -> Result<Probe, ProbeError> {
    let url = management_url(profile).map_err(|e| ProbeError::Config(e.to_string()))?;
    let p = probe(http, &url).await?;
    match p.serves {
        Serves::ManagementTokens => Ok(p),
        // Busy or failing (429, 5xx): it is there, and the call that
        // follows retries what is worth retrying.
        Serves::Http { status } if status == 429 || status >= 500 => Ok(p),
        // 404 on our route: a stock cluster only if the documented API
        // answers like one; any web server says 404 (issue 23, A8: the
        // IdP's port was called "a stock cluster").
        Serves::NotOurApi { status: 404 } => match documented_api(profile, http, None).await {
            Ok(_) => Err(ProbeError::StockCluster {
                origin: origin_of(&url),
            }),
            Err(ProbeError::NotManagementApi { .. }) => Err(ProbeError::OtherService {
                origin: origin_of(&url),
                url: p.url,
                status: 404,
            }),
            Err(other) => Err(other),
        },
        Serves::NotOurApi { status } | Serves::Http { status } => Err(ProbeError::OtherService {
            origin: origin_of(&url),
            url: p.url,
            status,
        }),
    }
}

/// Does the documented Management API answer as a cluster does without a
/// credential: 401/403 on `GET …/databases` (issue 23, A8b)? Tried in each
/// path form the profile allows: the `known` one first (remembered by
/// `PathMemory`), else short then long. A port where every form answers 404
/// (another web server, the IdP's port) stops here, before anyone approves a
/// login.
///
/// `Ok(Some(form))`: the form that answered after every form before it
/// answered 404, which the `DocumentedClient` then uses without finding it
/// again (so this probe costs no request: the client would otherwise spend
/// the same 404). `Ok(None)`: the first form asked answered (the client
/// starts there anyway), or the cluster is busy (429, 5xx). A 401 alone does
/// not prove a form is served (a gateway may ask for a credential before it
/// routes), so only a 404 beside it settles which form it is.
pub async fn documented_api(
    profile: &Profile,
    http: &HttpClient,
    known: Option<PathForm>,
) -> Result<Option<PathForm>, ProbeError> {
    let target = Target::from_profile(profile).map_err(|e| ProbeError::Config(e.to_string()))?;
    let forms = forms_to_try(target.fixed, known);
    let mut first_404 = None;
    let mut other = None;
    for (i, form) in forms.iter().copied().enumerate() {
        let only_404s_before = other.is_none() && first_404.is_some();
        let mut url = target.base(form);
        url.path_segments_mut()
            .expect("http(s) URLs have paths")
            .push("databases");
        let p = probe(http, &url).await?;
        match p.serves.status() {
            401 | 403 => return Ok(only_404s_before.then_some(form)),
            s if s == 429 || s >= 500 => return Ok(None),
            404 => {
                if let Some(next) = forms.get(i + 1) {
                    tracing::info!("{} answered 404; trying the {next:?} path form", p.url);
                }
                first_404.get_or_insert(p.url);
            }
            status => other = Some((url, p.url, status)),
        }
    }
    Err(match (other, first_404) {
        (Some((url, shown, status)), _) => ProbeError::OtherService {
            origin: origin_of(&url),
            url: shown,
            status,
        },
        (None, Some(url)) => ProbeError::NotManagementApi { url },
        (None, None) => unreachable!("at least one path form is tried"),
    })
}

/// The path forms the documented pre-flight asks, in order: the product's
/// fixed form only (Dedicated, or ids in the profile), else the remembered
/// one first, else the short form (as the docs show) then the long one.
fn forms_to_try(fixed: Option<PathForm>, known: Option<PathForm>) -> Vec<PathForm> {
    match (fixed, known) {
        (Some(f), _) => vec![f],
        (None, Some(k)) => vec![k, k.other()],
        (None, None) => vec![PathForm::Short, PathForm::Long],
    }
}

/// `{base}/management/tokens`, the collection every cluster serving our
/// API guards with a bearer credential.
pub fn management_url(profile: &Profile) -> Result<Url, crate::error::ConfigError> {
    let mut u = super::base_url(profile)?;
    {
        let mut segs = u.path_segments_mut().expect("http(s) URLs have paths");
        segs.pop_if_empty();
        segs.extend(["management", "tokens"]);
    }
    Ok(u)
}

/// `{origin}/api/v0/databases` of the documented Management API (short form).
pub fn documented_url(profile: &Profile) -> Result<Url, crate::error::ConfigError> {
    let mut u = super::management_origin(profile)?.value;
    {
        let mut segs = u.path_segments_mut().expect("http(s) URLs have paths");
        segs.pop_if_empty();
        segs.extend(["api", "v0", "databases"]);
    }
    Ok(u)
}

/// One unauthenticated GET of `url`, never retried, bounded by [`PROBE_TIMEOUT`].
pub async fn probe(http: &HttpClient, url: &Url) -> Result<Probe, ProbeError> {
    let shown = display_url(url);
    let origin = origin_of(url);
    // Headers only: the status is the answer, and a body (a hostile
    // server's 80 MiB, another service's page) is never read.
    let answer = tokio::time::timeout(PROBE_TIMEOUT, http.get_dated(url)).await;
    let status = match answer {
        Err(_) => {
            return Err(ProbeError::Unreachable {
                origin,
                why: format!(
                    "the server at {} accepted the connection but did not answer within {}s",
                    origin_of(url),
                    PROBE_TIMEOUT.as_secs()
                ),
                hint:
                    "check `host` and `port` in the profile: another service may be listening there"
                        .into(),
            });
        }
        Ok(Err(crate::error::HttpError::Transport { cause, .. })) => {
            let (why, hint) = explain_transport(url, &cause);
            return Err(ProbeError::Unreachable { origin, why, hint });
        }
        Ok(Err(e)) => return Err(ProbeError::Config(e.to_string())),
        Ok(Ok((status, _date))) => status,
    };
    tracing::info!("probe GET {shown}: HTTP {status}");
    let serves = match status {
        401 => Serves::ManagementTokens,
        404 => Serves::NotOurApi { status: 404 },
        s => Serves::Http { status: s },
    };
    Ok(Probe { url: shown, serves })
}

/// `scheme://host:port` for messages.
pub fn origin_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port_or_known_default() {
        Some(p) => format!("{}://{host}:{p}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// What the resolvers of glibc, musl and macOS (through hyper) say when a
/// name does not resolve.
const DNS_FAILED: &[&str] = &[
    "lookup address",
    "dns error",
    "name or service not known",
    "no address associated",
    "nodename nor servname",
    "temporary failure in name resolution",
];
/// rustls refusing the server's certificate.
const CERT_REFUSED: &[&str] = &["certificate", "unknownissuer", "notvalidforname", "cert"];
/// Any other TLS handshake failure.
const HANDSHAKE_FAILED: &[&str] = &["handshake", "alert", "tls"];
/// hyper failing to read a plain-HTTP answer (a TLS server's bytes).
const NOT_PLAIN_HTTP: &[&str] = &[
    "invalid http version",
    "connection closed before message completed",
    "invalid status",
    "parse",
    "http/0.9",
];

/// Does the (lower-cased) error text contain any of `needles`?
fn mentions(c: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| c.contains(n))
}

/// A transport failure in plain words, and what to do about it. `cause` is
/// the innermost error text of reqwest/hyper/rustls/the resolver.
pub fn explain_transport(url: &Url, cause: &str) -> (String, String) {
    let origin = origin_of(url);
    let host = url.host_str().unwrap_or("?");
    let c = cause.to_ascii_lowercase();
    let https = url.scheme() == "https";
    let check_host = "check `host` and `port` in the profile (and `management_url`, if set)";
    if c.contains("refused") {
        return (
            format!("nothing is listening at {origin} (connection refused)"),
            check_host.into(),
        );
    }
    if mentions(&c, DNS_FAILED) {
        return (
            format!("the host name `{host}` does not resolve (DNS lookup failed)"),
            "check `host` in the profile, and your DNS or VPN".into(),
        );
    }
    if crate::error::speaks_plain_http(url.as_str(), cause) {
        return (
            format!("the server at {origin} answers plain HTTP, not HTTPS"),
            "set `[profile.tls] disable = true` (loopback only) or use the HTTPS port".into(),
        );
    }
    if https && mentions(&c, CERT_REFUSED) {
        return (
            format!("the TLS certificate of {origin} is not trusted ({})", tls_reason(&c)),
            "set `ca = \"/path/to/ca.pem\"` under [profile.tls] to trust the cluster's CA, or check `host`"
                .into(),
        );
    }
    if https && mentions(&c, HANDSHAKE_FAILED) {
        return (
            format!("the TLS handshake with {origin} failed"),
            "check that `port` is the cluster's HTTPS port, and the TLS settings under [profile.tls]"
                .into(),
        );
    }
    if !https && mentions(&c, NOT_PLAIN_HTTP) {
        return (
            format!("the server at {origin} does not answer plain HTTP (it may expect HTTPS)"),
            "remove `disable = true` under [profile.tls] to use HTTPS".into(),
        );
    }
    if c.contains("timed out") {
        return (
            format!("no answer from {origin} (timed out)"),
            "check `host`, `port`, your network, and HTTPS_PROXY/NO_PROXY".into(),
        );
    }
    if c.contains("unreachable") {
        return (
            format!("{origin} is unreachable from here (no route to the host)"),
            "check `host`, your network or VPN".into(),
        );
    }
    (
        format!(
            "cannot connect to {origin} ({})",
            crate::text::without_os_error(cause)
        ),
        "check `host`, `port`, your network, and HTTPS_PROXY/NO_PROXY".into(),
    )
}

/// rustls's certificate error names in plain words.
fn tls_reason(c: &str) -> &'static str {
    if c.contains("unknownissuer") {
        "issued by a CA this machine does not trust"
    } else if c.contains("notvalidforname") {
        "issued for another host name"
    } else if c.contains("expired") {
        "expired"
    } else if c.contains("notvalidyet") {
        "not valid yet: check this machine's clock"
    } else {
        "rejected"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_causes_in_plain_words() {
        let https = Url::parse("https://db.example.com:8443/api/v0/management/tokens").unwrap();
        let http = Url::parse("http://127.0.0.1:8086/api/v0/management/tokens").unwrap();
        // (url, library cause, words the explanation must hold)
        let cases: Vec<(&Url, &str, &str)> = vec![
            (
                &http,
                "connection failed: Connection refused (os error 111)",
                "nothing is listening at http://127.0.0.1:8086 (connection refused)",
            ),
            (
                &https,
                "connection failed: failed to lookup address information: Name or service not known",
                "the host name `db.example.com` does not resolve",
            ),
            (
                &https,
                "connection failed: received corrupt message of type InvalidContentType",
                "the server at https://db.example.com:8443 answers plain HTTP",
            ),
            (
                &https,
                "connection failed: invalid peer certificate: UnknownIssuer",
                "issued by a CA this machine does not trust",
            ),
            (
                &https,
                "connection failed: invalid peer certificate: NotValidForName",
                "issued for another host name",
            ),
            (
                &https,
                "connection failed: received fatal alert: HandshakeFailure",
                "the TLS handshake with https://db.example.com:8443 failed",
            ),
            (
                &http,
                "request failed: invalid HTTP version parsed",
                "does not answer plain HTTP",
            ),
            (&http, "timed out", "timed out"),
            (
                &http,
                "connection failed: something odd (os error 99)",
                "(connection failed: something odd)",
            ),
        ];
        for (url, cause, want) in cases {
            let (why, hint) = explain_transport(url, cause);
            assert!(why.contains(want), "{cause:?} -> {why:?}, want {want:?}");
            assert!(!hint.is_empty());
            assert!(!why.contains("os error"), "{why}");
        }
    }

    #[test]
    fn documented_forms_fixed_then_remembered_then_short_first() {
        use PathForm::{Long, Short};
        // (fixed by the product, remembered, asked in this order)
        let cases = [
            (Some(Long), None, vec![Long]),
            (Some(Long), Some(Short), vec![Long]),
            (Some(Short), None, vec![Short]),
            (None, Some(Long), vec![Long, Short]),
            (None, Some(Short), vec![Short, Long]),
            (None, None, vec![Short, Long]),
        ];
        for (fixed, known, want) in cases {
            assert_eq!(forms_to_try(fixed, known), want, "{fixed:?} {known:?}");
        }
    }

    #[test]
    fn plain_http_hint_names_the_setting() {
        let u = Url::parse("https://h:8086/").unwrap();
        let (_, hint) =
            explain_transport(&u, "received corrupt message of type InvalidContentType");
        assert!(hint.contains("[profile.tls] disable = true"), "{hint}");
    }
}
