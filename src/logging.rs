//! Logging to stderr with `tracing`. `-v` is info, `-vv` debug for this crate
//! (dependencies stay at warn, so no library ever prints a header or body).
//! Tokens are never passed to a log macro: they are `Secret`s, redacted by type.
use tracing_subscriber::EnvFilter;

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
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        // On a failed write the subscriber would report it with `eprintln!`,
        // which panics when stderr is gone (`2>/dev/full`): a panic between
        // "created" and "stored" would leave a live, unstored token.
        .log_internal_errors(false)
        .try_init();
}
