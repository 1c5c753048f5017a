//! `reference-cluster --config PATH [--listen ADDR] [--exit-on-stdin-eof]
//! [--no-management-tokens] [--documented-paths both|short|long]` (see
//! [`reference_cluster::cli`]).

use std::io::Write as _;
use std::process::ExitCode;

use reference_cluster::Config;
use reference_cluster::cli::{self, Command, USAGE};

fn init_logging() {
    let level = match std::env::var("RUST_LOG").ok().as_deref().map(str::trim) {
        Some("trace") => tracing::level_filters::LevelFilter::TRACE,
        Some("debug") => tracing::level_filters::LevelFilter::DEBUG,
        Some("warn") => tracing::level_filters::LevelFilter::WARN,
        Some("error") => tracing::level_filters::LevelFilter::ERROR,
        Some("off") => tracing::level_filters::LevelFilter::OFF,
        _ => tracing::level_filters::LevelFilter::INFO,
    };
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // No colour codes in log files.
        .with_ansi(std::io::stderr().is_terminal())
        .with_max_level(level)
        .with_target(false)
        .init();
}

/// Install the SIGTERM/SIGINT handlers now — before the ready line is
/// printed, so a signal sent as soon as a supervisor sees that line is never
/// missed (it would otherwise kill the process with the default action) —
/// and return the future that resolves when one of them, or stdin's EOF,
/// arrives.
fn exit_signal(exit_on_stdin_eof: bool) -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let (mut term, mut int) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    async move {
        let stdin_eof = async {
            if !exit_on_stdin_eof {
                return std::future::pending().await;
            }
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            std::thread::spawn(move || {
                let mut sink = [0u8; 4096];
                let mut stdin = std::io::stdin().lock();
                while let Ok(n) = std::io::Read::read(&mut stdin, &mut sink) {
                    if n == 0 {
                        break;
                    }
                }
                let _ = tx.send(());
            });
            let _ = rx.await;
            tracing::info!("stdin closed; exiting");
        };
        #[cfg(unix)]
        {
            let term = async {
                match term.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            let int = async {
                match int.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = int => tracing::info!("SIGINT; exiting"),
                _ = term => tracing::info!("SIGTERM; exiting"),
                _ = stdin_eof => {}
            }
        }
        #[cfg(not(unix))]
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C; exiting"),
            _ = stdin_eof => {}
        }
    }
}

fn main() -> ExitCode {
    let args = match cli::parse(std::env::args().skip(1)) {
        Ok(Command::Run(a)) => a,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("reference-cluster: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("reference-cluster: {e}");
            return ExitCode::from(2);
        }
    };
    args.apply(&mut config);
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("reference-cluster: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let server = match reference_cluster::start(config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("reference-cluster: {e}");
                return ExitCode::FAILURE;
            }
        };
        let exit = exit_signal(args.exit_on_stdin_eof);
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}", server.ready_line());
        let _ = stdout.flush();
        drop(stdout);
        exit.await;
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}
