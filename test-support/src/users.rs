//! A second local user for the hardening tests: the attacker on a shared
//! machine. The tests run as root (as CI does); the other user is `nobody`
//! (65534), reached with util-linux's `setpriv` as `tests/it` already does for
//! unprivileged runs. Without root or `setpriv` these helpers panic: a test
//! that needs a second user is never silently skipped.
use std::path::Path;
use std::process::Command;

use crate::process::output_ok;

/// The uid and gid of the other user.
pub const OTHER: u32 = 65534;

/// Our effective uid.
pub fn euid() -> u32 {
    // The owner of a file we just created is our (file system) uid.
    use std::os::unix::fs::MetadataExt;
    let f = tempfile::tempfile().expect("create a temporary file");
    f.metadata().expect("stat it").uid()
}

/// Panic with a clear message unless a second user can be played.
pub fn require_root(what: &str) {
    assert_eq!(
        euid(),
        0,
        "{what} needs a second local user: run the tests as root (CI does)"
    );
}

/// Run `sh -c script` as the other user; panics if it fails.
pub fn sh_as_other(script: &str) {
    require_root(script);
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={OTHER}"))
        .arg(format!("--regid={OTHER}"))
        .args(["--clear-groups", "--", "sh", "-c", script]);
    let what = format!("`{script}` as uid {OTHER} (setpriv)");
    output_ok(cmd, &what, "setpriv is in util-linux");
}

/// A directory that belongs to the other user (mode `mode`), created by root
/// and handed over: where the attacker plants things.
pub fn dir_of_other(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path).unwrap();
    std::os::unix::fs::chown(path, Some(OTHER), Some(OTHER)).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Owner uid of what is at `path` (not following a link).
pub fn owner(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .uid()
}
