//! `completions SHELL` (clap_complete) and `man` (clap_mangen): generated
//! from the same clap definition as the parser, so they never drift.
use super::Context;
use crate::cli::{Cli, CompletionsArgs};
use clap::CommandFactory;

pub fn completions(ctx: &Context, args: CompletionsArgs) -> anyhow::Result<()> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "influx-bootstrap", &mut buf);
    super::data(ctx, &String::from_utf8(buf)?)
}

pub fn man(ctx: &Context) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
    super::data(ctx, &String::from_utf8(buf)?)
}
