#![no_main]
//! Config text in influxctl's schema: any input is parsed or rejected with a
//! one-line error, never a panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = influx_bootstrap::settings::parse_text(text) {
            assert!(!e.to_string().contains('\n'), "multi-line error: {e}");
        }
    }
});
