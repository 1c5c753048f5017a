//! Small text helpers shared by every layer: the one place that turns
//! server-provided strings, URLs and instants into what we print.
//!
//! A leaf module: it imports nothing of ours, so any module may use it
//! without creating an import cycle.
use url::Url;

/// Server-provided text goes into one-line messages: keep it printable and
/// short so a hostile server cannot paint the terminal or flood the log.
/// Everything [`escape`] makes visible is made visible here too.
pub fn sanitize(s: &str) -> String {
    const MAX: usize = 300;
    // Short printable ASCII (nearly every id, prefix and description) is
    // its own sanitized form: copied, not looked at a character at a time
    // (a list of 10,000 tokens sanitizes 60,000 cells, issue 21).
    if s.len() <= MAX && printable_ascii(s) {
        return s.to_owned();
    }
    let mut out = String::new();
    for (n, c) in s.chars().enumerate() {
        if n == MAX {
            out.push('…');
            break;
        }
        push_escaped(&mut out, c);
    }
    out
}

/// Make every character that could move the cursor, recolour or clear the
/// terminal, or hide or reorder text, visible as an escape (`\x1b`,
/// `\u{202e}`), line breaks and tabs as a space, keeping everything else. A stolen management token can set a
/// description to `\x1b[1A\x1b[2K` (cursor up, erase line) and hide a row of
/// `management list`; a bidi override (U+202E, "Trojan Source",
/// CVE-2021-42574) makes `evil` read as `live`. No length limit (table cells);
/// idempotent, since its output holds no character it would escape.
pub fn escape(s: &str) -> String {
    if printable_ascii(s) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    out
}

/// Only printable ASCII (U+0020–U+007E): nothing [`escape`] would change.
/// One comparison a byte.
pub fn printable_ascii(s: &str) -> bool {
    s.bytes().all(|b| b.wrapping_sub(0x20) < 0x5f)
}

/// [`escape`] for text of several lines we composed (a report, a note
/// quoting a server): line breaks and tabs are kept, everything else that
/// [`escape`] escapes is escaped.
pub fn escape_keeping_lines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            c => push_escaped(&mut out, c),
        }
    }
    out
}

/// `value` as compact JSON into `out`, with every character
/// [`hides_text`] flags written as a `\uXXXX` escape (a surrogate pair above
/// U+FFFF): the same document for a JSON reader, but a bidi override in a
/// description cannot reorder what a person sees when the document reaches
/// a terminal. Done while serialising (a [`serde_json::ser::Formatter`]),
/// not over a finished copy: a list of 10,000 tokens is written straight to
/// stdout (issue 21).
pub fn json_to_writer<W: std::io::Write, T: serde::Serialize + ?Sized>(
    out: W,
    value: &T,
) -> serde_json::Result<()> {
    value.serialize(&mut serde_json::Serializer::with_formatter(
        out,
        HiddenEscaped,
    ))
}

/// serde_json's compact layout; string contents escaped as
/// [`json_to_writer`] says. (JSON already escapes control characters below
/// U+0020, `"` and `\\`; keys and values both pass through here.)
struct HiddenEscaped;

impl serde_json::ser::Formatter for HiddenEscaped {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        out: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        // Printable ASCII (nearly every id, prefix and description) as is.
        if fragment.bytes().all(|b| b < 0x7f) {
            return out.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            // JSON escapes C0 only: DEL and the C1 controls (U+0080–U+009F;
            // 0x9b is an 8-bit CSI some terminals honour) pass raw unless
            // escaped here.
            if hides_text(c) || (c.is_control() && u32::from(c) >= 0x7f) {
                out.write_all(&fragment.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(out, "\\u{u:04x}")?;
                }
                start = i + c.len_utf8();
            }
        }
        out.write_all(&fragment.as_bytes()[start..])
    }
}

fn push_escaped(out: &mut String, c: char) {
    use std::fmt::Write as _;
    match c {
        // Line breaks and tabs only break the line: a space keeps it one
        // line and hides nothing.
        '\n' | '\r' | '\t' => out.push(' '),
        // C0, DEL and C1 (ESC starts ANSI CSI/OSC sequences; 0x9b is an
        // 8-bit CSI some terminals honour).
        c if c.is_control() => {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        }
        c if hides_text(c) => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

/// Unicode format characters (general category Cf) and line/paragraph
/// separators: bidi embeddings, overrides and isolates (U+202A–U+202E,
/// U+2066–U+2069), marks (U+200E/F, U+061C), zero-width characters, tag
/// characters and the like. None belongs in a description, a user code or
/// a name shown on a terminal; each can hide or reorder what is displayed.
/// The list is Cf as of Unicode 15.1, plus U+2028/U+2029.
pub fn hides_text(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
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
    match plain_seconds(t, false) {
        Some(b) => String::from_utf8_lossy(&b).into_owned(),
        None => t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` written by hand for the common case (a list of
/// 10,000 tokens formats 30,000 of them; chrono's general formatter was a
/// tenth of the time): `None` outside years 0–9999, for a leap second, and,
/// when `whole` (the text must stand for the exact instant), for an instant
/// with a fraction of a second.
fn plain_seconds(t: chrono::DateTime<chrono::Utc>, whole: bool) -> Option<[u8; 20]> {
    use chrono::{Datelike, Timelike};
    let (y, n) = (t.year(), t.nanosecond());
    if !(0..=9999).contains(&y) || n >= 1_000_000_000 || (whole && n != 0) {
        return None;
    }
    let mut b = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, y as u32);
    put(5, 2, t.month());
    put(8, 2, t.day());
    put(11, 2, t.hour());
    put(14, 2, t.minute());
    put(17, 2, t.second());
    Some(b)
}

/// Serialize an instant as chrono does (`#[serde(serialize_with)]`), with
/// whole seconds written by hand ([`plain_seconds`]: the JSON list of
/// 10,000 tokens spent a tenth of its time in chrono's formatter, issue 21).
pub fn utc_ser<S: serde::Serializer>(
    t: &chrono::DateTime<chrono::Utc>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match plain_seconds(*t, true) {
        Some(b) => s.serialize_str(std::str::from_utf8(&b).expect("ASCII digits")),
        None => serde::Serialize::serialize(t, s),
    }
}

/// [`utc_ser`] for an optional instant (`null` when absent).
pub fn utc_opt_ser<S: serde::Serializer>(
    t: &Option<chrono::DateTime<chrono::Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => utc_ser(t, s),
        None => s.serialize_none(),
    }
}

/// `#[serde(with = "crate::text::utc_serde")]`: an instant written by
/// [`utc_ser`] and read by [`utc`].
pub mod utc_serde {
    pub use super::{utc as deserialize, utc_ser as serialize};
}

/// `#[serde(default, with = "crate::text::utc_opt_serde")]`: an optional
/// instant written by [`utc_opt_ser`] and read by [`utc_opt`].
pub mod utc_opt_serde {
    pub use super::{utc_opt as deserialize, utc_opt_ser as serialize};
}

/// An instant as servers send it, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, read
/// without chrono's general parser (a list of 10,000 tokens has 30,000;
/// parsing them was a sixth of the time); anything else — an offset, a
/// lowercase `t`, a leap second — goes to chrono's, which reads the same
/// text to the same instant. For `#[serde(deserialize_with)]` (with
/// `default` on an `Option`): [`utc`], [`utc_opt`].
pub fn parse_plain_utc(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let b = s.as_bytes();
    if b.len() < 20
        || b.len() == 21
        || b.len() > 30
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[b.len() - 1] != b'Z'
        || (b.len() > 20 && b[19] != b'.')
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let nanos = if b.len() > 20 {
        let digits = b.len() - 21;
        num(20, b.len() - 1)? * 10u32.pow(9 - digits as u32)
    } else {
        0
    };
    chrono::NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?
        .and_hms_nano_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, nanos)
        .map(|t| t.and_utc())
}

/// Deserialize an instant: [`parse_plain_utc`], else chrono's own parser.
pub fn utc<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<chrono::DateTime<chrono::Utc>, D::Error> {
    struct Instant;
    impl serde::de::Visitor<'_> for Instant {
        type Value = chrono::DateTime<chrono::Utc>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an RFC 3339 date and time")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            match parse_plain_utc(v) {
                Some(t) => Ok(t),
                None => v
                    .parse::<chrono::DateTime<chrono::FixedOffset>>()
                    .map(|t| t.with_timezone(&chrono::Utc))
                    .map_err(E::custom),
            }
        }
    }
    d.deserialize_str(Instant)
}

/// [`utc`] for an optional instant (`null` or absent: `None`; the field
/// needs `#[serde(default)]`).
pub fn utc_opt<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, D::Error> {
    struct Wrapped(chrono::DateTime<chrono::Utc>);
    impl<'de> serde::Deserialize<'de> for Wrapped {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            utc(d).map(Wrapped)
        }
    }
    Ok(<Option<Wrapped> as serde::Deserialize>::deserialize(d)?.map(|w| w.0))
}

/// An RFC 3339 instant with a zone, in UTC; `None` when it is not one.
pub fn parse_utc(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    parse_plain_utc(s).or_else(|| {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc))
    })
}

/// `s` as one POSIX shell word for a command we suggest: as it is when every
/// character is plain, else in single quotes (a `'` inside as `'\''`).
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:#@%+=,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// An optional instant, `-` when absent (tables).
pub fn rfc3339_or_dash(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(|| "-".into(), rfc3339)
}

/// A time relative to `now` for people: "in 90 days", "3 hours ago", "now"
/// (under a minute). The unit is the largest that fits (minutes under an
/// hour, hours under two days, days under two years, then years) and the
/// count is rounded to the NEAREST one, the one rule for every place we
/// show it (issue 19 item 16): a token made for 90 days reads "in 90 days"
/// in `mint`'s summary and in `management list` alike, a second later too.
pub fn relative(t: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> String {
    let secs = t.signed_duration_since(now).num_seconds();
    let abs = secs.unsigned_abs();
    let unit = match abs {
        0..60 => return "now".into(),
        60..3_600 => (60, "minute"),
        3_600..172_800 => (3_600, "hour"),
        172_800..63_072_000 => (86_400, "day"),
        _ => (31_557_600, "year"),
    };
    let n = (abs + unit.0 / 2) / unit.0;
    let unit = if n == 1 {
        unit.1.to_string()
    } else {
        format!("{}s", unit.1)
    };
    if secs > 0 {
        format!("in {n} {unit}")
    } else {
        format!("{n} {unit} ago")
    }
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

/// An error's text without the "(os error N)" tail the standard library
/// adds: people read "Permission denied", not errno numbers.
pub fn without_os_error(text: &str) -> String {
    text.split(" (os error")
        .next()
        .unwrap_or(text)
        .trim()
        .to_string()
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
    fn os_error_tails_are_dropped() {
        let cases = [
            ("Permission denied (os error 13)", "Permission denied"),
            (
                "connection failed: Connection refused (os error 111)",
                "connection failed: Connection refused",
            ),
            ("no tail here", "no tail here"),
        ];
        for (text, want) in cases {
            assert_eq!(without_os_error(text), want);
        }
    }

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
        let (at_limit, over) = ("y".repeat(300), "z".repeat(301));
        // The printable-ASCII fast path ends where the slow path would
        // change something: at 300 characters, at DEL, at a space's neighbours.
        let cases: [(&str, String); 8] = [
            ("plain", "plain".into()),
            ("two\nlines\x1b[31m", "two lines\\x1b[31m".into()),
            (&long, format!("{}…", "x".repeat(300))),
            ("ab\u{202e}c", "ab\\u{202e}c".into()),
            (&at_limit, at_limit.clone()),
            (&over, format!("{}…", "z".repeat(300))),
            ("del\x7f", "del\\x7f".into()),
            (" ~!", " ~!".into()),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize(input), want);
        }
    }

    #[test]
    fn escape_makes_hiding_characters_visible() {
        let cases = [
            ("plain ünïcödé 日本", "plain ünïcödé 日本"),
            ("\x1b[1A\x1b[2Khidden", "\\x1b[1A\\x1b[2Khidden"),
            ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
            ("a\rb\tc\nd", "a b c d"),
            ("\u{9b}2J\u{7f}", "\\x9b2J\\x7f"),
            ("\u{202e}evil\u{202c}", "\\u{202e}evil\\u{202c}"),
            (
                "\u{2066}\u{2069}\u{200e}\u{200f}\u{61c}",
                "\\u{2066}\\u{2069}\\u{200e}\\u{200f}\\u{61c}",
            ),
            ("zero\u{200b}width\u{feff}", "zero\\u{200b}width\\u{feff}"),
            ("tag\u{e0041}", "tag\\u{e0041}"),
            ("line\u{2028}sep", "line\\u{2028}sep"),
            // Already escaped text stays as it is.
            ("\\x1b[2K", "\\x1b[2K"),
        ];
        for (input, want) in cases {
            assert_eq!(escape(input), want, "{input:?}");
            assert_eq!(
                escape(&escape(input)),
                escape(input),
                "idempotent: {input:?}"
            );
        }
        assert_eq!(
            escape_keeping_lines("a\n\tb\r\x1b[2J\u{202e}"),
            "a\n\tb \\x1b[2J\\u{202e}"
        );
    }

    #[test]
    fn json_keeps_its_meaning_without_hidden_characters() {
        let v = serde_json::json!({"d": "a\u{202e}b\u{e0041}c\u{1b}日\u{9b}31m\u{7f}"});
        let mut escaped = Vec::new();
        json_to_writer(&mut escaped, &v).unwrap();
        let escaped = String::from_utf8(escaped).unwrap();
        assert_eq!(
            escaped,
            r#"{"d":"a\u202eb\udb40\udc41c\u001b日\u009b31m\u007f"}"#
        );
        let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn instants_read_and_written_as_chrono_does() {
        use chrono::{DateTime, FixedOffset, Utc};
        let chrono_reads = |s: &str| {
            s.parse::<DateTime<FixedOffset>>()
                .map(|t| t.with_timezone(&Utc))
                .ok()
        };
        // (text, read by the fast path?)
        let cases = [
            ("2026-12-06T19:44:44Z", true),
            ("2026-12-06T19:44:44.580300Z", true),
            ("2026-12-06T19:44:44.5Z", true),
            ("2026-12-06T19:44:44.123456789Z", true),
            ("0001-01-01T00:00:00Z", true),
            ("9999-12-31T23:59:59Z", true),
            ("2026-12-06T19:44:44+01:00", false),
            ("2026-12-06t19:44:44z", false),
            ("2026-12-06 19:44:44Z", false),
            ("2026-12-06T19:44:60Z", false),
            ("2026-02-30T00:00:00Z", false),
            ("2026-12-06T19:44:44.Z", false),
            ("2026-12-06T19:44:44.1234567890Z", false),
            ("2026-12-0xT19:44:44Z", false),
            ("", false),
        ];
        for (text, fast) in cases {
            assert_eq!(parse_plain_utc(text).is_some(), fast, "{text}");
            if fast {
                assert_eq!(parse_plain_utc(text), chrono_reads(text), "{text}");
            }
            let via_serde: Result<DateTime<Utc>, _> = utc(serde_json::Value::String(text.into()));
            assert_eq!(via_serde.ok(), chrono_reads(text), "{text}");
        }
        for t in cases.iter().filter_map(|(s, _)| chrono_reads(s)) {
            assert_eq!(
                rfc3339(t),
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
        }
        let none: Option<DateTime<Utc>> = utc_opt(serde_json::Value::Null).unwrap();
        assert_eq!(none, None);
    }

    #[test]
    fn relative_times_round_to_the_nearest_unit() {
        let at = |s: &str| parse_utc(s).unwrap();
        let now = at("2026-11-30T12:00:00Z");
        let cases = [
            ("2026-11-30T12:00:30Z", "now"),
            ("2026-11-30T11:59:01Z", "now"),
            ("2026-11-30T12:01:00Z", "in 1 minute"),
            ("2026-11-30T12:30:00Z", "in 30 minutes"),
            ("2026-11-30T11:15:00Z", "45 minutes ago"),
            ("2026-11-30T15:00:00Z", "in 3 hours"),
            ("2026-12-01T11:00:00Z", "in 23 hours"),
            ("2026-12-02T12:00:00Z", "in 2 days"),
            ("2027-02-28T12:00:00Z", "in 90 days"),
            // A fresh 90-day token a few seconds (or hours) later.
            ("2027-02-28T11:59:59Z", "in 90 days"),
            ("2027-02-28T02:00:00Z", "in 90 days"),
            ("2026-11-27T12:00:00Z", "3 days ago"),
            ("2030-12-01T12:00:00Z", "in 4 years"),
        ];
        for (t, want) in cases {
            assert_eq!(relative(at(t), now), want, "{t}");
        }
    }

    #[test]
    fn display_url_drops_query_and_fragment() {
        let u = Url::parse("https://h.example/p?key=secret#frag").unwrap();
        assert_eq!(display_url(&u), "https://h.example/p");
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        let words = [
            "/etc/ib.toml",
            "env-file:/srv/.env#T",
            "a b",
            "it's",
            "~/x",
            "",
        ];
        let quoted: Vec<String> = words.iter().map(|w| shell_quote(w)).collect();
        let want = [
            "/etc/ib.toml",
            "env-file:/srv/.env#T",
            "'a b'",
            "'it'\\''s'",
            "'~/x'",
            "''",
        ];
        assert_eq!(quoted, want);
    }

    #[test]
    fn instants_serialize_as_chrono_does() {
        #[derive(serde::Serialize)]
        struct Ours {
            #[serde(serialize_with = "utc_ser")]
            at: chrono::DateTime<chrono::Utc>,
            #[serde(serialize_with = "utc_opt_ser")]
            maybe: Option<chrono::DateTime<chrono::Utc>>,
        }
        #[derive(serde::Serialize)]
        struct Chronos {
            at: chrono::DateTime<chrono::Utc>,
            maybe: Option<chrono::DateTime<chrono::Utc>>,
        }
        let at = |s: &str| parse_utc(s).unwrap();
        // Whole seconds (by hand), fractions and the edges of the fast path
        // (chrono's): the same text either way.
        let cases = [
            at("2026-12-06T23:05:09Z"),
            at("0001-01-01T00:00:00Z"),
            at("9999-12-31T23:59:59Z"),
            at("2026-12-06T23:05:09.5Z"),
            at("2026-12-06T23:05:09.123456Z"),
            at("2026-12-06T23:05:09.000000001Z"),
            chrono::NaiveDate::from_ymd_opt(10000, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc(),
        ];
        for t in cases {
            for maybe in [None, Some(t)] {
                let ours = serde_json::to_string(&Ours { at: t, maybe }).unwrap();
                let chronos = serde_json::to_string(&Chronos { at: t, maybe }).unwrap();
                assert_eq!(ours, chronos);
            }
        }
    }
}
