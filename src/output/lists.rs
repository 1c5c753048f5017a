//! Token lists for people: on a terminal, short ids, a status column and
//! relative times ("in 90 days", "3 hours ago"), like `gh` and `docker`; in
//! a pipe every value whole (RFC 3339 times, full ids), so scripts that read
//! the table keep working, and `--format json` has everything.
use crate::cluster::listing::Listing;
use chrono::{DateTime, Utc};
use std::borrow::Cow;

/// How many characters of an id a terminal list shows; commands that take
/// an id accept any unique prefix ([`crate::cluster::ids`]).
pub use crate::cluster::ids::{MIN_PREFIX, SHORT_ID};

/// The columns a list on a narrow terminal drops first, in this order,
/// before it cuts values below eight characters (`--format json` and a pipe
/// have them all): the token prefix and the creation time matter least to a
/// person choosing a token.
pub const DROP_FIRST: &[&str] = &["PREFIX", "CREATED", "CREATED BY", "PERMISSIONS"];

/// The columns of `management list` on a terminal, in order (the narrow
/// terminal tests of the table drop from these).
pub const MANAGEMENT_COLUMNS: [&str; 6] = [
    "ID",
    "DESCRIPTION",
    "PREFIX",
    "STATUS",
    "CREATED",
    "EXPIRES",
];

/// Is stdout a terminal (a person reads the list)?
pub fn for_people() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
}

pub fn short_id(id: &str) -> String {
    id.chars().take(SHORT_ID).collect()
}

/// `revoked`, `expired` or `active`.
pub fn status(
    revoked_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> &'static str {
    if revoked_at.is_some() {
        "revoked"
    } else if expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else {
        "active"
    }
}

/// Relative times: the one rule of [`crate::text::relative`].
pub use crate::text::relative;

/// An expiry for people: relative, or "never".
pub fn expiry(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    expires_at.map_or_else(|| "never".into(), |e| relative(e, now))
}

/// A list as JSON on stdout, one document (an array) on one line, each item
/// serialised as it is read (issue 21): the same bytes as printing the
/// whole `Vec` with [`crate::printer::Printer::json`].
fn print_json<T: serde::Serialize + serde::de::DeserializeOwned>(
    printer: &crate::printer::Printer,
    items: &Listing<'_, T>,
) -> std::io::Result<()> {
    printer.data_with(|w| {
        w.write_all(b"[")?;
        items.write_each(w, |n, t, buf| {
            if n > 0 {
                buf.push(b',');
            }
            crate::text::json_to_writer(buf, t).map_err(std::io::Error::from)
        })?;
        w.write_all(b"]\n")
    })
}

/// A list as a table on stdout ([`super::table`]: fitted to a terminal,
/// every cell escaped), written row by row: `table` has measured every row
/// already (while the list was sorted), so the items are read once more, never
/// held as rows of strings. `cells` gives an item's cells in header order.
fn print_table<T: serde::de::DeserializeOwned>(
    printer: &crate::printer::Printer,
    mut table: super::Table<'_>,
    items: &Listing<'_, T>,
    cells: impl for<'t> Fn(&'t T) -> Vec<Cow<'t, str>> + Sync,
) -> std::io::Result<()> {
    let width = super::table_width(table.header());
    table.fit(width);
    let table = &table;
    printer.data_with(|w| {
        let mut header = String::new();
        table.push_header(&mut header);
        w.write_all(header.as_bytes())?;
        items.write_each(w, |_, t, buf| {
            let mut line = String::with_capacity(256);
            table.push_row(&mut line, &cells(t));
            buf.extend_from_slice(line.as_bytes());
            Ok(())
        })
    })
}

/// A list as the command's output: JSON, or a table of `cells` (with
/// `empty` said to the person when there is nothing to show).
pub fn print<T: serde::Serialize + serde::de::DeserializeOwned>(
    printer: &crate::printer::Printer,
    json: bool,
    table: super::Table<'_>,
    items: &Listing<'_, T>,
    empty: &str,
    cells: impl for<'t> Fn(&'t T) -> Vec<Cow<'t, str>> + Sync,
) -> std::io::Result<()> {
    if json {
        return print_json(printer, items);
    }
    if items.is_empty() {
        printer.status(empty);
    }
    print_table(printer, table, items, cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn expiries() {
        let now = at("2026-11-30T12:00:00Z");
        assert_eq!(expiry(Some(at("2027-02-28T11:59:59Z")), now), "in 90 days");
        assert_eq!(expiry(None, now), "never");
    }

    #[test]
    fn statuses() {
        let now = at("2026-11-30T12:00:00Z");
        let past = Some(at("2026-11-01T00:00:00Z"));
        let future = Some(at("2027-01-01T00:00:00Z"));
        let cases = [
            (None, None, "active"),
            (None, future, "active"),
            (None, past, "expired"),
            (past, future, "revoked"),
            (past, past, "revoked"),
        ];
        for (revoked, expires, want) in cases {
            assert_eq!(status(revoked, expires, now), want);
        }
        assert_eq!(short_id("0123456789abcdef"), "01234567");
        assert_eq!(short_id("abc"), "abc");
    }
}
