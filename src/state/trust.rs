//! The state directory is trusted only as far as the session cache is
//! (issue 17 item 3, M1 of the 2026-12-06 review): a rotate journal there
//! makes us revoke tokens with the person's credential, so a directory or
//! file another user could have planted is refused (exit 7), never read.
//!
//! - the state directory itself must be ours and writable by nobody else
//!   (a symbolic link to such a directory is fine: `~/.local` often is one);
//! - the directories we create in it (`tokens/`, `journal/`, `locks/`) must
//!   also not be symbolic links (a link there would make us write, and
//!   delete, files in a directory someone else chose);
//! - files are opened with `O_NOFOLLOW` and must be regular files of ours.
use crate::error::StateError;
use crate::fsutil;
use std::path::{Path, PathBuf};

fn unsafe_(path: &Path, why: String) -> StateError {
    StateError::Unsafe {
        path: path.to_path_buf(),
        why,
    }
}

pub(crate) fn io(path: &Path) -> impl Fn(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Check `dir` (if it exists): `Ok(false)` when it does not.
fn check_dir(dir: &Path, link_ok: bool) -> Result<bool, StateError> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() && !link_ok => {
            return Err(unsafe_(dir, "it is a symbolic link".into()));
        }
        Ok(m) if m.file_type().is_symlink() => std::fs::metadata(dir).map_err(io(dir))?,
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io(dir)(e)),
    };
    match fsutil::untrusted_dir(&meta) {
        Some(why) => Err(unsafe_(dir, why)),
        None => Ok(true),
    }
}

/// A directory of ours inside the state directory `root`.
#[derive(Debug, Clone)]
pub(crate) struct Area {
    pub root: PathBuf,
    pub dir: PathBuf,
}

impl Area {
    pub fn new(root: &Path, name: &str) -> Self {
        Area {
            root: root.to_path_buf(),
            dir: root.join(name),
        }
    }

    /// Both directories are safe; `Ok(false)` when one does not exist yet.
    pub fn check(&self) -> Result<bool, StateError> {
        Ok(check_dir(&self.root, true)? && check_dir(&self.dir, false)?)
    }

    /// Create what is missing (0700), then check it all.
    pub fn ensure(&self) -> Result<(), StateError> {
        check_dir(&self.root, true)?;
        fsutil::create_private_dir(&self.dir).map_err(io(&self.dir))?;
        if self.check()? {
            Ok(())
        } else {
            Err(io(&self.dir)(std::io::ErrorKind::NotFound.into()))
        }
    }

    /// Open `name` in this area with `opts`, refusing links and other
    /// users' files; `Ok(None)` when the directory or the file is missing.
    pub fn open(
        &self,
        name: &str,
        opts: &mut std::fs::OpenOptions,
    ) -> Result<Option<std::fs::File>, StateError> {
        if !self.check()? {
            return Ok(None);
        }
        let path = self.dir.join(name);
        let file = match fsutil::open_nofollow(opts, &path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(unsafe_(&path, "it is a symbolic link".into()));
                }
                return Err(io(&path)(e));
            }
        };
        let meta = file.metadata().map_err(io(&path))?;
        match fsutil::untrusted_file(&meta) {
            Some(why) => Err(unsafe_(&path, why)),
            None => Ok(Some(file)),
        }
    }

    /// The bytes of `name`, if it is there and safe.
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>, StateError> {
        use std::io::Read;
        let Some(mut f) = self.open(name, std::fs::OpenOptions::new().read(true))? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        f.read_to_end(&mut out).map_err(io(&self.dir.join(name)))?;
        Ok(Some(out))
    }

    /// Write `name` atomically (0600), in a checked directory.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), StateError> {
        self.ensure()?;
        let path = self.dir.join(name);
        fsutil::write_private(&path, bytes, Default::default()).map_err(|e| io(&path)(e.into()))
    }

    /// Remove `name` (gone already is fine).
    pub fn remove(&self, name: &str) -> Result<(), StateError> {
        if !self.check()? {
            return Ok(());
        }
        let path = self.dir.join(name);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&path)(e)),
            _ => Ok(()),
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn planted_dirs_links_and_files_are_refused() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("state");
        let area = Area::new(&root, "journal");
        // Nothing yet: nothing to read, and writing creates 0700 dirs.
        assert!(area.read("j.json").unwrap().is_none());
        area.write("j.json", b"{}").unwrap();
        assert_eq!(area.read("j.json").unwrap().unwrap(), b"{}");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&area.dir), 0o700);

        type Plant = fn(&Path, &Area);
        let cases: [(&str, Plant, &str, bool); 4] = [
            (
                "state dir writable by others",
                |root, _| {
                    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o777)).unwrap()
                },
                "writable by other users",
                true,
            ),
            (
                "journal dir writable by its group",
                |_, a| {
                    std::fs::set_permissions(&a.dir, std::fs::Permissions::from_mode(0o770))
                        .unwrap()
                },
                "writable by other users",
                true,
            ),
            (
                "journal dir is a link",
                |root, a| {
                    let elsewhere = root.with_file_name("elsewhere");
                    std::fs::create_dir_all(&elsewhere).unwrap();
                    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o700))
                        .unwrap();
                    std::fs::remove_dir_all(&a.dir).unwrap();
                    std::os::unix::fs::symlink(&elsewhere, &a.dir).unwrap();
                },
                "symbolic link",
                true,
            ),
            (
                "journal file is a link",
                |root, a| {
                    let target = root.with_file_name("target.json");
                    std::fs::write(&target, b"{}").unwrap();
                    std::fs::remove_file(a.dir.join("j.json")).unwrap();
                    std::os::unix::fs::symlink(&target, a.dir.join("j.json")).unwrap();
                },
                "symbolic link",
                // Only the file is wrong: a new file there is fine.
                false,
            ),
        ];
        for (name, plant, want, write_refused) in cases {
            let t = tempfile::tempdir().unwrap();
            let root = t.path().join("state");
            let area = Area::new(&root, "journal");
            area.write("j.json", b"{}").unwrap();
            plant(&root, &area);
            let read = area.read("j.json").unwrap_err().to_string();
            assert!(read.contains(want), "{name}: {read}");
            match area.write("k.json", b"{}") {
                Err(e) => assert!(write_refused && e.to_string().contains(want), "{name}: {e}"),
                Ok(()) => assert!(!write_refused, "{name}: written"),
            }
        }
    }
}
