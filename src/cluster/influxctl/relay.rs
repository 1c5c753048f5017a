//! What influxctl prints, made safe to show and bounded (issue 19 items 3, 4).
//!
//! - **Bounded**: stdout is kept up to [`MAX_STDOUT`] (its JSON document is
//!   small; more is an error, never 2 GiB of memory), a line up to
//!   [`MAX_LINE`] (longer ones are cut into pieces), and at most
//!   [`MAX_RELAYED`] bytes are relayed to our stderr (the rest is counted).
//! - **Never ended by bad bytes**: lines are decoded lossily, so an invalid
//!   UTF-8 byte costs one character, not the rest of the output (and the
//!   `code = Unauthenticated` line after it).
//! - **Redacted by value, across lines**: every secret we hold or receive is
//!   matched in each encoding we can compute ([`encodings`]) in a *skeleton*
//!   of the text (whitespace, line breaks, control and format characters and
//!   ANSI escape sequences removed), so a token wrapped over lines, split by
//!   `\x1b[0m` or U+200B, or spaced out is still found; lines are held back
//!   until no secret could still end in a later line ([`Redactor`]). Known
//!   *shapes* are redacted on top ([`super::redact`]), before any truncation.
use crate::printer::Printer;
use base64::Engine;
use std::cell::RefCell;
use std::ops::Range;
use tokio::io::AsyncReadExt;

/// The most stdout we keep (the biggest real `management list` is far smaller).
pub const MAX_STDOUT: usize = 8 << 20;
/// The longest line we keep whole; longer lines are cut into pieces.
pub const MAX_LINE: usize = 64 << 10;
/// The most output we relay to our stderr in one run.
pub const MAX_RELAYED: usize = 1 << 20;

/// Encodings shorter than this are not matched (they would hit by chance).
const MIN_MATCH: usize = 12;

/// Every form of `secret` we can compute and might see in output: raw,
/// base64 and base64url at each of the three byte alignments (the part of
/// the encoding that depends on the secret alone, so
/// `base64("Bearer " + secret)` is caught too) and JSON-escaped.
/// Percent-encoding needs no form of its own: the skeleton decodes `%XX`.
pub fn encodings(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_string()];
    let engines = [
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    for e in engines {
        for k in 0..3usize {
            let mut bytes = vec![0u8; k];
            bytes.extend_from_slice(secret.as_bytes());
            let enc = e.encode(&bytes);
            let full = 4 * (bytes.len() / 3);
            let start = if k > 0 { 4 } else { 0 };
            if full > start {
                out.push(enc[start..full].to_string());
            }
        }
    }
    if let Ok(j) = serde_json::to_string(secret) {
        let j = j.trim_matches('"').to_string();
        out.push(j.replace('/', "\\/"));
        out.push(j);
    }
    out.retain(|e| e.len() >= MIN_MATCH);
    out.sort();
    out.dedup();
    out
}

/// Characters that never count in the skeleton: whitespace, controls,
/// format characters (zero-width, bidi).
fn invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{00ad}')
}

/// The skeleton of `line`: (start, end byte offset in `line`, char) for
/// each visible character outside ANSI escape sequences (CSI `ESC [ …
/// final`, OSC `ESC ] … BEL|ESC \`, and two-character `ESC x`), with `%XX`
/// percent-escapes of printable ASCII decoded (in either case of hex).
fn skeleton(line: &str) -> Vec<(usize, usize, char)> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let mut it = line.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if c == '\u{1b}' {
            match it.next() {
                Some((_, '[')) => {
                    for (_, c) in it.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&c) {
                            break;
                        }
                    }
                }
                Some((_, ']')) => {
                    while let Some((_, c)) = it.next() {
                        if c == '\u{7}' {
                            break;
                        }
                        if c == '\u{1b}' {
                            it.next();
                            break;
                        }
                    }
                }
                _ => {}
            }
            continue;
        }
        if c == '\u{9b}' {
            // An 8-bit CSI.
            for (_, c) in it.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
            }
            continue;
        }
        if c == '%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("-"), 16)
            && (0x21..0x7f).contains(&b)
        {
            it.next();
            it.next();
            out.push((i, i + 3, b as char));
            continue;
        }
        if !invisible(c) {
            out.push((i, i + c.len_utf8(), c));
        }
    }
    out
}

/// A streaming redactor over lines. [`Redactor::push`] returns the lines
/// that are safe to release: a line is held back while a secret starting in
/// it could still end in a line not seen yet.
pub struct Redactor {
    secrets: Vec<String>,
    longest: usize,
    /// Held lines, each with the byte ranges to redact.
    held: Vec<(String, Vec<Range<usize>>)>,
    /// Hold every line until [`Redactor::finish`].
    hold_all: bool,
}

impl Redactor {
    pub fn new(secrets: &[&str], hold_all: bool) -> Self {
        let mut r = Redactor {
            secrets: Vec::new(),
            longest: 0,
            held: Vec::new(),
            hold_all,
        };
        for s in secrets {
            r.add_secret(s);
        }
        r
    }

    /// A secret learned later (the token a create printed): lines still held
    /// are redacted for it too.
    pub fn add_secret(&mut self, secret: &str) {
        for e in encodings(secret) {
            self.longest = self.longest.max(e.chars().count());
            self.secrets.push(e);
        }
    }

    pub fn push(&mut self, line: String) -> Vec<String> {
        self.held.push((line, Vec::new()));
        let mut out = Vec::new();
        if self.hold_all {
            return out;
        }
        self.mark();
        // Release the front line once the lines after it hold at least
        // `longest - 1` visible characters: any match starting in it has
        // then been seen whole.
        if self.secrets.is_empty() {
            return self.finish();
        }
        loop {
            let after: usize = self.held[1.min(self.held.len())..]
                .iter()
                .map(|(l, _)| skeleton(l).len())
                .sum();
            if self.held.len() < 2 || after + 1 < self.longest {
                break;
            }
            out.push(self.release());
        }
        out
    }

    /// Everything still held, redacted.
    pub fn finish(&mut self) -> Vec<String> {
        self.mark();
        let mut out = Vec::new();
        while !self.held.is_empty() {
            out.push(self.release());
        }
        out
    }

    fn release(&mut self) -> String {
        let (line, ranges) = self.held.remove(0);
        let mut out = String::with_capacity(line.len());
        let mut at = 0;
        for r in merge(ranges) {
            // What lies between two pieces of one secret (a space, an
            // escape sequence) goes with it.
            let gap = &line[at.min(r.start)..r.start];
            if !(out.ends_with("[redacted]") && skeleton(gap).is_empty()) {
                out.push_str(gap);
            }
            if !out.ends_with("[redacted]") {
                out.push_str("[redacted]");
            }
            at = at.max(r.end);
        }
        out.push_str(&line[at..]);
        super::redact(&out)
    }

    /// Find every encoding of every secret in the joined skeleton of the
    /// held lines and record the raw byte ranges it covers.
    fn mark(&mut self) {
        if self.secrets.is_empty() {
            return;
        }
        let mut joined = String::new();
        let mut map: Vec<(usize, usize, usize)> = Vec::new(); // (line, start, end)
        for (n, (l, _)) in self.held.iter().enumerate() {
            for (a, b, c) in skeleton(l) {
                for _ in 0..c.len_utf8() {
                    map.push((n, a, b));
                }
                joined.push(c);
            }
        }
        for s in &self.secrets {
            for (i, _) in joined.match_indices(s.as_str()) {
                for &(n, a, b) in &map[i..i + s.len()] {
                    self.held[n].1.push(a..b);
                }
            }
        }
    }
}

/// Sorted, overlapping or touching ranges merged.
fn merge(mut v: Vec<Range<usize>>) -> Vec<Range<usize>> {
    v.sort_by_key(|r| r.start);
    let mut out: Vec<Range<usize>> = Vec::new();
    for r in v {
        match out.last_mut() {
            Some(l) if r.start <= l.end => l.end = l.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// Split raw bytes into lines (lossily decoded), cutting lines longer than
/// [`MAX_LINE`]; `partial` keeps an unfinished line between chunks.
pub fn split_lines(partial: &mut Vec<u8>, chunk: &[u8], eof: bool) -> Vec<String> {
    let mut out = Vec::new();
    for &b in chunk {
        if b == b'\n' {
            out.push(
                String::from_utf8_lossy(partial)
                    .trim_end_matches('\r')
                    .to_string(),
            );
            partial.clear();
        } else {
            partial.push(b);
            if partial.len() >= MAX_LINE {
                out.push(String::from_utf8_lossy(partial).into_owned());
                partial.clear();
            }
        }
    }
    if eof && !partial.is_empty() {
        out.push(String::from_utf8_lossy(partial).into_owned());
        partial.clear();
    }
    out
}

/// Where the JSON document starts in influxctl's stdout: the first line
/// starting with `{` or `[` from which the rest parses as exactly one
/// document (log lines in JSON may precede it). `None`: no document.
pub fn document_start(lines: &[String]) -> Option<usize> {
    (0..lines.len()).find(|&i| {
        let t = lines[i].trim_start();
        (t.starts_with('{') || t.starts_with('['))
            && serde_json::from_str::<serde::de::IgnoredAny>(&lines[i..].join("\n")).is_ok()
    })
}

/// influxctl's output on its way to our stderr: redacted, sanitised,
/// bounded; the last few lines are kept for the error message.
pub struct Relay<'p> {
    printer: &'p Printer,
    redactor: Redactor,
    relayed: usize,
    /// Bytes taken into the redactor (which, holding all, must stay bounded).
    taken: usize,
    dropped: usize,
    /// The last lines past the cap: still shown (and redacted) at the end,
    /// since the error that classifies a failure comes last.
    tail: std::collections::VecDeque<String>,
    last: Vec<String>,
    overflow: Option<String>,
}

impl<'p> Relay<'p> {
    /// `hold_all`: show nothing before [`Relay::finish`] (no person is
    /// waiting for a prompt, and secrets learned at the end still count).
    pub fn new(printer: &'p Printer, secrets: &[&str], hold_all: bool) -> Self {
        Relay {
            printer,
            redactor: Redactor::new(secrets, hold_all),
            relayed: 0,
            taken: 0,
            dropped: 0,
            tail: std::collections::VecDeque::new(),
            last: Vec::new(),
            overflow: None,
        }
    }

    pub fn add_secret(&mut self, secret: &str) {
        self.redactor.add_secret(secret);
    }

    pub fn line(&mut self, line: String) {
        if self.taken + line.len() > MAX_RELAYED {
            self.tail.push_back(line);
            if self.tail.len() > 5
                && let Some(l) = self.tail.pop_front()
            {
                self.dropped += l.len();
            }
            return;
        }
        self.taken += line.len();
        for l in self.redactor.push(line) {
            self.emit(l);
        }
    }

    /// Show what is held; the last lines shown (for the error message).
    pub fn finish(&mut self) -> Vec<String> {
        for l in self.redactor.finish() {
            self.emit(l);
        }
        if self.dropped > 0 {
            self.printer.block(&format!(
                "influxctl: ({} more bytes of its output not shown)\n",
                self.dropped
            ));
            self.dropped = 0;
        }
        while let Some(l) = self.tail.pop_front() {
            for l in self.redactor.push(l) {
                self.emit_last(l);
            }
        }
        for l in self.redactor.finish() {
            self.emit_last(l);
        }
        self.last.clone()
    }

    /// One of the last lines: always shown (cut to a line's length).
    fn emit_last(&mut self, redacted: String) {
        let l = crate::text::sanitize(&redacted);
        self.printer.block(&format!("influxctl: {l}\n"));
        self.keep(l);
    }

    fn keep(&mut self, l: String) {
        self.last.push(l);
        if self.last.len() > 5 {
            self.last.remove(0);
        }
    }

    /// Why the output could not be used whole (too much of it).
    pub fn overflow(&self) -> Option<String> {
        self.overflow.clone()
    }

    fn emit(&mut self, redacted: String) {
        let l = crate::text::sanitize(&redacted);
        if self.relayed + l.len() > MAX_RELAYED {
            self.dropped += l.len();
        } else {
            self.relayed += l.len();
            self.printer.block(&format!("influxctl: {l}\n"));
        }
        self.keep(l);
    }
}

/// Read a pipe to its end in chunks, as lossily decoded, capped lines.
async fn lines_of(mut r: impl tokio::io::AsyncRead + Unpin, mut each: impl FnMut(String)) {
    let mut buf = vec![0u8; 16 << 10];
    let mut partial = Vec::new();
    loop {
        let n = r.read(&mut buf).await.unwrap_or(0);
        for l in split_lines(&mut partial, &buf[..n], n == 0) {
            each(l);
        }
        if n == 0 {
            return;
        }
    }
}

/// Relay influxctl's stderr.
pub async fn read_stderr(err: tokio::process::ChildStderr, relay: &RefCell<Relay<'_>>) {
    lines_of(err, |l| relay.borrow_mut().line(l)).await;
}

/// influxctl's stdout from the first line that may start its JSON document
/// (up to [`MAX_STDOUT`]); the lines before it (a login prompt) are relayed
/// as they come.
#[derive(Default)]
pub struct Collected {
    lines: Vec<String>,
    bytes: usize,
    too_much: bool,
}

impl Collected {
    /// The document, and the lines before it that were not relayed yet.
    pub fn document(self) -> (String, Vec<String>) {
        if self.too_much {
            return (String::new(), Vec::new());
        }
        match document_start(&self.lines) {
            Some(i) => {
                let mut lines = self.lines;
                let doc = lines.split_off(i).join("\n");
                (doc, lines)
            }
            // No document: the text as it is, for the parse error.
            None => (self.lines.join("\n"), Vec::new()),
        }
    }
}

pub async fn read_stdout(
    out: tokio::process::ChildStdout,
    relay: &RefCell<Relay<'_>>,
    collected: &RefCell<Collected>,
) {
    lines_of(out, |l| {
        let mut c = collected.borrow_mut();
        if c.too_much {
            return;
        }
        let t = l.trim_start();
        if c.lines.is_empty() && !(t.starts_with('{') || t.starts_with('[')) {
            drop(c);
            relay.borrow_mut().line(l);
            return;
        }
        c.bytes += l.len() + 1;
        if c.bytes > MAX_STDOUT {
            c.too_much = true;
            c.lines = Vec::new();
            relay.borrow_mut().overflow = Some(format!(
                "its output is larger than {} MiB; refusing to read more",
                MAX_STDOUT >> 20
            ));
            return;
        }
        c.lines.push(l);
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "M.V1.Qz8rvn2VG8d-7tY_U4VLl_SIVprBDSf-Iz4Ltjvj178";

    fn run(secrets: &[&str], lines: &[&str]) -> String {
        let mut r = Redactor::new(secrets, false);
        let mut out = Vec::new();
        for l in lines {
            out.extend(r.push(l.to_string()));
        }
        out.extend(r.finish());
        out.join("\n")
    }

    #[test]
    fn a_secret_is_redacted_in_every_encoding_and_across_lines() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("Bearer {TOKEN}"));
        let (head, tail) = TOKEN.split_at(24);
        let spaced: String = TOKEN.chars().map(|c| format!("{c} ")).collect();
        let cases: Vec<(&str, Vec<String>)> = vec![
            ("raw", vec![format!("token: {TOKEN}")]),
            ("wrapped", vec![format!("token: {head}"), tail.to_string()]),
            ("ansi split", vec![format!("tok2 {head}\x1b[0m{tail}")]),
            ("zero width", vec![format!("tok3 {head}\u{200b}{tail}")]),
            (
                "url-encoded",
                vec![format!("tok4 {}", TOKEN.replace('.', "%2E"))],
            ),
            (
                "url-encoded lower",
                vec![format!("tok5 {}", TOKEN.replace('.', "%2e"))],
            ),
            ("base64 of a header", vec![format!("auth {b64}")]),
            ("spaced out", vec![spaced]),
        ];
        for (name, lines) in cases {
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            let out = run(&[TOKEN], &lines);
            // No 8-character run of the secret's tail survives.
            let tail = &TOKEN[5..];
            for w in 0..tail.len() - 8 {
                assert!(!out.contains(&tail[w..w + 8]), "{name}: {out}");
            }
            assert!(out.contains("[redacted]"), "{name}: {out}");
        }
    }

    #[test]
    fn lines_without_secrets_pass_unchanged_and_in_order() {
        let lines = ["one", "two: nothing here", "", "three"];
        assert_eq!(run(&[TOKEN], &lines), lines.join("\n"));
        // And with no secret known at all, nothing is held back.
        let mut r = Redactor::new(&[], false);
        assert_eq!(r.push("a".into()), vec!["a".to_string()]);
    }

    #[test]
    fn a_secret_learned_later_is_redacted_in_held_lines() {
        let mut r = Redactor::new(&[], true);
        assert!(r.push(format!("debug: {TOKEN}")).is_empty());
        r.add_secret(TOKEN);
        let out = r.finish().join("\n");
        assert!(!out.contains(&TOKEN[5..20]), "{out}");
    }

    #[test]
    fn lines_are_split_lossily_and_capped() {
        let mut partial = Vec::new();
        let got = split_lines(&mut partial, b"f\xff\xfe\nnext\r\nunfini", false);
        assert_eq!(
            got,
            vec!["f\u{fffd}\u{fffd}".to_string(), "next".to_string()]
        );
        assert_eq!(split_lines(&mut partial, b"shed", true), vec!["unfinished"]);
        let long = vec![b'A'; MAX_LINE * 2 + 3];
        let got = split_lines(&mut Vec::new(), &long, true);
        assert_eq!(
            got.iter().map(String::len).collect::<Vec<_>>(),
            [MAX_LINE, MAX_LINE, 3]
        );
    }

    #[test]
    fn a_flood_is_bounded_and_its_last_lines_still_shown() {
        let printer = Printer::capture();
        let mut r = Relay::new(&printer, &[TOKEN], true);
        let line = "A".repeat(MAX_LINE);
        for _ in 0..(4 * MAX_RELAYED / MAX_LINE) {
            r.line(line.clone());
        }
        r.line(format!("Error: rpc error: code = Unauthenticated {TOKEN}"));
        assert!(r.taken <= MAX_RELAYED);
        assert!(r.tail.len() <= 5, "held past the cap: {}", r.tail.len());
        let last = r.finish();
        let err = printer.captured().stderr;
        assert!(
            err.contains("more bytes of its output not shown"),
            "{}",
            err.len()
        );
        assert!(
            last.last()
                .unwrap()
                .contains("code = Unauthenticated [redacted]"),
            "{last:?}"
        );
        assert!(!err.contains(&TOKEN[5..]));
        assert!(err.len() < 2 * MAX_RELAYED, "{}", err.len());
    }

    #[test]
    fn the_document_is_found_after_log_lines() {
        let cases: [(&[&str], Option<usize>); 5] = [
            (&["[]"], Some(0)),
            (&["{\"level\":\"info\"}", "{", " \"id\": 1", "}"], Some(1)),
            (&["log", "[", "]"], Some(1)),
            (&["{ broken"], None),
            (&["no json"], None),
        ];
        for (lines, want) in cases {
            let lines: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            assert_eq!(document_start(&lines), want, "{lines:?}");
        }
    }
}
