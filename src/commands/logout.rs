//! `logout [--all]`: revoke at the IdP (RFC 7009) when possible, then forget.
use super::Context;
use crate::auth::cache::{Cache, Session};
use crate::auth::{device, discovery, session_key};
use crate::cli::LogoutArgs;
use crate::http::HttpClient;
use crate::settings::Config;

pub async fn run(ctx: &Context, args: LogoutArgs) -> anyhow::Result<()> {
    let cfg = ctx.config()?;
    let cache = Cache::new(cfg.files.cache_dir.value.clone(), ctx.printer.clone());
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
        // The session's own profile (its TLS settings, its explicit
        // endpoints), when it still exists; else the active one.
        let own = profile_config(ctx, &cfg, &s);
        let own: &Config = &own;
        let http = ctx.http(own)?;
        let lock = cache.lock(&s.key)?;
        let revoked = match revocation_url(&http, own, &s).await {
            Some(url) => revoke(&http, &url, &s).await,
            None => format!(
                "the identity provider has no revocation endpoint (set `revocation_url` if it has one), so the tokens stay valid until they expire{}",
                match (&s.refresh_token, s.refresh_expires_at) {
                    (Some(_), Some(_)) => format!(" (the refresh token{})", refresh_until(&s)),
                    _ => String::new(),
                }
            ),
        };
        std::fs::remove_file(&path).or_else(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Ok(())
            } else {
                Err(e)
            }
        })?;
        cache.remove_lock_file(&s.key)?;
        drop(lock);
        let whom = s.issuer.as_deref().unwrap_or(&s.key.authority);
        ctx.printer.status(format!(
            "Logged out of {whom} for cluster {} (profile {}): {revoked}.",
            s.key.cluster, s.profile
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

/// The configuration of the profile that created `s`, if it still resolves
/// to the same session; else `active` (issue 11 item 17: `logout --all` must
/// not talk to one profile's provider with another profile's TLS settings).
fn profile_config<'a>(
    ctx: &Context,
    active: &'a Config,
    s: &Session,
) -> std::borrow::Cow<'a, Config> {
    if active.profile.name.value == s.profile {
        return std::borrow::Cow::Borrowed(active);
    }
    let flags = crate::cli::GlobalArgs {
        profile: Some(s.profile.clone()),
        ..ctx.global.clone()
    };
    match crate::settings::resolve(&ctx.env, &flags) {
        Ok(c) if session_key(&c).is_ok_and(|k| k == s.key) => std::borrow::Cow::Owned(c),
        _ => std::borrow::Cow::Borrowed(active),
    }
}

/// Where to revoke: the profile's explicit `revocation_url`, else the one
/// saved at login, else discovery now (sessions saved before discovery
/// consulted both metadata documents have none saved).
async fn revocation_url(http: &HttpClient, cfg: &Config, s: &Session) -> Option<url::Url> {
    let oauth = &cfg.profile.oauth2;
    let same = session_key(cfg).is_ok_and(|k| k == s.key);
    if same && let Some(u) = &oauth.revocation_url {
        return Some(u.value.clone());
    }
    if let Some(u) = &s.revocation_endpoint {
        return Some(u.clone());
    }
    if !same {
        return None;
    }
    match discovery::resolve(http, oauth, &cfg.profile.name.value).await {
        Ok(e) => e.revocation,
        Err(e) => {
            tracing::info!(error = %e, "discovery for the revocation endpoint failed");
            None
        }
    }
}

fn read_anyway(path: &std::path::Path) -> Option<Session> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

async fn revoke(http: &HttpClient, url: &url::Url, s: &Session) -> String {
    let client_id = &s.key.client_id;
    // Revoking the refresh token ends the grant on most providers (RFC 7009
    // §2.1); the access token is revoked too, for those that do not cascade.
    let refresh = match &s.refresh_token {
        Some(rt) => Some(
            device::revoke(http, url, client_id, rt, "refresh_token")
                .await
                .map_err(|e| e.to_string()),
        ),
        None => None,
    };
    let access = device::revoke(http, url, client_id, &s.access_token, "access_token").await;
    revocation_outcome(
        refresh.as_ref().map(|r| r.as_ref().map(|_| ())),
        access.map_err(|e| e.to_string()),
        is_jwt(s.access_token.expose()),
        s.expires_at,
        &refresh_until(s),
    )
}

/// When a refresh token that stays valid expires, to end "… until it
/// expires": " at <time>" when the provider told us, else that it did not.
fn refresh_until(s: &Session) -> String {
    match s.refresh_expires_at {
        Some(t) => format!(" at {}", t.format("%Y-%m-%d %H:%M UTC")),
        None => " (the identity provider did not say when)".into(),
    }
}

/// A JWT (three base64url parts) is checked by the cluster on its own, with
/// the provider's keys: revoking it at the provider does not stop it working
/// until it expires (RFC 7009 §2 lets a provider refuse such tokens with
/// `unsupported_token_type`; most accept and ignore the request).
fn is_jwt(token: &str) -> bool {
    // A JOSE header is a JSON object: `{"` is `eyJ` in base64url.
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3 && parts[0].starts_with("eyJ") && !parts[1].is_empty()
}

/// What `logout` says about revocation, in words a person can act on.
fn revocation_outcome(
    refresh: Option<Result<(), &String>>,
    access: Result<(), String>,
    access_is_jwt: bool,
    access_expires: Option<chrono::DateTime<chrono::Utc>>,
    refresh_until: &str,
) -> String {
    let until = match access_expires {
        Some(t) => format!("expires at {}", t.format("%H:%M UTC")),
        None => "expires on its own".into(),
    };
    let mut said = Vec::new();
    match refresh {
        Some(Ok(())) => said.push("refresh token revoked".to_string()),
        // Revocation failing leaves the grant alive at the provider: whoever
        // holds a copy of the refresh token can keep minting access tokens
        // until it expires (RFC 7009 §2.2). Deleting our copy does not
        // change that, so it is said plainly.
        Some(Err(e)) => said.push(format!(
            "revoking the refresh token failed ({e}): it stays valid at the identity provider until it expires{refresh_until}"
        )),
        None => {}
    }
    match (access, access_is_jwt) {
        (_, true) => said.push(format!(
            "the access token is a JWT the cluster checks on its own: it cannot be revoked and {until}"
        )),
        (Ok(()), false) => said.push("access token revoked".into()),
        (Err(e), false) => said.push(format!(
            "revoking the access token failed ({e}); it {until}"
        )),
    }
    let failed = said.iter().any(|p| p.contains("failed"));
    let mut out = said.join("; ");
    if failed {
        out.push_str("; the cached session was deleted anyway");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocation_is_described_in_plain_words() {
        let at = crate::text::parse_utc("2026-11-30T10:41:00Z").unwrap();
        let boom = "HTTP 400 unsupported_token_type".to_string();
        let cases = [
            (
                Some(Ok(())),
                Err(boom.clone()),
                true,
                "refresh token revoked; the access token is a JWT the cluster checks on its own: it cannot be revoked and expires at 10:41 UTC",
            ),
            (
                Some(Ok(())),
                Ok(()),
                false,
                "refresh token revoked; access token revoked",
            ),
            (
                None,
                Err(boom.clone()),
                false,
                "revoking the access token failed (HTTP 400 unsupported_token_type); it expires at 10:41 UTC; the cached session was deleted anyway",
            ),
            (
                Some(Err(&boom)),
                Ok(()),
                true,
                "revoking the refresh token failed (HTTP 400 unsupported_token_type): it stays valid at the identity provider until it expires at 2026-12-14 10:41 UTC; the access token is a JWT the cluster checks on its own: it cannot be revoked and expires at 10:41 UTC; the cached session was deleted anyway",
            ),
        ];
        for (refresh, access, jwt, want) in cases {
            let until = " at 2026-12-14 10:41 UTC";
            assert_eq!(
                revocation_outcome(refresh, access, jwt, Some(at), until),
                want
            );
        }
        assert!(is_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig"));
        assert!(!is_jwt("opaque-token"));
        assert!(!is_jwt("M.V1.abc"));
    }
}
