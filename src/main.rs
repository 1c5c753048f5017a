//! Entry point: parse arguments, initialise logging, run, report, exit.
use clap::Parser;

fn main() {
    let cli = influx_bootstrap::cli::Cli::parse();
    let env = influx_bootstrap::env::Env::from_process();
    influx_bootstrap::logging::init(cli.global.verbose, env.get("RUST_LOG").as_deref());
    let code = match influx_bootstrap::run(cli, env) {
        Ok(()) => 0,
        Err(err) => influx_bootstrap::error::report(&err),
    };
    std::process::exit(code);
}
