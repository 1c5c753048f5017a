//! Files that hold secrets: 0600 files in 0700 directories, written atomically
//! (temp file in the same directory + fsync + rename, then fsync the directory)
//! so a crash leaves either the old content or the new, never half a token.
//!
//! Written for a machine shared with people who may be hostile: a secret is
//! never written through a symbolic link, never into a directory someone
//! else can change (unless it is sticky and the file is ours), and always
//! ends up in a fresh inode that we own. A run killed mid-write leaves a temp
//! file that the next write to the same directory removes.
use std::fs::Metadata;
use std::io::Write;
use std::path::{Path, PathBuf};

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
    /// The path or its directory is not safe for a secret ([`check_target`]).
    Refused(Refusal),
}

impl From<WriteError> for std::io::Error {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Io { source, .. } => source,
            WriteError::Exists => std::io::ErrorKind::AlreadyExists.into(),
            WriteError::Changed => {
                std::io::Error::other("the file changed while we were writing it")
            }
            WriteError::Refused(r) => {
                std::io::Error::new(std::io::ErrorKind::PermissionDenied, r.to_string())
            }
        }
    }
}

/// A path we refuse to write a secret to, and why (both shown to people).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub path: PathBuf,
    pub why: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refusing to use {}: {}", self.path.display(), self.why)
    }
}

/// Our effective user id (0 where there is none).
pub fn euid() -> u32 {
    #[cfg(unix)]
    // SAFETY: geteuid has no preconditions and cannot fail.
    return unsafe { libc::geteuid() };
    #[cfg(not(unix))]
    0
}

/// Is a directory with this metadata one that someone other than us (and
/// root) can change entries in? Returns why, if so. A sticky directory
/// (`/tmp`) is fine as long as the entry we care about is ours (`entry_uid`
/// None: there is none yet), since others cannot rename or delete it there.
#[cfg(unix)]
pub fn others_can_write(dir: &Metadata, entry_uid: Option<u32>) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let me = euid();
    let (uid, mode) = (dir.uid(), dir.mode() & 0o7777);
    if uid != me && uid != 0 {
        return Some(format!(
            "the directory belongs to another user (uid {uid}), who could replace the file"
        ));
    }
    if mode & 0o022 == 0 {
        return None;
    }
    let sticky = mode & 0o1000 != 0;
    if sticky && entry_uid.is_none_or(|u| u == me) {
        return None;
    }
    let who = if mode & 0o002 != 0 {
        "other users"
    } else {
        "its group"
    };
    Some(if sticky {
        format!(
            "the directory is writable by {who} (mode {mode:04o}) and the file there belongs to another user (uid {})",
            entry_uid.unwrap_or_default()
        )
    } else {
        format!("the directory is writable by {who} (mode {mode:04o}), who could replace the file")
    })
}

/// Is `path` a place a secret may be written to? Never through a symbolic
/// link (an attacker's link would make us write, or chmod, the file it points
/// to), never a non-regular file, never in a directory others can change
/// ([`others_can_write`]). Returns what is there now (not following links).
/// A directory that does not exist yet passes: what we create is 0700.
pub fn check_target(path: &Path) -> Result<Option<Metadata>, Refusal> {
    let refuse = |p: &Path, why: String| Refusal {
        path: p.to_path_buf(),
        why,
    };
    let existing = match std::fs::symlink_metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(refuse(path, format!("cannot inspect it: {e}"))),
    };
    if let Some(m) = &existing {
        if m.file_type().is_symlink() {
            let to = std::fs::read_link(path)
                .map(|t| format!(" (to {})", t.display()))
                .unwrap_or_default();
            return Err(refuse(
                path,
                format!(
                    "it is a symbolic link{to}; a file holding a secret is never written through a link \
                     (name the real file, or remove the link)"
                ),
            ));
        }
        if !m.is_file() {
            return Err(refuse(path, "it is not a regular file".into()));
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let dir = parent(path);
        if let Ok(d) = std::fs::metadata(dir)
            && let Some(why) = others_can_write(&d, existing.as_ref().map(|m| m.uid()))
        {
            return Err(refuse(dir, why));
        }
        check_ancestors(dir).map_err(|(p, why)| refuse(&p, why))?;
    }
    Ok(existing)
}

/// Every directory above `dir`, from `/` down, as OpenSSH checks the path of
/// `authorized_keys` (issue 19 item 9): none may be changeable by another
/// user ([`others_can_write`], with the uid of the entry below it, so a
/// sticky `/tmp` above a directory of ours passes). A user who owns a higher
/// directory could otherwise swap a lower one for a link between our check
/// and our write, and redirect it. Both the path as given and its real path
/// (links resolved) are walked; parts that do not exist yet end the walk
/// (what we create there is ours, 0700).
#[cfg(unix)]
pub fn check_ancestors(dir: &Path) -> Result<(), (PathBuf, String)> {
    use std::os::unix::fs::MetadataExt;
    let given = std::path::absolute(dir).ok();
    let real = std::fs::canonicalize(dir).ok();
    for p in [given, real].into_iter().flatten() {
        let mut cur = PathBuf::new();
        for comp in p.components() {
            let next = cur.join(comp);
            if cur.as_os_str().is_empty() || matches!(comp, std::path::Component::ParentDir) {
                cur = next;
                continue;
            }
            let (Ok(d), Ok(entry)) = (std::fs::metadata(&cur), std::fs::symlink_metadata(&next))
            else {
                break;
            };
            if let Some(why) = others_can_write(&d, Some(entry.uid())) {
                return Err((cur, why));
            }
            cur = next;
        }
    }
    Ok(())
}

/// The directory a file lives in (`.` for a bare name).
fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Why a directory we keep private state in (the session cache, the state
/// directory) is not safely ours, if it is not: not a directory, another
/// owner, or writable by anyone else. Another user who can change entries
/// there could plant a session, a rotate journal that makes us revoke
/// tokens, or a symlink where we create a file.
pub fn untrusted_dir(meta: &Metadata) -> Option<String> {
    if !meta.is_dir() {
        return Some("it is not a directory".into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let (uid, mode) = (meta.uid(), meta.mode() & 0o7777);
        if uid != euid() {
            return Some(format!("the directory belongs to another user (uid {uid})"));
        }
        if mode & 0o022 != 0 {
            return Some(format!(
                "the directory is writable by other users (mode {mode:04o})"
            ));
        }
    }
    None
}

/// Why a file opened in such a directory (with [`open_nofollow`], so not a
/// symbolic link) is not safely ours, if it is not.
pub fn untrusted_file(meta: &Metadata) -> Option<String> {
    if !meta.is_file() {
        return Some("it is not a regular file".into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.uid() != euid() {
            return Some(format!("it belongs to another user (uid {})", meta.uid()));
        }
    }
    None
}

/// Open with `opts` without following a symbolic link at the final
/// component (`O_NOFOLLOW`: a link there is `ELOOP`).
pub fn open_nofollow(
    opts: &mut std::fs::OpenOptions,
    path: &Path,
) -> std::io::Result<std::fs::File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW);
    }
    opts.open(path)
}

/// Read a file without following a symbolic link at its final component
/// (`O_NOFOLLOW`): a link there is an error, never someone else's file.
pub fn read_nofollow(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut f = open_nofollow(std::fs::OpenOptions::new().read(true), path)?;
    let mut out = Vec::new();
    f.read_to_end(&mut out)?;
    Ok(out)
}

/// The prefix of our temporary files; the pid after it lets a later run
/// tell a dead writer's leftovers from a live writer's file.
const TEMP_PREFIX: &str = ".influx-bootstrap-";
const TEMP_SUFFIX: &str = ".tmp";
/// A temp file is only ever open for the few milliseconds of a write and an
/// fsync: one whose writer is gone and that is older than this is stale.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(60);
/// Temp files of older versions carry no pid: stale after this long.
const STALE_NO_PID_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// Remove our own stale temporary files from `dir`: a run killed during the
/// fsync (SIGKILL, power loss) leaves a `.influx-bootstrap-<pid>-*.tmp` file
/// that holds a token. Only regular files owned by us, whose writer process
/// is gone (or that carry no pid and are an hour old), and that are older
/// than a minute, are removed. Returns how many were removed.
pub fn clean_stale_temps(dir: &Path) -> usize {
    fn ours(n: &str) -> Option<&str> {
        n.strip_prefix(TEMP_PREFIX)
            .and_then(|n| n.strip_suffix(TEMP_SUFFIX))
    }
    let mut removed = 0;
    for l in leftovers(dir, ours, false) {
        let stale = match l.pid {
            Some(pid) => l.age >= STALE_AFTER && !process_alive(pid),
            None => l.age >= STALE_NO_PID_AFTER,
        };
        if stale && std::fs::remove_file(&l.path).is_ok() {
            tracing::info!("removed a stale temporary file {}", l.path.display());
            removed += 1;
        }
    }
    removed
}

/// Something a run of ours may have left in a directory ([`leftovers`]).
pub struct Leftover {
    pub path: PathBuf,
    /// The pid in its name (the first `-`-separated part after the prefix).
    pub pid: Option<u32>,
    /// Since it was last modified.
    pub age: std::time::Duration,
}

/// The entries of `dir` whose name `ours` recognises (returning what follows
/// our prefix: `<pid>-…`), that we own, and that are directories (`dirs`) or
/// regular files — never a link. Deciding which are stale is the caller's.
pub fn leftovers(dir: &Path, ours: impl Fn(&str) -> Option<&str>, dirs: bool) -> Vec<Leftover> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(&ours) else {
            continue;
        };
        let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        if (dirs && !meta.is_dir()) || (!dirs && !meta.is_file()) {
            continue;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if meta.uid() != euid() {
                continue;
            }
        }
        out.push(Leftover {
            path: e.path(),
            pid: rest.split_once('-').and_then(|(p, _)| p.parse().ok()),
            age: meta
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .unwrap_or_default(),
        });
    }
    out
}

/// Does a process with this pid exist (on this host's pid namespace)?
pub fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = i32::try_from(pid) else {
            return false;
        };
        // SAFETY: signal 0 performs only the existence and permission check.
        if unsafe { libc::kill(pid, 0) } == 0 {
            return true;
        }
        // EPERM: it exists, it is just not ours.
        std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// The one atomic writer for files that hold secrets: the path is checked
/// ([`check_target`]: no symlink, no directory others can write), then a
/// 0600 temp file in the same directory (random name, O_EXCL) is written,
/// fsynced and renamed into place (no-clobber if asked), and the directory
/// fsynced. A crash leaves the old content or the new, never half a token;
/// the file that ends up at `path` is always a fresh inode owned by us, mode
/// 0600 (never the old file's owner: a file someone else owns is one they
/// can read). Our own stale temp files in the directory are removed first
/// ([`clean_stale_temps`]).
pub fn write_private(path: &Path, contents: &[u8], how: Replace<'_>) -> Result<(), WriteError> {
    let io = |what: &'static str, p: &Path| {
        let path = p.to_path_buf();
        move |source| WriteError::Io { what, path, source }
    };
    let dir = parent(path);
    check_target(path).map_err(WriteError::Refused)?;
    clean_stale_temps(dir);
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(io("create a temporary file in", dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // tempfile already creates 0600; say so explicitly regardless.
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io("set permissions of", tmp.path()))?;
    }
    tmp.write_all(contents).map_err(io("write", tmp.path()))?;
    tmp.as_file().sync_all().map_err(io("write", tmp.path()))?;
    if let Some(orig) = how.unchanged {
        let now = read_nofollow(path).map_err(io("read", path))?;
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

    #[cfg(unix)]
    #[test]
    fn stale_temp_files_of_ours_are_removed_and_others_kept() {
        use std::time::{Duration, SystemTime};
        let dir = tempfile::tempdir().unwrap();
        let old = SystemTime::now() - Duration::from_secs(7200);
        // A pid that cannot be running: above the kernel's pid_max.
        let dead = 99_999_999u32;
        let me = std::process::id();
        let cases: [(String, SystemTime, bool); 5] = [
            (format!(".influx-bootstrap-{dead}-abc.tmp"), old, true),
            (
                format!(".influx-bootstrap-{dead}-new.tmp"),
                SystemTime::now(),
                false,
            ),
            (format!(".influx-bootstrap-{me}-live.tmp"), old, false),
            (".influx-bootstrap-AbCdEf.tmp".into(), old, true),
            ("unrelated.tmp".into(), old, false),
        ];
        for (name, mtime, _) in &cases {
            let f = std::fs::File::create(dir.path().join(name)).unwrap();
            f.set_modified(*mtime).unwrap();
        }
        assert_eq!(clean_stale_temps(dir.path()), 2);
        for (name, _, removed) in &cases {
            assert_eq!(!dir.path().join(name).exists(), *removed, "{name}");
        }
        // And a write into the directory cleans up on its way.
        let f = std::fs::File::create(dir.path().join(".influx-bootstrap-1-x.tmp")).unwrap();
        f.set_modified(old).unwrap();
        write_private_atomic(&dir.path().join("s"), b"x").unwrap();
        // pid 1 is alive (init): kept.
        assert!(dir.path().join(".influx-bootstrap-1-x.tmp").exists());
    }

    #[cfg(unix)]
    #[test]
    fn targets_are_checked_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::write(&real, "x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let e = write_private_atomic(&link, b"secret").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read(&real).unwrap(), b"x");
        assert!(read_nofollow(&link).is_err());
        let e = write_private_atomic(dir.path(), b"secret").unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }
}
