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
