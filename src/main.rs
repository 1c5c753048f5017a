//! Entry point: harden the process, parse arguments, initialise logging, run,
//! report, exit.
use influx_bootstrap::{args, env::Env, harden, interrupt, logging, output, printer::Printer};

fn main() {
    harden::apply();
    let cli = args::parse();
    let env = Env::from_process();
    let printer = Printer::with_color(&env, cli.global.quiet, !cli.global.no_color);
    logging::init(cli.global.verbose, env.get("RUST_LOG").as_deref());
    let code = match influx_bootstrap::run(cli, env, printer.clone()) {
        Ok(()) => 0,
        Err(err) => output::report(&err, &printer),
    };
    std::process::exit(interrupt::exit_code(code));
}
