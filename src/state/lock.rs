//! One run at a time per store (issue 17 item 5, M5 of the 2026-12-06
//! review): two overlapping rotations of the same store ended with the store
//! holding a revoked token. `mint` and `rotate` take an exclusive `flock`
//! on `<state dir>/locks/<store hash>.lock` for each of their stores (in one
//! sorted order, so two runs with overlapping store sets cannot deadlock)
//! and hold it to the end of the run.
//!
//! A lock on an open file descriptor is released by the kernel when the
//! process dies, `kill -9` included, so there is no stale lock to break;
//! the file itself stays and only says who held it last (pid, host, start
//! time), which is what a waiting run names. A busy lock is waited for up to
//! a bound (`INFLUX_BOOTSTRAP_LOCK_WAIT`, default [`DEFAULT_WAIT`]), then the
//! run stops with exit 14.
use super::trust::{Area, io};
use crate::error::StateError;
use std::io::{Seek, Write};
use std::time::Duration;

/// How long a run waits for another run of the same stores: longer than a
/// rotation that waits for its new token to be accepted normally takes,
/// short enough that an hourly timer never piles up runs.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(120);
/// How often a waiting run tries again.
const POLL: Duration = Duration::from_millis(100);

/// The locks of one run's stores; released on drop (or by the kernel).
#[derive(Debug)]
pub struct StoreLocks {
    _files: Vec<std::fs::File>,
}

fn lock_name(store: &str) -> String {
    super::short_hash(store) + ".lock"
}

/// Who we are, for the next run that finds the lock taken.
fn holder_line() -> String {
    format!(
        "pid {} on {} since {}",
        std::process::id(),
        hostname(),
        crate::text::rfc3339(chrono::Utc::now())
    )
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    #[cfg(unix)]
    // SAFETY: the buffer is valid for its length; gethostname writes at most
    // that many bytes.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    #[cfg(not(unix))]
    let ok = false;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(h) if ok && !h.is_empty() => crate::text::sanitize(h),
        _ => "this host".into(),
    }
}

/// Take the lock of every store in `stores` under the state directory
/// `root`, waiting up to `wait` for another run; `waiting` is told once who
/// holds it.
pub async fn lock_stores(
    root: &std::path::Path,
    stores: &[String],
    wait: Duration,
    mut waiting: impl FnMut(&str),
) -> Result<StoreLocks, StateError> {
    let area = Area::new(root, "locks");
    area.ensure()?;
    let mut names: Vec<String> = stores.iter().map(|s| lock_name(s)).collect();
    names.sort_unstable();
    names.dedup();
    let deadline = tokio::time::Instant::now() + wait;
    let mut files = Vec::new();
    for name in names {
        let path = area.dir.join(&name);
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).truncate(false).read(true).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut file = area
            .open(&name, &mut opts)?
            .ok_or_else(|| io(&path)(std::io::ErrorKind::NotFound.into()))?;
        let mut told = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(e)) => return Err(io(&path)(e)),
            }
            let holder = std::fs::read_to_string(&path)
                .map(|h| crate::text::sanitize(h.trim()))
                .ok()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "a run that is just starting".into());
            if tokio::time::Instant::now() >= deadline {
                return Err(StateError::Busy {
                    holder,
                    waited: humantime::format_duration(wait).to_string(),
                });
            }
            if !told {
                waiting(&holder);
                told = true;
            }
            tokio::time::sleep(POLL).await;
        }
        let line = holder_line();
        file.set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| file.write_all(line.as_bytes()))
            .map_err(io(&path))?;
        files.push(file);
    }
    Ok(StoreLocks { _files: files })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_run_waits_then_names_the_holder() {
        let t = tempfile::tempdir().unwrap();
        let stores = vec!["file:/a".to_string(), "file:/b".to_string()];
        let first = lock_stores(t.path(), &stores, Duration::ZERO, |_| {})
            .await
            .unwrap();
        // Overlapping sets (b only, and b+c) are refused too; disjoint is fine.
        let cases: [(&[&str], bool); 3] = [
            (&["file:/b"], false),
            (&["file:/c", "file:/b"], false),
            (&["file:/c"], true),
        ];
        for (set, free) in cases {
            let set: Vec<String> = set.iter().map(|s| s.to_string()).collect();
            let mut told = None;
            let r = lock_stores(t.path(), &set, Duration::from_millis(250), |h| {
                told = Some(h.to_string())
            })
            .await;
            match r {
                Ok(_) => assert!(free, "{set:?} was locked"),
                Err(e) => {
                    assert!(!free, "{set:?}: {e}");
                    let msg = e.to_string();
                    let pid = format!("pid {}", std::process::id());
                    assert!(msg.contains(&pid), "{msg}");
                    assert!(told.unwrap().contains(&pid));
                    assert_eq!(crate::error::Classify::exit_code(&e), 14);
                }
            }
        }
        drop(first);
        lock_stores(t.path(), &stores, Duration::ZERO, |_| {})
            .await
            .unwrap();
    }
}
