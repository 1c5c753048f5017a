//! Files that hold secrets: 0600 files in 0700 directories, written atomically
//! (temp file in the same directory + fsync + rename, then fsync the directory)
//! so a crash leaves either the old content or the new, never half a token.
use std::io::Write;
use std::path::Path;

/// Create `dir` (and parents) with mode 0700 for the directories we create.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// How [`write_private`] replaces a file.
#[derive(Default)]
pub struct Replace<'a> {
    /// Fail with [`WriteError::Exists`] if something appeared at the path
    /// (no-clobber rename).
    pub noclobber: bool,
    /// Give the new file the owner and group of the file it replaces (best
    /// effort: works as root, or for a group we are in).
    pub keep_owner: Option<&'a std::fs::Metadata>,
    /// Refuse if the file no longer holds these bytes (someone edited it
    /// while we were working): a read-modify-write must not lose their change.
    pub unchanged: Option<&'a [u8]>,
}

/// Why [`write_private`] wrote nothing.
#[derive(Debug)]
pub enum WriteError {
    Io {
        /// "create a temporary file in", "write", "replace"…
        what: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// `noclobber` and the path exists.
    Exists,
    /// `unchanged` and the file changed under us.
    Changed,
}

impl From<WriteError> for std::io::Error {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Io { source, .. } => source,
            WriteError::Exists => std::io::ErrorKind::AlreadyExists.into(),
            WriteError::Changed => {
                std::io::Error::other("the file changed while we were writing it")
            }
        }
    }
}

/// The one atomic writer for files that hold secrets: a 0600 temp file in
/// the same directory (random name, O_EXCL), fsync, rename (no-clobber if
/// asked), fsync of the directory. A crash leaves the old content or the
/// new, never half a token.
pub fn write_private(path: &Path, contents: &[u8], how: Replace<'_>) -> Result<(), WriteError> {
    let io = |what: &'static str, p: &Path| {
        let path = p.to_path_buf();
        move |source| WriteError::Io { what, path, source }
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".influx-bootstrap-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io("create a temporary file in", dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        // tempfile already creates 0600; say so explicitly regardless.
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io("set permissions of", tmp.path()))?;
        if let Some(meta) = how.keep_owner {
            let (uid, gid) = (meta.uid(), meta.gid());
            let mine = tmp.as_file().metadata().ok();
            if mine.is_some_and(|m| m.uid() != uid || m.gid() != gid)
                && std::os::unix::fs::fchown(tmp.as_file(), Some(uid), Some(gid)).is_err()
            {
                // Not root: at least keep the group if we may.
                let _ = std::os::unix::fs::fchown(tmp.as_file(), None, Some(gid));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = how.keep_owner;
    tmp.write_all(contents).map_err(io("write", tmp.path()))?;
    tmp.as_file().sync_all().map_err(io("write", tmp.path()))?;
    if let Some(orig) = how.unchanged {
        let now = std::fs::read(path).map_err(io("read", path))?;
        if now != orig {
            return Err(WriteError::Changed);
        }
    }
    let persisted = if how.noclobber {
        tmp.persist_noclobber(path)
    } else {
        tmp.persist(path)
    };
    if let Err(e) = persisted {
        if how.noclobber && e.error.kind() == std::io::ErrorKind::AlreadyExists {
            return Err(WriteError::Exists);
        }
        return Err(io("replace", path)(e.error));
    }
    sync_dir(dir);
    Ok(())
}

/// Atomically replace `path` with `contents`, mode 0600.
pub fn write_private_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    Ok(write_private(path, contents, Replace::default())?)
}

/// fsync a directory so the rename itself is durable (best effort: not all
/// platforms or filesystems support it).
pub fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Permission bits of a file (Unix), None elsewhere.
pub fn mode(path: &Path) -> std::io::Result<Option<u32>> {
    let meta = std::fs::metadata(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Ok(Some(meta.permissions().mode() & 0o7777))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_is_private_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        create_private_dir(&sub).unwrap();
        let p = sub.join("secret.json");
        write_private_atomic(&p, b"one").unwrap();
        write_private_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        #[cfg(unix)]
        {
            assert_eq!(mode(&p).unwrap(), Some(0o600));
            assert_eq!(mode(&sub).unwrap(), Some(0o700));
        }
        // No temp files left behind.
        let names: Vec<_> = std::fs::read_dir(&sub).unwrap().collect();
        assert_eq!(names.len(), 1);
    }
}
