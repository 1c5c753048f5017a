//! Parsing the command line without ever echoing a token typed on it.
//!
//! clap's errors quote the argument they did not expect, so a token pasted
//! as an argument (`management list M.V1.…`) came back whole on the
//! terminal, and `--token …` got no advice (issue 23, A14). A failed parse
//! whose arguments hold a token-shaped word, or a `--token`/`--mgmt-token`
//! flag, is reported here instead, without the word, with where a token
//! belongs. Leaf helper: imports nothing of ours but the clap definition.
use crate::cli::Cli;
use clap::Parser;

/// The exit code of a usage error (`error::exit::USAGE`).
const USAGE: i32 = 2;

/// `Cli::parse()`, except for a command line that carries a token.
pub fn parse() -> Cli {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(e) => {
            let words: Vec<String> = argv
                .iter()
                .skip(1)
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            if let Some(why) = carries_token(&words) {
                eprintln!("error: {why} (not shown here)");
                eprintln!(
                    "hint: a token on the command line ends up in shell history and `ps`; set INFLUX_BOOTSTRAP_MGMT_TOKEN in the environment or `mgmt_token` in the profile instead"
                );
                std::process::exit(USAGE);
            }
            if let Some(ours) = influxctl_habit(&words) {
                // clap's own message first, then the word we use (P16).
                let _ = e.print();
                eprintln!("\ntip: influxctl's `auth {ours}` is `influx-bootstrap {ours}` here");
                std::process::exit(USAGE);
            }
            e.exit()
        }
    }
}

/// Why these words look like they carry a token, if they do.
fn carries_token(words: &[String]) -> Option<&'static str> {
    for w in words {
        let flag = w.split('=').next().unwrap_or_default();
        if matches!(flag, "--token" | "--mgmt-token" | "--management-token") {
            return Some("tokens are not taken as command-line arguments");
        }
        if token_shaped(w) {
            return Some("an argument looks like a token");
        }
    }
    None
}

/// `auth login` / `auth logout`, as influxctl spells them: our verb.
fn influxctl_habit(words: &[String]) -> Option<&'static str> {
    let mut plain = words.iter().filter(|w| !w.starts_with('-'));
    if plain.next().map(String::as_str) != Some("auth") {
        return None;
    }
    match plain.next().map(String::as_str) {
        Some("login") => Some("login"),
        Some("logout") => Some("logout"),
        _ => None,
    }
}

/// A management token (`M.V1.…`), a database token (`apiv1_…`) or a JWT
/// (`eyJ….….…`), as InfluxDB 3 and OAuth issue them.
fn token_shaped(w: &str) -> bool {
    let w = w.split_once('=').map_or(w, |(_, v)| v).trim();
    let body = |s: &str| {
        s.len() >= 8
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.+/=".contains(c))
    };
    (w.starts_with("M.V1.") || w.starts_with("apiv1_")) && body(w)
        || w.starts_with("eyJ") && w.matches('.').count() == 2 && body(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shaped_words() {
        let cases = [
            ("M.V1.kFzqAbCdEf0123", true),
            ("apiv1_abcdefghijkl", true),
            ("--description=M.V1.kFzqAbCdEf0123", true),
            ("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln", true),
            ("eyJust-a-word", false),
            ("mint", false),
            ("M.V1.", false),
            ("--store", false),
        ];
        for (w, want) in cases {
            assert_eq!(token_shaped(w), want, "{w}");
        }
        let words = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(carries_token(&words(&["management", "list", "--token", "x"])).is_some());
        assert!(carries_token(&words(&["--mgmt-token=x", "management", "list"])).is_some());
        assert!(carries_token(&words(&["mint", "--st"])).is_none());
        assert_eq!(influxctl_habit(&words(&["auth", "login"])), Some("login"));
        assert_eq!(
            influxctl_habit(&words(&["-v", "auth", "logout"])),
            Some("logout")
        );
        assert_eq!(influxctl_habit(&words(&["login"])), None);
    }
}
