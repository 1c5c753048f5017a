//! Build script: the version string `--version` prints, with the git commit
//! when the crate is built from a git checkout (`cargo install --git`, a
//! clone), and without it from a tarball (no `.git`). Packagers may set
//! `INFLUX_BOOTSTRAP_COMMIT` to name the commit a tarball was cut from.
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=INFLUX_BOOTSTRAP_COMMIT");
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
