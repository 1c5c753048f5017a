//! Redacting wrapper for secret values (tokens, codes).
//!
//! `Debug` and `Display` never show the value, so a secret that ends up in a
//! log line, an error message or a `{:?}` dump is harmless. The only way to
//! the bytes is [`Secret::expose`], which is easy to grep for in review.
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value. Call sites are the places that send it on the wire
    /// or write it to a store; keep them few.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Is `token` something every store and terminal can take as it is? A token
/// is an opaque string of visible ASCII (RFC 6750 §2.1's `b64token` is a
/// subset); a newline would add a line to an `env-file:`, an escape sequence
/// would drive the terminal it is printed on. Returns why not, never the
/// token itself. The cap is far above any real token (`apiv1_` and `M.V1.`
/// tokens are under 200 characters).
pub fn check_token_text(token: &str) -> Result<(), String> {
    const MAX: usize = 8192;
    if token.is_empty() {
        return Err("is empty".into());
    }
    if token.len() > MAX {
        return Err(format!("is {} bytes long (more than {MAX})", token.len()));
    }
    if let Some(i) = token.bytes().position(|b| !b.is_ascii_graphic()) {
        return Err(format!(
            "holds a space, control or non-ASCII character (at byte {i})"
        ));
    }
    Ok(())
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_text_is_visible_ascii_only() {
        let long = "a".repeat(8193);
        let cases: &[(&str, bool)] = &[
            ("apiv1_abcDEF-_.~+/=", true),
            ("M.V1.abc", true),
            ("", false),
            ("abc\ndef", false),
            ("abc def", false),
            ("abc\x1b[2Kdef", false),
            ("abc\u{202e}def", false),
            ("caf\u{e9}", false),
            (&long, false),
        ];
        for (token, ok) in cases {
            let r = check_token_text(token);
            assert_eq!(r.is_ok(), *ok, "{token:?}: {r:?}");
            if let Err(why) = r {
                assert!(
                    !why.contains("abc"),
                    "the reason never shows the token: {why}"
                );
            }
        }
    }

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("hunter2-very-secret");
        for shown in [format!("{s:?}"), format!("{s}"), format!("{:#?}", Some(&s))] {
            assert!(!shown.contains("hunter2"), "leaked in {shown}");
        }
        assert_eq!(s.expose(), "hunter2-very-secret");
    }

    #[test]
    fn serializes_transparently_for_the_cache() {
        let s = Secret::new("abc");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"abc\"");
        let back: Secret = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(back, s);
    }
}
