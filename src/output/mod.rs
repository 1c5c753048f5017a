//! What we show: tables for people, JSON for machines, the device prompt
//! and the error report. Every byte goes through the one [`Printer`].
use std::sync::atomic::{AtomicUsize, Ordering};
pub mod confirm;
pub mod fields;
pub mod lists;
pub mod prompt;
pub mod report;
pub mod summary;

pub use crate::printer::Printer;
pub use report::{exit_code, hint, report};

/// A table with a header row, columns padded to the widest cell. A list
/// (three columns or more) printed to a terminal is fitted to its width:
/// the widest columns are cut with `…` (full values with `--format json`).
/// Two-column FIELD/VALUE tables are never cut: one of them shows a new
/// token, once.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    table_fit(header, rows, table_width(header))
}

/// The width [`table`] fits a table with this header into.
pub fn table_width(header: &[&str]) -> Option<usize> {
    (header.len() >= 3).then(stdout_width).flatten()
}

/// Columns of the terminal on stdout, when stdout is one.
fn stdout_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    console::Term::stdout()
        .size_checked()
        .map(|(_, cols)| usize::from(cols))
}

/// [`table`] for a given width (`None`: no limit). Every cell is escaped
/// ([`crate::text::escape`]): cells hold what servers chose (descriptions,
/// names, ids), and a control or bidi character in one could hide or
/// disguise a row (issue 11, item 10).
pub fn table_fit(header: &[&str], rows: &[Vec<String>], width: Option<usize>) -> String {
    let mut t = Table::new(header);
    for row in rows {
        t.measure(row);
    }
    t.fit(width);
    let mut out = String::new();
    t.push_header(&mut out);
    for row in rows {
        t.push_row(&mut out, row);
    }
    out
}

/// A table written in two passes over its rows, so a list of 10,000 tokens
/// is never held as rows of strings (issue 21): [`Table::measure`] every
/// row, [`Table::fit`] once, then [`Table::push_header`] and
/// [`Table::push_row`] every row (`&self`: a long list's rows are written
/// by two threads, [`crate::cluster::listing::Listing::write_each`]). Cells
/// are escaped as [`table_fit`] says.
pub struct Table<'h> {
    header: &'h [&'h str],
    /// Each column's widest cell so far: measured by two threads at once
    /// on a long list ([`crate::cluster::listing::Listing::sorted`]).
    measured: Vec<AtomicUsize>,
    /// The widths rows are written at ([`Table::fit`]).
    widths: Vec<usize>,
    /// Columns shown, in order (a narrow terminal drops some).
    shown: Vec<usize>,
}

impl<'h> Table<'h> {
    pub fn new(header: &'h [&'h str]) -> Self {
        let widths: Vec<usize> = header.iter().map(|h| cols(h)).collect();
        Table {
            header,
            measured: widths.iter().map(|w| AtomicUsize::new(*w)).collect(),
            widths,
            shown: (0..header.len()).collect(),
        }
    }

    pub fn header(&self) -> &'h [&'h str] {
        self.header
    }

    /// Widen the columns for one row (`&self`: rows may be measured from
    /// two threads).
    pub fn measure<S: AsRef<str>>(&self, row: &[S]) {
        // An escaped cell (only a cell that needs escaping is copied).
        let mut scratch = String::new();
        for (cell, widest) in row.iter().zip(&self.measured) {
            let w = cols(escaped(cell.as_ref(), &mut scratch));
            // A column widens a few times per list: the plain read keeps
            // the two threads from contending on every cell.
            if w > widest.load(Ordering::Relaxed) {
                widest.fetch_max(w, Ordering::Relaxed);
            }
        }
    }

    /// Fit the measured columns into `width` terminal columns (`None`: no
    /// limit), once all rows are measured.
    pub fn fit(&mut self, width: Option<usize>) {
        self.widths = self.measured.iter_mut().map(|w| *w.get_mut()).collect();
        if let Some(limit) = width {
            self.shown = fit(self.header, &mut self.widths, limit);
        }
    }

    /// The header line: first, rows or none (a table without rows is the
    /// header alone).
    pub fn push_header(&self, out: &mut String) {
        self.push_row(out, self.header);
    }

    /// One row as a line of `out`.
    pub fn push_row<S: AsRef<str>>(&self, out: &mut String, cells: &[S]) {
        let mut scratch = String::new();
        let n = self.shown.len();
        for k in 0..n {
            let i = self.shown[k];
            let w = self.widths[i];
            let c = cells.get(i).map_or("", |c| c.as_ref());
            let c = escaped(c, &mut scratch);
            let len = cols(c);
            let shown = if len <= w {
                out.push_str(c);
                len
            } else {
                out.extend(c.chars().take(w.saturating_sub(1)));
                out.push('…');
                w.max(1)
            };
            if k + 1 < n {
                out.extend(std::iter::repeat_n(' ', (w + 2).saturating_sub(shown)));
            }
        }
        out.push('\n');
    }
}

/// Terminal columns of an escaped cell (one per character, as before).
fn cols(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// `cell` escaped ([`crate::text::escape`]), copied into `scratch` only
/// when something in it needs escaping.
fn escaped<'c>(cell: &'c str, scratch: &'c mut String) -> &'c str {
    if crate::text::printable_ascii(cell) {
        return cell;
    }
    *scratch = crate::text::escape(cell);
    scratch
}

/// Fit the columns of `widths` into `limit` columns: which columns are
/// shown (cutting `widths` down as needed).
fn fit(header: &[&str], widths: &mut [usize], limit: usize) -> Vec<usize> {
    let mut shown: Vec<usize> = (0..header.len()).collect();
    let total = |w: &[usize], shown: &[usize]| {
        shown.iter().map(|i| w[*i]).sum::<usize>() + 2 * shown.len().saturating_sub(1)
    };
    // Shrink the widest shown column, one character at a time, down to
    // `floor` (or its header), until the table fits.
    let shrink = |w: &mut [usize], shown: &[usize], floor: usize| {
        while total(w, shown) > limit {
            let Some(i) = shown
                .iter()
                .copied()
                .filter(|i| {
                    w[*i]
                        > if floor > 8 {
                            floor.max(cols(header[*i]))
                        } else {
                            floor
                        }
                })
                .max_by_key(|i| w[*i])
            else {
                break;
            };
            w[i] -= 1;
        }
    };
    // First cut long values (descriptions, URLs) but keep short ones
    // such as "in 89 days" whole; then drop the columns a person can
    // best do without (lists::DROP_FIRST); then cut to 8; then drop
    // columns from the right: a row must never wrap (issue 23, A5).
    shrink(widths, &shown, 12);
    let mut droppable = lists::DROP_FIRST.iter();
    while total(widths, &shown) > limit {
        let Some(name) = droppable.next() else { break };
        shown.retain(|i| header[*i] != *name);
    }
    shrink(widths, &shown, 8);
    while total(widths, &shown) > limit && shown.len() > 2 {
        shown.pop();
    }
    shrink(widths, &shown, 1);
    shown
}

/// Wrap `text` to `width` columns without breaking words: the first line
/// starts with `first`, the others with `rest`. A word longer than a line
/// (a URL) gets a line of its own rather than being cut. Ends with a newline.
pub fn wrap_with(first: &str, rest: &str, text: &str, width: usize) -> String {
    let cols = |s: &str| console::measure_text_width(s);
    let mut out = String::new();
    for (n, para) in text.split('\n').enumerate() {
        let mut line = String::from(if n == 0 { first } else { rest });
        let mut empty = true;
        for word in words(para) {
            let word = word.as_str();
            let extra = if empty { 0 } else { 1 };
            if !empty && cols(&line) + extra + cols(word) > width {
                out.push_str(line.trim_end());
                out.push('\n');
                line = rest.to_string();
                empty = true;
            }
            if !empty {
                line.push(' ');
            }
            line.push_str(word);
            empty = false;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The words of a line; a `code span` stays one word, so a command to copy
/// is never split over two lines.
fn words(para: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut open = false;
    for w in para.split(' ').filter(|w| !w.is_empty()) {
        match out.last_mut() {
            Some(last) if open => {
                last.push(' ');
                last.push_str(w);
            }
            _ => out.push(w.to_string()),
        }
        if w.matches('`').count() % 2 == 1 {
            open = !open;
        }
    }
    out
}

/// [`wrap_with`] with the same prefix on every line.
pub fn wrap(prefix: &str, text: &str, width: usize) -> String {
    wrap_with(prefix, prefix, text, width)
}

#[cfg(test)]
mod wrap_tests {
    use super::*;

    #[test]
    fn wraps_at_words_and_keeps_long_words_whole() {
        let cases = [
            ("a b c", 80, "a b c\n"),
            ("aaaa bbbb cccc", 9, "aaaa bbbb\ncccc\n"),
            (
                "one https://example.com/a/very/long/url two",
                10,
                "one\nhttps://example.com/a/very/long/url\ntwo\n",
            ),
            ("x\ny", 80, "x\ny\n"),
        ];
        for (text, width, want) in cases {
            assert_eq!(wrap("", text, width), want, "{text:?} at {width}");
        }
        assert_eq!(wrap_with("- ", "  ", "aa bb cc", 5), "- aa\n  bb\n  cc\n");
        // A `code span` is never split.
        assert_eq!(
            wrap("", "hint: run `chmod 700 /some/long/path` now", 20),
            "hint: run\n`chmod 700 /some/long/path`\nnow\n"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let t = table(
            &["KEY", "VALUE"],
            &[
                vec!["a".into(), "1".into()],
                vec!["longer".into(), "2".into()],
            ],
        );
        assert_eq!(t, "KEY     VALUE\na       1\nlonger  2\n");
    }

    #[test]
    fn table_cells_cannot_hide_rows() {
        let t = table(
            &["ID", "DESCRIPTION"],
            &[vec!["1".into(), "\x1b[1A\x1b[2K\u{202e}evil".into()]],
        );
        assert_eq!(t, "ID  DESCRIPTION\n1   \\x1b[1A\\x1b[2K\\u{202e}evil\n");
    }

    #[test]
    fn narrow_terminals_drop_columns_before_cutting_words() {
        let header = lists::MANAGEMENT_COLUMNS;
        let rows = vec![vec![
            "bee02036".to_string(),
            "telegraf on the edge hosts".to_string(),
            "M.V1.kFzq".to_string(),
            "active".to_string(),
            "1 minute ago".to_string(),
            "in 89 days".to_string(),
        ]];
        // (width, columns that must be there whole, columns that must be gone)
        let cases: [(usize, &[&str], &[&str]); 4] = [
            (120, &["PREFIX", "CREATED", "M.V1.kFzq", "in 89 days"], &[]),
            (60, &["STATUS", "active", "in 89 days"], &["PREFIX"]),
            (
                40,
                &["STATUS", "active", "in 89 days", "bee02036"],
                &["PREFIX", "CREATED"],
            ),
            (20, &["ID", "bee02036"], &["PREFIX", "CREATED"]),
        ];
        for (width, present, gone) in cases {
            let t = table_fit(&header, &rows, Some(width));
            for l in t.lines() {
                assert!(l.chars().count() <= width, "{width}: {l:?}\n{t}");
            }
            for p in present {
                assert!(t.contains(p), "{width}: {p}\n{t}");
            }
            for g in gone {
                assert!(!t.contains(g), "{width}: {g}\n{t}");
            }
        }
    }

    #[test]
    fn lists_fit_the_width_by_cutting_the_widest_column() {
        let rows = vec![vec![
            "0123456789abcdef".to_string(),
            "a description that is far too long for the terminal".to_string(),
            "2027-01-01T00:00:00Z".to_string(),
        ]];
        let t = table_fit(&["ID", "DESCRIPTION", "EXPIRES"], &rows, Some(60));
        for l in t.lines() {
            assert!(l.chars().count() <= 60, "{l:?}");
        }
        assert!(t.contains("0123456789abcdef"), "{t}");
        assert!(t.contains("2027-01-01T00:00:00Z"), "{t}");
        assert!(t.contains('…'), "{t}");
        assert_eq!(
            table_fit(&["A", "B", "C"], &rows, None),
            table(&["A", "B", "C"], &rows)
        );
    }
}
