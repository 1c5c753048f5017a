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

/// Refuse at once when there is no terminal to ask on (before anything is
/// looked up), so scripts must say `--force`.
pub fn require_terminal(printer: &Printer, action: Action) -> anyhow::Result<()> {
    let verb = action.verb;
    if !std::io::stdin().is_terminal() || !printer.stderr_is_terminal() {
        return Err(ConfigError::invalid(
            "confirmation",
            verb,
            format!("refusing to {verb} without confirmation: no terminal to ask on"),
            format!("pass --force to {verb} from a script").as_str(),
        )
        .into());
    }
    Ok(())
}

/// The question before revoking `ids` (resolved), each with its
/// description from `listed` (id, description): what is asked about is what
/// will be revoked, never a typed prefix (issue 19 item 11: a
/// four-character typo resolves to another token).
pub fn revoke_question<'a>(
    noun: &str,
    consequence: &str,
    ids: &[String],
    listed: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let listed: std::collections::HashMap<&str, &str> = listed.into_iter().collect();
    let n = ids.len();
    let list: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(
                "{} ({})",
                crate::text::sanitize(id),
                crate::text::sanitize(listed.get(id.as_str()).copied().unwrap_or("not listed"))
            )
        })
        .collect();
    format!(
        "Revoke {n} {noun}{}: {}? {consequence} {} will stop working. [y/N] ",
        if n == 1 { "" } else { "s" },
        list.join(", "),
        if n == 1 { "it" } else { "them" }
    )
}

/// Ask `question` (ending in `[y/N] `) on the terminal; refuse without one,
/// so scripts must say `--force`.
pub fn confirm(printer: &Printer, action: Action, question: &str) -> anyhow::Result<()> {
    let Action { verb, done } = action;
    require_terminal(printer, action)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_question_names_resolved_ids_and_descriptions() {
        let listed = [
            ("85394163-937c-4313-95c3-841a0c7cdca9", "vv api"),
            ("a", "x"),
            ("b", "evil\u{1b}[2K"),
        ];
        let cases: [(&[&str], &str); 3] = [
            (
                &["85394163-937c-4313-95c3-841a0c7cdca9"],
                "Revoke 1 management token: 85394163-937c-4313-95c3-841a0c7cdca9 (vv api)? Anything using it will stop working. [y/N] ",
            ),
            (
                &["a", "b"],
                "Revoke 2 management tokens: a (x), b (evil\\x1b[2K)? Anything using them will stop working. [y/N] ",
            ),
            (
                &["c"],
                "Revoke 1 management token: c (not listed)? Anything using it will stop working. [y/N] ",
            ),
        ];
        for (ids, want) in cases {
            let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
            assert_eq!(
                revoke_question("management token", "Anything using", &ids, listed),
                want
            );
        }
    }
}
