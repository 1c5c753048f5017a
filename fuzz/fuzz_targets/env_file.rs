#![no_main]
//! The `env-file:` store's rewrite of an arbitrary existing dotenv file: the
//! token reads back, and every line that does not set the key is kept.
use influx_bootstrap::store::{env_file_edit, env_file_lookup};
use libfuzzer_sys::fuzz_target;

const KEY: &str = "INFLUX_MGMT_TOKEN";
const TOKEN: &str = "M.V1.abcDEF123_-xyz";

fn other_lines(data: &[u8]) -> Vec<Vec<u8>> {
    data.split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
        .filter(|l| !l.is_empty() && env_file_lookup(l, KEY).is_none())
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let out = env_file_edit(data, KEY, TOKEN).expect("a plain token is always writable");
    assert_eq!(env_file_lookup(&out, KEY).as_deref(), Some(TOKEN.as_bytes()));
    assert_eq!(other_lines(data), other_lines(&out), "other lines changed");
});
