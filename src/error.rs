//! Domain errors, their exit codes and hints, and the top-level reporter.
//!
//! Each domain has a `thiserror` enum that keeps the URL and status it is
//! about (never a token, never a raw body) and implements [`Classify`] for
//! its exit code and hint. Commands wrap them with `anyhow` context;
//! `output::report` walks the chain to find the exit code and the hint.
//! This module imports nothing of ours, so every domain module may use it.
use std::path::PathBuf;

/// Documented exit codes (README "Exit codes", `--help`).
pub mod exit {
    pub const OK: i32 = 0;
    /// Anything not covered below.
    pub const FAILURE: i32 = 1;
    /// Bad command line, bad or missing configuration.
    pub const USAGE: i32 = 2;
    /// The user denied the device request at the identity provider.
    pub const DENIED: i32 = 3;
    /// The device code expired before anyone approved it.
    pub const EXPIRED: i32 = 4;
    /// The identity provider could not be reached, or answered garbage.
    pub const IDP: i32 = 5;
    /// No usable session (`status` when logged out, refresh refused…).
    pub const NO_SESSION: i32 = 6;
    /// Local state is unsafe or unusable (world-readable cache, unwritable dir).
    pub const LOCAL_STATE: i32 = 7;
    /// The cluster refused the credential (HTTP 401/403).
    pub const CLUSTER_AUTH: i32 = 8;
    /// The cluster could not be reached, or answered an error or garbage.
    pub const CLUSTER: i32 = 9;
    /// Some stores failed; the token is kept in the others.
    pub const STORE_PARTIAL: i32 = 10;
    /// No store took the token; it was revoked (or printed, by request).
    pub const STORE_NONE: i32 = 11;
    /// The new token was stored but did not verify.
    pub const VERIFY: i32 = 12;
    /// An interrupted rotation may have made a token, and nothing proves
    /// which listed token is ours: nothing was revoked, the candidates are
    /// named (issue 17, the fleet rule).
    pub const NOT_PROVABLY_OURS: i32 = 13;
    /// Another run holds the lock of these stores (it was named).
    pub const BUSY: i32 = 14;
    /// Interrupted by Ctrl-C / SIGINT / SIGTERM.
    pub const INTERRUPTED: i32 = 130;
}

/// Errors that know their exit code and, optionally, what to do about them.
pub trait Classify {
    /// The exit code and the hint, from one match per enum: each variant's
    /// outcome is written in one place.
    fn classify(&self) -> (i32, Option<String>);
    fn exit_code(&self) -> i32 {
        self.classify().0
    }
    fn hint(&self) -> Option<String> {
        self.classify().1
    }
}

/// An exit code with what to do about it (most arms of [`Classify::classify`]).
pub fn hinted(code: i32, hint: impl Into<String>) -> (i32, Option<String>) {
    (code, Some(hint.into()))
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A config file that is there but may not be read (no `source`: the
    /// reason is already in the message, said once).
    #[error("cannot read config file {path}: {why}")]
    Unreadable { path: PathBuf, why: String },
    /// Our config file exists but defines no profile (an empty file): the
    /// same first-run advice as no file at all.
    #[error("no configuration: {path} defines no profile")]
    EmptyConfig { path: String },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}:{line}: unknown key `{key}`")]
    UnknownKey {
        path: PathBuf,
        line: usize,
        key: String,
        /// "did you mean `scopes`?", when a known key is close.
        suggestion: Option<String>,
    },
    #[error("profile `{name}` not found in {path}")]
    NoSuchProfile {
        name: String,
        path: String,
        available: Vec<String>,
    },
    #[error("invalid value for {what} (from {source_name}): {message}")]
    Invalid {
        what: String,
        source_name: String,
        message: String,
        hint: Option<String>,
    },
    /// Nothing configured at all: no file of ours, none of influxctl's, no
    /// profile values in the environment. The same first message for every
    /// command that needs a profile.
    #[error("no configuration: {ours} does not exist{influxctl}")]
    NoConfig {
        ours: String,
        /// ", and influxctl's … was not found either" (or empty).
        influxctl: String,
    },
    /// The config file named by `--config` or `INFLUX_BOOTSTRAP_CONFIG` is not there.
    #[error("the config file {path} (from {source_name}) does not exist")]
    NamedFileMissing { path: PathBuf, source_name: String },
    #[error("{what} is not set for profile `{profile}`")]
    Missing {
        what: String,
        profile: String,
        hint: String,
    },
}

impl ConfigError {
    /// The one constructor for "this value is wrong, and here is what to do".
    pub fn invalid<'h>(
        what: &str,
        source: impl std::fmt::Display,
        message: impl Into<String>,
        hint: impl Into<Option<&'h str>>,
    ) -> Self {
        ConfigError::Invalid {
            what: what.to_string(),
            source_name: source.to_string(),
            message: message.into(),
            hint: hint.into().map(str::to_string),
        }
    }

    /// A bad command-line value (exit 2, with a hint).
    pub fn usage(what: &str, message: impl Into<String>, hint: &str) -> Self {
        Self::invalid(what, "command line", message, hint)
    }
}

impl Classify for ConfigError {
    fn classify(&self) -> (i32, Option<String>) {
        let hint = match self {
            ConfigError::UnknownKey {
                suggestion: Some(s),
                ..
            } => Some(s.clone()),
            ConfigError::UnknownKey { .. } => {
                Some("the file uses influxctl's profile schema; see `config/` for examples".into())
            }
            ConfigError::NoSuchProfile { available, .. } if available.is_empty() => {
                Some("the file has no [[profile]] entries; see `config/` for examples".into())
            }
            ConfigError::NoSuchProfile { available, .. } => Some(format!(
                "available profiles: {}; choose one with --profile",
                available.join(", ")
            )),
            ConfigError::Invalid { hint, .. } => hint.clone(),
            ConfigError::Missing { hint, .. } => Some(hint.clone()),
            ConfigError::NamedFileMissing { path, .. } => Some(format!(
                "create it with `influx-bootstrap config init --config {}`, or name another file",
                path.display()
            )),
            ConfigError::Unreadable { .. } => Some(
                "run as the user who owns it (`sudo -H` for root's own files), or point INFLUX_BOOTSTRAP_CONFIG at a file you may read".into(),
            ),
            ConfigError::EmptyConfig { .. } => Some(
                "run `influx-bootstrap config init` to write a profile into it (or see the examples in `config/`)"
                    .into(),
            ),
            ConfigError::NoConfig { .. } => Some(
                "run `influx-bootstrap config init` to write one (or see the examples in `config/`)"
                    .into(),
            ),
            _ => None,
        };
        (exit::USAGE, hint)
    }
}

/// What went wrong talking HTTP to a server (identity provider or cluster).
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot reach {url}: {}", transport_words(url, cause))]
    Transport { url: String, cause: String },
    #[error("{url} answered HTTP {status} ({content_type}, {len} bytes){detail}")]
    Status {
        url: String,
        status: u16,
        content_type: String,
        len: usize,
        /// A server-provided explanation (OAuth `error_description`), never a raw body.
        detail: String,
    },
    #[error(
        "{url} answered with a redirect (HTTP {status}) to {location}; token endpoints must not redirect"
    )]
    Redirect {
        url: String,
        status: u16,
        location: String,
    },
    #[error("{url} answered HTTP {status} with a body that is not the expected JSON: {cause}")]
    BadBody {
        url: String,
        status: u16,
        cause: String,
    },
    /// The body went past what we read from such a server (issue 11, item 11).
    #[error("{url} answered a body larger than {} MiB; refusing to read more", limit >> 20)]
    TooLarge { url: String, limit: usize },
    #[error("refusing plain http:// for {url}: only loopback hosts may use http")]
    InsecureUrl { url: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl Classify for HttpError {
    fn classify(&self) -> (i32, Option<String>) {
        match self {
            HttpError::InsecureUrl { .. } => hinted(
                exit::USAGE,
                "use https://, or set `disable = true` under [profile.tls] if you really mean plain HTTP",
            ),
            HttpError::Client(_) => (exit::USAGE, None),
            HttpError::Transport { url, cause } if speaks_plain_http(url, cause) => hinted(
                exit::IDP,
                "use http:// (loopback only) or the server's HTTPS port",
            ),
            HttpError::Transport { cause, .. } if cause.contains("certificate") => hinted(
                exit::IDP,
                "the server's certificate is not trusted; set `ca = \"/path/to/ca.pem\"` under [profile.tls]",
            ),
            HttpError::Transport { .. } => hinted(
                exit::IDP,
                "check the URL, your network and any HTTPS_PROXY/NO_PROXY settings",
            ),
            _ => (exit::IDP, None),
        }
    }
}

/// Did a TLS handshake to `url` meet a server speaking plain HTTP? rustls
/// and OpenSSL say so in their own terms ("received corrupt message of type
/// InvalidContentType", "wrong version number"); people need the plain words
/// (issue 23, A9). The one list of those terms (`cluster::probe` uses it too).
pub fn speaks_plain_http(url: &str, cause: &str) -> bool {
    let c = cause.to_ascii_lowercase();
    url.starts_with("https:")
        && (c.contains("invalidcontenttype")
            || c.contains("corrupt message")
            || c.contains("wrong version number")
            || c.contains("http request"))
}

/// A transport failure's cause for the error line: plain words for what we
/// recognise, the library's text otherwise.
fn transport_words(url: &str, cause: &str) -> String {
    if speaks_plain_http(url, cause) {
        return "the server answers plain HTTP, not HTTPS".into();
    }
    cause.to_string()
}

/// Outcomes of the login that are not bugs: the person said no, time ran out…
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the request was denied at the identity provider")]
    Denied,
    #[error("the device code expired before it was approved (it was valid for {valid_for})")]
    Expired { valid_for: String },
    #[error("the identity provider was unreachable until the device code expired: {last_error}")]
    UnreachableUntilExpiry { last_error: String },
    #[error("the identity provider refused the request: {error}{description}")]
    OAuth { error: String, description: String },
    #[error("the identity provider's configuration at {url} is unusable: {message}")]
    Discovery { url: String, message: String },
    #[error("the ID token from {issuer} failed verification: {message}")]
    IdToken { issuer: String, message: String },
    #[error("not logged in for profile `{profile}`")]
    NotLoggedIn { profile: String },
    #[error(
        "the saved session of profile `{profile}` is over: the identity provider refused its refresh token ({error}); it was deleted"
    )]
    RefreshRejected { error: String, profile: String },
    #[error("interrupted")]
    Interrupted,
}

impl Classify for AuthError {
    fn classify(&self) -> (i32, Option<String>) {
        match self {
            AuthError::Denied => hinted(
                exit::DENIED,
                "run `influx-bootstrap login` again and approve the request",
            ),
            AuthError::Expired { .. } => hinted(
                exit::EXPIRED,
                "run `influx-bootstrap login` again and approve within the time shown",
            ),
            // RFC 6749 §5.2 errors that only a setting can fix are usage
            // errors, not an unreachable provider (issue 13).
            AuthError::OAuth { error, .. } => match oauth_config_hint(error) {
                Some(hint) => hinted(exit::USAGE, hint),
                None => (exit::IDP, None),
            },
            AuthError::Discovery { .. } => hinted(
                exit::IDP,
                "check `issuer` under [profile.auth.oauth2], or set `device_url` and `token_url` explicitly",
            ),
            AuthError::UnreachableUntilExpiry { .. } | AuthError::IdToken { .. } => {
                (exit::IDP, None)
            }
            AuthError::NotLoggedIn { .. } => {
                hinted(exit::NO_SESSION, "run `influx-bootstrap login`")
            }
            AuthError::RefreshRejected { profile, .. } => hinted(
                exit::NO_SESSION,
                format!(
                    "run `influx-bootstrap --profile {profile} login` where a person can approve it, then run this again"
                ),
            ),
            AuthError::Interrupted => (exit::INTERRUPTED, None),
        }
    }
}

/// The setting to check for an OAuth error answer (RFC 6749 §5.2, RFC 8628
/// §3.2) from the device authorization or token endpoint that means the
/// client is configured wrongly, here or at the provider; `None` for the rest.
pub fn oauth_config_hint(error: &str) -> Option<&'static str> {
    Some(match error {
        "invalid_client" => {
            "check `client_id` under [profile.auth.oauth2] (INFLUX_BOOTSTRAP_CLIENT_ID): the identity provider does not know this client, or does not take it as a public client (no secret)"
        }
        "unauthorized_client" | "unsupported_grant_type" => {
            "enable the device authorization grant (RFC 8628) for this client at the identity provider, as a public client; and check `client_id` under [profile.auth.oauth2]"
        }
        "invalid_scope" => {
            "check `scopes` under [profile.auth.oauth2] (INFLUX_BOOTSTRAP_SCOPES): the identity provider refused at least one of them for this client"
        }
        "invalid_request" => {
            "check `client_id`, `scopes` and `parameters` under [profile.auth.oauth2], and that `device_url`/`token_url` are this provider's endpoints"
        }
        // django-oauth-toolkit's answer (HTTP 404) for a device code it never issued.
        "device_not_found" => {
            "the token endpoint does not know the device code: `device_url` and `token_url` under [profile.auth.oauth2] must belong to the same provider"
        }
        _ => return None,
    })
}

/// Problems logging in as a workload: the OAuth 2.0 client credentials
/// grant (RFC 6749 §4.4) and its client authentication (issue 20).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "profile `{profile}` logs in as a workload (grant = \"client_credentials\") but names no client credential"
    )]
    NoCredential { profile: String },
    #[error("profile `{profile}` names more than one client credential: {keys}")]
    Conflicting { profile: String, keys: String },
    /// A secret, key or assertion file others could read or replace.
    #[error("refusing to use {path}: {why}")]
    UnsafeFile { path: PathBuf, why: String },
    #[error("cannot read {what} {path}: {cause}")]
    Unreadable {
        what: &'static str,
        path: PathBuf,
        cause: String,
    },
    #[error("{path} is not a usable private key: {why}")]
    BadKey { path: PathBuf, why: String },
    #[error("the client assertion in {path} {problem}")]
    Assertion { path: PathBuf, problem: String },
    /// The provider's answer to the token request (RFC 6749 §5.2).
    #[error(
        "the identity provider refused the workload login of client `{client_id}`: {error}{description}"
    )]
    Refused {
        client_id: String,
        error: String,
        description: String,
        hint: String,
    },
}

impl Classify for ClientError {
    fn classify(&self) -> (i32, Option<String>) {
        match self {
            ClientError::NoCredential { .. } => hinted(
                exit::USAGE,
                "set one of `client_secret_file`, `private_key_file` or `client_assertion_file` under [profile.auth.oauth2] (or INFLUX_BOOTSTRAP_CLIENT_SECRET), or `grant = \"device\"` to log in as a person",
            ),
            ClientError::Conflicting { .. } => hinted(
                exit::USAGE,
                "keep exactly one way for the client to authenticate; `config show` says where each value comes from",
            ),
            ClientError::UnsafeFile { path, .. } => hinted(
                exit::LOCAL_STATE,
                format!(
                    "run `chmod 600 {}` (owned by the user that runs influx-bootstrap); in Kubernetes set `defaultMode: 0400` on the volume, or `runAsUser` so a projected token is written 0600 for that user",
                    path.display()
                ),
            ),
            ClientError::Unreadable { .. } => hinted(
                exit::USAGE,
                "check the path under [profile.auth.oauth2]; an assertion file is written by the platform (Kubernetes projected volume, CI job step) before the command runs",
            ),
            ClientError::BadKey { .. } => hinted(
                exit::USAGE,
                "use a PEM private key: RSA (PKCS#1 or PKCS#8) for RS256, P-256 in PKCS#8 for ES256 (`openssl pkcs8 -topk8 -nocrypt -in ec.pem -out key.pem`); set `private_key_alg` if the key does not say",
            ),
            // The platform did not rotate the file in time: no usable
            // credential, like an expired session.
            ClientError::Assertion { .. } => hinted(
                exit::NO_SESSION,
                "the platform writes and rotates this file: check that its volume or job step still runs, and this machine's clock (`influx-bootstrap doctor` measures the skew)",
            ),
            // RFC 6749 §5.2 errors that a setting fixes are usage errors;
            // any other refusal is the provider's.
            ClientError::Refused { error, hint, .. } => {
                let setting = matches!(
                    error.as_str(),
                    "invalid_client"
                        | "invalid_request"
                        | "unauthorized_client"
                        | "unsupported_grant_type"
                        | "invalid_scope"
                        | "invalid_target"
                );
                hinted(if setting { exit::USAGE } else { exit::IDP }, hint.clone())
            }
        }
    }
}

/// Problems with the local session cache.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("refusing to use {path}: it is readable by other users (mode {mode:o})")]
    Insecure { path: PathBuf, mode: u32 },
    /// The cache directory, a session file or a lock file is not safely ours
    /// (another owner, writable by others, a symbolic link).
    #[error("refusing to use the session cache at {path}: {why}")]
    Unsafe { path: PathBuf, why: String },
    /// The cache directory belongs to another user. As root, that is most
    /// often the user's own HOME under `sudo` (issue 23, A10): their
    /// session must not be removed.
    #[error(
        "refusing to use the session cache at {path}: the directory belongs to another user (uid {uid})"
    )]
    Foreign {
        path: PathBuf,
        uid: u32,
        as_root: bool,
    },
    #[error("cannot use the session cache at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Classify for CacheError {
    fn classify(&self) -> (i32, Option<String>) {
        let hint = match self {
            CacheError::Insecure { path, .. } => format!(
                "run `chmod 600 {}` (and `chmod 700` its directory) if you trust its contents, or delete it and log in again",
                path.display()
            ),
            CacheError::Io { .. } => {
                "set INFLUX_BOOTSTRAP_CACHE_DIR to a writable directory".into()
            }
            CacheError::Foreign {
                uid, as_root: true, ..
            } => format!(
                "running as root with another user's HOME (uid {uid}; `sudo` without -H?): run `sudo -H …`, or set INFLUX_BOOTSTRAP_CACHE_DIR to a directory of root's; do not remove it, it may be that user's session"
            ),
            CacheError::Foreign { .. } | CacheError::Unsafe { .. } => {
                "someone else may have planted it: remove it and log in again, or set \
                 INFLUX_BOOTSTRAP_CACHE_DIR to a directory of your own (mode 0700)"
                    .into()
            }
        };
        hinted(exit::LOCAL_STATE, hint)
    }
}

/// Problems with the state directory: records, rotate journals, locks.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Not safely ours: another owner, writable by others, a symbolic link,
    /// a journal that names other stores than its file does.
    #[error("refusing to use the state directory at {path}: {why}")]
    Unsafe { path: PathBuf, why: String },
    #[error("cannot use the state directory at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Another run holds the lock of these stores.
    #[error("another run is using these stores ({holder}); gave up after waiting {waited}")]
    Busy { holder: String, waited: String },
    /// Recovery found tokens that may be the lost create's, and no marker
    /// proves it: nothing was revoked.
    #[error(
        "an interrupted rotation of these stores may have created a token, and nothing proves which is ours; \
         nothing was revoked. Candidates: {candidates}"
    )]
    NotProvablyOurs {
        candidates: String,
        journal: PathBuf,
    },
}

impl Classify for StateError {
    fn classify(&self) -> (i32, Option<String>) {
        match self {
            StateError::Unsafe { .. } => hinted(
                exit::LOCAL_STATE,
                "someone else may have planted it: remove what you did not put there, \
                 or set INFLUX_BOOTSTRAP_STATE_DIR to a directory of your own (mode 0700)",
            ),
            StateError::Io { .. } => hinted(
                exit::LOCAL_STATE,
                "set INFLUX_BOOTSTRAP_STATE_DIR to a writable directory of your own",
            ),
            StateError::Busy { .. } => hinted(
                exit::BUSY,
                "run again once it has finished (a run killed with kill -9 releases the lock at once)",
            ),
            StateError::NotProvablyOurs { journal, .. } => hinted(
                exit::NOT_PROVABLY_OURS,
                format!(
                    "look at each with `influx-bootstrap management list` / `token list`, revoke the ones that are \
                     yours, then remove {}",
                    journal.display()
                ),
            ),
        }
    }
}

/// Errors from the cluster's Management API (ours and the documented one).
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("the cluster at {url} rejected the {credential} (HTTP 401){message}")]
    Unauthorized {
        url: String,
        credential: &'static str,
        message: String,
    },
    #[error("{message} (HTTP 403 from {url})")]
    Forbidden { url: String, message: String },
    /// An item route answered 404: `what` names the item ("database `x`"),
    /// `list` the command that shows what there is ("database list").
    #[error("no {what} on this cluster (HTTP 404)")]
    NotFound { what: String, list: &'static str },
    /// A create answered 409: `what` names the item ("database `x`").
    #[error("{what} already exists on this cluster (HTTP 409)")]
    AlreadyExists { what: String, list: &'static str },
    #[error("the cluster rejected the request: {message} (HTTP {status} from {url})")]
    Rejected {
        url: String,
        status: u16,
        message: String,
    },
    #[error("the cluster at {url} answered HTTP {status}{message}")]
    Server {
        url: String,
        status: u16,
        message: String,
    },
    #[error("cannot reach the cluster at {url}: {cause}")]
    Unreachable { url: String, cause: String },
    /// The program that would receive the management token (influxctl) is
    /// not one to trust with it: `why` says which rule it breaks.
    #[error("refusing to run {program}: {why}")]
    UntrustedProgram { program: String, why: String },
    #[error("the cluster at {url} answered with something that is not the management API: {cause}")]
    BadResponse { url: String, cause: String },
    /// A create answered with a secret no store can hold safely (see
    /// `secret::check_token_text`); `what` says what became of the token.
    #[error(
        "the cluster answered with a token that {why}; it was never shown or stored, and {what}"
    )]
    UnsafeToken { why: String, what: String },
    /// The pre-flight probe's verdict, reached after the first request of a
    /// run that let that request stand in for the probe (issue 21): the
    /// same words, exit code and hint as the probe run first.
    #[error(transparent)]
    Probe(#[from] ProbeError),
}

/// What a call to the cluster answered, or why it did not.
pub type ClusterResult<T> = Result<T, ClusterError>;

impl ClusterError {
    /// After a create: is it unknown whether the token exists (no answer, a
    /// 5xx, a garbled body)? Then the create may have committed.
    pub fn create_outcome_unknown(&self) -> bool {
        matches!(
            self,
            ClusterError::Unreachable { .. }
                | ClusterError::Server { .. }
                | ClusterError::BadResponse { .. }
        )
    }
}

impl Classify for ClusterError {
    fn classify(&self) -> (i32, Option<String>) {
        match self {
            ClusterError::Probe(p) => p.classify(),
            ClusterError::Unauthorized { credential, .. } if credential.starts_with("OAuth") => {
                hinted(
                    exit::CLUSTER_AUTH,
                    "the cached session was dropped; run `influx-bootstrap login --force` and try again",
                )
            }
            ClusterError::Unauthorized { .. } => hinted(
                exit::CLUSTER_AUTH,
                "the management token is invalid, expired or revoked; unset mgmt_token (or INFLUX_BOOTSTRAP_MGMT_TOKEN) to log in as a person instead",
            ),
            ClusterError::Forbidden { .. } => hinted(
                exit::CLUSTER_AUTH,
                "ask a cluster admin to add you to the cluster's admin users, or log in as another user with `login --force`",
            ),
            ClusterError::UntrustedProgram { .. } => hinted(
                exit::USAGE,
                "set `influxctl` (or INFLUX_BOOTSTRAP_INFLUXCTL) to an absolute path, or a bare name found on PATH, of a program owned by root or you that nobody else can change",
            ),
            ClusterError::NotFound { list, .. } | ClusterError::AlreadyExists { list, .. } => {
                hinted(
                    exit::FAILURE,
                    format!("`influx-bootstrap {list}` shows what there is"),
                )
            }
            ClusterError::Rejected { .. } => (exit::FAILURE, None),
            ClusterError::Unreachable { cause, .. } if cause.contains("certificate") => hinted(
                exit::CLUSTER,
                "the cluster's certificate is not trusted; set `ca = \"/path/to/ca.pem\"` under [profile.tls]",
            ),
            ClusterError::Unreachable { .. } => hinted(
                exit::CLUSTER,
                "check `host`/`port` (and `management_url`, if set) in the profile, your network and HTTPS_PROXY/NO_PROXY",
            ),
            _ => (exit::CLUSTER, None),
        }
    }
}

/// Outcomes of `mint` and `rotate` that are reported after the fact.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error("{failed} of {total} stores failed; the token {id} is kept in the others")]
    SomeStoresFailed {
        failed: usize,
        total: usize,
        id: String,
    },
    #[error("no store took the token {id}; {what}")]
    NoStore { id: String, what: String },
    #[error("the new token {id} was stored but failed verification: {message}")]
    Verify { id: String, message: String },
    #[error("interrupted; {what}")]
    Interrupted { what: String },
    /// Readiness (issue 17): the new token was not accepted where consumers
    /// use it in time; the stores kept the old one.
    #[error(
        "the new token {id} was not accepted on the cluster's data path within {waited}; \
         the stores keep the old token, which stays valid; new token: {what}"
    )]
    NotReady {
        id: String,
        waited: String,
        what: String,
    },
}

impl Classify for MintError {
    fn classify(&self) -> (i32, Option<String>) {
        let code = match self {
            MintError::SomeStoresFailed { .. } => exit::STORE_PARTIAL,
            MintError::NoStore { .. } => exit::STORE_NONE,
            MintError::Verify { .. } => exit::VERIFY,
            MintError::Interrupted { .. } => exit::INTERRUPTED,
            MintError::NotReady { .. } => exit::CLUSTER,
        };
        (code, None)
    }
}

/// Where InfluxData documents installing influxctl.
pub const INFLUXCTL_DOCS: &str = "https://docs.influxdata.com/influxdb3/clustered/reference/cli/influxctl/#download-and-install-influxctl";

/// The pre-flight probe of the cluster (`cluster::probe`), before any device
/// code: the reason to stop now, in plain words.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// Refused, DNS, TLS, plain HTTP on the HTTPS port, no answer: `why` is
    /// already plain words ("nothing is listening at https://h:8443 …").
    #[error("{why}")]
    Unreachable {
        origin: String,
        why: String,
        hint: String,
    },
    /// 404 on our management-token routes: a stock cluster.
    #[error(
        "the cluster at {origin} does not serve influx-bootstrap's management-token API (HTTP 404): it looks like a stock InfluxDB 3 cluster"
    )]
    StockCluster { origin: String },
    /// Something answered, but neither 401 nor 404.
    #[error(
        "the server at {origin} answered HTTP {status} to {url}, not like an InfluxDB 3 cluster's management API"
    )]
    OtherService {
        origin: String,
        url: String,
        status: u16,
    },
    /// 404 on `/databases` in every path form of the documented API:
    /// another web server, not a cluster (issue 23, A8b).
    #[error("HTTP 404 at {url}: not an InfluxDB 3 Management API; check host and port")]
    NotManagementApi { url: String },
    /// The profile cannot even name the URL to probe.
    #[error("{0}")]
    Config(String),
}

impl Classify for ProbeError {
    fn classify(&self) -> (i32, Option<String>) {
        match self {
            ProbeError::Unreachable { hint, .. } => hinted(exit::CLUSTER, hint.clone()),
            ProbeError::StockCluster { .. } => hinted(
                exit::USAGE,
                format!(
                    "management tokens on a stock cluster are made with influxctl: set `management_backend = \"influxctl\"` in the profile (influxctl must be installed: {INFLUXCTL_DOCS}); `database` and `token` commands work as they are"
                ),
            ),
            ProbeError::OtherService { .. } => hinted(
                exit::CLUSTER,
                "check `host` and `port` in the profile (and `management_url`, if set): another service may be listening there",
            ),
            ProbeError::NotManagementApi { .. } => hinted(
                exit::CLUSTER,
                "check `host` and `port` in the profile (and `management_url`, `account_id` and `cluster_id`, if set): another web server may be listening there",
            ),
            ProbeError::Config(_) => (exit::USAGE, None),
        }
    }
}
