//! Build script: the version string `--version` prints, with the git commit
//! when the crate is built from a git checkout (`cargo install --git`, a
//! clone), and without it from a tarball (no `.git`). Packagers may set
//! `INFLUX_BOOTSTRAP_COMMIT` to name the commit a tarball was cut from.
//!
//! It also generates the shell completion scripts and one man page per
//! command from the clap definition (`src/cli.rs`, included here, so they
//! never drift from the parser), embedded as text by `commands/completions`:
//! clap_complete and clap_mangen then run here, not in the binary (issue 18,
//! binary size).
use std::path::{Path, PathBuf};
use std::process::Command;

#[allow(dead_code)]
#[path = "src/cli.rs"]
mod cli;

fn main() {
    println!("cargo:rerun-if-env-changed=INFLUX_BOOTSTRAP_COMMIT");
    // Only existing files (see `git_commit`); declaring any path turns off
    // cargo's default of rerunning on every change in the package.
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/cli.rs");
    generate_docs();
    let pkg = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let commit = std::env::var("INFLUX_BOOTSTRAP_COMMIT")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(git_commit);
    let version = match commit {
        Some(c) => format!("{pkg} (commit {c})"),
        None => pkg,
    };
    // Not under INFLUX_BOOTSTRAP_: cargo also sets this in the environment of
    // `cargo test`/`cargo run`, and that prefix is the tool's own settings.
    println!("cargo:rustc-env=IB_BUILD_VERSION={version}");
}

/// `$OUT_DIR/docs.rs`: the completion scripts and man pages as string
/// constants (`include!`d by `src/commands/completions.rs`).
fn generate_docs() {
    use clap::CommandFactory;
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let mut code = String::from("pub const COMPLETIONS: &[(&str, &str)] = &[\n");
    let shells = [
        (cli::Shell::Bash, clap_complete::Shell::Bash),
        (cli::Shell::Zsh, clap_complete::Shell::Zsh),
        (cli::Shell::Fish, clap_complete::Shell::Fish),
        (cli::Shell::Powershell, clap_complete::Shell::PowerShell),
        (cli::Shell::Elvish, clap_complete::Shell::Elvish),
    ];
    for (ours, shell) in shells {
        let mut buf = Vec::new();
        clap_complete::generate(
            shell,
            &mut cli::Cli::command(),
            "influx-bootstrap",
            &mut buf,
        );
        let mut script = String::from_utf8(buf).expect("UTF-8 script");
        if ours == cli::Shell::Bash {
            script = fix_bash(&script);
        }
        let file = out.join(format!("completion.{}", ours.name()));
        std::fs::write(&file, script).expect("write completion script");
        code.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            ours.name(),
            file.display().to_string()
        ));
    }
    code.push_str("];\n\npub const MAN_PAGES: &[(&str, &str)] = &[\n");
    let man = out.join("man");
    let _ = std::fs::remove_dir_all(&man);
    std::fs::create_dir_all(&man).expect("create man dir");
    clap_mangen::generate_to(cli::Cli::command(), &man).expect("generate man pages");
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&man)
        .expect("read man dir")
        .map(|e| e.expect("man dir entry").path())
        .collect();
    pages.sort();
    for page in pages {
        // clap_mangen titles the after-help text "EXTRA"; ours is the exit
        // codes and the environment.
        let text = std::fs::read_to_string(&page)
            .expect("read man page")
            .replace(".SH EXTRA\n", ".SH \"EXIT STATUS AND ENVIRONMENT\"\n");
        std::fs::write(&page, text).expect("write man page");
        let name = page
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("page name");
        code.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            page.display().to_string()
        ));
    }
    code.push_str("];\n");
    std::fs::write(out.join("docs.rs"), code).expect("write docs.rs");
}

/// clap_complete (4.6.12) names the functions of a hyphenated program's
/// subcommands `influx__subcmd__bootstrap__subcmd__mint` in its `case` arms
/// but `influx__bootstrap__subcmd__mint` in the loop that finds them, so
/// nothing after a subcommand completed (clap-rs/clap#6421, issue 23 A2).
/// The arms are renamed to what the loop computes; the test in
/// `tests/it/newcomer.rs` drives bash's completion function to hold this.
fn fix_bash(script: &str) -> String {
    script.replace("influx__subcmd__bootstrap", "influx__bootstrap")
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !s.is_empty()).then_some(s)
}

/// The short commit of HEAD, only when this crate's directory is the top of
/// a git work tree (a tarball unpacked inside some other repository must not
/// take that repository's commit).
fn git_commit() -> Option<String> {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").ok()?);
    let top = PathBuf::from(git(&dir, &["rev-parse", "--show-toplevel"])?);
    if top.canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    // Rebuild when HEAD moves: HEAD itself, the branch it points at, and
    // packed-refs (where a branch may live after `git gc`). Only files that
    // exist are declared: cargo treats a declared path that is missing as
    // changed on every build, so a checkout whose refs were never packed
    // would recompile this crate every time. When a loose ref is later
    // packed, its file disappears, which cargo also sees as a change.
    let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(&dir, &["symbolic-ref", "-q", "HEAD"]) {
        watch.push(branch);
    }
    for p in &watch {
        if let Some(path) = git(
            &dir,
            &["rev-parse", "--path-format=absolute", "--git-path", p],
        ) && Path::new(&path).exists()
        {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    git(&dir, &["rev-parse", "--short=12", "HEAD"])
}
