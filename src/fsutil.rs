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

/// Atomically replace `path` with `contents`, mode 0600.
pub fn write_private_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // tempfile creates the file 0600 on Unix; the name is random, O_EXCL.
    let mut tmp = tempfile::Builder::new()
        .prefix(".influx-bootstrap-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir);
    Ok(())
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
