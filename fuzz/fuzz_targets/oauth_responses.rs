#![no_main]
//! Device authorization and token endpoint answers, with any status and body.
use influx_bootstrap::auth::device::{classify_poll, parse_device_authorization};
use influx_bootstrap::http::Response;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u16, bool, &[u8])| {
    let (status, json, body) = input;
    let r = Response {
        url: "https://idp.example/token".into(),
        status: 100 + status % 500,
        content_type: if json { "application/json" } else { "text/html" }.into(),
        retry_after: None,
        location: None,
        body: body.to_vec(),
    };
    let _ = classify_poll(&r);
    let _ = parse_device_authorization(&r);
});
