//! `config init` for a workload profile (issue 20): `--client-secret-file`,
//! `--private-key-file` or `--client-assertion-file` write
//! `grant = "client_credentials"` and that key; the presets' scopes are a
//! client's, not a person's (no `openid`, no `offline_access`: RFC 6749
//! §4.4.3 issues no refresh token).
use crate::cli::{ConfigInitArgs, Preset};
use crate::error::ConfigError;
use std::path::PathBuf;

/// The one client credential named on the command line, as (key, path).
pub(super) fn credential(
    args: &ConfigInitArgs,
) -> Result<Option<(&'static str, PathBuf)>, ConfigError> {
    let given: Vec<(&'static str, PathBuf)> = [
        ("client_secret_file", &args.client_secret_file),
        ("private_key_file", &args.private_key_file),
        ("client_assertion_file", &args.client_assertion_file),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|p| (k, p)))
    .collect();
    match given.len() {
        0 => Ok(None),
        1 => Ok(given.into_iter().next()),
        _ => Err(ConfigError::usage(
            "config init",
            "more than one of --client-secret-file, --private-key-file, --client-assertion-file",
            "a workload authenticates one way: give one of them",
        )),
    }
}

/// A workload's scopes: the flags, else Entra's `<client-id>/.default`
/// (required there), else none (the provider's default for the client).
pub(super) fn scopes(given: Vec<String>, preset: Option<Preset>, client_id: &str) -> Vec<String> {
    if !given.is_empty() {
        return given;
    }
    match preset {
        Some(Preset::Entra) => vec![format!("{client_id}/.default")],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_credential_and_client_scopes() {
        let with = |s: Option<&str>, k: Option<&str>| ConfigInitArgs {
            client_secret_file: s.map(PathBuf::from),
            private_key_file: k.map(PathBuf::from),
            ..Default::default()
        };
        assert_eq!(credential(&with(None, None)).unwrap(), None);
        assert_eq!(
            credential(&with(None, Some("/k"))).unwrap(),
            Some(("private_key_file", PathBuf::from("/k")))
        );
        assert!(credential(&with(Some("/s"), Some("/k"))).is_err());
        assert_eq!(scopes(vec![], Some(Preset::Entra), "abc"), ["abc/.default"]);
        assert!(scopes(vec![], Some(Preset::Keycloak), "abc").is_empty());
        assert_eq!(scopes(vec!["x".into()], None, "abc"), ["x"]);
    }
}
