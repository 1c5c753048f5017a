//! `management create|list|revoke`.
use super::{Access, Context};
use crate::cli::{CreateArgs, Format, ListArgs, RevokeArgs, SortKey};
use crate::cluster::listing::Listing;
use crate::cluster::{CreatedToken, ManagementToken, expiry};
use crate::output;
use crate::provision::{self, TokenApi, Want};
use std::borrow::Cow;

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
        .backend(&cfg, &http, Want::Management, Access::Writes, &args.device)
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

/// The order `--sort` asks for: a key, then the id. `None` (never expires /
/// not revoked) sorts last.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Order {
    At(bool, Option<chrono::DateTime<chrono::Utc>>),
    Text(String),
    Id,
}

fn order(t: &ManagementToken, key: SortKey) -> Order {
    let at = |t: Option<chrono::DateTime<chrono::Utc>>| Order::At(t.is_none(), t);
    match key {
        SortKey::Created => at(Some(t.created_at)),
        SortKey::Id => Order::Id,
        SortKey::Description => Order::Text(t.description.to_lowercase()),
        SortKey::Prefix => Order::Text(t.token_prefix.clone()),
        SortKey::Expires => at(t.expires_at),
        SortKey::Revoked => at(t.revoked_at),
    }
}

pub async fn list(ctx: &Context, args: ListArgs) -> anyhow::Result<()> {
    let (cfg, http) = super::configured(ctx)?;
    let (backend, s) = ctx
        .backend(&cfg, &http, Want::Management, Access::Reads, &args.device)
        .await?;
    let json = args.format.format == Format::Json;
    // On a terminal: short ids, a status column, relative times from now.
    let people = (!json && output::lists::for_people()).then(chrono::Utc::now);
    let table = output::Table::new(if people.is_some() {
        &output::lists::MANAGEMENT_COLUMNS
    } else {
        &FULL_COLUMNS
    });
    let measure = |t: &ManagementToken| {
        if !json {
            table.measure(&row(t, people));
        }
    };
    // Over our API the answer is read item by item (10,000 tokens: issue 21).
    // Ties by id; the read item's id moves into its key.
    let resp;
    let tokens = match backend.list_response(&s.cred).await {
        Some(r) => {
            resp = r.map_err(|e| s.on_error(e))?;
            let by = |t: ManagementToken| (order(&t, args.sort), t.id);
            Listing::sorted(&resp, by, measure).map_err(|e| s.on_error(e))?
        }
        None => {
            let all = backend.list(&s.cred).await.map_err(|e| s.on_error(e))?;
            let by = |t: &ManagementToken| (order(t, args.sort), t.id.clone());
            Listing::parsed(all, by, measure)
        }
    };
    let msg = "No management tokens on this cluster yet.";
    let printed = output::lists::print(&ctx.printer, json, table, &tokens, msg, |t| row(t, people));
    Ok(printed?)
}

/// Every value whole (a pipe, a file): what scripts read, in order (the
/// end-to-end tests read them).
pub const FULL_COLUMNS: [&str; 7] = [
    "ID",
    "DESCRIPTION",
    "PREFIX",
    "CREATED AT",
    "CREATED BY",
    "EXPIRES AT",
    "REVOKED AT",
];

/// A token's cells under [`FULL_COLUMNS`], or under
/// [`output::lists::MANAGEMENT_COLUMNS`] at `now`.
fn row(t: &ManagementToken, people: Option<chrono::DateTime<chrono::Utc>>) -> Vec<Cow<'_, str>> {
    use crate::text::{rfc3339, rfc3339_or_dash};
    use output::lists::{expiry, relative, short_id, status};
    match people {
        None => vec![
            t.id.as_str().into(),
            t.description.as_str().into(),
            t.token_prefix.as_str().into(),
            rfc3339(t.created_at).into(),
            t.created_by.as_str().into(),
            rfc3339_or_dash(t.expires_at).into(),
            rfc3339_or_dash(t.revoked_at).into(),
        ],
        Some(now) => vec![
            short_id(&t.id).into(),
            t.description.as_str().into(),
            t.token_prefix.as_str().into(),
            status(t.revoked_at, t.expires_at, now).into(),
            relative(t.created_at, now).into(),
            expiry(t.expires_at, now).into(),
        ],
    }
}

pub async fn revoke(ctx: &Context, args: RevokeArgs) -> anyhow::Result<()> {
    let (cfg, http) = super::configured(ctx)?;
    if !args.force {
        output::confirm::require_terminal(&ctx.printer, output::confirm::REVOKE)?;
    }
    let (backend, s) = ctx
        .backend(&cfg, &http, Want::Management, Access::Writes, &args.device)
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
