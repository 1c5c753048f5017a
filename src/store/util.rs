//! Helpers shared by the file-backed stores.
use super::StoreError;
use crate::fsutil;
use crate::secret::Secret;
use std::fs::Metadata;
use std::path::{Path, PathBuf};

/// The token as text, if it can be stored and read back intact.
pub(super) fn validate_token(token: &Secret) -> Result<&str, StoreError> {
    let t = token.expose();
    if t.is_empty() {
        return Err(StoreError::BadToken {
            reason: "it is empty".into(),
        });
    }
    if t.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(StoreError::BadToken {
            reason: "it contains whitespace or control characters".into(),
        });
    }
    Ok(t)
}

/// The directory a file lives in (`.` for a bare file name).
pub(super) fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

pub(super) fn io_err(
    what: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> StoreError + use<> {
    let path = path.to_path_buf();
    move |source| StoreError::Io { what, path, source }
}

pub(super) fn unusable(path: &Path, message: impl Into<String>) -> StoreError {
    StoreError::Unusable {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Can we create and rename files in `dir`?
pub(super) fn dir_writable(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
            return false;
        };
        // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
        unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(dir).is_ok_and(|m| !m.permissions().readonly())
    }
}

/// Pre-flight for writing a new file at `path`: its directory must exist and
/// be writable, or be creatable (the nearest existing ancestor is a writable
/// directory). Returns the directory that would be created, if any. Creates
/// nothing.
pub(super) fn check_parent(path: &Path) -> Result<Option<PathBuf>, StoreError> {
    let parent = parent_of(path);
    let mut missing = false;
    let mut cur = parent;
    loop {
        match std::fs::metadata(cur) {
            Ok(m) if m.is_dir() => {
                if !dir_writable(cur) {
                    return Err(unusable(
                        cur,
                        "directory is not writable by this user (permission denied)",
                    ));
                }
                return Ok(missing.then(|| parent.to_path_buf()));
            }
            Ok(_) => {
                return Err(unusable(
                    parent,
                    format!("cannot create it: {} is not a directory", cur.display()),
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && cur != Path::new(".") => {
                missing = true;
                // A relative path whose first component is missing goes on with `.`.
                cur = cur
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
            }
            Err(e) => return Err(io_err("inspect", cur)(e)),
        }
    }
}

/// The full pre-flight for writing `path`: [`safe_target`], then
/// [`check_parent`], then a probe file in the directory (or in the nearest
/// existing ancestor, where ours would be created). Creates nothing that
/// stays. Returns what is at the path now.
pub(super) fn preflight_target(path: &Path) -> Result<Option<Metadata>, StoreError> {
    let existing = safe_target(path)?;
    check_parent(path)?;
    let mut dir = parent_of(path);
    while std::fs::symlink_metadata(dir).is_err() {
        match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(p) => dir = p,
            None => {
                dir = Path::new(".");
                break;
            }
        }
    }
    probe_dir(dir)?;
    Ok(existing)
}

/// Create the directory `path` will live in (0700 for what we create), after
/// [`check_parent`]. Returns a note for the outcome when something was created.
pub(super) fn ensure_parent(path: &Path) -> Result<Option<String>, StoreError> {
    match check_parent(path)? {
        None => Ok(None),
        Some(dir) => {
            fsutil::create_private_dir(&dir).map_err(io_err("create directory", &dir))?;
            Ok(Some(format!("created directory {} (0700)", dir.display())))
        }
    }
}

/// The highest ancestor directory of `path` that does not exist yet (what
/// [`ensure_parent`] will create, with everything below it).
pub(super) fn first_missing_dir(path: &Path) -> Option<std::path::PathBuf> {
    let mut top = None;
    let mut cur = path.parent()?;
    while !cur.as_os_str().is_empty() && std::fs::symlink_metadata(cur).is_err() {
        top = Some(cur.to_path_buf());
        match cur.parent() {
            Some(p) => cur = p,
            None => break,
        }
    }
    top
}

/// After a failed write, remove the directories we created for it (from
/// `path`'s parent up to `top`), so a failure leaves nothing behind. Only
/// empty directories are removed.
pub(super) fn remove_created_dirs(path: &Path, top: &Path) {
    let mut cur = path.parent();
    while let Some(dir) = cur {
        if std::fs::remove_dir(dir).is_err() || dir == top {
            break;
        }
        cur = dir.parent();
    }
}

/// Permission bits, if this platform has them.
pub(super) fn mode_of(meta: &Metadata) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(meta.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// Warn (without failing) when a file holding a token can be read by others.
pub(super) fn warn_if_loose(path: &Path, meta: &Metadata) {
    if let Some(m) = mode_of(meta).filter(|m| m & 0o077 != 0) {
        tracing::warn!(
            "{} holds a token and is accessible by other users (mode {m:04o}); run `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
}

/// A note for the outcome when replacing a file tightened its mode.
pub(super) fn tightened(before: Option<&Metadata>) -> Option<String> {
    let m = mode_of(before?)?;
    (m & 0o7777 != 0o600).then(|| format!("mode changed from {m:04o} to 0600"))
}

pub(super) use crate::fsutil::Replace;

/// [`fsutil::write_private`], with its failures as store errors.
pub(super) fn write_atomic(
    path: &Path,
    contents: &[u8],
    how: Replace<'_>,
) -> Result<(), StoreError> {
    fsutil::write_private(path, contents, how).map_err(|e| match e {
        fsutil::WriteError::Io { what, path, source } => StoreError::Io { what, path, source },
        fsutil::WriteError::Exists => StoreError::Exists {
            path: path.to_path_buf(),
        },
        fsutil::WriteError::Changed => unusable(
            path,
            "the file changed while we were editing it; nothing was written, try again",
        ),
        fsutil::WriteError::Refused(r) => refused(r),
    })
}

fn refused(r: fsutil::Refusal) -> StoreError {
    StoreError::Unusable {
        path: r.path,
        message: format!("refusing to use it: {}", r.why),
    }
}

/// The write-time safety rules of [`fsutil::check_target`] (no symlink at
/// the path, not a directory others can change), as a store error. Returns
/// what is at the path now, not following links.
pub(super) fn safe_target(path: &Path) -> Result<Option<Metadata>, StoreError> {
    fsutil::check_target(path).map_err(refused)
}

/// Read a store file without following a symlink at it; None if absent.
///
/// The rule for writing applies to reading too ([`safe_target`], issue 19
/// item 8): a token file that another user owns in a directory others can
/// write (a planted file in `/tmp`), or below a directory another user can
/// change, is refused, never taken for "already holds a working token".
pub(super) fn read_file(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink() || m.is_file()) {
        // A link is said plainly too (O_NOFOLLOW's ELOOP reads "too many
        // levels of symbolic links"). Reads come before anything is
        // created: a refusal is a pre-flight one (exit 2).
        safe_target(path).map_err(|e| StoreError::Preflight(Box::new(e)))?;
    }
    match fsutil::read_nofollow(path) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => {
            Err(unusable(path, "is a directory"))
        }
        Err(e) => Err(io_err("read", path)(e)),
    }
}

/// Pre-flight of a directory a file will be written to: create a probe file
/// in it and remove it again, which finds what permission bits cannot tell
/// (a read-only mount, an ACL, an immutable directory, a full inode table).
pub(super) fn probe_dir(dir: &Path) -> Result<(), StoreError> {
    let probe = tempfile::Builder::new()
        .prefix(".influx-bootstrap-probe-")
        .tempfile_in(dir);
    match probe {
        Ok(f) => f.close().map_err(io_err("remove the probe file in", dir)),
        Err(e) => Err(unusable(
            dir,
            format!("cannot create a file in this directory: {e}"),
        )),
    }
}

/// Make a child's output fit for an error message: the token replaced by
/// `[redacted]`, control characters dropped, lines joined with ` | `, at most
/// about 2 KB (the start and the end, which is where errors usually are).
pub(super) fn clean_output(bytes: &[u8], token: &str) -> String {
    const MAX: usize = 2048;
    let text = String::from_utf8_lossy(bytes);
    let text = if token.is_empty() {
        text.into_owned()
    } else {
        text.replace(token, "[redacted]")
    };
    let joined = text
        .lines()
        .map(|l| {
            l.chars()
                .map(|c| if c == '\t' { ' ' } else { c })
                .filter(|c| !c.is_control())
                .collect::<String>()
                .trim()
                .to_string()
        })
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ");
    if joined.len() <= MAX {
        return joined;
    }
    let head_end = floor_char(&joined, MAX / 2);
    let tail_start = ceil_char(&joined, joined.len() - MAX / 2);
    format!("{} … {}", &joined[..head_end], &joined[tail_start..])
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}
