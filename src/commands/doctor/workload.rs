//! `doctor` for a profile that logs in as a workload (issue 20): the token
//! endpoint, what the provider advertises (RFC 8414 §2
//! `grant_types_supported`, `token_endpoint_auth_methods_supported`), and
//! the client credential itself (file owner and mode, a key that signs, an
//! assertion's expiry). Nothing is sent with the credential.
use super::{Check, State, plain};
use crate::auth::client::{self, ClientAuth};
use crate::auth::discovery;
use crate::settings::Config;
use chrono::{DateTime, Utc};

pub(super) async fn checks(
    cfg: &Config,
    http: &crate::http::HttpClient,
    dates: &mut Vec<(&'static str, Option<DateTime<Utc>>)>,
) -> Vec<Check> {
    let p = &cfg.profile;
    let mut out = Vec::new();
    let endpoint = match discovery::token_endpoint(http, &p.oauth2, &p.name.value).await {
        Ok(ep) => {
            out.push(Check::new(
                "identity provider",
                State::Ok,
                format!("token endpoint {}", crate::text::display_url(&ep.token)),
            ));
            if let Ok((_, d)) = http.get_dated(&ep.token).await {
                dates.push(("identity provider", d));
            }
            Some(ep)
        }
        Err(e) => {
            let (detail, hint) = plain(&e);
            let mut c = Check::new("identity provider", State::Fail, detail);
            c.hint = hint;
            out.push(c);
            None
        }
    };
    let auth = ClientAuth::from_profile(&p.oauth2, &p.name.value);
    let client_id = p.oauth2.client_id.as_ref().map(|c| c.value.clone());
    out.push(advertised(
        "workload grant",
        endpoint.as_ref().and_then(|e| e.grant_types.as_deref()),
        "client_credentials",
        "enable the client credentials grant for this client at the identity provider (a confidential client)",
    ));
    if let Ok(a) = &auth {
        out.push(advertised(
            "client auth method",
            endpoint.as_ref().and_then(|e| e.auth_methods.as_deref()),
            a.method(),
            "the provider does not take this kind of client credential: use another key under [profile.auth.oauth2]",
        ));
    }
    out.push(match (&auth, &endpoint, client_id) {
        (Err(e), _, _) => Check::new("client credential", State::Fail, e.to_string())
            .hint(crate::error::Classify::hint(e).unwrap_or_default()),
        (Ok(_), None, _) | (Ok(_), _, None) => Check::new(
            "client credential",
            State::Skip,
            "skipped: no token endpoint or no client_id",
        ),
        (Ok(a), Some(ep), Some(id)) => match client::check_usable(a, &id, ep) {
            Ok(detail) => Check::new("client credential", State::Ok, detail),
            Err(e) => Check::new("client credential", State::Fail, e.to_string())
                .hint(crate::error::Classify::hint(&e).unwrap_or_default()),
        },
    });
    out
}

/// Does the provider list `wanted`? Not listing anything is not a failure
/// (RFC 8414 §2 makes both lists optional).
fn advertised(name: &'static str, list: Option<&[String]>, wanted: &str, hint: &str) -> Check {
    match list {
        None => Check::new(
            name,
            State::Skip,
            format!("`{wanted}`: the provider does not say"),
        ),
        Some(l) if l.iter().any(|x| x == wanted) => {
            Check::new(name, State::Ok, format!("`{wanted}` advertised"))
        }
        Some(l) => Check::new(
            name,
            State::Fail,
            format!("`{wanted}` is not among the advertised {}", l.join(", ")),
        )
        .hint(hint),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertised_lists_are_checked_only_when_given() {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let grants = list(&["authorization_code", "client_credentials"]);
        let device_only = list(&["urn:ietf:params:oauth:grant-type:device_code"]);
        let cases: [(Option<&[String]>, State); 3] = [
            (None, State::Skip),
            (Some(&grants), State::Ok),
            (Some(&device_only), State::Fail),
        ];
        for (l, want) in cases {
            let c = advertised("workload grant", l, "client_credentials", "enable it");
            assert_eq!(c.status, want, "{l:?}");
            assert_eq!(c.hint.is_some(), want == State::Fail, "{l:?}");
        }
    }
}
