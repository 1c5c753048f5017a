#![no_main]
//! `--expires-at`, `--expires-in` and `--description` parsing.
use influx_bootstrap::cluster::expiry::{check_description, parse_expiry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: &str| {
    let now = chrono::Utc::now();
    if let Ok(Some(t)) = parse_expiry(Some(s), None, now) {
        assert!(t > now);
    }
    if let Ok(Some(t)) = parse_expiry(None, Some(s), now) {
        assert!(t > now);
    }
    if let Ok(d) = check_description(s) {
        assert!(!d.is_empty() && d.chars().count() <= 255);
    }
});
