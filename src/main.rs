//! Entry point: parse arguments, initialise logging, run, report, exit.
use clap::Parser;
use influx_bootstrap::{cli::Cli, env::Env, logging, output, printer::Printer};

fn main() {
    let cli = Cli::parse();
    let env = Env::from_process();
    let printer = Printer::with_color(&env, cli.global.quiet, !cli.global.no_color);
    logging::init(
        cli.global.verbose,
        env.get("RUST_LOG").as_deref(),
        printer.color(),
    );
    let code = match influx_bootstrap::run(cli, env, printer.clone()) {
        Ok(()) => 0,
        Err(err) => output::report(&err, &printer),
    };
    std::process::exit(code);
}
