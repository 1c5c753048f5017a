//! Driving InfluxData's `influxctl` for management tokens (issue 9).
//!
//! A stock cluster creates, lists and revokes management tokens only over a
//! private gRPC API whose one public client is `influxctl` (closed source).
//! What is known of it comes from InfluxData's docs and release notes; every
//! inference is listed in `docs/real-cluster-checklist.md`:
//!
//! - its config is the `[[profile]]` schema we read; `--config PATH` and
//!   `--profile NAME` pick it; it does no OIDC discovery, so the profile we
//!   write names `device_url` and `token_url` explicitly;
//! - `management create --description D [--expires-at RFC3339] --format json`,
//!   `management list --format json` (snake_case; times as
//!   `{"seconds": n, "nanos": n}`; `expires_at`/`revoked_at` absent when
//!   unset), `management revoke --force ID...`; non-zero exit = failure;
//! - with `mgmt_token` in the profile it needs no person; otherwise it runs
//!   its own device login on the terminal.
//!
//! The config we hand it is a temporary file ([`TempConfig`]: 0600 in a 0700
//! directory of ours, removed when dropped — on success, error, and when a
//! signal makes the command unwind, since our signal handler only sets a
//! flag and the process exits through the normal return path). The child
//! never gets a token in argv or environment: `INFLUX*TOKEN*` variables and
//! ours are removed (as for the `exec:` store), the management token travels
//! in that file only.
use crate::cluster::ManagementToken;
use crate::error::ClusterError;
use crate::printer::Printer;
use crate::secret::Secret;
use crate::settings::Profile;
use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use serde_json::Value as Json;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

mod child;
mod relay;

use child::{Group, TEMP_PREFIX, die_with_us};
pub use child::{LOGIN_TIMEOUT, Located, RUN_TIMEOUT, locate, sweep_stale_configs};

/// Where InfluxData documents installing influxctl.
pub const INSTALL_DOCS: &str = crate::error::INFLUXCTL_DOCS;

/// The name of the one profile in the temporary config.
const PROFILE: &str = "influx-bootstrap";

/// The shortest base64url tail a whole management token has. Ours and the
/// reference cluster's are 43 characters (32 random bytes); a displayed
/// prefix such as influxctl's `token_prefix` (`"M.V1.+5Jk"`) is far shorter.
const MIN_TOKEN_TAIL: usize = 32;

/// The OAuth endpoints influxctl needs spelled out (it does no discovery).
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub device_url: url::Url,
    pub token_url: url::Url,
}

/// How influxctl authenticates for one run.
pub enum Auth<'a> {
    /// `mgmt_token` in the temporary profile: no person needed.
    Token(&'a Secret),
    /// influxctl's own device login: it gets the terminal's stdin.
    Person,
}

/// The `influxctl` program and the profile it is run with.
#[derive(Clone)]
pub struct Influxctl {
    pub program: PathBuf,
    profile: CtlProfile,
    printer: Printer,
    /// Variable names present in our environment that the child must not see.
    scrub: Vec<String>,
}

/// The profile we write, in influxctl's schema.
#[derive(Clone, Serialize)]
struct CtlProfile {
    name: String,
    product: String,
    host: String,
    port: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mgmt_token: Option<String>,
    tls: CtlTls,
    auth: CtlAuth,
}

#[derive(Clone, Serialize)]
struct CtlTls {
    insecure: bool,
    disable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    ca: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<PathBuf>,
}

#[derive(Clone, Serialize)]
struct CtlAuth {
    oauth2: CtlOAuth2,
}

#[derive(Clone, Serialize)]
struct CtlOAuth2 {
    client_id: String,
    scopes: Vec<String>,
    parameters: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_url: Option<String>,
}

#[derive(Serialize)]
struct CtlFile<'a> {
    profile: [&'a CtlProfile; 1],
}

/// The temporary config: removed (with its directory) when dropped.
pub struct TempConfig {
    dir: tempfile::TempDir,
}

impl TempConfig {
    /// Write `text` to `config.toml`, 0600, in a fresh 0700 directory.
    pub fn write(text: &str) -> std::io::Result<TempConfig> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
            .tempdir()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
        }
        crate::fsutil::write_private_atomic(&dir.path().join("config.toml"), text.as_bytes())?;
        Ok(TempConfig { dir })
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Influxctl {
    /// The driver for `profile`; `endpoints` are resolved from our issuer.
    pub fn new(profile: &Profile, endpoints: Option<&Endpoints>, printer: &Printer) -> Self {
        let o = &profile.oauth2;
        let s = |v: &Option<crate::settings::Value<String>>| v.as_ref().map(|v| v.value.clone());
        let p = |v: &Option<crate::settings::Value<PathBuf>>| v.as_ref().map(|v| v.value.clone());
        let scrub = crate::env::Env::process_names()
            .into_iter()
            .filter(|n| is_scrubbed(n))
            .collect();
        Influxctl {
            program: profile.influxctl.value.clone(),
            profile: CtlProfile {
                name: PROFILE.into(),
                product: profile.product.value.as_str().into(),
                host: s(&profile.host).unwrap_or_default(),
                port: profile.port.value.to_string(),
                account_id: s(&profile.account_id),
                cluster_id: s(&profile.cluster_id),
                mgmt_token: None,
                tls: CtlTls {
                    insecure: profile.tls.insecure.value,
                    disable: profile.tls.disable.value,
                    ca: p(&profile.tls.ca),
                    cert: p(&profile.tls.cert),
                    key: p(&profile.tls.key),
                },
                auth: CtlAuth {
                    oauth2: CtlOAuth2 {
                        client_id: s(&o.client_id).unwrap_or_default(),
                        scopes: o.scopes.value.clone(),
                        parameters: o.parameters.value.clone(),
                        device_url: endpoints.map(|e| e.device_url.to_string()),
                        token_url: endpoints.map(|e| e.token_url.to_string()),
                    },
                },
            },
            printer: printer.clone(),
            scrub,
        }
    }

    /// The config text for one run (`mgmt_token` set for [`Auth::Token`]).
    fn config_text(&self, auth: &Auth<'_>) -> String {
        let mut p = self.profile.clone();
        if let Auth::Token(t) = auth {
            p.mgmt_token = Some(t.expose().to_string());
        }
        toml::to_string(&CtlFile { profile: [&p] }).unwrap_or_default()
    }

    /// `management create`: the new token and its id.
    pub async fn create(
        &self,
        auth: Auth<'_>,
        description: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Created, ClusterError> {
        let mut args = vec![
            "management".to_string(),
            "create".into(),
            "--description".into(),
            description.into(),
        ];
        if let Some(e) = expires_at {
            args.push("--expires-at".into());
            args.push(crate::text::rfc3339(e));
        }
        args.extend(["--format".into(), "json".into()]);
        let out = self.run(&auth, &args).await?;
        match parse_created(&out) {
            Ok(c) => Ok(c),
            Err(why) => Err(ClusterError::BadResponse {
                url: self.what(),
                cause: format!("{why} ({})", self.version().await),
            }),
        }
    }

    /// `management list`.
    pub async fn list(&self, auth: Auth<'_>) -> Result<Vec<ManagementToken>, ClusterError> {
        let out = self
            .run(
                &auth,
                &["management", "list", "--format", "json"].map(String::from),
            )
            .await?;
        parse_list(&out).map_err(|why| ClusterError::BadResponse {
            url: self.what(),
            cause: why,
        })
    }

    /// `management revoke --force ID`.
    pub async fn revoke(&self, auth: Auth<'_>, id: &str) -> Result<(), ClusterError> {
        let args = ["management", "revoke", "--force", id].map(String::from);
        self.run(&auth, &args).await.map(|_| ())
    }

    /// `influxctl version`, for error messages ("unknown version" if it fails).
    pub async fn version(&self) -> String {
        let Ok(program) = self.located() else {
            return "`influxctl version` failed".into();
        };
        let mut cmd = self.command(&program);
        cmd.arg("version").stdin(Stdio::null());
        match cmd.output().await {
            Ok(o) if o.status.success() => {
                let v = String::from_utf8_lossy(&o.stdout);
                format!("`influxctl version` says {:?}", shown(v.trim()))
            }
            _ => "`influxctl version` failed".into(),
        }
    }

    fn what(&self) -> String {
        format!("influxctl ({})", self.program.display())
    }

    fn command(&self, program: &Path) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(program);
        for n in &self.scrub {
            cmd.env_remove(n);
        }
        cmd.kill_on_drop(true);
        cmd
    }

    /// Run influxctl with the temporary config; its stdout's JSON document
    /// once it exited 0. What else it prints goes to our stderr, redacted
    /// ([`relay`]): as it arrives when a person may have to answer it, else
    /// once it exited (so the token a create printed is known and redacted in
    /// every line, whichever came first).
    ///
    /// Bounded (issue 19 item 2): [`RUN_TIMEOUT`] ([`LOGIN_TIMEOUT`] with a
    /// person), after which it is killed; once it exited, its pipes are read
    /// for at most [`DRAIN`] more (a grandchild that inherited them must not
    /// hold us). With no person it runs in its own process group, and
    /// whatever is left of that group is killed when the run ends, however it
    /// ends (also when the caller drops this future on a signal).
    async fn run(&self, auth: &Auth<'_>, args: &[String]) -> Result<String, ClusterError> {
        // The directory tempfile puts `TempConfig` in (it reads TMPDIR).
        sweep_stale_configs(&std::env::temp_dir());
        let program = self.located()?;
        let conf = TempConfig::write(&self.config_text(auth))
            .map_err(|e| self.unreachable(format!("cannot write its temporary config: {e}")))?;
        let person = matches!(auth, Auth::Person);
        let mut cmd = self.invocation(&program, auth, &conf.path(), args);
        tracing::info!("running {} {}", self.program.display(), args.join(" "));
        let mut child = cmd.spawn().map_err(|e| self.spawn_error(e))?;
        let _group = Group((!person).then(|| child.id()).flatten());
        let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(self.unreachable("no pipes to the child".into()));
        };
        let held: Vec<&str> = match auth {
            Auth::Token(t) => vec![t.expose()],
            Auth::Person => Vec::new(),
        };
        let relay = RefCell::new(relay::Relay::new(&self.printer, &held, !person));
        let collected = RefCell::new(relay::Collected::default());
        let limit = if person { LOGIN_TIMEOUT } else { RUN_TIMEOUT };
        let reading = async {
            tokio::join!(
                relay::read_stderr(err, &relay),
                relay::read_stdout(out, &relay, &collected)
            );
        };
        let status = child::bounded(&mut child, reading, limit).await;
        let status = match status {
            Some(s) => s,
            None => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                relay.borrow_mut().finish();
                return Err(self.unreachable(format!(
                    "`{}` did not finish within {}; it was killed",
                    args[..2].join(" "),
                    humantime::format_duration(limit)
                )));
            }
        };
        drop(conf);
        let (doc, before) = collected.into_inner().document();
        let mut relay = relay.into_inner();
        for l in before {
            relay.line(l);
        }
        redact_document(&mut relay, &doc);
        let last = relay.finish();
        if let Some(e) = relay.overflow() {
            return Err(ClusterError::BadResponse {
                url: self.what(),
                cause: e,
            });
        }
        let status = status.map_err(|e| self.unreachable(e.to_string()))?;
        if !status.success() {
            return Err(self.failure(auth, args, status, &last));
        }
        Ok(doc)
    }

    /// The program to run, located and checked ([`locate`]).
    fn located(&self) -> Result<PathBuf, ClusterError> {
        locate(&self.program, &crate::env::Env::from_process()).map_err(|e| match e {
            Located::Missing => {
                self.spawn_error(std::io::Error::from(std::io::ErrorKind::NotFound))
            }
            Located::Untrusted(why) => ClusterError::UntrustedProgram {
                program: self.program.display().to_string(),
                why,
            },
        })
    }

    /// What a non-zero exit of influxctl means, from its last lines.
    fn failure(
        &self,
        auth: &Auth<'_>,
        args: &[String],
        status: std::process::ExitStatus,
        last: &[String],
    ) -> ClusterError {
        let tail = last.join(" / ");
        // gRPC status names in influxctl's error line (its only error
        // contract is a non-zero exit; see docs/real-cluster-checklist.md
        // §8): a rejected management token is told apart so that a
        // revoked stored token reads as "no longer works" (`--if-missing`
        // replaces it), and an unknown id as 404.
        if tail.contains("code = Unauthenticated") && matches!(auth, Auth::Token(_)) {
            return ClusterError::Unauthorized {
                url: self.what(),
                credential: "management token",
                message: format!(": {tail}"),
            };
        }
        if tail.contains("code = NotFound") {
            return ClusterError::NotFound {
                what: format!("management token (influxctl: {tail})"),
                list: "management list",
            };
        }
        ClusterError::Server {
            url: self.what(),
            status: 0,
            message: format!(
                ": `{}` failed ({status}){}",
                args[..2].join(" "),
                if tail.is_empty() {
                    String::new()
                } else {
                    format!(": {tail}")
                }
            ),
        }
    }

    fn spawn_error(&self, e: std::io::Error) -> ClusterError {
        let cause = if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "it is not installed (or not on PATH); set `influxctl = \"/path/to/influxctl\"` in the profile. InfluxData documents installing it at {INSTALL_DOCS}"
            )
        } else {
            format!("cannot start it: {e}")
        };
        self.unreachable(cause)
    }

    fn unreachable(&self, cause: String) -> ClusterError {
        ClusterError::Unreachable {
            url: self.what(),
            cause,
        }
    }

    /// The command line of one run: our temporary config and profile, then
    /// `args`, its output piped to us. How it is attached to the terminal
    /// depends on who answers it.
    fn invocation(
        &self,
        program: &Path,
        auth: &Auth<'_>,
        config: &Path,
        args: &[String],
    ) -> tokio::process::Command {
        let mut cmd = self.command(program);
        cmd.arg("--config")
            .arg(config)
            .arg("--profile")
            .arg(PROFILE)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match auth {
            // A person may have to answer influxctl's login on the terminal
            // (so it stays in the terminal's foreground process group).
            Auth::Person => {
                cmd.stdin(Stdio::inherit());
            }
            // No person: its own process group, so a Ctrl-C on the terminal
            // reaches only us and a create in flight finishes; the pipeline
            // then revokes what it made (rather than reconciling a create
            // that died half-way).
            Auth::Token(_) => {
                cmd.stdin(Stdio::null());
                #[cfg(unix)]
                cmd.process_group(0);
            }
        }
        die_with_us(&mut cmd);
        cmd
    }
}

/// Whatever token influxctl's JSON document holds is a secret from now on
/// (the stand-in, like a leaky tool, also logs it on stderr).
fn redact_document(relay: &mut relay::Relay<'_>, doc: &str) {
    if let Ok(v) = serde_json::from_str::<Json>(doc) {
        let mut all = Vec::new();
        strings(&v, &mut all);
        for t in all.into_iter().filter(|s| is_full_token(s)) {
            relay.add_secret(t);
        }
    }
}

/// One line of influxctl's output, as a person may see it: token-shaped
/// runs redacted first (a cut must never leave a token's head unredacted),
/// then control characters made visible and the line cut to length.
fn shown(line: &str) -> String {
    crate::text::sanitize(&redact(line))
}

/// Variables the child never sees: ours (`INFLUX_BOOTSTRAP_*`) and any
/// `INFLUX*TOKEN*` (the rule of the `exec:` store).
fn is_scrubbed(name: &str) -> bool {
    name.to_ascii_uppercase().starts_with("INFLUX_BOOTSTRAP_") || crate::env::is_token_var(name)
}

/// What `management create` printed that matters.
pub struct Created {
    pub id: String,
    pub token: Secret,
    pub meta: ManagementToken,
}

fn is_b64url(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// A whole management token: `M.V1.` + base64url, long enough.
pub fn is_full_token(s: &str) -> bool {
    s.strip_prefix("M.V1.")
        .is_some_and(|t| t.len() >= MIN_TOKEN_TAIL && t.chars().all(is_b64url))
}

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::try_parse(s).is_ok() && s.len() == 36
}

fn strings<'a>(v: &'a Json, out: &mut Vec<&'a str>) {
    match v {
        Json::String(s) => out.push(s),
        Json::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Json::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// The first object (breadth first) with a UUID-shaped `id`.
fn object_with_id(v: &Json) -> Option<&serde_json::Map<String, Json>> {
    let mut queue = std::collections::VecDeque::from([v]);
    while let Some(v) = queue.pop_front() {
        match v {
            Json::Object(o) => {
                if o.get("id").and_then(Json::as_str).is_some_and(is_uuid) {
                    return Some(o);
                }
                queue.extend(o.values());
            }
            Json::Array(a) => queue.extend(a),
            _ => {}
        }
    }
    None
}

/// Parse `management create --format json` defensively (its keys are not
/// documented): the token is the one string with the full token form, the id
/// the UUID-shaped `id`. Errors never contain the token.
pub fn parse_created(text: &str) -> Result<Created, String> {
    let v: Json = serde_json::from_str(text.trim())
        .map_err(|e| format!("influxctl's output is not one JSON document ({e})"))?;
    let mut all = Vec::new();
    strings(&v, &mut all);
    let mut tokens: Vec<&str> = all.into_iter().filter(|s| is_full_token(s)).collect();
    tokens.dedup();
    let token = match tokens.as_slice() {
        [t] => Secret::new(*t),
        [] => return Err("influxctl's create output holds no string of the management-token form (M.V1. and a whole token)".into()),
        many => {
            return Err(format!(
                "influxctl's create output holds {} strings of the management-token form; cannot tell which is the new token",
                many.len()
            ));
        }
    };
    let o = object_with_id(&v).ok_or("influxctl's create output has no UUID-shaped `id`")?;
    let mut meta = token_meta(o).map_err(|e| format!("influxctl's create output: {e}"))?;
    if meta.token_prefix.is_empty() || meta.token_prefix == token.expose() {
        meta.token_prefix = token.expose().chars().take(12).collect();
    }
    Ok(Created {
        id: meta.id.clone(),
        token,
        meta,
    })
}

/// A time as influxctl prints it: `{"seconds": n, "nanos": n}` (protobuf
/// Timestamp as JSON), tolerating an RFC 3339 string too.
fn time(v: Option<&Json>) -> Result<Option<DateTime<Utc>>, String> {
    match v {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| format!("bad time {:?}: {e}", crate::text::sanitize(s))),
        Some(Json::Object(o)) => {
            let secs = o.get("seconds").and_then(|s| {
                s.as_i64()
                    .or_else(|| s.as_str().and_then(|s| s.parse().ok()))
            });
            let nanos = o.get("nanos").and_then(Json::as_u64).unwrap_or(0);
            match secs {
                Some(s) => Utc
                    .timestamp_opt(s, nanos.min(999_999_999) as u32)
                    .single()
                    .map(Some)
                    .ok_or_else(|| format!("time out of range: {s}")),
                None => Err("a time object without `seconds`".into()),
            }
        }
        Some(other) => Err(format!("unexpected time {other}")),
    }
}

fn text(o: &serde_json::Map<String, Json>, key: &str) -> String {
    o.get(key)
        .and_then(Json::as_str)
        .map(str::to_string)
        .unwrap_or_default()
}

fn token_meta(o: &serde_json::Map<String, Json>) -> Result<ManagementToken, String> {
    let id = text(o, "id");
    if id.is_empty() {
        return Err("a token without `id`".into());
    }
    let prefix = text(o, "token_prefix");
    Ok(ManagementToken {
        description: text(o, "description"),
        // Never keep a whole token as the "prefix".
        token_prefix: if is_full_token(&prefix) {
            String::new()
        } else {
            prefix
        },
        // No `created_at`: the Unix epoch, never "now" (issue 19 item 6).
        // "Now" made an old token pass every "created since the run began"
        // filter of reconciliation and recovery; the epoch passes none, and
        // reads as obviously unknown in a list.
        created_at: time(o.get("created_at"))?.unwrap_or(DateTime::UNIX_EPOCH),
        created_by: {
            let by = text(o, "created_by");
            if by.is_empty() {
                o.get("created_by")
                    .and_then(|b| b.get("email").or_else(|| b.get("id")))
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_string()
            } else {
                by
            }
        },
        expires_at: time(o.get("expires_at"))?,
        revoked_at: time(o.get("revoked_at"))?,
        permissions: Vec::new(),
        id,
    })
}

/// Parse `management list --format json`: an array of tokens, or an object
/// holding one (e.g. `{"tokens": [...]}`); an empty document is no tokens.
pub fn parse_list(text: &str) -> Result<Vec<ManagementToken>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let v: Json = serde_json::from_str(text.trim())
        .map_err(|e| format!("influxctl's list output is not one JSON document ({e})"))?;
    let items: Vec<&Json> = match &v {
        Json::Array(a) => a.iter().collect(),
        Json::Object(o) => match o.values().find_map(Json::as_array) {
            Some(a) => a.iter().collect(),
            None if o.contains_key("id") => vec![&v],
            None => Vec::new(),
        },
        Json::Null => Vec::new(),
        _ => return Err("influxctl's list output is neither a list nor an object".into()),
    };
    items
        .into_iter()
        .map(|i| match i {
            Json::Object(o) => token_meta(o),
            _ => Err("a list entry that is not an object".into()),
        })
        .collect::<Result<_, _>>()
        .map_err(|e| format!("influxctl's list output: {e}"))
}

/// Replace token-shaped runs in a line we relay: management tokens
/// (`M.V1.…`), database tokens (`apiv1_…`), JWTs (`eyJ….….…`), and any
/// other run that looks random enough to be a secret ([`opaque`]: a piece of
/// a wrapped JWT, an opaque refresh token).
pub fn redact(line: &str) -> String {
    opaque(&shapes(line))
}

/// Runs of 40 or more base64/base64url characters holding upper- and
/// lower-case letters and digits: how random secrets look, and how words,
/// paths, UUIDs (36) and hex digests (no upper case) do not.
fn opaque(line: &str) -> String {
    let body = |c: char| is_b64url(c) || "+/=".contains(c);
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find(body) {
        out.push_str(&rest[..i]);
        let run = &rest[i..];
        let n = run.find(|c: char| !body(c)).unwrap_or(run.len());
        let r = &run[..n];
        let random = n >= 40
            && r.contains(|c: char| c.is_ascii_uppercase())
            && r.contains(|c: char| c.is_ascii_lowercase())
            && r.contains(|c: char| c.is_ascii_digit());
        out.push_str(if random { "[redacted]" } else { r });
        rest = &run[n..];
    }
    out.push_str(rest);
    out
}

fn shapes(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while !rest.is_empty() {
        let at = ["M.V1.", "apiv1_", "eyJ"]
            .iter()
            .filter_map(|m| rest.find(m).map(|i| (i, *m)))
            .min();
        let Some((i, marker)) = at else {
            out.push_str(rest);
            break;
        };
        out.push_str(&rest[..i]);
        let tail = &rest[i + marker.len()..];
        // base64url, standard base64 (+ / =) and dots (a JWT's separators;
        // and a token glued to another must not leave the second one's tail).
        let body = |c: char| is_b64url(c) || "+/=.".contains(c);
        let n = tail.find(|c: char| !body(c)).unwrap_or(tail.len());
        let is_jwt = marker != "eyJ" || tail[..n].matches('.').count() >= 2;
        if is_jwt && (marker != "eyJ" || n >= 10) {
            out.push_str(marker);
            out.push_str("[redacted]");
            rest = &tail[n..];
        } else {
            out.push_str(marker);
            rest = tail;
        }
    }
    out
}

#[cfg(test)]
mod tests;
