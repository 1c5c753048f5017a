//! Token ids as people type them: whole, or a unique prefix of at least
//! [`MIN_PREFIX`] characters (terminal lists show the first
//! [`SHORT_ID`]), like `docker ps`: what is shown can be typed back.
use crate::error::{ClusterError, ConfigError};
use crate::text::sanitize;

/// How many characters of an id a terminal list shows.
pub const SHORT_ID: usize = 8;
/// The shortest prefix that may name a token.
pub const MIN_PREFIX: usize = 4;

/// Does `typed` need [`resolve_id`] (it is shorter than a whole UUID)?
pub fn is_prefix(typed: &str) -> bool {
    typed.len() < 36
}

/// A token id as a person typed it: whole, or a unique prefix (at least
/// four characters) of one of `ids` — terminal lists show the first eight,
/// like `docker ps`, and what is shown can be typed back. `noun` names the
/// kind ("management token"), `list` the command that shows them.
pub fn resolve_id<'a>(
    typed: &str,
    ids: impl IntoIterator<Item = &'a str>,
    noun: &str,
    list: &'static str,
) -> anyhow::Result<String> {
    if !is_prefix(typed) {
        return Ok(typed.to_string());
    }
    if typed.chars().count() < MIN_PREFIX {
        return Err(ConfigError::usage(
            "ID",
            format!(
                "`{}` is too short to name a {noun} (`influx-bootstrap {list}` shows their ids)",
                sanitize(typed)
            ),
            "type at least four characters of the id",
        )
        .into());
    }
    let matches: Vec<&str> = ids.into_iter().filter(|id| id.starts_with(typed)).collect();
    match matches.as_slice() {
        [one] => Ok(one.to_string()),
        [] => Err(ClusterError::NotFound {
            what: format!("{noun} with an id starting `{}`", sanitize(typed)),
            list,
        }
        .into()),
        many => Err(ConfigError::usage(
            "ID",
            format!(
                "`{}` starts {} {noun} ids: {}",
                sanitize(typed),
                many.len(),
                many.iter()
                    .map(|i| sanitize(i))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "type more of the id",
        )
        .into()),
    }
}

/// [`resolve_id`] for each of `typed`; `all_ids` (a listing) is called only
/// when one of them is a prefix.
pub async fn resolve_ids<F, Fut>(
    typed: &[String],
    noun: &str,
    list: &'static str,
    all_ids: F,
) -> anyhow::Result<Vec<String>>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Vec<String>>>,
{
    if !typed.iter().any(|t| is_prefix(t)) {
        return Ok(typed.to_vec());
    }
    let all = all_ids().await?;
    typed
        .iter()
        .map(|t| resolve_id(t, all.iter().map(String::as_str), noun, list))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_resolve_to_one_id() {
        let ids = [
            "0a1b2c3d-0000-4000-8000-000000000001",
            "0a1b2c3d-0000-4000-8000-000000000002",
            "ffff0000-0000-4000-8000-000000000003",
        ];
        let cases: [(&str, Result<&str, &str>); 6] = [
            ("ffff", Ok(ids[2])),
            ("ffff0000", Ok(ids[2])),
            (ids[0], Ok(ids[0])),
            ("0a1b2c3d", Err("starts 2 management token ids")),
            (
                "abc",
                Err(
                    "too short to name a management token (`influx-bootstrap management list` shows",
                ),
            ),
            (
                "eeee",
                Err("no management token with an id starting `eeee`"),
            ),
        ];
        for (typed, want) in cases {
            let got = resolve_id(typed, ids, "management token", "management list");
            match want {
                Ok(id) => assert_eq!(got.unwrap(), id, "{typed}"),
                Err(msg) => {
                    let e = got.unwrap_err().to_string();
                    assert!(e.contains(msg), "{typed}: {e}");
                }
            }
        }
    }
}
