//! What we show: tables for people, JSON for machines, the device prompt
//! and the error report. Every byte goes through the one [`Printer`].
pub mod confirm;
pub mod prompt;
pub mod report;
pub mod summary;

pub use crate::printer::Printer;
pub use report::{exit_code, hint, report};

/// A table with a header row, columns padded to the widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let n = cells.len();
        for (i, c) in cells.into_iter().enumerate() {
            out.push_str(c);
            if i + 1 < n {
                let pad = widths[i] - c.chars().count() + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
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
        for word in para.split(' ').filter(|w| !w.is_empty()) {
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
    }
}
