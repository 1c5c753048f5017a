//! `token create|list|get|revoke`: database tokens, through InfluxData's
//! documented Management API (`cluster::documented`), so they work on a
//! stock cluster. The `apiv1_` token is shown once, by `create`.
use super::{Access, Context};
use crate::cli::{Format, ReadArgs, TokenCreateArgs, TokenGetArgs, TokenRevokeArgs};
use crate::cluster::documented::{self, CreatedDatabaseToken, DatabaseToken, Permission};
use crate::cluster::expiry;
use crate::cluster::listing::Listing;
use crate::output;
use crate::output::confirm::{REVOKE, confirm, require_terminal, revoke_question};
use crate::provision;
use crate::text::{rfc3339, rfc3339_or_dash, sanitize};
use std::borrow::Cow;

fn permissions_text(ps: &[Permission]) -> String {
    if ps.is_empty() {
        return "-".into();
    }
    let all: Vec<String> = ps.iter().map(|p| sanitize(&p.to_string())).collect();
    all.join(" ")
}

const COLUMNS: [&str; 6] = [
    "ID",
    "DESCRIPTION",
    "PERMISSIONS",
    "CREATED AT",
    "EXPIRES AT",
    "REVOKED AT",
];

fn row(t: &DatabaseToken) -> [String; 6] {
    [
        sanitize(&t.id),
        sanitize(&t.description),
        permissions_text(&t.permissions),
        rfc3339(t.created_at),
        rfc3339_or_dash(t.expires_at),
        rfc3339_or_dash(t.revoked_at),
    ]
}

/// One token as FIELD/VALUE rows.
fn fields(t: &DatabaseToken) -> Vec<Vec<String>> {
    output::fields::of_columns(&COLUMNS, row(t))
}

pub async fn create(ctx: &Context, args: TokenCreateArgs) -> anyhow::Result<()> {
    // Everything the user typed is checked before any network call.
    let description = expiry::check_description(&args.description)?;
    let permissions = documented::permissions(&args.read_databases, &args.write_databases)?;
    let expires_at = super::expires_at(&args.expiry)?;
    let (cfg, http) = super::configured(ctx)?;
    // This command cleans up on a signal itself (`cleans_up_on_interrupt`).
    // The documented create has no idempotency: `create_guarded` never
    // repeats it blindly (a lost answer is found by listing and revoked,
    // then created once more) and revokes what a signal leaves behind.
    let want = provision::Want::Database(permissions);
    let (backend, s) = ctx
        .backend(&cfg, &http, want, Access::Writes, &args.device)
        .await?;
    let io = ctx.io();
    let created =
        provision::create_to_show(&io.pipeline(&backend), &s.cred, &description, expires_at)
            .await
            .map_err(|e| s.on_error(e))?;
    let client = s.documented()?;
    // The pipeline's metadata has no account/cluster ids: read the token
    // back in the documented shape (best effort; it was just created).
    let token = match client.get_token(&s.cred, &created.token.id).await {
        Ok(t) => t,
        Err(_) => DatabaseToken {
            account_id: None,
            cluster_id: None,
            id: created.token.id.clone(),
            description: created.token.description.clone(),
            permissions: created.token.permissions.clone(),
            created_at: created.token.created_at,
            expires_at: created.token.expires_at,
            revoked_at: created.token.revoked_at,
        },
    };
    let created = CreatedDatabaseToken {
        token,
        access_token: created.access_token,
    };
    print_created(ctx, &created, args.format.format)
}

fn print_created(ctx: &Context, c: &CreatedDatabaseToken, format: Format) -> anyhow::Result<()> {
    ctx.printer
        .warn("this is the only time the database token is shown; store it now");
    ctx.printer
        .note("a new database token can take a few minutes to work on a cluster's data path");
    if format == Format::Json {
        return super::json(ctx, c);
    }
    let mut rows = fields(&c.token);
    rows.push(output::fields::row(
        "TOKEN",
        c.access_token.expose().to_string(),
    ));
    super::data(ctx, &output::fields::table(&rows))
}

pub async fn list(ctx: &Context, args: ReadArgs) -> anyhow::Result<()> {
    let (cfg, http) = super::configured(ctx)?;
    let want = crate::provision::Want::Database(Vec::new());
    let (backend, s) = ctx
        .backend(&cfg, &http, want, Access::Reads, &args.device)
        .await?;
    let json = args.format.format == Format::Json;
    // On a terminal: short ids, a status column, relative times from now; a
    // pipe gets every value whole.
    let people = (!json && output::lists::for_people()).then(chrono::Utc::now);
    let table = output::Table::new(if people.is_some() { &PEOPLE } else { &COLUMNS });
    // Read item by item (10,000 tokens: issue 21); standing in for the
    // probe where the path form is known (`Access::Reads`).
    let resp = backend
        .list_response(&s.cred)
        .await
        .expect("the documented API is read over HTTP")
        .map_err(|e| s.on_error(e))?;
    let by = |t: DatabaseToken| (t.created_at, t.id);
    let measure = |t: &DatabaseToken| {
        if !json {
            table.measure(&list_row(t, people));
        }
    };
    let tokens = Listing::sorted(&resp, by, measure).map_err(|e| s.on_error(e))?;
    let msg = "No database tokens on this cluster yet.";
    let printed = output::lists::print(&ctx.printer, json, table, &tokens, msg, |t| {
        list_row(t, people)
    });
    Ok(printed?)
}

/// `token list` on a terminal.
const PEOPLE: [&str; 6] = [
    "ID",
    "DESCRIPTION",
    "PERMISSIONS",
    "STATUS",
    "CREATED",
    "EXPIRES",
];

/// A token's cells under [`COLUMNS`], or under [`PEOPLE`] at `now`.
fn list_row(t: &DatabaseToken, people: Option<chrono::DateTime<chrono::Utc>>) -> Vec<Cow<'_, str>> {
    use output::lists::{expiry, relative, short_id, status};
    // Cells borrowed where they can be: the table escapes every cell, and
    // shows every value whole in a pipe, as `management list` does.
    match people {
        None => vec![
            t.id.as_str().into(),
            t.description.as_str().into(),
            permissions_text(&t.permissions).into(),
            rfc3339(t.created_at).into(),
            rfc3339_or_dash(t.expires_at).into(),
            rfc3339_or_dash(t.revoked_at).into(),
        ],
        Some(now) => vec![
            short_id(&t.id).into(),
            t.description.as_str().into(),
            permissions_text(&t.permissions).into(),
            status(t.revoked_at, t.expires_at, now).into(),
            relative(t.created_at, now).into(),
            expiry(t.expires_at, now).into(),
        ],
    }
}

/// Ids as typed, whole or as unique prefixes (terminal lists show eight
/// characters); one listing only when a prefix was typed.
async fn resolve_ids(
    client: &documented::DocumentedClient<'_>,
    s: &crate::provision::Session<'_>,
    typed: &[String],
) -> anyhow::Result<Vec<String>> {
    crate::cluster::resolve_ids(typed, "database token", "token list", || async {
        let all = client
            .list_tokens(&s.cred)
            .await
            .map_err(|e| s.on_error(e))?;
        Ok(all.into_iter().map(|t| t.id).collect())
    })
    .await
}

pub async fn get(ctx: &Context, args: TokenGetArgs) -> anyhow::Result<()> {
    let (cfg, http) = super::configured(ctx)?;
    let s = ctx.session(&cfg, &http, &args.device).await?;
    let client = s.documented()?;
    let id = resolve_ids(&client, &s, std::slice::from_ref(&args.id))
        .await?
        .remove(0);
    let t = client
        .get_token(&s.cred, &id)
        .await
        .map_err(|e| s.on_error(e))?;
    if args.format.format == Format::Json {
        return super::json(ctx, &t);
    }
    super::data(ctx, &output::fields::table(&fields(&t)))
}

pub async fn revoke(ctx: &Context, args: TokenRevokeArgs) -> anyhow::Result<()> {
    let (cfg, http) = super::configured(ctx)?;
    if !args.force {
        require_terminal(&ctx.printer, REVOKE)?;
    }
    let s = ctx.session(&cfg, &http, &args.device).await?;
    let client = s.documented()?;
    let ids = &resolve_ids(&client, &s, &args.ids).await?;
    if !args.force {
        // Name what will be revoked, resolved, with its description (issue
        // 19 item 11), never the prefix as typed.
        let all = client
            .list_tokens(&s.cred)
            .await
            .map_err(|e| s.on_error(e))?;
        let q = revoke_question(
            "database token",
            "Anything writing or querying with",
            ids,
            all.iter().map(|t| (t.id.as_str(), t.description.as_str())),
        );
        confirm(&ctx.printer, REVOKE, &q)?;
    }
    let mut failed: Vec<(String, anyhow::Error)> = Vec::new();
    for id in ids {
        match client.revoke_token(&s.cred, id).await {
            Ok(()) => ctx
                .printer
                .status(format!("Revoked database token {}.", sanitize(id))),
            Err(e) => {
                let e = s.on_error(e);
                ctx.printer.error(format!("error: {}: {e}", sanitize(id)));
                failed.push((id.clone(), e));
            }
        }
    }
    super::revocations(failed, ids.len())
}
