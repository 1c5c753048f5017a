//! `rotate`: flags → one [`provision::RotateRequest`] →
//! [`provision::run_rotate`].
use super::{Context, store_options};
use crate::cli::{Format, RotateArgs};
use crate::cluster::expiry;
use crate::error::ConfigError;
use crate::provision::{self, RotateRequest};

pub async fn run(ctx: &Context, args: RotateArgs) -> anyhow::Result<()> {
    // Rotation overwrites the stores: that is its purpose.
    let stores = provision::spec_stores(&args.stores, &store_options(ctx, true))?;
    // On a rollback both the new and the old token would be printed, and a
    // token on stdout cannot be switched back: rotate only into stores it
    // can read back and restore.
    if stores.iter().any(|s| s.is_stdout()) {
        return Err(ConfigError::usage(
            "--store",
            "`stdout` cannot be a rotate store (a rollback would print a second token)",
            "rotate into a file:, env-file:, keyring: or influxctl: store",
        )
        .into());
    }
    let req = RotateRequest {
        stores,
        expires_at: super::expires_at(&args.expiry)?,
        keep_old: args.keep_old,
        json: args.format.format == Format::Json,
        id: args.id.clone(),
        when_remaining: args
            .when_remaining
            .as_deref()
            .map(|w| expiry::parse_window("--when-remaining", w))
            .transpose()?,
        grace: args
            .grace
            .as_deref()
            .map(|g| expiry::parse_window("--grace", g))
            .transpose()?,
        on_rotated: args.on_rotated.clone().map(|command| provision::OnRotated {
            command,
            opts: store_options(ctx, true),
        }),
    };
    let (cfg, http) = super::configured(ctx)?;
    let mut ui = ctx.prompt(&args.device, req.json);
    provision::run_rotate(&ctx.io(), &cfg, &http, &mut ui, req).await
}
