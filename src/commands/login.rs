//! `login`: reuse, refresh, or run the device flow.
use super::Context;
use crate::auth::{Auth, LoginUi, Obtained, WhenRefused};
use crate::cli::{Format, LoginArgs};

pub async fn run(ctx: &Context, args: LoginArgs) -> anyhow::Result<()> {
    let cfg = ctx.config()?;
    let http = ctx.http(&cfg)?;
    // A refused session is followed by a new device flow even in a script:
    // a new login is what `login` was asked for.
    let auth = Auth::new(&cfg, &http)?.when_refused(WhenRefused::LogIn);
    let json = args.format.format == Format::Json;
    let mut ui = ctx.prompt(&args.device, json);
    let acq = auth.session(args.force, true, &mut ui).await?;
    // `login` is done when the session is saved: a failure is its error.
    if let Some(saving) = &acq.saving {
        saving.wait()?;
    }
    ui.authorized(&cfg.profile.name.value, &acq);
    drop(ui);
    let s = &acq.session;
    let id = s.identity.as_ref();
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
