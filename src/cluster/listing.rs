//! A list answer read item by item (issue 21). `management list` of 10,000
//! tokens is a 2.7 MB body; parsing it into 10,000 owned tokens, sorting
//! them and building the whole output before printing held four copies of
//! it at once (17–21 MiB peak). Here the body stays the one copy: each item
//! is kept as its raw JSON text (a borrowed slice), parsed once to check it
//! and compute its sort key, and parsed again, one at a time, when it is
//! printed.
use super::not_the_api;
use crate::error::ClusterError;
use crate::http::Response;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// The items of a list, in the order they will be shown.
pub enum Listing<'a, T> {
    /// Borrowed from a body we read ourselves.
    Raw(Vec<&'a RawValue>),
    /// Already parsed (a backend that lists some other way: influxctl).
    Parsed(Vec<T>),
}

impl<'a, T: DeserializeOwned> Listing<'a, T> {
    /// Every item of `resp` (a JSON array) checked against `T` and sorted
    /// by `key` (stable); `seen` is shown each item on the way (a table
    /// measures its columns: one parse fewer). `key` takes the parsed item,
    /// which is dropped then anyway: it may move a field into the key
    /// instead of copying it. A body that is not an array of `T` is the
    /// same error a whole parse gives.
    pub fn sorted<K: Ord>(
        resp: &'a Response,
        key: impl Fn(T) -> K,
        mut seen: impl FnMut(&T),
    ) -> Result<Listing<'a, T>, ClusterError> {
        let raw: Vec<&'a RawValue> =
            serde_json::from_slice(&resp.body).map_err(|e| not_the_api(resp, e))?;
        let mut keyed = Vec::with_capacity(raw.len());
        for (n, item) in raw.into_iter().enumerate() {
            let t: T = serde_json::from_str(item.get())
                .map_err(|e| not_the_api(resp, item_error(n, e)))?;
            seen(&t);
            keyed.push((key(t), item));
        }
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Listing::Raw(
            keyed.into_iter().map(|(_, item)| item).collect(),
        ))
    }

    /// Items parsed elsewhere, sorted by `key` (stable), each shown to
    /// `seen` as [`Listing::sorted`] does.
    pub fn parsed<K: Ord>(
        mut items: Vec<T>,
        key: impl Fn(&T) -> K,
        seen: impl FnMut(&T),
    ) -> Listing<'a, T> {
        items.iter().for_each(seen);
        items.sort_by_cached_key(key);
        Listing::Parsed(items)
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Listing::Raw(v) => v.is_empty(),
            Listing::Parsed(v) => v.is_empty(),
        }
    }

    /// `f` on each item in order, one parsed at a time.
    pub fn for_each<E: From<serde_json::Error>>(
        &self,
        mut f: impl FnMut(&T) -> Result<(), E>,
    ) -> Result<(), E> {
        match self {
            Listing::Raw(v) => {
                for item in v {
                    // Checked by `sorted`: this parse of the same text succeeds.
                    f(&serde_json::from_str(item.get())?)?;
                }
            }
            Listing::Parsed(v) => {
                for t in v {
                    f(t)?;
                }
            }
        }
        Ok(())
    }
}

/// A parse error of item `n`: its position is within the item.
fn item_error(n: usize, e: serde_json::Error) -> serde_json::Error {
    serde::de::Error::custom(format!("item {n}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ManagementToken;

    fn resp(body: &str) -> Response {
        Response {
            url: "http://127.0.0.1:1/api/v0/management/tokens".into(),
            status: 200,
            content_type: "application/json".into(),
            retry_after: None,
            location: None,
            body: body.as_bytes().to_vec(),
        }
    }

    fn item(id: &str, desc: &str, created: &str) -> String {
        format!(
            r#"{{"id":"{id}","description":"{desc}","tokenPrefix":"M.V1.x","createdAt":"{created}","createdBy":"admin","expiresAt":null,"revokedAt":null}}"#
        )
    }

    #[test]
    fn items_sorted_and_read_back_as_a_whole_parse_would() {
        let body = format!(
            "[{}, {}, {}]",
            item("b", "two", "2026-01-02T00:00:00Z"),
            item("c", "caf\\u00e9", "2026-01-01T00:00:00+00:00"),
            item("a", "one", "2026-01-02T00:00:00Z"),
        );
        let r = resp(&body);
        let whole: Vec<ManagementToken> = serde_json::from_str(&body).unwrap();
        let l = Listing::<ManagementToken>::sorted(&r, |t| (t.created_at, t.id), |_| ()).unwrap();
        let mut seen = Vec::new();
        l.for_each(|t| {
            seen.push(t.clone());
            Ok::<_, serde_json::Error>(())
        })
        .unwrap();
        let want = vec![whole[1].clone(), whole[2].clone(), whole[0].clone()];
        assert_eq!(seen, want);
        assert_eq!(seen[0].description, "café");
    }

    #[test]
    fn a_body_that_is_not_the_api_is_refused_whole() {
        let cases = [
            ("{}", "does not match the API"),
            ("[1]", "item 0"),
            (r#"[{"id":"a"}]"#, "item 0"),
            ("[", "does not match the API"),
        ];
        for (body, want) in cases {
            let r = resp(body);
            let e = Listing::<ManagementToken>::sorted(&r, |t| t.id, |_| ())
                .err()
                .unwrap_or_else(|| panic!("{body} parsed"));
            assert!(e.to_string().contains(want), "{body}: {e}");
        }
        let empty = resp("[]");
        let l = Listing::<ManagementToken>::sorted(&empty, |t| t.id, |_| ()).unwrap();
        assert!(l.is_empty());
    }
}
