//! `login`: reuse, refresh, or run the device flow.
use super::Context;
use crate::auth::{Auth, Obtained};
use crate::cli::{Format, LoginArgs};
use serde::Serialize;

#[derive(Serialize)]
struct Authorized<'a> {
    event: &'static str,
    profile: &'a str,
    subject: Option<&'a str>,
    name: Option<&'a str>,
    email: Option<&'a str>,
    /// The issuer, or absent when the profile names endpoints only (never
    /// the token URL: it is not an issuer and checks nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<&'a str>,
    /// Whether the identity comes from a signature-checked ID token.
    #[serde(skip_serializing_if = "Option::is_none")]
    identity_verified: Option<bool>,
    expires_at: Option<String>,
    refreshable: bool,
    session: Obtained,
}

pub async fn run(ctx: &Context, args: LoginArgs) -> anyhow::Result<()> {
    let cfg = ctx.config()?;
    let http = ctx.http(&cfg)?;
    let auth = Auth::new(&cfg, &http)?;
    let json = args.format.format == Format::Json;
    let mut ui = ctx.prompt(&args.device, json);
    let acq = auth.session(args.force, true, &mut ui).await?;
    drop(ui);
    let s = &acq.session;
    let id = s.identity.as_ref();
    if json {
        ctx.printer.json(&Authorized {
            event: "authorized",
            profile: &cfg.profile.name.value,
            subject: id.map(|i| i.subject.as_str()),
            name: id.and_then(|i| i.name.as_deref()),
            email: id.and_then(|i| i.email.as_deref()),
            issuer: s.issuer.as_deref(),
            identity_verified: id.map(|i| i.verified),
            expires_at: s.expires_at.map(crate::text::rfc3339),
            refreshable: s.refresh_token.is_some(),
            session: acq.how,
        })?;
    }
    let who = match id {
        Some(i) => {
            let mut w = i.name.clone().unwrap_or_else(|| i.subject.clone());
            if let Some(e) = &i.email {
                w.push_str(&format!(" <{e}>"));
            }
            w
        }
        None => "an unknown user (no ID token)".into(),
    };
    let who = match id {
        Some(i) if !i.verified => format!("{who} (unverified)"),
        _ => who,
    };
    let how = match acq.how {
        Obtained::Cached => "Already logged in",
        Obtained::Refreshed => "Session refreshed",
        Obtained::DeviceFlow => "Logged in",
        Obtained::ClientCredentials => {
            "Logged in as a workload (client credentials, nothing cached)"
        }
    };
    let until = s
        .expires_at
        .map(|t| format!("; access token valid until {}", crate::text::rfc3339(t)))
        .unwrap_or_default();
    let refresh = if s.refresh_token.is_some() {
        ", refreshable"
    } else {
        ", not refreshable"
    };
    ctx.printer.status(format!(
        "{how} as {who} at {}{until}{refresh}.",
        s.issuer.as_deref().unwrap_or(&s.key.authority)
    ));
    Ok(())
}
