//! `management create|list|revoke`.
use super::Context;
use crate::cli::{CreateArgs, Format, ListArgs, RevokeArgs, SortKey};
use crate::cluster::{CreatedToken, ManagementToken, expiry};
use crate::output;
use crate::provision::{self, TokenApi, Want};

pub fn token_rows(t: &ManagementToken) -> Vec<Vec<String>> {
    vec![
        vec!["ID".into(), t.id.clone()],
        vec!["DESCRIPTION".into(), t.description.clone()],
        vec!["PREFIX".into(), t.token_prefix.clone()],
        vec!["CREATED AT".into(), crate::text::rfc3339(t.created_at)],
        vec!["CREATED BY".into(), t.created_by.clone()],
        vec![
            "EXPIRES AT".into(),
            crate::text::rfc3339_or_dash(t.expires_at),
        ],
        vec![
            "REVOKED AT".into(),
            crate::text::rfc3339_or_dash(t.revoked_at),
        ],
    ]
}

pub async fn create(ctx: &Context, args: CreateArgs) -> anyhow::Result<()> {
    // Everything the user typed is checked before any network call.
    let description = expiry::check_description(&args.description)?;
    let expires_at = super::expires_at(&args.expiry)?;
    let (cfg, http) = super::configured(ctx)?;
    // This command cleans up on a signal itself (`cleans_up_on_interrupt`):
    // while logging in, nothing exists yet, so a signal just stops.
    let (backend, s) = ctx
        .backend(&cfg, &http, Want::Management, &args.device)
        .await?;
    let io = ctx.io();
    let created =
        provision::create_to_show(&io.pipeline(&backend), &s.cred, &description, expires_at)
            .await
            .map_err(|e| s.on_error(e))?;
    print_created(ctx, &created, args.format.format)
}

fn print_created(ctx: &Context, c: &CreatedToken, format: Format) -> anyhow::Result<()> {
    ctx.printer.warn(
        "this is the only time the token is shown; store it now (or use `influx-bootstrap mint --store ...`)",
    );
    // As `mint` warns (issue 19 item 14).
    if c.token.expires_at.is_none() {
        ctx.printer.warn(output::summary::NEVER_EXPIRES);
    }
    if format == Format::Json {
        return Ok(ctx.printer.json(c)?);
    }
    let mut rows = token_rows(&c.token);
    rows.push(vec!["TOKEN".into(), c.access_token.expose().to_string()]);
    crate::commands::data(ctx, &output::table(&["FIELD", "VALUE"], &rows))
}

pub fn sort_tokens(tokens: &mut [ManagementToken], key: SortKey) {
    // `None` (never expires / not revoked) sorts last.
    fn opt(
        t: &Option<chrono::DateTime<chrono::Utc>>,
    ) -> (bool, Option<chrono::DateTime<chrono::Utc>>) {
        (t.is_none(), *t)
    }
    match key {
        SortKey::Created => {
            tokens.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)))
        }
        SortKey::Id => tokens.sort_by(|a, b| a.id.cmp(&b.id)),
        SortKey::Description => tokens.sort_by(|a, b| {
            (a.description.to_lowercase(), &a.id).cmp(&(b.description.to_lowercase(), &b.id))
        }),
        SortKey::Prefix => {
            tokens.sort_by(|a, b| (&a.token_prefix, &a.id).cmp(&(&b.token_prefix, &b.id)))
        }
        SortKey::Expires => {
            tokens.sort_by(|a, b| (opt(&a.expires_at), &a.id).cmp(&(opt(&b.expires_at), &b.id)))
        }
        SortKey::Revoked => {
            tokens.sort_by(|a, b| (opt(&a.revoked_at), &a.id).cmp(&(opt(&b.revoked_at), &b.id)))
        }
    }
}

pub async fn list(ctx: &Context, args: ListArgs) -> anyhow::Result<()> {
    let (cfg, http) = super::configured(ctx)?;
    let (backend, s) = ctx
        .backend(&cfg, &http, Want::Management, &args.device)
        .await?;
    let mut tokens = backend.list(&s.cred).await.map_err(|e| s.on_error(e))?;
    sort_tokens(&mut tokens, args.sort);
    if args.format.format == Format::Json {
        return Ok(ctx.printer.json(&tokens)?);
    }
    if tokens.is_empty() {
        ctx.printer
            .status("No management tokens on this cluster yet.");
    }
    let table = if output::lists::for_people() {
        people_table(&tokens, chrono::Utc::now())
    } else {
        full_table(&tokens)
    };
    crate::commands::data(ctx, &table)
}

/// The columns of [`full_table`], in order (the end-to-end tests read them).
pub const FULL_COLUMNS: [&str; 7] = [
    "ID",
    "DESCRIPTION",
    "PREFIX",
    "CREATED AT",
    "CREATED BY",
    "EXPIRES AT",
    "REVOKED AT",
];

/// Every value whole (a pipe, a file): what scripts read.
fn full_table(tokens: &[ManagementToken]) -> String {
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            vec![
                t.id.clone(),
                t.description.clone(),
                t.token_prefix.clone(),
                crate::text::rfc3339(t.created_at),
                t.created_by.clone(),
                crate::text::rfc3339_or_dash(t.expires_at),
                crate::text::rfc3339_or_dash(t.revoked_at),
            ]
        })
        .collect();
    output::table(&FULL_COLUMNS, &rows)
}

/// On a terminal: short ids (any unique prefix is accepted back), a status
/// column and relative times.
fn people_table(tokens: &[ManagementToken], now: chrono::DateTime<chrono::Utc>) -> String {
    use output::lists::{expiry, relative, short_id, status};
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            vec![
                short_id(&t.id),
                t.description.clone(),
                t.token_prefix.clone(),
                status(t.revoked_at, t.expires_at, now).into(),
                relative(t.created_at, now),
                expiry(t.expires_at, now),
            ]
        })
        .collect();
    output::table(&output::lists::MANAGEMENT_COLUMNS, &rows)
}

pub async fn revoke(ctx: &Context, args: RevokeArgs) -> anyhow::Result<()> {
    let (cfg, http) = super::configured(ctx)?;
    if !args.force {
        output::confirm::require_terminal(&ctx.printer, output::confirm::REVOKE)?;
    }
    let (backend, s) = ctx
        .backend(&cfg, &http, Want::Management, &args.device)
        .await?;
    revoke_with(ctx, &backend, &s.cred, &args, &|e| s.on_error(e)).await
}

/// Revoke each id in turn, reporting each; a failure does not stop the rest.
async fn revoke_with<A: provision::TokenApi>(
    ctx: &Context,
    api: &A,
    cred: &crate::cluster::Credential,
    args: &RevokeArgs,
    on_error: &dyn Fn(crate::error::ClusterError) -> anyhow::Error,
) -> anyhow::Result<()> {
    // Listed when a prefix is to be resolved or a person is asked (the
    // question names the resolved ids and their descriptions).
    let mut all: Option<Vec<ManagementToken>> = None;
    if !args.force {
        all = Some(api.list(cred).await.map_err(on_error)?);
    }
    // Ids as typed, whole or as unique prefixes (terminal lists show eight
    // characters).
    let listed = all.clone();
    let ids =
        &crate::cluster::resolve_ids(&args.ids, "management token", "management list", || async {
            let all = match listed {
                Some(a) => a,
                None => api.list(cred).await.map_err(on_error)?,
            };
            Ok(all.into_iter().map(|t| t.id).collect())
        })
        .await?;
    if let Some(all) = &all {
        let q = output::confirm::revoke_question(
            "management token",
            "Anything using",
            ids,
            all.iter().map(|t| (t.id.as_str(), t.description.as_str())),
        );
        output::confirm::confirm(&ctx.printer, output::confirm::REVOKE, &q)?;
    }
    let mut failed: Vec<(String, anyhow::Error)> = Vec::new();
    for id in ids {
        match api.revoke(cred, id).await {
            Ok(t) => ctx.printer.status(format!(
                "Revoked {} ({}) at {}.",
                t.id,
                t.description,
                crate::text::rfc3339_or_dash(t.revoked_at)
            )),
            Err(e) => {
                let e = on_error(e);
                ctx.printer.error(format!("error: {id}: {e}"));
                failed.push((id.clone(), e));
            }
        }
    }
    super::revocations(failed, ids.len())
}
