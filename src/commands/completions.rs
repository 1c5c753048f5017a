//! `completions SHELL` and `man`: the scripts and pages are generated at
//! build time (build.rs, from the same clap definition as the parser, so they
//! never drift) and embedded here as text.
use super::Context;
use crate::cli::{CompletionsArgs, ManArgs};
use crate::error::ConfigError;

include!(concat!(env!("OUT_DIR"), "/docs.rs"));

pub fn completions(ctx: &Context, args: CompletionsArgs) -> anyhow::Result<()> {
    let script = COMPLETIONS
        .iter()
        .find(|(shell, _)| *shell == args.shell.name())
        .map(|(_, text)| *text)
        .unwrap_or_default();
    super::data(ctx, script)
}

/// The page of `influx-bootstrap COMMAND...` (the top-level one without a
/// command), or every page written into `--dir`.
pub fn man(ctx: &Context, args: ManArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        for (name, text) in MAN_PAGES {
            let path = dir.join(format!("{name}.1"));
            std::fs::write(&path, text)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        }
        ctx.printer.status(format!(
            "✓ wrote {} man pages to {} (read one with `man influx-bootstrap-mint`, with {} on MANPATH's man1)",
            MAN_PAGES.len(),
            dir.display(),
            dir.display()
        ));
        return Ok(());
    }
    let name = page_name(&args.command);
    match MAN_PAGES.iter().find(|(n, _)| *n == name) {
        Some((_, text)) => super::data(ctx, text),
        None => Err(ConfigError::usage(
            "COMMAND",
            format!(
                "no man page for `{}`",
                crate::text::sanitize(&args.command.join(" "))
            ),
            "name a command as you would run it, e.g. `influx-bootstrap man mint` or `influx-bootstrap man management create`",
        )
        .into()),
    }
}

/// `["management", "create"]` → `influx-bootstrap-management-create`.
fn page_name(command: &[String]) -> String {
    std::iter::once("influx-bootstrap")
        .chain(command.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_a_page_that_names_its_options() {
        // (command, roff it must contain: `-` is written `\-`)
        let cases: [(&[&str], &str); 4] = [
            (&[], r"influx\-bootstrap\-mint(1)"),
            (&["mint"], r"\-\-store"),
            (&["management", "create"], r"\-\-description"),
            (&["config", "init"], r"\-\-client\-id"),
        ];
        let page = |name: &str| {
            MAN_PAGES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| *t)
                .unwrap_or_else(|| panic!("no page {name}"))
        };
        for (command, want) in cases {
            let command: Vec<String> = command.iter().map(|s| s.to_string()).collect();
            let name = page_name(&command);
            assert!(page(&name).contains(want), "{name}: {want}");
        }
        // Every page a page names exists (the 11-29 top page named 13
        // pages that could not be generated).
        for (name, text) in MAN_PAGES {
            for named in text.split_whitespace().filter(|w| w.ends_with("(1)")) {
                let named = named.trim_end_matches("(1)").replace(r"\-", "-");
                page(&named);
            }
            assert!(!text.contains(".SH EXTRA"), "{name}");
        }
    }
}
