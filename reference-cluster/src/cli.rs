//! Command-line arguments of the `reference-cluster` binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::{Config, DocumentedPaths};

pub const USAGE: &str = "\
usage: reference-cluster --config PATH [--listen ADDR] [--exit-on-stdin-eof]
                         [--no-management-tokens] [--documented-paths both|short|long]

Serves the management-token API (docs/management-api.yaml), InfluxData's
documented Management API for databases and database tokens
(docs/documented-api.md) and a minimal data path, for tests.

  --config PATH             TOML configuration (see config/reference-cluster.toml)
  --listen ADDR             host:port to listen on, overriding `listen` (port 0 = any free port)
  --exit-on-stdin-eof       exit when standard input reaches end of file
  --no-management-tokens    do not serve our management-token routes (404), like a
                            stock cluster; sets `management_tokens = false`
  --documented-paths FORM   path forms of the documented API: both (default), short
                            (/api/v0/...) or long (/api/v0/accounts/ID/clusters/ID/...);
                            overrides `documented_paths`
  -h, --help                show this help

Once listening, prints one line on stdout:
  {\"listening\":\"http://127.0.0.1:PORT\",\"port\":PORT}
Logs go to stderr (RUST_LOG=debug|info|warn|error|off, default info).";

/// Parsed arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub config: PathBuf,
    pub listen: Option<SocketAddr>,
    pub exit_on_stdin_eof: bool,
    pub no_management_tokens: bool,
    pub documented_paths: Option<DocumentedPaths>,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Run(Args),
}

impl Args {
    /// Applies the overrides to a loaded configuration.
    pub fn apply(&self, config: &mut Config) {
        if let Some(listen) = self.listen {
            config.listen = listen;
        }
        if self.no_management_tokens {
            config.management_tokens = false;
        }
        if let Some(paths) = self.documented_paths {
            config.documented_paths = paths;
        }
    }
}

/// Parses the arguments (without the program name). `--name=value` and
/// `--name value` are both accepted.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut config = None;
    let mut listen = None;
    let mut exit_on_stdin_eof = false;
    let mut no_management_tokens = false;
    let mut documented_paths = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{what} needs a value"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--config" => config = Some(PathBuf::from(value("--config")?)),
            "--listen" => {
                let v = value("--listen")?;
                listen = Some(
                    v.parse()
                        .map_err(|_| format!("--listen {v:?} is not a host:port address"))?,
                );
            }
            "--documented-paths" => {
                let v = value("--documented-paths")?;
                documented_paths = Some(v.parse().map_err(|e| format!("--documented-paths {e}"))?);
            }
            "--exit-on-stdin-eof" if inline.is_none() => exit_on_stdin_eof = true,
            "--no-management-tokens" if inline.is_none() => no_management_tokens = true,
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok(Command::Run(Args {
        config: config.ok_or("--config PATH is required")?,
        listen,
        exit_on_stdin_eof,
        no_management_tokens,
        documented_paths,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn switches_parse_and_apply() {
        let base = Args {
            config: "c.toml".into(),
            listen: None,
            exit_on_stdin_eof: false,
            no_management_tokens: false,
            documented_paths: None,
        };
        let cases: &[(&[&str], Args)] = &[
            (&["--config", "c.toml"], base.clone()),
            (
                &["--config=c.toml", "--no-management-tokens"],
                Args {
                    no_management_tokens: true,
                    ..base.clone()
                },
            ),
            (
                &["--documented-paths", "long", "--config", "c.toml"],
                Args {
                    documented_paths: Some(DocumentedPaths::Long),
                    ..base.clone()
                },
            ),
            (
                &[
                    "--config",
                    "c.toml",
                    "--documented-paths=short",
                    "--listen",
                    "127.0.0.1:0",
                    "--exit-on-stdin-eof",
                ],
                Args {
                    documented_paths: Some(DocumentedPaths::Short),
                    listen: Some("127.0.0.1:0".parse().unwrap()),
                    exit_on_stdin_eof: true,
                    ..base.clone()
                },
            ),
        ];
        for (args, want) in cases {
            assert_eq!(run(args), Ok(Command::Run(want.clone())), "{args:?}");
        }

        let mut config = Config::minimal("http://i.test", "https://a.test", &["admin"]);
        assert!(config.management_tokens);
        assert_eq!(config.documented_paths, DocumentedPaths::Both);
        Args {
            no_management_tokens: true,
            documented_paths: Some(DocumentedPaths::Long),
            ..base
        }
        .apply(&mut config);
        assert!(!config.management_tokens);
        assert_eq!(config.documented_paths, DocumentedPaths::Long);
    }

    #[test]
    fn bad_arguments_are_errors() {
        for (args, needle) in [
            (
                &["--config", "c", "--documented-paths", "all"][..],
                "--documented-paths",
            ),
            (
                &["--config", "c", "--documented-paths"][..],
                "needs a value",
            ),
            (
                &["--config", "c", "--no-management-tokens=yes"][..],
                "unknown argument",
            ),
            (&["--no-management-tokens"][..], "--config"),
        ] {
            let err = run(args).expect_err(needle);
            assert!(err.contains(needle), "{args:?}: {err}");
        }
        assert_eq!(run(&["--config", "c", "-h"]), Ok(Command::Help));
    }
}
