//! Installing what a test fixture needs (`npm ci` for the oidc-provider,
//! the Python venv for django-oauth-toolkit and Authlib), the same way for
//! both: once per process, and between processes (the test binaries of both
//! packages run at once) under an exclusive lock on a file in the temp dir
//! named after the fixture's directory, checking again once the lock is held.
//! A failure panics with instructions: the end-to-end tests never skip.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Run `prepare` once per process. A failure is remembered, so that every
/// test of the process reports the real cause (a panicking `Once` would
/// only say "poisoned" after the first).
pub fn once(cell: &'static OnceLock<Result<(), String>>, prepare: fn()) {
    let result = cell.get_or_init(|| {
        std::panic::catch_unwind(prepare).map_err(|payload| {
            payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "fixture setup panicked".to_owned())
        })
    });
    if let Err(msg) = result {
        panic!("{msg}");
    }
}

/// The lock file for `dir`: the same name in every process (SipHash with
/// fixed keys over the path).
fn lock_path(kind: &str, dir: &Path) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut h);
    std::env::temp_dir().join(format!("influx-bootstrap-{kind}-{:016x}.lock", h.finish()))
}

/// If `needed(dir)`, take the cross-process lock for `dir`, and if it is
/// still needed (another process may have installed while we waited), run
/// `install(dir)`. The lock is released on return.
pub fn install_locked(
    kind: &str,
    dir: &Path,
    needed: impl Fn(&Path) -> bool,
    install: impl FnOnce(&Path),
) {
    if !needed(dir) {
        return;
    }
    let path = lock_path(kind, dir);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("cannot open lock file {}: {e}", path.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
    if needed(dir) {
        install(dir);
    }
    drop(lock);
}
