//! Logging to stderr with `tracing`. `-v` is info, `-vv` debug for this crate
//! (dependencies stay at warn, so no library ever prints a header or body).
//! Tokens are never passed to a log macro: they are `Secret`s, redacted by type.
use tracing_subscriber::EnvFilter;

/// Log lines are never styled: every line is escaped ([`EscapingStderr`]),
/// which would make colour codes visible, and a log is often a file.
pub fn init(verbose: u8, rust_log: Option<&str>) {
    let default = match verbose {
        0 => "warn",
        1 => "warn,influx_bootstrap=info",
        _ => "warn,influx_bootstrap=debug",
    };
    let filter = rust_log
        .and_then(|s| EnvFilter::try_new(s).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| EscapingStderr)
        // Our own colours would be escaped below.
        .with_ansi(false)
        .with_target(false)
        .without_time()
        // On a failed write the subscriber would report it with `eprintln!`,
        // which panics when stderr is gone (`2>/dev/full`): a panic between
        // "created" and "stored" would leave a live, unstored token.
        .log_internal_errors(false)
        .try_init();
}

/// Log lines quote what servers said (error descriptions, the stderr of an
/// `exec:` store): every control and bidi character in a line is made visible
/// (`crate::text::escape`) before it reaches the terminal (issue 11, item 10).
/// tracing-subscriber's fmt layer writes one whole event per `write`.
struct EscapingStderr;

impl std::io::Write for EscapingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // Like the printer: a broken stderr never fails a command.
        let _ = std::io::stderr()
            .lock()
            .write_all(escape_event(buf).as_bytes());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// One formatted event, escaped, its final newline kept.
fn escape_event(buf: &[u8]) -> String {
    let text = String::from_utf8_lossy(buf);
    match text.strip_suffix('\n') {
        Some(line) => format!("{}\n", crate::text::escape(line)),
        None => crate::text::escape(&text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_escaped_but_keep_their_final_newline() {
        let cases: [(&[u8], &str); 4] = [
            (b" INFO said: ok\n", " INFO said: ok\n"),
            (b"said: \x1b[2Kx\ny\n", "said: \\x1b[2Kx y\n"),
            ("\u{202e}abc".as_bytes(), "\\u{202e}abc"),
            (&[0xff, b'\n'], "\u{fffd}\n"),
        ];
        for (event, want) in cases {
            assert_eq!(escape_event(event), want);
        }
    }
}
