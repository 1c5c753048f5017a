//! `file:PATH`: a 0600 file holding the token and a newline.
//!
//! An existing file is never replaced without `force`, and the check is not
//! racy: the new file is renamed into place with a no-clobber rename
//! (`renameat2(RENAME_NOREPLACE)` or link+unlink), so a file that appears
//! between the check and the rename is left alone. With `force` the file is
//! replaced atomically by a fresh 0600 file that we own.
//!
//! A symbolic link at PATH is refused (never followed, never replaced), and
//! so is a directory that other users can change (unless it is sticky and
//! the file there is ours): see [`crate::fsutil::check_target`].
use super::util::{self, Replace};
use super::{StoreError, StoreOptions, StoreOutcome};
use crate::secret::Secret;
use std::path::Path;

pub(super) fn write(
    path: &Path,
    token: &str,
    opts: &StoreOptions,
) -> Result<StoreOutcome, StoreError> {
    let existing = util::safe_target(path)?;
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
    let Some(data) = util::read_file(path)? else {
        return Ok(None);
    };
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        util::warn_if_loose(path, &meta);
    }
    let text = String::from_utf8(data).map_err(|_| util::unusable(path, "not UTF-8 text"))?;
    let first = text.lines().next().unwrap_or("").trim();
    Ok((!first.is_empty()).then(|| Secret::new(first)))
}

pub(super) fn check(path: &Path, opts: &StoreOptions) -> Result<(), StoreError> {
    let existing = util::preflight_target(path)?;
    if existing.is_some() && !opts.force {
        return Err(StoreError::Exists {
            path: path.to_path_buf(),
        });
    }
    if let Some(meta) = &existing {
        util::warn_if_loose(path, meta);
    }
    Ok(())
}
