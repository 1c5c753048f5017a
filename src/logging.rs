//! Logging to stderr with `tracing`. `-v` is info, `-vv` debug for this crate
//! (dependencies stay at warn, so no library ever prints a header or body).
//! Tokens are never passed to a log macro: they are `Secret`s, redacted by type.
use tracing_subscriber::EnvFilter;

/// `color`: styles only when stderr is a terminal that wants them (the
/// printer's decision: `--no-color`, `NO_COLOR`, `TERM=dumb`); never in a
/// log written to a file or a pipe.
pub fn init(verbose: u8, rust_log: Option<&str>, color: bool) {
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
        .with_ansi(color)
        .with_target(false)
        .without_time()
        .try_init();
}
