//! The HTTP client shared by the identity-provider and cluster code.
//!
//! One `reqwest::Client` per process: native root certificates plus the
//! profile's CA, a timeout per request, a `User-Agent`, proxies from the usual
//! `HTTPS_PROXY`/`NO_PROXY` variables (read by reqwest itself) but never for
//! loopback destinations, and **no redirects**: a token endpoint that redirects would make us re-post a device
//! code or refresh token somewhere we did not choose.
use crate::error::HttpError;
use crate::printer::Printer;
use crate::settings::Profile;
use crate::text::{display_url, sanitize};
use serde::de::DeserializeOwned;
use std::time::Duration;
use url::Url;

pub const USER_AGENT: &str = concat!("influx-bootstrap/", env!("CARGO_PKG_VERSION"));

/// The largest body we read from the identity provider: discovery documents,
/// JWKS, device authorization and token responses are a few KiB; 1 MiB leaves
/// room for any real one and stops a hostile one from filling memory (a
/// 1.5 GB discovery document took 3 GB before, issue 11 item 11).
pub const IDP_BODY_LIMIT: usize = 1 << 20;

/// The largest body we read from the cluster: `management list` and `token
/// list` of 100,000 tokens with long descriptions (about 350 bytes each,
/// more with non-ASCII descriptions) fit in 64 MiB.
pub const CLUSTER_BODY_LIMIT: usize = 64 << 20;

/// One client per scheme: `http://` (loopback, or `[profile.tls] disable`)
/// never needs a trust store, and loading the system's costs about 2 ms per
/// process (measured in bench/RESULTS.md), so the TLS client is built on the
/// first `https://` request only.
pub struct HttpClient {
    plain: reqwest::Client,
    tls: std::sync::OnceLock<Result<reqwest::Client, String>>,
    /// The same two without any proxy, for loopback destinations: curl and
    /// Go never send `127.0.0.0/8`, `::1` or `localhost` through
    /// `HTTP(S)_PROXY`/`ALL_PROXY`, and neither do we (a proxy would see the
    /// tokens of a plain-http loopback stack; issue 11, item 13).
    plain_direct: reqwest::Client,
    tls_direct: std::sync::OnceLock<Result<reqwest::Client, String>>,
    tls_parts: TlsParts,
    timeout: Duration,
    /// `[profile.tls] disable = true`: plain http allowed beyond loopback.
    allow_plain_http: bool,
    /// Where the warnings about weakened TLS go.
    printer: Printer,
}

/// What the TLS client needs, read and checked up front so a bad CA file is
/// reported before any request.
#[derive(Clone)]
struct TlsParts {
    roots: Vec<reqwest::Certificate>,
    identity: Option<reqwest::Identity>,
    insecure: bool,
}

fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .https_only(false)
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("allow_plain_http", &self.allow_plain_http)
            .finish_non_exhaustive()
    }
}

/// A response read in full, with what callers need to classify it.
#[derive(Debug)]
pub struct Response {
    pub url: String,
    pub status: u16,
    pub content_type: String,
    pub retry_after: Option<Duration>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn is_json(&self) -> bool {
        let ct = self.content_type.to_ascii_lowercase();
        ct.starts_with("application/json") || ct.contains("+json")
    }

    /// Parse the body as JSON, with an error that names the URL and status
    /// but does not echo the body (it might be an HTML page or hold secrets).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| HttpError::BadBody {
            url: self.url.clone(),
            status: self.status,
            // serde_json errors name a position, never the content.
            cause: e.to_string(),
        })
    }

    /// An error for a status we did not expect, with the OAuth
    /// `error`/`error_description` when the body has them.
    pub fn unexpected(&self) -> HttpError {
        let detail = serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| {
                let e = v.get("error")?.as_str()?.to_string();
                let d = v
                    .get("error_description")
                    .or_else(|| v.get("message"))
                    .and_then(|d| d.as_str())
                    .map(|d| format!(" ({})", sanitize(d)))
                    .unwrap_or_default();
                Some(format!(": {}{d}", sanitize(&e)))
            })
            .unwrap_or_default();
        if (300..400).contains(&self.status) {
            return HttpError::Redirect {
                url: self.url.clone(),
                status: self.status,
                location: self.location.clone().unwrap_or_else(|| "(none)".into()),
            };
        }
        HttpError::Status {
            url: self.url.clone(),
            status: self.status,
            content_type: if self.content_type.is_empty() {
                "no content type".into()
            } else {
                self.content_type.clone()
            },
            len: self.body.len(),
            detail,
        }
    }
}

/// Is this host a loopback address (where plain http is acceptable)?
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Parse `Retry-After`: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
pub fn parse_retry_after(v: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs.min(3600)));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - now;
    Some(
        delta
            .to_std()
            .unwrap_or_default()
            .min(Duration::from_secs(3600)),
    )
}

impl HttpClient {
    pub fn new(profile: &Profile, timeout: Duration, printer: &Printer) -> Result<Self, HttpError> {
        let tls = &profile.tls;
        let mut parts = TlsParts {
            roots: Vec::new(),
            identity: None,
            insecure: tls.insecure.value,
        };
        if let Some(ca) = &tls.ca {
            let pem = std::fs::read(&ca.value).map_err(|e| {
                HttpError::Client(format!("cannot read CA file {}: {e}", ca.value.display()))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                HttpError::Client(format!(
                    "{} is not a PEM certificate bundle: {e}",
                    ca.value.display()
                ))
            })?;
            if certs.is_empty() {
                return Err(HttpError::Client(format!(
                    "{} holds no PEM certificates",
                    ca.value.display()
                )));
            }
            parts.roots = certs;
        }
        if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
            let mut pem = std::fs::read(&key.value).map_err(|e| {
                HttpError::Client(format!("cannot read TLS key {}: {e}", key.value.display()))
            })?;
            pem.push(b'\n');
            pem.extend(std::fs::read(&cert.value).map_err(|e| {
                HttpError::Client(format!(
                    "cannot read TLS cert {}: {e}",
                    cert.value.display()
                ))
            })?);
            let id = reqwest::Identity::from_pem(&pem)
                .map_err(|e| HttpError::Client(format!("bad client certificate/key: {e}")))?;
            parts.identity = Some(id);
        }
        if tls.insecure.value {
            tracing::warn!(
                "TLS certificate verification is DISABLED for this profile ([profile.tls] insecure = true); anyone on the network can impersonate the servers"
            );
            printer
                .warn("TLS certificate verification is disabled ([profile.tls] insecure = true)");
        }
        let plain = builder(timeout)
            .tls_built_in_root_certs(false)
            .build()
            .map_err(|e| HttpError::Client(e.to_string()))?;
        let plain_direct = builder(timeout)
            .tls_built_in_root_certs(false)
            .no_proxy()
            .build()
            .map_err(|e| HttpError::Client(e.to_string()))?;
        Ok(HttpClient {
            plain,
            tls: std::sync::OnceLock::new(),
            plain_direct,
            tls_direct: std::sync::OnceLock::new(),
            tls_parts: parts,
            timeout,
            allow_plain_http: tls.disable.value,
            printer: printer.clone(),
        })
    }

    /// The printer of this run, for code that holds only the client.
    pub fn printer(&self) -> &Printer {
        &self.printer
    }

    /// The client for this URL's scheme and destination (building the TLS
    /// ones on first use): loopback destinations never go through a proxy.
    fn client(&self, url: &Url) -> Result<&reqwest::Client, HttpError> {
        let direct = is_loopback(url);
        if url.scheme() == "http" {
            return Ok(if direct {
                &self.plain_direct
            } else {
                &self.plain
            });
        }
        let cell = if direct { &self.tls_direct } else { &self.tls };
        let built = cell.get_or_init(|| {
            let p = &self.tls_parts;
            let mut b = builder(self.timeout);
            if direct {
                b = b.no_proxy();
            }
            for c in &p.roots {
                b = b.add_root_certificate(c.clone());
            }
            if let Some(id) = &p.identity {
                b = b.identity(id.clone());
            }
            if p.insecure {
                b = b.danger_accept_invalid_certs(true);
            }
            b.build().map_err(|e| e.to_string())
        });
        built.as_ref().map_err(|e| HttpError::Client(e.clone()))
    }

    /// Plain `http://` only for loopback hosts, unless explicitly allowed.
    pub fn check_url(&self, url: &Url) -> Result<(), HttpError> {
        match url.scheme() {
            "https" => Ok(()),
            "http" if is_loopback(url) => Ok(()),
            "http" if self.allow_plain_http => {
                static WARNED: std::sync::Once = std::sync::Once::new();
                WARNED.call_once(|| {
                    self.printer.warn(format!(
                        "sending requests over plain http:// to {} ([profile.tls] disable = true): tokens cross the network unencrypted",
                        url.host_str().unwrap_or("?")
                    ))
                });
                Ok(())
            }
            _ => Err(HttpError::InsecureUrl {
                url: url.to_string(),
            }),
        }
    }

    /// GET from the identity provider (discovery, JWKS): at most
    /// [`IDP_BODY_LIMIT`] bytes.
    pub async fn get(&self, url: &Url) -> Result<Response, HttpError> {
        self.check_url(url)?;
        let req = self
            .client(url)?
            .get(url.clone())
            .header("Accept", "application/json");
        self.send(url, req, IDP_BODY_LIMIT).await
    }

    /// GET without a credential, also returning the server's `Date` header
    /// (RFC 9110 §6.6.1), for `doctor`'s clock-skew check.
    pub async fn get_dated(
        &self,
        url: &Url,
    ) -> Result<(u16, Option<chrono::DateTime<chrono::Utc>>), HttpError> {
        self.check_url(url)?;
        let resp = self
            .client(url)?
            .get(url.clone())
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| HttpError::Transport {
                url: display_url(url),
                cause: transport_cause(&e),
            })?;
        let date = resp
            .headers()
            .get("date")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
            .map(|d| d.with_timezone(&chrono::Utc));
        Ok((resp.status().as_u16(), date))
    }

    /// POST `application/x-www-form-urlencoded` (RFC 6749 §4.1.3, RFC 8628
    /// §3.1/§3.4) to the identity provider: at most [`IDP_BODY_LIMIT`] bytes.
    pub async fn post_form(&self, url: &Url, form: &[(&str, &str)]) -> Result<Response, HttpError> {
        self.post_form_as(url, form, None).await
    }

    /// [`Self::post_form`] with HTTP Basic client authentication when
    /// `basic` is given: RFC 6749 §2.3.1 (`client_secret_basic`; id and
    /// secret are form-urlencoded before they are joined).
    pub async fn post_form_as(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        basic: Option<(&str, &crate::secret::Secret)>,
    ) -> Result<Response, HttpError> {
        self.check_url(url)?;
        let mut req = self
            .client(url)?
            .post(url.clone())
            .header("Accept", "application/json")
            .form(form);
        if let Some((id, secret)) = basic {
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            req = req.basic_auth(enc(id), Some(enc(secret.expose())));
        }
        self.send(url, req, IDP_BODY_LIMIT).await
    }

    /// A JSON API call with a bearer credential (the cluster's management
    /// API): at most [`CLUSTER_BODY_LIMIT`] bytes.
    pub async fn request_json(
        &self,
        method: reqwest::Method,
        url: &Url,
        bearer: &crate::secret::Secret,
        body: Option<&serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Result<Response, HttpError> {
        self.check_url(url)?;
        let mut req = self
            .client(url)?
            .request(method, url.clone())
            .header("Accept", "application/json")
            .bearer_auth(bearer.expose());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        self.send(url, req, CLUSTER_BODY_LIMIT).await
    }

    async fn send(
        &self,
        url: &Url,
        req: reqwest::RequestBuilder,
        limit: usize,
    ) -> Result<Response, HttpError> {
        let shown = display_url(url);
        let mut resp = req.send().await.map_err(|e| HttpError::Transport {
            url: shown.clone(),
            cause: transport_cause(&e),
        })?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type").unwrap_or_default();
        let retry_after =
            header("retry-after").and_then(|v| parse_retry_after(&v, chrono::Utc::now()));
        let location = header("location");
        let too_large = || HttpError::TooLarge {
            url: shown.clone(),
            limit,
        };
        // A declared length over the limit fails before reading anything;
        // the count below is what holds (a server may lie or stream chunks).
        if resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        // Sized once from the declared length (checked above): a list of
        // 10,000 tokens is 2.7 MB, and growing by doubling held up to twice
        // that at its peak (issue 21).
        let mut body = Vec::with_capacity(resp.content_length().map_or(0, |n| n as usize));
        prefault(&mut body);
        while let Some(chunk) = resp.chunk().await.map_err(|e| HttpError::Transport {
            url: shown.clone(),
            cause: transport_cause(&e),
        })? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(url = %shown, status, len = body.len(), "HTTP response");
        Ok(Response {
            url: shown,
            status,
            content_type,
            retry_after,
            location,
            body,
        })
    }
}

/// The innermost cause of a reqwest error: "connection refused",
/// "invalid peer certificate: UnknownIssuer", "operation timed out"…
fn transport_cause(e: &reqwest::Error) -> String {
    let mut msg = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        "request failed".to_string()
    };
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = src {
        last = Some(s.to_string());
        src = s.source();
    }
    if let Some(l) = last {
        msg.push_str(": ");
        msg.push_str(&sanitize(&l));
    }
    msg
}

/// Maps the pages of `buf`'s capacity now, in one system call, instead of
/// taking one page fault per 4 KiB as a large body arrives (issue 21: a
/// 10,000-token list is 2.7 MB, about 660 faults, 3–4 ms of a 30 ms
/// `management list` on a two-core VM; `madvise(2)` MADV_POPULATE_WRITE,
/// Linux 5.14). Only for a declared length over 1 MiB: a server that
/// declares more than it sends makes us hold what it declared, which is at
/// most the body limit we would read anyway. Advice only: a kernel without
/// it answers EINVAL, which changes nothing.
#[cfg(target_os = "linux")]
fn prefault(buf: &mut Vec<u8>) {
    if buf.capacity() < 1 << 20 {
        return;
    }
    // SAFETY: sysconf has no preconditions.
    let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as usize,
        _ => return,
    };
    let start = buf.as_mut_ptr() as usize;
    let first = start.next_multiple_of(page);
    let end = (start + buf.capacity()) / page * page;
    if end > first {
        // SAFETY: [first, end) lies inside `buf`'s allocation, which is
        // ours and writable; MADV_POPULATE_WRITE faults its pages in and
        // neither reads nor changes what they hold.
        unsafe {
            libc::madvise(
                first as *mut libc::c_void,
                end - first,
                libc::MADV_POPULATE_WRITE,
            )
        };
    }
}

#[cfg(not(target_os = "linux"))]
fn prefault(_: &mut Vec<u8>) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_detection() {
        let cases = [
            ("http://127.0.0.1:8080/x", true),
            ("http://127.8.9.1/", true),
            ("http://[::1]:80/", true),
            ("http://localhost:1/", true),
            ("http://LOCALHOST/", true),
            ("http://localhost.evil.com/", false),
            ("http://10.0.0.1/", false),
            ("http://idp.example.com/", false),
        ];
        for (u, want) in cases {
            assert_eq!(is_loopback(&Url::parse(u).unwrap()), want, "{u}");
        }
    }

    #[test]
    fn retry_after_forms() {
        let now = crate::text::parse_utc("2026-01-01T00:00:00Z").unwrap();
        let cases = [
            ("7", Some(7)),
            (" 0 ", Some(0)),
            ("Thu, 01 Jan 2026 00:00:30 GMT", Some(30)),
            ("Wed, 31 Dec 2025 23:00:00 GMT", Some(0)),
            ("99999999", Some(3600)),
            ("soon", None),
            ("-5", None),
        ];
        for (v, want) in cases {
            assert_eq!(parse_retry_after(v, now).map(|d| d.as_secs()), want, "{v}");
        }
    }

    #[test]
    fn unexpected_status_names_url_and_status_but_not_the_body() {
        let r = Response {
            url: "https://idp.example.com/token".into(),
            status: 502,
            content_type: "text/html".into(),
            retry_after: None,
            location: None,
            body: b"<html><body>Bad Gateway secret-ish stuff</body></html>".to_vec(),
        };
        let msg = r.unexpected().to_string();
        assert!(msg.contains("https://idp.example.com/token"), "{msg}");
        assert!(msg.contains("502"), "{msg}");
        assert!(!msg.contains("secret-ish"), "{msg}");
        let r = Response {
            body: br#"{"error":"invalid_client","error_description":"no such\nclient"}"#.to_vec(),
            content_type: "application/json".into(),
            status: 401,
            ..r
        };
        let msg = r.unexpected().to_string();
        assert!(msg.contains("invalid_client (no such client)"), "{msg}");
    }
}
