//! `database list|create|delete`, through InfluxData's documented Management
//! API (`cluster::documented`), so they work on a stock cluster.
use super::Context;
use crate::cli::{DatabaseCreateArgs, DatabaseDeleteArgs, Format, ReadArgs};
use crate::cluster::documented::{self, Database, NewDatabase};
use crate::output;
use crate::output::confirm::{DELETE, confirm};
use crate::text::sanitize;

fn or_dash(n: Option<u64>) -> String {
    n.map_or_else(|| "-".into(), |n| n.to_string())
}

const COLUMNS: [&str; 4] = ["NAME", "MAX TABLES", "MAX COLUMNS", "RETENTION"];

fn row(d: &Database) -> Vec<String> {
    vec![
        sanitize(&d.name),
        or_dash(d.max_tables),
        or_dash(d.max_columns_per_table),
        documented::show_retention(d.retention_period),
    ]
}

/// One database as FIELD/VALUE rows.
fn fields(d: &Database) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = output::fields::of_columns(&COLUMNS, row(d));
    if let Some(t) = &d.partition_template {
        rows.push(output::fields::row(
            "PARTITION TEMPLATE",
            sanitize(&t.to_string()),
        ));
    }
    rows
}

pub async fn list(ctx: &Context, args: ReadArgs) -> anyhow::Result<()> {
    let (cfg, http) = super::configured(ctx)?;
    let s = ctx.session(&cfg, &http, &args.device).await?;
    let mut dbs = super::documented(&s, async |c, cred| c.list_databases(cred).await).await?;
    dbs.sort_by(|a, b| a.name.cmp(&b.name));
    if args.format.format == Format::Json {
        return super::json(ctx, &dbs);
    }
    if dbs.is_empty() {
        ctx.printer.status("No databases on this cluster yet.");
    }
    let rows: Vec<Vec<String>> = dbs.iter().map(row).collect();
    super::data(ctx, &output::table(&COLUMNS, &rows))
}

pub async fn create(ctx: &Context, args: DatabaseCreateArgs) -> anyhow::Result<()> {
    // Everything the user typed is checked before any network call.
    let new = NewDatabase {
        name: documented::check_database_name("NAME", &args.name)?,
        max_tables: args.max_tables,
        max_columns_per_table: args.max_columns,
        retention_period: args
            .retention_period
            .as_deref()
            .map(documented::parse_retention)
            .transpose()?,
    };
    let (cfg, http) = super::configured(ctx)?;
    let s = ctx.session(&cfg, &http, &args.device).await?;
    let db = super::documented(&s, async |c, cred| c.create_database(cred, &new).await).await?;
    ctx.printer
        .status(format!("Created database {}.", sanitize(&db.name)));
    if args.format.format == Format::Json {
        return super::json(ctx, &db);
    }
    super::data(ctx, &output::fields::table(&fields(&db)))
}

pub async fn delete(ctx: &Context, args: DatabaseDeleteArgs) -> anyhow::Result<()> {
    let name = documented::check_database_name("NAME", &args.name)?;
    let (cfg, http) = super::configured(ctx)?;
    if !args.force {
        let question = format!(
            "Delete database {} and all of its data? This cannot be undone. [y/N] ",
            sanitize(&name)
        );
        confirm(&ctx.printer, DELETE, &question)?;
    }
    let s = ctx.session(&cfg, &http, &args.device).await?;
    super::documented(&s, async |c, cred| c.delete_database(cred, &name).await).await?;
    ctx.printer
        .status(format!("Deleted database {}.", sanitize(&name)));
    Ok(())
}
