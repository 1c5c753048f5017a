//! `file:PATH`: a 0600 file holding the token and a newline.
//!
//! An existing file is never replaced without `force`, and the check is not
//! racy: the new file is renamed into place with a no-clobber rename
//! (`renameat2(RENAME_NOREPLACE)` or link+unlink), so a file that appears
//! between the check and the rename is left alone. With `force` the file is
//! replaced atomically (a symlink at PATH is replaced by the new file, not
//! followed).
use super::util::{self, Replace};
use super::{StoreError, StoreOptions, StoreOutcome};
use crate::secret::Secret;
use std::path::Path;

pub(super) fn write(
    path: &Path,
    token: &str,
    opts: &StoreOptions,
) -> Result<StoreOutcome, StoreError> {
    let existing = existing(path)?;
    if existing.is_some() && !opts.force {
        return Err(StoreError::Exists {
            path: path.to_path_buf(),
        });
    }
    let new_dirs = util::first_missing_dir(path);
    let created = util::ensure_parent(path)?;
    let mut contents = Vec::with_capacity(token.len() + 1);
    contents.extend_from_slice(token.as_bytes());
    contents.push(b'\n');
    let written = util::write_atomic(
        path,
        &contents,
        Replace {
            noclobber: !opts.force,
            keep_owner: existing.as_ref(),
            unchanged: None,
        },
    );
    if let Err(e) = written {
        // Leave nothing behind: not even the directories made for it.
        if let Some(top) = &new_dirs {
            util::remove_created_dirs(path, top);
        }
        return Err(e);
    }
    let mut out = StoreOutcome::new(format!("wrote {} (0600)", path.display()));
    if let Some(n) = created {
        out = out.note(n);
    }
    if let Some(meta) = &existing {
        out = out.note("replaced the existing file (--force)");
        if meta.is_file()
            && let Some(n) = util::tightened(Some(meta))
        {
            out = out.note(n);
        }
    }
    Ok(out)
}

pub(super) fn read(path: &Path) -> Result<Option<Secret>, StoreError> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(util::io_err("read", path)(e)),
    };
    if let Ok(meta) = std::fs::metadata(path) {
        util::warn_if_loose(path, &meta);
    }
    let text = String::from_utf8(data).map_err(|_| util::unusable(path, "not UTF-8 text"))?;
    let first = text.lines().next().unwrap_or("").trim();
    Ok((!first.is_empty()).then(|| Secret::new(first)))
}

pub(super) fn check(path: &Path, opts: &StoreOptions) -> Result<(), StoreError> {
    match existing(path)? {
        Some(_) if !opts.force => Err(StoreError::Exists {
            path: path.to_path_buf(),
        }),
        Some(_) => {
            if let Ok(meta) = std::fs::metadata(path) {
                util::warn_if_loose(path, &meta);
            }
            util::check_parent(path).map(|_| ())
        }
        None => util::check_parent(path).map(|_| ()),
    }
}

/// Metadata of what is at `path` now (not following a final symlink), or
/// None; a directory there is an error.
fn existing(path: &Path) -> Result<Option<std::fs::Metadata>, StoreError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => Err(util::unusable(path, "is a directory")),
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(util::io_err("inspect", path)(e)),
    }
}
