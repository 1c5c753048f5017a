//! `config init`: write a profile to our config file, asking on a terminal
//! for what the flags did not give, trying discovery at once, and printing
//! the next command to run.
//!
//! The file is edited with `toml_edit`, so other profiles and comments stay
//! as they are; it is written 0600 through `fsutil::write_private` (it may
//! later hold `mgmt_token`), and a profile of the same name is replaced only
//! with `--force`.
use super::Context;
use crate::cli::{ConfigInitArgs, Preset};
use crate::error::ConfigError;
use crate::fsutil::{self, Replace};
use crate::settings::{self, DEFAULT_SCOPES};
use std::io::{BufRead, IsTerminal};
use std::path::Path;
use toml_edit::DocumentMut;

mod workload;

/// What goes into the new `[[profile]]`.
#[derive(Debug, Default)]
struct Answers {
    product: String,
    host: String,
    port: String,
    account_id: Option<String>,
    cluster_id: Option<String>,
    issuer: String,
    client_id: String,
    scopes: Vec<String>,
    parameters: Vec<(String, String)>,
    /// `[profile.tls] disable = true`: plain HTTP to a loopback cluster.
    tls_disable: bool,
    /// `[profile.tls] ca`: a private CA's certificate.
    ca: Option<String>,
    /// A workload's client credential (key, path): `grant = "client_credentials"`.
    workload: Option<(&'static str, std::path::PathBuf)>,
}

pub async fn run(ctx: &Context, args: ConfigInitArgs) -> anyhow::Result<()> {
    let name = ctx
        .global
        .profile
        .clone()
        .or_else(|| ctx.env.get("INFLUX_BOOTSTRAP_PROFILE"))
        .unwrap_or_else(|| settings::DEFAULT_PROFILE.to_string());
    let path = settings::our_config_path(&ctx.env, &ctx.global)?.value;
    let (existing, mut doc) = load_document(&path)?;
    check_name(&name)?;
    refuse_other_shapes(&doc, &path)?;
    let at = position_of(&doc, &name);
    if at.is_some() && !args.force {
        return Err(ConfigError::invalid(
            "--profile",
            "command line",
            format!("profile `{name}` already exists in {}", path.display()),
            "add --force to replace it, or choose another name with --profile NAME",
        )
        .into());
    }

    let interactive = std::io::stdin().is_terminal() && ctx.printer.stderr_is_terminal();
    let mut answers = gather(ctx, &args, interactive)?;
    check_answers(&answers)?;
    insert(&mut doc, at, profile_table(&name, &answers));
    let written = write(&path, &doc, &name, existing.as_deref())?;
    ctx.printer.status(format!(
        "✓ wrote profile `{name}` to {} (mode 0600)",
        path.display()
    ));
    if existing.is_none()
        && let Some(theirs) = settings::influxctl_config_path(&ctx.env).filter(|p| p.exists())
    {
        ctx.printer.note(format!(
            "influxctl's {} is no longer read now that {} exists",
            theirs.display(),
            path.display()
        ));
    }

    let mut ok = true;
    if !args.no_check {
        ok &= check_discovery(ctx).await;
        let mut cluster = check_cluster(ctx).await;
        // What `doctor` would tell the person to write by hand, offered at
        // once on a terminal (issue 23, A7): plain HTTP on loopback, or the
        // CA of a certificate we do not trust.
        if interactive && let Some(wrote) = offer_tls_fix(ctx, cluster, &mut answers)? {
            let at = position_of(&doc, &name);
            insert(&mut doc, at, profile_table(&name, &answers));
            write(&path, &doc, &name, Some(&written))?;
            ctx.printer.status(format!("✓ wrote {wrote}"));
            cluster = check_cluster(ctx).await;
        }
        ok &= cluster == ClusterCheck::Ok;
    }
    say_next(ctx, &name, &path, ok);
    Ok(())
}

/// The config file as it is (`None`: there is none yet) and as an editable
/// document, so that `init` keeps everything else in it as written.
fn load_document(path: &Path) -> Result<(Option<String>, DocumentMut), ConfigError> {
    let existing = match std::fs::read_to_string(path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(settings::unreadable(path, &e)),
    };
    let doc = match &existing {
        Some(t) => t.parse::<DocumentMut>().map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            line: e
                .span()
                .map_or(1, |s| t[..s.start.min(t.len())].matches('\n').count() + 1),
            message: format!(
                "cannot edit the file: {}",
                crate::text::sanitize(e.message())
            ),
        })?,
        None => DocumentMut::new(),
    };
    Ok((existing, doc))
}

/// The last line: `login` when everything checked out, else what to fix.
fn say_next(ctx: &Context, name: &str, path: &Path, ok: bool) {
    let next = next_command(ctx, name);
    if ok {
        ctx.printer.status(format!("Next: {next}"));
        return;
    }
    ctx.printer.status(format!(
        "Next: fix the profile (run `influx-bootstrap config init --force` with the values above, or edit {}), then `{}`",
        path.display(),
        next.split("   ")
            .next()
            .unwrap_or_default()
            .replace(" login", " doctor")
    ));
}

/// Write `doc` (checked to read back with the profile `name`) 0600 over
/// `before`; returns what was written.
fn write(
    path: &Path,
    doc: &DocumentMut,
    name: &str,
    before: Option<&str>,
) -> anyhow::Result<String> {
    // What is written must read back as this profile, strictly.
    let written = doc.to_string();
    match settings::parse_text(&written) {
        Ok(names) if names.iter().any(|n| n == name) => {}
        Ok(_) => anyhow::bail!("internal error: the new profile `{name}` would not read back"),
        Err(e) => anyhow::bail!("internal error: the edited file would not read back: {e}"),
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fsutil::create_private_dir(dir).map_err(|source| ConfigError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    fsutil::write_private(
        path,
        written.as_bytes(),
        Replace {
            unchanged: before.map(str::as_bytes),
            ..Replace::default()
        },
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "cannot write {}: {}",
            path.display(),
            std::io::Error::from(e)
        )
    })?;
    Ok(written)
}

/// On a terminal, after a failed cluster check: offer the `[profile.tls]`
/// setting that fixes it, and put the answer in `answers`. `Some(what was
/// set)` when there is something to write again.
fn offer_tls_fix(
    ctx: &Context,
    cluster: ClusterCheck,
    answers: &mut Answers,
) -> anyhow::Result<Option<&'static str>> {
    let mut ask = Asker {
        ctx,
        interactive: true,
        lines: std::io::stdin().lock(),
    };
    match cluster {
        ClusterCheck::PlainHttp if !answers.tls_disable && loopback(&answers.host) => {
            let a = ask.ask(
                "The cluster speaks plain HTTP (fine on loopback). Write `[profile.tls] disable = true`? (y, n)",
                Some("y"),
            )?;
            if !matches!(a.to_ascii_lowercase().as_str(), "y" | "yes") {
                return Ok(None);
            }
            answers.tls_disable = true;
            Ok(Some(
                "`[profile.tls] disable = true` (plain HTTP, loopback only)",
            ))
        }
        ClusterCheck::Untrusted if answers.ca.is_none() => {
            // A private CA (on-prem Clustered): ask for its certificate
            // rather than send the person to edit the file by hand. Three
            // tries, then the hint `check_cluster` already printed stands.
            for _ in 0..3 {
                let a = ask.ask(
                    "The cluster's certificate is not trusted. Path to the PEM file of the CA that signed it (Enter: skip)",
                    None,
                )?;
                if a.is_empty() {
                    return Ok(None);
                }
                let ca = std::path::absolute(&a).unwrap_or_else(|_| a.clone().into());
                if ca.is_file() {
                    answers.ca = Some(ca.display().to_string());
                    return Ok(Some("`[profile.tls] ca` (the cluster's CA)"));
                }
                ctx.printer.warn(format!("{} is not a file", ca.display()));
            }
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// `config init` edits a `[[profile]]` list only. Another shape (an inline
/// array, a single `[profile]` table) was silently replaced, dropping its
/// profiles and their `mgmt_token` (issue 19, item 10): refuse, whatever
/// `--force` says, and leave the file as it is.
fn refuse_other_shapes(doc: &DocumentMut, path: &Path) -> anyhow::Result<()> {
    let shape = match doc.get("profile") {
        None => return Ok(()),
        Some(i) if i.is_array_of_tables() => return Ok(()),
        Some(i) if i.is_array() => "an inline array (`profile = [...]`)",
        Some(i) if i.is_table() || i.is_inline_table() => "a single `[profile]` table",
        Some(_) => "a value that is not a list of tables",
    };
    Err(ConfigError::usage(
        "config init",
        format!(
            "{} writes `profile` as {shape}; config init only edits `[[profile]]` lists, and left the file unchanged",
            path.display()
        ),
        "rewrite the profiles as `[[profile]]` tables (two brackets), then run config init again",
    )
    .into())
}

/// A profile name is one word of printable characters: it is shown in
/// messages and suggested commands.
fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "-_.@+".contains(c));
    if ok {
        return Ok(());
    }
    Err(ConfigError::usage(
        "--profile",
        format!("`{}` is not a profile name", crate::text::escape(name)),
        "use letters, digits and - _ . @ + (at most 64), e.g. --profile prod",
    )
    .into())
}

/// What goes into the file is checked before it is written: a host name or
/// address, ids without spaces or control characters (a newline in one
/// would end up in the TOML string and in every message that shows it).
fn check_answers(a: &Answers) -> anyhow::Result<()> {
    let host_ok = !a.host.is_empty()
        && !a
            .host
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "/@?#".contains(c))
        && url::Host::parse(&a.host).is_ok();
    if !host_ok {
        return Err(ConfigError::usage(
            "--host",
            format!("`{}` is not a host name", crate::text::escape(&a.host)),
            "give the cluster's host name or IP address, e.g. --host influxdb.example.com",
        )
        .into());
    }
    let word = |v: &str| {
        !v.is_empty() && v.len() <= 255 && !v.chars().any(|c| c.is_whitespace() || c.is_control())
    };
    let ids = [
        ("--client-id", Some(&a.client_id)),
        ("--account-id", a.account_id.as_ref()),
        ("--cluster-id", a.cluster_id.as_ref()),
    ];
    for (flag, v) in ids {
        if let Some(v) = v.filter(|v| !word(v)) {
            return Err(ConfigError::usage(
                flag,
                format!("`{}` is not an id", crate::text::escape(v)),
                "ids are one word: no spaces, newlines or control characters",
            )
            .into());
        }
    }
    if a.tls_disable && !loopback(&a.host) {
        return Err(ConfigError::usage(
            "--tls-disable",
            format!("`{}` is not a loopback address", a.host),
            "plain HTTP only to 127.0.0.1, ::1 or localhost; give the cluster's HTTPS port (and --ca for a private CA)",
        )
        .into());
    }
    Ok(())
}

fn loopback(host: &str) -> bool {
    let bracketed = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    url::Url::parse(&format!("http://{bracketed}/")).is_ok_and(|u| crate::http::is_loopback(&u))
}

/// Where the profile called `name` is in the file's `[[profile]]` list.
fn position_of(doc: &DocumentMut, name: &str) -> Option<usize> {
    doc.get("profile")?
        .as_array_of_tables()?
        .iter()
        .position(|t| t.get("name").and_then(|v| v.as_str()) == Some(name))
}

/// Replace the profile at `at`, or append it.
fn insert(doc: &mut DocumentMut, at: Option<usize>, table: toml_edit::Table) {
    let item = doc
        .entry("profile")
        .or_insert_with(|| toml_edit::Item::ArrayOfTables(Default::default()));
    if !item.is_array_of_tables() {
        *item = toml_edit::Item::ArrayOfTables(Default::default());
    }
    let list = item.as_array_of_tables_mut().expect("an array of tables");
    match at.and_then(|i| list.get_mut(i)) {
        Some(slot) => *slot = table,
        None => list.push(table),
    }
}

/// The `[[profile]]` table in influxctl's schema (port as a string).
fn profile_table(name: &str, a: &Answers) -> toml_edit::Table {
    use toml_edit::{Array, InlineTable, Item, Table, value};
    let mut t = Table::new();
    t["name"] = value(name);
    t["product"] = value(&a.product);
    t["host"] = value(&a.host);
    t["port"] = value(&a.port);
    if let Some(v) = &a.account_id {
        t["account_id"] = value(v);
    }
    if let Some(v) = &a.cluster_id {
        t["cluster_id"] = value(v);
    }
    let mut oauth2 = Table::new();
    oauth2["client_id"] = value(&a.client_id);
    oauth2["issuer"] = value(&a.issuer);
    if let Some((key, path)) = &a.workload {
        oauth2["grant"] = value("client_credentials");
        oauth2[*key] = value(path.display().to_string());
    }
    if !a.scopes.is_empty() || a.workload.is_none() {
        let scopes: Array = a.scopes.iter().map(String::as_str).collect();
        oauth2["scopes"] = value(scopes);
    }
    if !a.parameters.is_empty() {
        let mut p = InlineTable::new();
        for (k, v) in &a.parameters {
            p.insert(k, v.as_str().into());
        }
        oauth2["parameters"] = value(p);
    }
    if a.tls_disable || a.ca.is_some() {
        let mut tls = Table::new();
        if a.tls_disable {
            tls["disable"] = value(true);
        }
        if let Some(ca) = &a.ca {
            tls["ca"] = value(ca);
        }
        t["tls"] = Item::Table(tls);
    }
    let mut auth = Table::new();
    auth.set_implicit(true);
    auth["oauth2"] = Item::Table(oauth2);
    t["auth"] = Item::Table(auth);
    t
}

/// Flags first; on a terminal, ask for what is missing; else list it.
fn gather(ctx: &Context, args: &ConfigInitArgs, interactive: bool) -> anyhow::Result<Answers> {
    let mut missing: Vec<&str> = Vec::new();
    let mut ask = Asker {
        ctx,
        interactive,
        lines: std::io::stdin().lock(),
    };
    let preset = match args.preset {
        Some(p) => Some(p),
        None if interactive => parse_preset(&ask.ask(
            "Identity provider (keycloak, entra, auth0, okta, other)",
            Some("other"),
        )?)?,
        None => None,
    };
    let mut a = Answers::default();
    cluster_answers(&mut ask, args, &mut a, &mut missing)?;
    provider_answers(&mut ask, args, preset, &mut a, &mut missing)?;
    if !missing.is_empty() {
        return Err(ConfigError::usage(
            "config init",
            format!("missing {}", missing.join(", ")),
            "give them as flags (stdin is not a terminal, so nothing can be asked), e.g. `influx-bootstrap config init --host influxdb.example.com --issuer https://idp.example.com/realms/influxdb --client-id influxdb3-admin`",
        )
        .into());
    }
    a.workload = workload::credential(args)?;
    a.scopes = if a.workload.is_some() {
        workload::scopes(split_scopes(&args.scopes), preset, &a.client_id)
    } else {
        scopes(&args.scopes, preset, &a.client_id)
    };
    Ok(a)
}

/// Product, host, port (and the Dedicated ids).
fn cluster_answers<R: BufRead>(
    ask: &mut Asker<'_, R>,
    args: &ConfigInitArgs,
    a: &mut Answers,
    missing: &mut Vec<&'static str>,
) -> anyhow::Result<()> {
    let product = match &args.product {
        Some(p) => p.clone(),
        None if ask.interactive => ask.ask("Product (clustered, dedicated)", Some("clustered"))?,
        None => "clustered".into(),
    };
    a.product = product.trim().to_ascii_lowercase();
    if !matches!(a.product.as_str(), "clustered" | "dedicated") {
        return Err(ConfigError::usage(
            "--product",
            format!("`{}` is not a product", a.product),
            "use `clustered` or `dedicated`",
        )
        .into());
    }
    let host = ask.value(&args.host, "Cluster host (e.g. influxdb.example.com)", None)?;
    let port_flag = args
        .port
        .clone()
        .or_else(|| (!ask.interactive).then(|| "443".into()));
    let port = ask.value(&port_flag, "Cluster HTTPS port", Some("443"))?;
    // People paste a URL where a host goes: take its host and port, and
    // its scheme: `http://` means plain HTTP (loopback only), which was
    // dropped without a word (issue 23, A7).
    match host {
        Some(h) => {
            let (h, p, scheme) = split_host(&h);
            a.host = h;
            a.port = p.unwrap_or_else(|| port.clone().unwrap_or_else(|| "443".into()));
            plain_http_scheme(ask.ctx, args, scheme.as_deref(), a)?;
        }
        None => missing.push("--host"),
    }
    tls_answers(args, a)?;
    let port_ok = a.port.trim().parse::<u16>().is_ok_and(|p| p > 0);
    if !port_ok && !a.host.is_empty() {
        return Err(ConfigError::usage(
            "--port",
            format!("`{}` is not a TCP port", a.port),
            "use a number from 1 to 65535, e.g. --port 443",
        )
        .into());
    }
    if a.product == "dedicated" {
        a.account_id = ask.value(&args.account_id, "Account id", None)?;
        a.cluster_id = ask.value(&args.cluster_id, "Cluster id", None)?;
        if a.account_id.is_none() {
            missing.push("--account-id");
        }
        if a.cluster_id.is_none() {
            missing.push("--cluster-id");
        }
    }
    Ok(())
}

/// An `http://` URL pasted as the host: plain HTTP, loopback only.
fn plain_http_scheme(
    ctx: &Context,
    args: &ConfigInitArgs,
    scheme: Option<&str>,
    a: &mut Answers,
) -> anyhow::Result<()> {
    if scheme == Some("http") {
        if !loopback(&a.host) {
            return Err(ConfigError::usage(
                "--host",
                format!("`http://{}` is plain HTTP to a host that is not loopback", a.host),
                "clusters are reached over HTTPS (plain HTTP only on loopback): give the host name and its HTTPS port",
            )
            .into());
        }
        if !args.tls_disable {
            ctx.printer.note(format!(
                "`http://` on loopback: writing `[profile.tls] disable = true` for {}",
                a.host
            ));
        }
        a.tls_disable = true;
    }
    Ok(())
}

/// `--tls-disable` and `--ca`.
fn tls_answers(args: &ConfigInitArgs, a: &mut Answers) -> anyhow::Result<()> {
    a.tls_disable |= args.tls_disable;
    if let Some(ca) = &args.ca {
        let ca = std::path::absolute(ca).unwrap_or_else(|_| ca.clone());
        if !ca.is_file() {
            return Err(ConfigError::usage(
                "--ca",
                format!("{} is not a file", ca.display()),
                "give the PEM file of the CA that signed the cluster's certificate",
            )
            .into());
        }
        a.ca = Some(ca.display().to_string());
    }
    Ok(())
}

/// Issuer, client id, and the `resource`/`audience` parameter.
fn provider_answers<R: BufRead>(
    ask: &mut Asker<'_, R>,
    args: &ConfigInitArgs,
    preset: Option<Preset>,
    a: &mut Answers,
    missing: &mut Vec<&'static str>,
) -> anyhow::Result<()> {
    let issuer_q = match preset {
        Some(Preset::Keycloak) => "Issuer URL (e.g. https://keycloak.example.com/realms/influxdb)",
        Some(Preset::Entra) => "Issuer URL (https://login.microsoftonline.com/<tenant>/v2.0)",
        Some(Preset::Auth0) => "Issuer URL (e.g. https://example.us.auth0.com/)",
        Some(Preset::Okta) => "Issuer URL (e.g. https://example.okta.com/oauth2/default)",
        None => "Issuer URL of the identity provider",
    };
    match ask.value(&args.issuer, issuer_q, None)? {
        Some(i) => a.issuer = check_issuer(&i)?,
        None => missing.push("--issuer"),
    }
    match ask.value(&args.client_id, "OAuth client id", None)? {
        Some(c) => a.client_id = c,
        None => missing.push("--client-id"),
    }
    if let Some(v) = &args.resource {
        a.parameters.push(("resource".into(), v.clone()));
    }
    let audience = match (&args.audience, preset) {
        (Some(v), _) => Some(v.clone()),
        (None, Some(Preset::Auth0)) if args.resource.is_none() => {
            let q = "Auth0 API audience (e.g. https://influxdb.example.com)";
            let v = ask.value(&None, q, None)?;
            if v.is_none() {
                missing.push("--audience (Auth0 issues a JWT access token only for a named API)");
            }
            v
        }
        _ => None,
    };
    if let Some(v) = audience {
        a.parameters.push(("audience".into(), v));
    }
    Ok(())
}

/// The scopes from the flags (space/comma separated or repeated), else the preset's.
fn scopes(flags: &[String], preset: Option<Preset>, client_id: &str) -> Vec<String> {
    let given = split_scopes(flags);
    if !given.is_empty() {
        return given;
    }
    match preset {
        // Entra: all the permissions the app was granted, plus a refresh
        // token and an ID token.
        Some(Preset::Entra) => vec![
            format!("{client_id}/.default"),
            "openid".into(),
            "offline_access".into(),
        ],
        _ => DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
    }
}

/// `--scopes`, space/comma separated or repeated.
fn split_scopes(flags: &[String]) -> Vec<String> {
    flags
        .iter()
        .flat_map(|s| s.split([' ', ',']))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn parse_preset(s: &str) -> anyhow::Result<Option<Preset>> {
    Ok(match s.trim().to_ascii_lowercase().as_str() {
        "keycloak" => Some(Preset::Keycloak),
        "entra" | "entra id" | "entra-id" | "azure" | "azure ad" => Some(Preset::Entra),
        "auth0" => Some(Preset::Auth0),
        "okta" => Some(Preset::Okta),
        "" | "other" | "none" => None,
        other => {
            let known = ["keycloak", "entra", "auth0", "okta", "other"];
            let hint = match settings::words::did_you_mean(other, &known) {
                Some(k) => format!("did you mean `{k}`?"),
                None => "one of keycloak, entra, auth0, okta, other".into(),
            };
            return Err(ConfigError::usage(
                "identity provider",
                format!("`{other}` is not known"),
                &hint,
            )
            .into());
        }
    })
}

/// `https://h:8443/x` → (`h`, Some(`8443`), Some(`https`)); `h:8443` →
/// (`h`, Some(`8443`), None).
fn split_host(s: &str) -> (String, Option<String>, Option<String>) {
    let s = s.trim();
    if s.contains("://")
        && let Ok(u) = url::Url::parse(s)
        && let Some(h) = u.host_str()
    {
        let h = h.trim_start_matches('[').trim_end_matches(']');
        return (
            h.to_string(),
            u.port().map(|p| p.to_string()),
            Some(u.scheme().to_string()),
        );
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && p.parse::<u16>().is_ok() => {
            (h.to_string(), Some(p.to_string()), None)
        }
        _ => (s.trim_end_matches('/').to_string(), None, None),
    }
}

/// An absolute http(s) URL (http only for loopback, as everywhere).
fn check_issuer(s: &str) -> anyhow::Result<String> {
    // Admins copy the discovery URL from Okta's or Keycloak's console; the
    // issuer is what comes before it (OpenID Connect Discovery 1.0 §4).
    let s = s.trim();
    let s = s
        .strip_suffix("/.well-known/openid-configuration")
        .unwrap_or(s);
    let u = url::Url::parse(s).map_err(|_| {
        ConfigError::usage(
            "--issuer",
            format!("`{s}` is not a URL"),
            "write the issuer as an absolute URL, e.g. https://keycloak.example.com/realms/influxdb",
        )
    })?;
    match u.scheme() {
        "https" => Ok(s.to_string()),
        "http" if crate::http::is_loopback(&u) => Ok(s.to_string()),
        _ => Err(ConfigError::usage(
            "--issuer",
            format!("`{s}` is not an https:// URL"),
            "identity providers are reached over https:// (plain http only on loopback)",
        )
        .into()),
    }
}

/// Asks on the terminal (stderr for the question, stdin for the answer).
struct Asker<'a, R: BufRead> {
    ctx: &'a Context,
    interactive: bool,
    lines: R,
}

impl<R: BufRead> Asker<'_, R> {
    fn ask(&mut self, question: &str, default: Option<&str>) -> anyhow::Result<String> {
        let shown = match default {
            Some(d) => format!("{question} [{d}]: "),
            None => format!("{question}: "),
        };
        self.ctx.printer.ask(&shown);
        let mut line = String::new();
        let lines = &mut self.lines;
        if crate::interrupt::at_prompt(|| lines.read_line(&mut line))? == 0 {
            return Err(ConfigError::usage(
                "config init",
                "no answer (end of input)",
                "give the values as flags; see `influx-bootstrap config init --help`",
            )
            .into());
        }
        let line = line.trim();
        Ok(match (line.is_empty(), default) {
            (true, Some(d)) => d.to_string(),
            _ => line.to_string(),
        })
    }

    /// The flag's value, else (on a terminal) the answer; `None` if neither.
    fn value(
        &mut self,
        flag: &Option<String>,
        question: &str,
        default: Option<&str>,
    ) -> anyhow::Result<Option<String>> {
        if let Some(v) = flag.as_ref().filter(|v| !v.trim().is_empty()) {
            return Ok(Some(v.trim().to_string()));
        }
        if !self.interactive {
            return Ok(default.map(str::to_string));
        }
        loop {
            let v = self.ask(question, default)?;
            if !v.is_empty() {
                return Ok(Some(v));
            }
        }
    }
}

/// Discovery at the new profile's issuer: ✓ with the device endpoint, or
/// the reason in plain words (the profile is written either way: the
/// provider may only be reachable from elsewhere).
async fn check_discovery(ctx: &Context) -> bool {
    let result = async {
        let cfg = ctx.config()?;
        let http = ctx.http(&cfg)?;
        let (o, name) = (&cfg.profile.oauth2, &cfg.profile.name.value);
        // A workload needs the token endpoint only (issue 20).
        if o.grant.value == crate::settings::Grant::ClientCredentials {
            let ep = crate::auth::discovery::token_endpoint(&http, o, name).await?;
            return Ok(format!(
                "token endpoint {}",
                crate::text::display_url(&ep.token)
            ));
        }
        let ep = crate::auth::discovery::resolve(&http, o, name).await?;
        anyhow::Ok(format!(
            "device endpoint {}",
            crate::text::display_url(&ep.device_authorization)
        ))
    }
    .await;
    match result {
        Ok(found) => {
            ctx.printer.status(format!(
                "✓ the identity provider answered discovery; {found}"
            ));
            true
        }
        Err(e) => {
            // A transport failure in plain words (refused, DNS, TLS…).
            if let Some(crate::error::HttpError::Transport { url, cause }) = e
                .chain()
                .find_map(|c| c.downcast_ref::<crate::error::HttpError>())
                && let Ok(u) = url::Url::parse(url)
            {
                let (why, _) = crate::cluster::probe::explain_transport(&u, cause);
                ctx.printer
                    .warn(format!("discovery at the issuer failed: {why}"));
                ctx.printer.warn(
                        "hint: check `issuer`, your network and HTTPS_PROXY/NO_PROXY; the profile was written (run `influx-bootstrap doctor` once the provider is reachable)",
                    );
                return false;
            }
            let mut line = String::new();
            for (i, c) in e.chain().enumerate() {
                if i > 0 {
                    line.push_str(": ");
                }
                line.push_str(&c.to_string());
            }
            ctx.printer
                .warn(format!("discovery at the issuer failed: {line}"));
            if let Some(h) = crate::output::hint(&e) {
                ctx.printer.warn(format!("hint: {h}"));
            }
            ctx.printer.warn(
                "the profile was written; fix the issuer (or run `influx-bootstrap doctor` once the provider is reachable)",
            );
            false
        }
    }
}

/// One unauthenticated GET of the documented Management API at the new
/// profile's cluster, as `doctor` and the pre-flight do: a cluster answers
/// 401 there. `config init` said ✓ and "Next: login" for a plain-HTTP
/// cluster that every command then refused (issue 23, A7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClusterCheck {
    /// It answered as a cluster does, or cannot be reached from here (it
    /// may be from where the commands will run).
    Ok,
    /// Plain HTTP on the HTTPS port.
    PlainHttp,
    /// TLS, with a certificate that the system (or `ca`) does not trust.
    Untrusted,
    /// Something that is wrong from anywhere (TLS, another service).
    Failed,
}

async fn check_cluster(ctx: &Context) -> ClusterCheck {
    use crate::cluster::probe;
    let result = async {
        let cfg = ctx.config()?;
        let http = ctx.http(&cfg)?;
        let url = probe::documented_url(&cfg.profile)?;
        anyhow::Ok(probe::probe(&http, &url).await)
    }
    .await;
    let warn_hint = |h: &str| ctx.printer.warn(format!("hint: {h}"));
    match result {
        Ok(Ok(p)) => match p.serves {
            probe::Serves::NotOurApi { status } | probe::Serves::Http { status }
                if status != 401 =>
            {
                ctx.printer.warn(format!(
                    "{} answered HTTP {status}, not 401: that does not look like an InfluxDB 3 cluster",
                    p.url
                ));
                warn_hint("check the host and port (another web server may be listening there)");
                ClusterCheck::Failed
            }
            _ => {
                ctx.printer
                    .status(format!("✓ the cluster answered at {}", p.url));
                ClusterCheck::Ok
            }
        },
        Ok(Err(crate::error::ProbeError::Unreachable { why, hint, .. })) => {
            ctx.printer.warn(format!("the cluster: {why}"));
            if why.contains("answers plain HTTP") {
                warn_hint(
                    "if this is a local cluster without TLS, run config init again with --tls-disable --force (loopback only), or give the HTTPS port",
                );
                return ClusterCheck::PlainHttp;
            }
            if why.contains("is not trusted") {
                warn_hint(
                    "if the cluster has a private CA, run config init again with --ca /path/to/ca.pem --force",
                );
                return ClusterCheck::Untrusted;
            }
            warn_hint(&hint);
            // A cluster we cannot reach from here (DNS, refused, silent) may
            // be reachable from where the commands will run, as with the
            // issuer; a wrong answer (TLS, another service) is wrong anywhere.
            let elsewhere = ["does not resolve", "nothing is listening", "did not answer"];
            if elsewhere.iter().any(|w| why.contains(w)) {
                ClusterCheck::Ok
            } else {
                ClusterCheck::Failed
            }
        }
        Ok(Err(e)) => {
            ctx.printer.warn(format!("the cluster: {e}"));
            ClusterCheck::Failed
        }
        Err(e) => {
            ctx.printer.warn(format!("cannot check the cluster: {e:#}"));
            ClusterCheck::Failed
        }
    }
}

/// The command to run next, with the flags that chose this file and profile.
fn next_command(ctx: &Context, name: &str) -> String {
    let mut cmd = String::from("influx-bootstrap");
    if let Some(c) = &ctx.global.config {
        cmd.push_str(&format!(
            " --config {}",
            crate::text::shell_quote(&c.display().to_string())
        ));
    }
    if name != settings::DEFAULT_PROFILE {
        cmd.push_str(&format!(" --profile {}", crate::text::shell_quote(name)));
    }
    format!("{cmd} login   (then `{cmd} doctor` if anything fails)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_people_paste() {
        let cases = [
            ("influxdb.example.com", ("influxdb.example.com", None, None)),
            (
                "https://influxdb.example.com:8443/",
                ("influxdb.example.com", Some("8443"), Some("https")),
            ),
            (
                "https://influxdb.example.com",
                ("influxdb.example.com", None, Some("https")),
            ),
            (
                "http://127.0.0.1:33449",
                ("127.0.0.1", Some("33449"), Some("http")),
            ),
            ("db:8086", ("db", Some("8086"), None)),
        ];
        for (input, (h, p, scheme)) in cases {
            let got = split_host(input);
            assert_eq!(
                (got.0.as_str(), got.1.as_deref(), got.2.as_deref()),
                (h, p, scheme),
                "{input}"
            );
        }
    }

    #[test]
    fn issuers_people_paste() {
        let cases = [
            (
                "https://kc.example.com/realms/x",
                "https://kc.example.com/realms/x",
            ),
            (
                " https://kc.example.com/realms/x/.well-known/openid-configuration ",
                "https://kc.example.com/realms/x",
            ),
            ("http://127.0.0.1:4444", "http://127.0.0.1:4444"),
        ];
        for (input, want) in cases {
            assert_eq!(check_issuer(input).unwrap(), want, "{input}");
        }
        assert!(check_issuer("http://idp.example.com").is_err());
    }

    #[test]
    fn presets_choose_scopes() {
        assert_eq!(
            scopes(&[], Some(Preset::Entra), "abc"),
            ["abc/.default", "openid", "offline_access"]
        );
        assert_eq!(scopes(&[], Some(Preset::Keycloak), "x"), DEFAULT_SCOPES);
        assert_eq!(
            scopes(&["openid email".into()], None, "x"),
            ["openid", "email"]
        );
    }

    #[test]
    fn profiles_are_replaced_in_place_and_comments_kept() {
        let text = "# my clusters\n[[profile]]\nname = \"a\" # first\nhost = \"a\"\n\n[[profile]]\nname = \"b\"\nhost = \"b\"\n";
        let mut doc: DocumentMut = text.parse().unwrap();
        let a = Answers {
            product: "clustered".into(),
            host: "new".into(),
            port: "443".into(),
            issuer: "https://idp/".into(),
            client_id: "c".into(),
            scopes: vec!["openid".into()],
            ..Answers::default()
        };
        let at = position_of(&doc, "b");
        assert_eq!(at, Some(1));
        insert(&mut doc, at, profile_table("b", &a));
        let at = position_of(&doc, "c");
        insert(&mut doc, at, profile_table("c", &a));
        let out = doc.to_string();
        assert!(
            out.starts_with("# my clusters\n[[profile]]\nname = \"a\" # first\n"),
            "{out}"
        );
        let names: Vec<String> = crate::settings::parse_text(&out).unwrap();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(out.contains("[profile.auth.oauth2]"), "{out}");
        assert!(!out.contains("host = \"b\""), "{out}");
    }
}
