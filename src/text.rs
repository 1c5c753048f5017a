//! Small text helpers shared by every layer: the one place that turns
//! server-provided strings, URLs and instants into what we print.
//!
//! A leaf module: it imports nothing of ours, so any module may use it
//! without creating an import cycle.
use url::Url;

/// Server-provided text goes into one-line messages: keep it printable and
/// short so a hostile server cannot paint the terminal or flood the log.
pub fn sanitize(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    if s.chars().count() > 300 {
        out.push('…');
    }
    out
}

/// URLs in messages without query or fragment (nothing secret goes in our
/// URLs, but a user-supplied one might carry a key).
pub fn display_url(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// RFC 3339 in UTC, second precision, as every timestamp we print.
pub fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// An optional instant, `-` when absent (tables).
pub fn rfc3339_or_dash(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(|| "-".into(), rfc3339)
}

/// "9:41", "1:02:03": a countdown as people read it.
pub fn countdown(d: std::time::Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// `": text"`, or nothing for empty text (for error messages).
pub fn colon(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(": {s}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdown_formats() {
        let cases = [(0, "0:00"), (581, "9:41"), (3723, "1:02:03")];
        for (s, want) in cases {
            assert_eq!(countdown(std::time::Duration::from_secs(s)), want);
        }
    }

    #[test]
    fn sanitize_keeps_one_short_line() {
        let long = "x".repeat(400);
        let cases: [(&str, String); 3] = [
            ("plain", "plain".into()),
            ("two\nlines\x1b[31m", "two lines [31m".into()),
            (&long, format!("{}…", "x".repeat(300))),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize(input), want);
        }
    }

    #[test]
    fn display_url_drops_query_and_fragment() {
        let u = Url::parse("https://h.example/p?key=secret#frag").unwrap();
        assert_eq!(display_url(&u), "https://h.example/p");
    }
}
