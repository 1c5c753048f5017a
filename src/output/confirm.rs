//! Asking a person before something that cannot be undone (revoking a token,
//! deleting a database).
use crate::error::ConfigError;
use crate::printer::Printer;
use std::io::{BufRead, IsTerminal};

/// What is asked about: the verb in the present and the past tense.
#[derive(Debug, Clone, Copy)]
pub struct Action {
    pub verb: &'static str,
    pub done: &'static str,
}

pub const REVOKE: Action = Action {
    verb: "revoke",
    done: "revoked",
};
pub const DELETE: Action = Action {
    verb: "delete",
    done: "deleted",
};

/// Ask `question` (ending in `[y/N] `) on the terminal; refuse without one,
/// so scripts must say `--force`.
pub fn confirm(printer: &Printer, action: Action, question: &str) -> anyhow::Result<()> {
    let Action { verb, done } = action;
    if !std::io::stdin().is_terminal() || !printer.stderr_is_terminal() {
        return Err(ConfigError::invalid(
            "confirmation",
            verb,
            format!("refusing to {verb} without confirmation: no terminal to ask on"),
            format!("pass --force to {verb} from a script").as_str(),
        )
        .into());
    }
    printer.block(question);
    let mut line = String::new();
    crate::interrupt::at_prompt(|| std::io::stdin().lock().read_line(&mut line))?;
    if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            "confirmation",
            verb,
            format!("not confirmed; nothing was {done}"),
            None,
        )
        .into())
    }
}
