//! `config show` and `config path`.
use super::Context;
use crate::cli::{Format, FormatArgs};
use crate::output;
use crate::settings::{Config, FileKind, Source, Value};
use serde::Serialize;

#[derive(Serialize)]
struct Row {
    key: &'static str,
    value: Option<String>,
    source: String,
}

fn row<T>(key: &'static str, v: &Value<T>, show: impl Fn(&T) -> String) -> Row {
    Row {
        key,
        value: Some(show(&v.value)),
        source: v.source.to_string(),
    }
}

fn opt<T>(key: &'static str, v: &Option<Value<T>>, show: impl Fn(&T) -> String) -> Row {
    match v {
        Some(v) => row(key, v, show),
        None => Row {
            key,
            value: None,
            source: "unset".into(),
        },
    }
}

fn rows(cfg: &Config) -> Vec<Row> {
    let p = &cfg.profile;
    let s = |x: &String| x.clone();
    let path = |x: &std::path::PathBuf| x.display().to_string();
    let url = |x: &url::Url| x.to_string();
    let b = |x: &bool| x.to_string();
    vec![
        row("name", &p.name, s),
        row("product", &p.product, |x| x.as_str().to_string()),
        opt("host", &p.host, s),
        row("port", &p.port, |x| x.to_string()),
        opt("account_id", &p.account_id, s),
        opt("cluster_id", &p.cluster_id, s),
        // Unset, it shows where the documented Management API is looked for.
        opt(
            "management_url",
            &crate::cluster::management_origin(p).ok(),
            url,
        ),
        opt("mgmt_token", &p.mgmt_token, |_| "(set, hidden)".into()),
        row("management_backend", &p.management_backend, |x| {
            x.as_str().to_string()
        }),
        row("influxctl", &p.influxctl, path),
        row("tls.insecure", &p.tls.insecure, b),
        row("tls.disable", &p.tls.disable, b),
        opt("tls.ca", &p.tls.ca, path),
        opt("tls.cert", &p.tls.cert, path),
        opt("tls.key", &p.tls.key, path),
        opt("auth.oauth2.issuer", &p.oauth2.issuer, url),
        opt("auth.oauth2.client_id", &p.oauth2.client_id, s),
        row("auth.oauth2.scopes", &p.oauth2.scopes, |v| v.join(" ")),
        row("auth.oauth2.parameters", &p.oauth2.parameters, |m| {
            m.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        }),
        opt("auth.oauth2.device_url", &p.oauth2.device_url, url),
        opt("auth.oauth2.token_url", &p.oauth2.token_url, url),
        opt("auth.oauth2.revocation_url", &p.oauth2.revocation_url, url),
        row("auth.oauth2.grant", &p.oauth2.grant, |g| g.as_str().into()),
        opt(
            "auth.oauth2.client_secret_file",
            &p.oauth2.client_secret_file,
            path,
        ),
        opt("auth.oauth2.client_secret", &p.oauth2.client_secret, |_| {
            "(set, hidden)".into()
        }),
        opt(
            "auth.oauth2.private_key_file",
            &p.oauth2.private_key_file,
            path,
        ),
        opt(
            "auth.oauth2.private_key_alg",
            &p.oauth2.private_key_alg,
            |a| a.as_str().into(),
        ),
        opt(
            "auth.oauth2.client_assertion_file",
            &p.oauth2.client_assertion_file,
            path,
        ),
        row("timeout", &cfg.timeout, |d| {
            humantime::format_duration(*d).to_string()
        }),
        row("cache_dir", &cfg.files.cache_dir, path),
    ]
}

fn file_line(cfg: &Config) -> String {
    match (&cfg.files.read, cfg.files.kind) {
        (Some(p), FileKind::Influxctl) => format!(
            "{} (influxctl's config: {} does not exist; read only, never written)",
            p.display(),
            cfg.files.ours.value.display()
        ),
        (Some(p), _) => p.display().to_string(),
        (None, _) => format!(
            "none ({} does not exist; using defaults and environment)",
            cfg.files.ours.value.display()
        ),
    }
}

#[derive(Serialize)]
struct ShowView<'a> {
    profile: &'a str,
    file: Option<String>,
    file_kind: FileKind,
    values: Vec<Row>,
    notes: &'a [String],
}

pub fn show(ctx: &Context, args: FormatArgs) -> anyhow::Result<()> {
    let cfg = ctx.config_even_if_empty()?;
    let values = rows(&cfg);
    if args.format == Format::Json {
        return crate::commands::json(
            ctx,
            &ShowView {
                profile: &cfg.profile.name.value,
                file: cfg.files.read.as_ref().map(|p| p.display().to_string()),
                file_kind: cfg.files.kind,
                values,
                notes: &cfg.notes,
            },
        );
    }
    let mut out = format!("Config file: {}\n\n", file_line(&cfg));
    let table_rows: Vec<Vec<String>> = values
        .into_iter()
        .map(|r| {
            vec![
                r.key.to_string(),
                r.value.unwrap_or_else(|| "-".into()),
                r.source,
            ]
        })
        .collect();
    out.push_str(&output::table(&["KEY", "VALUE", "SOURCE"], &table_rows));
    for n in &cfg.notes {
        ctx.printer.note(n);
    }
    crate::commands::data(ctx, &out)
}

#[derive(Serialize)]
struct PathView {
    config_file: String,
    config_file_source: String,
    config_file_exists: bool,
    influxctl_config_file: Option<String>,
    read: Option<String>,
    read_kind: FileKind,
    cache_dir: String,
    /// Token records and rotation journals (`INFLUX_BOOTSTRAP_STATE_DIR`).
    state_dir: Option<String>,
    writes: Vec<String>,
}

pub fn path(ctx: &Context, args: FormatArgs) -> anyhow::Result<()> {
    let cfg = ctx.config_even_if_empty()?;
    let f = &cfg.files;
    let v = PathView {
        config_file: f.ours.value.display().to_string(),
        config_file_source: match &f.ours.source {
            Source::Default => "default".into(),
            other => other.to_string(),
        },
        config_file_exists: f.ours.value.exists(),
        influxctl_config_file: f.influxctl.as_ref().map(|p| p.display().to_string()),
        read: f.read.as_ref().map(|p| p.display().to_string()),
        read_kind: f.kind,
        cache_dir: f.cache_dir.value.display().to_string(),
        state_dir: crate::state::state_dir(&ctx.env).map(|p| p.display().to_string()),
        writes: vec![
            format!(
                "{} (session cache, 0600 files)",
                f.cache_dir.value.display()
            ),
            format!(
                "{} (which path form of the documented Management API each cluster answered; not secret)",
                f.cache_dir
                    .value
                    .join(crate::cluster::documented::PATH_MEMORY_FILE)
                    .display()
            ),
        ],
    };
    if args.format == Format::Json {
        return crate::commands::json(ctx, &v);
    }
    let rows = vec![
        vec![
            "config file".into(),
            v.config_file.clone(),
            if v.config_file_exists {
                "exists".into()
            } else {
                "missing".into()
            },
        ],
        vec![
            "influxctl config".into(),
            v.influxctl_config_file
                .clone()
                .unwrap_or_else(|| "-".into()),
            "read only when the config file is missing; never written".into(),
        ],
        vec![
            "read".into(),
            v.read.clone().unwrap_or_else(|| "-".into()),
            format!("{:?}", v.read_kind).to_lowercase(),
        ],
        vec![
            "cache dir".into(),
            v.cache_dir.clone(),
            "written (sessions, documented API path forms)".into(),
        ],
        vec![
            "state dir".into(),
            v.state_dir.clone().unwrap_or_else(|| "-".into()),
            "written (what each store holds, rotation journals; no secrets)".into(),
        ],
    ];
    crate::commands::data(ctx, &output::table(&["WHAT", "PATH", "NOTE"], &rows))
}
