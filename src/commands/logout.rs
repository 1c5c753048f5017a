//! `logout [--all]`: revoke at the IdP (RFC 7009) when possible, then forget.
use super::Context;
use crate::auth::cache::{Cache, Session};
use crate::auth::{device, session_key};
use crate::cli::LogoutArgs;
use crate::http::HttpClient;

pub async fn run(ctx: &Context, args: LogoutArgs) -> anyhow::Result<()> {
    let cfg = ctx.config()?;
    let cache = Cache::new(cfg.files.cache_dir.value.clone(), ctx.printer.clone());
    let http = ctx.http(&cfg)?;
    let paths = if args.all {
        cache.all_paths()?
    } else {
        vec![cache.path(&session_key(&cfg)?)]
    };
    let mut found = 0;
    for path in paths {
        // A world-readable file is still logged out of: revoking is the
        // right response to a possibly leaked token.
        let session = match cache.load_path(&path) {
            Ok(Some(s)) => Some(s),
            Ok(None) => None,
            Err(crate::error::CacheError::Insecure { .. }) => read_anyway(&path),
            Err(e) => return Err(e.into()),
        };
        let Some(s) = session else { continue };
        found += 1;
        let _lock = cache.lock(&s.key)?;
        let revoked = revoke(&http, &s).await;
        std::fs::remove_file(&path).or_else(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Ok(())
            } else {
                Err(e)
            }
        })?;
        let whom = s.issuer.as_deref().unwrap_or(&s.key.authority);
        ctx.printer.status(format!(
            "Logged out of {whom} (profile {}): {revoked}.",
            s.profile
        ));
    }
    if found == 0 {
        ctx.printer.status(format!(
            "Not logged in{}; nothing to do.",
            if args.all {
                " anywhere"
            } else {
                " for this profile"
            }
        ));
    }
    Ok(())
}

fn read_anyway(path: &std::path::Path) -> Option<Session> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

async fn revoke(http: &HttpClient, s: &Session) -> String {
    let Some(url) = &s.revocation_endpoint else {
        return "the identity provider has no revocation endpoint, so the tokens stay valid until they expire".into();
    };
    let client_id = &s.key.client_id;
    // Revoking the refresh token ends the grant on most providers (RFC 7009
    // §2.1); the access token is revoked too, for those that do not cascade.
    let mut problems = Vec::new();
    if let Some(rt) = &s.refresh_token
        && let Err(e) = device::revoke(http, url, client_id, rt, "refresh_token").await
    {
        problems.push(format!("refresh token: {e}"));
    }
    if let Err(e) = device::revoke(http, url, client_id, &s.access_token, "access_token").await {
        problems.push(format!("access token: {e}"));
    }
    if problems.is_empty() {
        "tokens revoked at the identity provider".into()
    } else {
        format!(
            "revocation failed ({}); the cached session was deleted anyway",
            problems.join("; ")
        )
    }
}
