//! `rotate`: replace the stored management token using the token itself (no
//! person, no device flow). If any step fails, the old token stays valid and
//! stored: stores already switched are switched back and the new token is
//! revoked.
use super::Context;
use super::mint::{
    StoreResult, create_guarded, describe_held, parse_stores, print_summary, revoke_unstored,
    summary, verify, write_stores,
};
use super::store_options;
use crate::cli::{Format, RotateArgs};
use crate::cluster::{ClusterClient, Credential, CredentialKind, expiry};
use crate::error::{ConfigError, MintError};
use crate::secret::Secret;
use crate::store::{StoreOptions, StoreSpec};
use chrono::Utc;

fn usage(message: String, hint: &str) -> anyhow::Error {
    ConfigError::Invalid {
        what: "--store".into(),
        source_name: "command line".into(),
        message,
        hint: Some(hint.into()),
    }
    .into()
}

/// Put the old token back into the stores that already took the new one.
async fn roll_back(
    stores: &[StoreSpec],
    results: &[StoreResult],
    old: &Secret,
    opts: &StoreOptions,
) -> Vec<String> {
    let mut still_new = Vec::new();
    for (s, r) in stores.iter().zip(results) {
        if !r.ok {
            continue;
        }
        let (spec, tok, o) = (s.clone(), old.clone(), opts.clone());
        match tokio::task::spawn_blocking(move || spec.write(&tok, &o)).await {
            Ok(Ok(_)) => eprintln!("↺ {s}: old token restored"),
            Ok(Err(e)) => {
                eprintln!("✗ {s}: could not restore the old token: {e}");
                still_new.push(s.to_string());
            }
            Err(e) => {
                eprintln!("✗ {s}: could not restore the old token: {e}");
                still_new.push(s.to_string());
            }
        }
    }
    still_new
}

pub async fn run(ctx: &Context, args: RotateArgs) -> anyhow::Result<()> {
    let stores = parse_stores(&args.stores)?;
    if stores.iter().any(|s| matches!(s, StoreSpec::Stdout)) && args.format.format == Format::Json {
        return Err(usage(
            "`stdout` cannot be combined with --format json".into(),
            "use --format table",
        ));
    }
    let expiry_flag = expiry::parse_expiry(
        args.expiry.expires_at.as_deref(),
        args.expiry.expires_in.as_deref(),
        Utc::now(),
    )?;
    let (cfg, http) = super::cluster_context(ctx)?;
    let client = ClusterClient::new(&cfg.profile, &http)?;
    // Rotation overwrites the stores: that is its purpose.
    let opts = store_options(ctx, true);

    let first = stores[0].clone();
    let o = opts.clone();
    let old = tokio::task::spawn_blocking(move || first.read(&o))
        .await??
        .ok_or_else(|| {
            usage(
                format!("{} holds no token to rotate", stores[0]),
                "create one first with `influx-bootstrap mint --store ...`",
            )
        })?;
    let Some(meta) = describe_held(&client, &old).await? else {
        return Err(usage(
            format!(
                "the token in {} no longer works on this cluster (revoked, expired, or another cluster)",
                stores[0]
            ),
            "mint a new one with `influx-bootstrap mint --force --store ...`",
        ));
    };
    for s in &stores {
        let (spec, o) = (s.clone(), opts.clone());
        tokio::task::spawn_blocking(move || spec.check(&o)).await??;
    }
    // Same lifetime as the old token unless told otherwise.
    let expires_at =
        expiry_flag.or_else(|| meta.expires_at.map(|e| Utc::now() + (e - meta.created_at)));
    let old_cred = Credential {
        token: old.clone(),
        kind: CredentialKind::ManagementToken,
    };
    let created = create_guarded(ctx, &client, &old_cred, &meta.description, expires_at)
        .await
        .map_err(|what| MintError::Interrupted {
            what: format!("the old token is unchanged; {what}"),
        })??;
    eprintln!(
        "Created replacement {} ({}) for {} ({}).",
        created.token.id, created.token.token_prefix, meta.id, meta.token_prefix
    );
    let new_cred = Credential {
        token: created.access_token.clone(),
        kind: CredentialKind::ManagementToken,
    };

    let (results, interrupted) = write_stores(&stores, &created.access_token, &opts, ctx).await;
    let failed = results.iter().filter(|r| !r.ok).count();
    let verified = if failed == 0 && !interrupted {
        verify(&client, &created, &meta.description, expires_at).await
    } else {
        Ok(())
    };
    if failed > 0 || interrupted || verified.is_err() {
        let still_new = roll_back(&stores, &results, &old, &opts).await;
        let what = if still_new.is_empty() {
            revoke_unstored(&client, &[&old_cred, &new_cred], &created.token.id).await
        } else {
            format!(
                "the new token {} stays valid because {} still hold it",
                created.token.id,
                still_new.join(", ")
            )
        };
        let s = summary(&created, results.clone(), false);
        let _ = print_summary(&s, args.format.format, true);
        let what = format!(
            "rotation rolled back, the old token {} is still valid; new token: {what}",
            meta.id
        );
        if interrupted {
            return Err(MintError::Interrupted { what }.into());
        }
        if let Err(e) = verified {
            return Err(anyhow::Error::new(e).context(what));
        }
        return Err(MintError::SomeStoresFailed {
            failed,
            total: results.len(),
            id: created.token.id.clone(),
        })
        .map_err(|e| anyhow::Error::new(e).context(what));
    }

    let mut s = summary(&created, results, true);
    s.event = "rotated";
    let mut revoke_error = None;
    if args.keep_old {
        s.revoked_old = Some(format!("{} kept (--keep-old)", meta.id));
    } else {
        match client.revoke(&new_cred, &meta.id).await {
            Ok(t) => {
                s.revoked_old = Some(format!(
                    "{} revoked at {}",
                    t.id,
                    t.revoked_at.map_or("-".into(), crate::text::rfc3339)
                ))
            }
            Err(e) => {
                s.revoked_old = Some(format!("{} NOT revoked: {e}", meta.id));
                revoke_error = Some(e);
            }
        }
    }
    let stdout_taken = stores.iter().any(|s| matches!(s, StoreSpec::Stdout));
    print_summary(&s, args.format.format, stdout_taken)?;
    match revoke_error {
        Some(e) => Err(anyhow::Error::new(e).context(format!(
            "the new token is in place, but the old token {} is still valid; revoke it with `management revoke {} --force`",
            meta.id, meta.id
        ))),
        None => Ok(()),
    }
}
