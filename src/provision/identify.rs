//! Which listed management token a store holds (issue 19 item 1).
//!
//! A listing names tokens by id and a short displayed prefix, never the
//! secret. A token is *positively identified* only by the id a state record
//! says this very secret has (the record's SHA-256 matched the store), or by
//! a non-empty prefix that the secret starts with and no other live token
//! shares at that length. Anything else — influxctl printing no
//! `token_prefix`, two tokens with the same prefix — is refused with the
//! candidate ids: `rotate` revokes the token it identifies, and revoking a
//! guess revokes somebody else's token.
use crate::cluster::ManagementToken;
use crate::error::ConfigError;
use crate::secret::Secret;

/// The live entry of `all` that `token` is, `Ok(None)` when none can be
/// (the token is not on this cluster's list), an error when it cannot be told.
/// `known_id` is the id a record describing `token` names.
pub fn held(
    all: Vec<ManagementToken>,
    token: &Secret,
    known_id: Option<&str>,
) -> Result<Option<ManagementToken>, ConfigError> {
    let live: Vec<ManagementToken> = all.into_iter().filter(|t| t.revoked_at.is_none()).collect();
    let fits = |t: &ManagementToken| {
        t.token_prefix.is_empty() || token.expose().starts_with(&t.token_prefix)
    };
    if let Some(id) = known_id
        && let Some(t) = live.iter().find(|t| t.id == id)
    {
        // The record's id, unless the cluster's own prefix contradicts it.
        if fits(t) {
            return Ok(Some(t.clone()));
        }
    }
    let longest = live
        .iter()
        .filter(|t| !t.token_prefix.is_empty() && token.expose().starts_with(&t.token_prefix))
        .map(|t| t.token_prefix.len())
        .max();
    let matches: Vec<&ManagementToken> = match longest {
        Some(n) => live
            .iter()
            .filter(|t| t.token_prefix.len() == n && token.expose().starts_with(&t.token_prefix))
            .collect(),
        None => Vec::new(),
    };
    if let [one] = matches.as_slice() {
        return Ok(Some((*one).clone()));
    }
    // No unique prefix match: the candidates are the ties, or every live
    // entry without a prefix (it could be any of them).
    let candidates: Vec<&ManagementToken> = if matches.is_empty() {
        live.iter().filter(|t| t.token_prefix.is_empty()).collect()
    } else {
        matches
    };
    if candidates.is_empty() {
        return Ok(None);
    }
    let ids: Vec<String> = candidates
        .iter()
        .map(|t| {
            format!(
                "{} ({})",
                crate::text::sanitize(&t.id),
                crate::text::sanitize(&t.description)
            )
        })
        .collect();
    Err(ConfigError::usage(
        "--store",
        format!(
            "cannot tell which management token the store holds: the cluster's list {} ({} candidates: {})",
            if longest.is_some() {
                "shows the same prefix for several tokens"
            } else {
                "shows no token prefix"
            },
            ids.len(),
            ids.join(", ")
        ),
        "nothing was revoked; mint a replacement with `influx-bootstrap mint --force --store ...`, then revoke the old token by id with `influx-bootstrap management revoke ID`",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn tok(id: &str, prefix: &str, revoked: bool) -> ManagementToken {
        ManagementToken {
            id: id.into(),
            description: format!("d-{id}"),
            token_prefix: prefix.into(),
            created_at: Utc::now(),
            created_by: String::new(),
            expires_at: None,
            revoked_at: revoked.then(Utc::now),
            permissions: Vec::new(),
        }
    }

    #[test]
    fn only_a_positively_identified_token_is_returned() {
        let secret = Secret::new("M.V1.abcdefghijklmnop");
        // (list, known id, expected: Ok(Some(id)) / Ok(None) / Err(substring))
        type Want = Result<Option<&'static str>, &'static str>;
        let cases: Vec<(Vec<ManagementToken>, Option<&str>, Want)> = vec![
            // H2: no prefixes at all, no record: refuse, name the candidates.
            (
                vec![tok("other", "", false), tok("mine", "", false)],
                None,
                Err("shows no token prefix (2 candidates: other (d-other), mine (d-mine))"),
            ),
            // No prefixes, but the record names ours.
            (
                vec![tok("other", "", false), tok("mine", "", false)],
                Some("mine"),
                Ok(Some("mine")),
            ),
            // A recorded id whose listed prefix contradicts the secret.
            (vec![tok("mine", "M.V1.zzz", false)], Some("mine"), Ok(None)),
            // An exact, unique prefix match; the longest wins.
            (
                vec![tok("a", "M.V1.ab", false), tok("b", "M.V1.abcd", false)],
                None,
                Ok(Some("b")),
            ),
            // Two tokens with the same matching prefix.
            (
                vec![tok("a", "M.V1.ab", false), tok("b", "M.V1.ab", false)],
                None,
                Err("same prefix for several tokens (2 candidates"),
            ),
            // Revoked tokens are never candidates.
            (
                vec![tok("gone", "", true), tok("b", "M.V1.x", false)],
                None,
                Ok(None),
            ),
            // The recorded id is not listed (revoked): not ours to guess.
            (vec![tok("other", "M.V1.q", false)], Some("mine"), Ok(None)),
        ];
        for (i, (list, known, want)) in cases.into_iter().enumerate() {
            let got = held(list, &secret, known);
            match want {
                Ok(id) => assert_eq!(got.unwrap().map(|t| t.id), id.map(String::from), "case {i}"),
                Err(text) => {
                    let e = got.unwrap_err().to_string();
                    assert!(e.contains(text), "case {i}: {e}");
                }
            }
        }
    }
}
