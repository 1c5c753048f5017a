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
    /// same error a whole parse gives (the first item that fails). A long
    /// list is checked by two threads, half each (as
    /// [`Listing::write_each`] writes it).
    pub fn sorted<K: Ord + Send>(
        resp: &'a Response,
        key: impl Fn(T) -> K + Sync,
        seen: impl Fn(&T) + Sync,
    ) -> Result<Listing<'a, T>, ClusterError> {
        let raw: Vec<&'a RawValue> =
            serde_json::from_slice(&resp.body).map_err(|e| not_the_api(resp, e))?;
        let keyed_from = |items: &[&'a RawValue], first: usize| {
            let mut keyed = Vec::with_capacity(items.len());
            for (n, item) in items.iter().enumerate() {
                let t: T = serde_json::from_str(item.get())
                    .map_err(|e| not_the_api(resp, item_error(first + n, e)))?;
                seen(&t);
                keyed.push((key(t), *item));
            }
            Ok::<_, ClusterError>(keyed)
        };
        let mut keyed = if raw.len() < 2 * PIECE {
            keyed_from(&raw, 0)?
        } else {
            let (mine, theirs) = raw.split_at(raw.len() / 2);
            std::thread::scope(|s| {
                let helper = s.spawn(|| keyed_from(theirs, mine.len()));
                let mut keyed = keyed_from(mine, 0);
                let rest = helper
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                // The first item that fails is the one reported.
                if let Ok(k) = &mut keyed {
                    k.extend(rest?);
                }
                keyed
            })?
        };
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
        seen: impl Fn(&T),
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

    /// Every item, in order, as `render` puts it (given its position) into a
    /// buffer, written to `w`. A long list of raw items is shared with one
    /// more thread (issue 21: parsing and serialising each item once more is
    /// over a third of a 10,000-token list's CPU, and the second core is
    /// idle while it runs): the list is cut into pieces of [`PIECE`] items; a helper
    /// renders every other piece while this thread renders the rest and
    /// writes all of them in order. At most two finished pieces wait (a few
    /// hundred kilobytes), so a slow reader of stdout holds the memory
    /// down, not up.
    pub fn write_each(
        &self,
        w: &mut dyn std::io::Write,
        render: impl Fn(usize, &T, &mut Vec<u8>) -> std::io::Result<()> + Sync,
    ) -> std::io::Result<()> {
        let mut buf = Vec::new();
        match self {
            Listing::Parsed(v) => {
                for (n, t) in v.iter().enumerate() {
                    buf.clear();
                    render(n, t, &mut buf)?;
                    w.write_all(&buf)?;
                }
                Ok(())
            }
            Listing::Raw(v) if v.len() < 2 * PIECE => {
                for (n, piece) in v.chunks(PIECE).enumerate() {
                    render_piece(piece, n * PIECE, &render, &mut buf)?;
                    w.write_all(&buf)?;
                }
                Ok(())
            }
            Listing::Raw(v) => std::thread::scope(|s| {
                let (tx, rx) = std::sync::mpsc::sync_channel(1);
                // Written pieces go back to the helper to be filled again.
                let (back, spare) = std::sync::mpsc::channel::<Vec<u8>>();
                let render = &render;
                s.spawn(move || {
                    for (n, piece) in v.chunks(PIECE).enumerate().skip(1).step_by(2) {
                        let mut buf = spare.try_recv().unwrap_or_default();
                        let r = render_piece(piece, n * PIECE, render, &mut buf);
                        // A closed channel: this thread stopped at an error.
                        if tx.send(r.map(|()| buf)).is_err() {
                            return;
                        }
                    }
                });
                for (n, piece) in v.chunks(PIECE).enumerate() {
                    if n % 2 == 0 {
                        render_piece(piece, n * PIECE, render, &mut buf)?;
                        w.write_all(&buf)?;
                    } else {
                        let theirs = rx.recv().map_err(|_| {
                            std::io::Error::other("the second list writer stopped")
                        })??;
                        w.write_all(&theirs)?;
                        // The helper may have finished: nothing to give back.
                        let _ = back.send(theirs);
                    }
                }
                Ok(())
            }),
        }
    }
}

/// Items a thread renders at a time: about 70 KB of output for tokens.
const PIECE: usize = 256;

/// `items` (the first at position `first`) rendered into `buf`, each
/// parsed from its text again.
fn render_piece<T: DeserializeOwned>(
    items: &[&RawValue],
    first: usize,
    render: &(impl Fn(usize, &T, &mut Vec<u8>) -> std::io::Result<()> + Sync),
    buf: &mut Vec<u8>,
) -> std::io::Result<()> {
    buf.clear();
    for (k, item) in items.iter().enumerate() {
        // Checked by `sorted`: this parse of the same text succeeds.
        let t: T = serde_json::from_str(item.get())?;
        render(first + k, &t, buf)?;
    }
    Ok(())
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
        let seen = std::sync::Mutex::new(Vec::new());
        let mut out = Vec::new();
        l.write_each(&mut out, |n, t, buf| {
            seen.lock().unwrap().push((n, t.clone()));
            buf.extend_from_slice(t.id.as_bytes());
            Ok(())
        })
        .unwrap();
        let want = vec![
            (0, whole[1].clone()),
            (1, whole[2].clone()),
            (2, whole[0].clone()),
        ];
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen, want);
        assert_eq!(seen[0].1.description, "café");
        assert_eq!(out, b"cab");
    }

    /// Long enough for two threads in both passes (and an odd piece).
    #[test]
    fn a_long_list_is_the_same_whichever_thread_reads_an_item() {
        let n = 5 * PIECE + 7;
        let items: Vec<String> = (0..n)
            .rev()
            .map(|i| item(&format!("{i:05}"), &format!("d{i}"), "2026-01-01T00:00:00Z"))
            .collect();
        let r = resp(&format!("[{}]", items.join(",")));
        let measured = std::sync::atomic::AtomicUsize::new(0);
        let l = Listing::<ManagementToken>::sorted(
            &r,
            |t| t.id,
            |_| {
                measured.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            },
        )
        .unwrap();
        assert_eq!(measured.into_inner(), n);
        let mut out = Vec::new();
        l.write_each(&mut out, |pos, t, buf| {
            use std::io::Write;
            writeln!(buf, "{pos} {}", t.id)
        })
        .unwrap();
        let want: String = (0..n).map(|i| format!("{i} {i:05}\n")).collect();
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    #[test]
    fn the_first_bad_item_of_a_long_list_is_the_one_reported() {
        let n = 4 * PIECE;
        let good = item("a", "d", "2026-01-01T00:00:00Z");
        // (bad items, the one reported): in the second half only; in both.
        let cases = [(vec![3 * PIECE], 3 * PIECE), (vec![3 * PIECE, 5], 5)];
        for (bad, want) in cases {
            let items: Vec<&str> = (0..n)
                .map(|i| {
                    if bad.contains(&i) {
                        "{}"
                    } else {
                        good.as_str()
                    }
                })
                .collect();
            let r = resp(&format!("[{}]", items.join(",")));
            let e = Listing::<ManagementToken>::sorted(&r, |t| t.id, |_| ())
                .err()
                .expect("a bad item");
            assert!(e.to_string().contains(&format!("item {want}:")), "{e}");
        }
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
