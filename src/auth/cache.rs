//! The session cache: one JSON file per (issuer or token URL, client, audience,
//! cluster, requested scopes, extra authorization parameters), so one
//! cluster's session is never sent to another, and a profile that asks for
//! more is never handed a session granted less.
//!
//! Files are 0600 in a 0700 directory and replaced atomically. A per-session
//! lock file serialises refreshes across processes: with rotating refresh
//! tokens, two processes refreshing with the same token would have the second
//! one revoke the whole grant (reuse detection), so the second waits, re-reads
//! and finds the fresh tokens.
use super::idtoken::Identity;
use crate::error::CacheError;
use crate::fsutil;
use crate::printer::Printer;
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::path::{Path, PathBuf};
use url::Url;

pub const FORMAT_VERSION: u32 = 1;

/// What identifies a session. Two profiles with the same key share it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionKey {
    /// The issuer, or the token URL when there is no issuer.
    pub authority: String,
    pub client_id: String,
    pub audience: Option<String>,
    /// `host:port` of the cluster.
    pub cluster: String,
    /// The scopes the profile asks for, sorted and without repeats. Sessions
    /// saved before this field existed read as asking for none: they never
    /// match a profile again (its key has a different file name anyway), and
    /// `logout --all` still finds and revokes them.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The extra authorization request parameters (`audience`, `resource`
    /// (RFC 8707), …): a token for one resource is no token for another.
    #[serde(default)]
    pub parameters: std::collections::BTreeMap<String, String>,
}

impl SessionKey {
    fn file_stem(&self) -> String {
        let mut h = Sha256::new();
        let json = serde_json::to_vec(&(
            &self.authority,
            &self.client_id,
            &self.audience,
            &self.cluster,
            &self.scopes,
            &self.parameters,
        ))
        .expect("serialising strings cannot fail");
        h.update(&json);
        format!("session-{}", &hex::encode(h.finalize())[..32])
    }
}

/// One cached session. An `Option` field missing from a file an earlier
/// version wrote reads as `None` (serde's rule for a missing field), so only
/// fields of other types would need `#[serde(default)]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub version: u32,
    pub key: SessionKey,
    /// The profile that created it (for `logout --all` and `status`).
    pub profile: String,
    pub token_endpoint: Url,
    pub revocation_endpoint: Option<Url>,
    pub jwks_uri: Option<Url>,
    pub issuer: Option<String>,
    pub access_token: Secret,
    pub expires_at: Option<DateTime<Utc>>,
    pub refresh_token: Option<Secret>,
    /// When the refresh token stops working, if the provider said so
    /// (`refresh_expires_in`, or the `exp` of a JWT refresh token).
    pub refresh_expires_at: Option<DateTime<Utc>>,
    pub id_token: Option<Secret>,
    pub scope: Option<String>,
    pub identity: Option<Identity>,
    pub obtained_at: DateTime<Utc>,
    pub refreshed_at: Option<DateTime<Utc>>,
}

/// Access tokens this close to expiry count as expired, so a request made
/// right after the check does not fail in flight.
pub const EXPIRY_SKEW: chrono::Duration = chrono::Duration::seconds(30);

/// `now + expires_in`, with the provider's `expires_in` capped at a year: a
/// huge one (`18446744073709551615`) overflowed the date arithmetic and
/// panicked after approval (issue 11, item 11).
pub fn expires_at(now: DateTime<Utc>, expires_in: std::time::Duration) -> DateTime<Utc> {
    const YEAR: std::time::Duration = std::time::Duration::from_secs(365 * 86_400);
    chrono::Duration::from_std(expires_in.min(YEAR))
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(now)
}

impl Session {
    pub fn access_token_valid(&self, now: DateTime<Utc>) -> bool {
        match self.expires_at {
            Some(t) => t - EXPIRY_SKEW > now,
            // No `expires_in`: RFC 6749 lets the server omit it. Trust it for
            // an hour after we got it, then refresh.
            None => {
                self.refreshed_at.unwrap_or(self.obtained_at) + chrono::Duration::hours(1) > now
            }
        }
    }
}

#[derive(Clone)]
pub struct Cache {
    dir: PathBuf,
    /// Where the warnings about discarded files go.
    printer: Printer,
}

/// A session being written by [`Cache::store_beside`]. Waited for at the
/// latest when dropped (so the process never exits before the file is in
/// place); a failure then is a warning: the token the command made stays
/// made, and the next command logs in again.
pub struct Saving {
    handle: std::sync::Mutex<Option<std::thread::JoinHandle<Result<PathBuf, CacheError>>>>,
    printer: Printer,
}

impl Saving {
    /// Wait until the session is written: where, or why not (once; `None`
    /// when it was waited for already).
    pub fn wait(&self) -> Result<Option<PathBuf>, CacheError> {
        let handle = self.handle.lock().unwrap_or_else(|e| e.into_inner()).take();
        match handle {
            Some(h) => h
                .join()
                .expect("writing the session does not panic")
                .map(Some),
            None => Ok(None),
        }
    }

    /// [`Saving::wait`], a failure said as a warning.
    pub fn settle(&self) {
        if let Err(e) = self.wait() {
            self.printer.warn(format!(
                "could not save the session: {e}; the next command will ask you to log in again"
            ));
        }
    }
}

impl std::fmt::Debug for Saving {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Saving")
    }
}

impl Drop for Saving {
    fn drop(&mut self) {
        self.settle();
    }
}

/// Holds the per-session lock until dropped.
pub struct Lock {
    _file: File,
}

pub enum Locking {
    Held(Lock),
    Busy(PendingLock),
}

/// A lock another process holds; [`PendingLock::wait`] blocks until it is ours.
pub struct PendingLock {
    file: File,
    path: PathBuf,
}

impl PendingLock {
    pub fn wait(self) -> Result<Lock, CacheError> {
        self.file.lock().map_err(|source| CacheError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(Lock { _file: self.file })
    }
}

impl Cache {
    pub fn new(dir: PathBuf, printer: Printer) -> Self {
        Cache { dir, printer }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn io(&self, path: &Path) -> impl Fn(std::io::Error) -> CacheError + '_ {
        let path = path.to_path_buf();
        move |source| CacheError::Io {
            path: path.clone(),
            source,
        }
    }

    pub fn path(&self, key: &SessionKey) -> PathBuf {
        self.dir.join(format!("{}.json", key.file_stem()))
    }

    fn ensure_dir(&self) -> Result<(), CacheError> {
        fsutil::create_private_dir(&self.dir).map_err(self.io(&self.dir))?;
        self.check_dir()
    }

    /// The cache directory must be ours and writable by nobody else:
    /// otherwise another user could plant a session (and make `status` show
    /// their identity as verified) or a symlink where we create a lock.
    /// A directory that does not exist yet is fine (we create it 0700).
    pub fn check_dir(&self) -> Result<(), CacheError> {
        let meta = match std::fs::metadata(&self.dir) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(self.io(&self.dir)(e)),
        };
        if !meta.is_dir() {
            return Err(self.unsafe_(&self.dir, "it is not a directory".into()));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let (uid, mode) = (meta.uid(), meta.mode() & 0o7777);
            if uid != fsutil::euid() {
                return Err(CacheError::Foreign {
                    path: self.dir.clone(),
                    uid,
                    as_root: fsutil::euid() == 0,
                });
            }
            if mode & 0o022 != 0 {
                return Err(self.unsafe_(
                    &self.dir,
                    format!("the directory is writable by other users (mode {mode:04o})"),
                ));
            }
        }
        Ok(())
    }

    fn unsafe_(&self, path: &Path, why: String) -> CacheError {
        CacheError::Unsafe {
            path: path.to_path_buf(),
            why,
        }
    }

    /// A file in the cache must be a regular file of ours (not a symlink —
    /// files are opened with `O_NOFOLLOW` — and not another user's).
    fn check_file(&self, path: &Path, meta: &std::fs::Metadata) -> Result<(), CacheError> {
        match fsutil::untrusted_file(meta) {
            Some(why) => Err(self.unsafe_(path, why)),
            None => Ok(()),
        }
    }

    /// Open a cache file without following a symbolic link at it.
    fn open_nofollow(opts: &mut std::fs::OpenOptions, path: &Path) -> std::io::Result<File> {
        fsutil::open_nofollow(opts, path)
    }

    /// Turn O_NOFOLLOW's ELOOP into a plain refusal.
    fn open_err(&self, path: &Path) -> impl Fn(std::io::Error) -> CacheError + '_ {
        let path = path.to_path_buf();
        move |e| {
            if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                CacheError::Unsafe {
                    path: path.clone(),
                    why: "it is a symbolic link".into(),
                }
            } else {
                CacheError::Io {
                    path: path.clone(),
                    source: e,
                }
            }
        }
    }

    /// Try to take the session's lock without waiting. `Busy` means another
    /// process holds it: tell the person, then [`PendingLock::wait`].
    pub fn try_lock(&self, key: &SessionKey) -> Result<Locking, CacheError> {
        self.ensure_dir()?;
        let path = self.dir.join(format!("{}.lock", key.file_stem()));
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = Self::open_nofollow(&mut opts, &path).map_err(self.open_err(&path))?;
        let meta = file.metadata().map_err(self.io(&path))?;
        self.check_file(&path, &meta)?;
        match file.try_lock() {
            Ok(()) => Ok(Locking::Held(Lock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(Locking::Busy(PendingLock { file, path })),
            Err(std::fs::TryLockError::Error(e)) => Err(self.io(&path)(e)),
        }
    }

    /// Take the session's lock, waiting as long as another process holds it.
    pub fn lock(&self, key: &SessionKey) -> Result<Lock, CacheError> {
        match self.try_lock(key)? {
            Locking::Held(l) => Ok(l),
            Locking::Busy(p) => p.wait(),
        }
    }

    /// Load a session. A corrupt file is discarded with a warning; a file
    /// other users can read is refused (its tokens may already be stolen, and
    /// silently using or fixing it would hide that).
    pub fn load(&self, key: &SessionKey) -> Result<Option<Session>, CacheError> {
        let path = self.path(key);
        let Some(session) = self.load_path(&path)? else {
            return Ok(None);
        };
        if session.key != *key {
            tracing::warn!(
                "session cache {} belongs to another key; ignoring it",
                path.display()
            );
            return Ok(None);
        }
        Ok(Some(session))
    }

    pub fn load_path(&self, path: &Path) -> Result<Option<Session>, CacheError> {
        use std::io::Read;
        self.check_dir()?;
        let mut file = match Self::open_nofollow(std::fs::OpenOptions::new().read(true), path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.open_err(path)(e)),
        };
        let meta = file.metadata().map_err(self.io(path))?;
        self.check_file(path, &meta)?;
        let mut text = Vec::new();
        file.read_to_end(&mut text).map_err(self.io(path))?;
        if let Some(mode) = fsutil::mode(path).map_err(self.io(path))?
            && mode & 0o077 != 0
        {
            return Err(CacheError::Insecure {
                path: path.to_path_buf(),
                mode,
            });
        }
        match serde_json::from_slice::<Session>(&text) {
            Ok(s) if s.version == FORMAT_VERSION => Ok(Some(s)),
            Ok(s) => {
                self.printer.warn(format!(
                    "discarding session cache {} (format version {}, expected {FORMAT_VERSION})",
                    path.display(),
                    s.version
                ));
                let _ = std::fs::remove_file(path);
                Ok(None)
            }
            Err(e) => {
                // The error names the position only, never content.
                self.printer.warn(format!(
                    "discarding corrupt session cache {} ({e}); you will need to log in again",
                    path.display()
                ));
                let _ = std::fs::remove_file(path);
                Ok(None)
            }
        }
    }

    pub fn store(&self, session: &Session) -> Result<PathBuf, CacheError> {
        self.ensure_dir()?;
        let path = self.path(&session.key);
        let json = serde_json::to_vec_pretty(session).expect("session serialises");
        fsutil::write_private_atomic(&path, &json).map_err(self.io(&path))?;
        Ok(path)
    }

    /// Write `session` on a thread of its own while the caller goes on,
    /// holding `lock` until the file is in place ([`Saving`]): after a
    /// device flow, the file's two fsyncs (about 5 ms) need not come before
    /// the first cluster request (issue 21).
    pub fn store_beside(&self, session: Session, lock: Lock) -> Saving {
        let cache = self.clone();
        let handle = std::thread::spawn(move || {
            let written = cache.store(&session);
            drop(lock);
            written
        });
        Saving {
            handle: std::sync::Mutex::new(Some(handle)),
            printer: self.printer.clone(),
        }
    }

    /// Deletes the session's `.lock` file (for `logout`, which forgets the
    /// session for good). A process already waiting on it gets the lock on
    /// the unlinked file and then finds no session, which is what logout means.
    pub fn remove_lock_file(&self, key: &SessionKey) -> Result<(), CacheError> {
        let path = self.dir.join(format!("{}.lock", key.file_stem()));
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io(&path)(e)),
        }
    }

    pub fn remove(&self, key: &SessionKey) -> Result<bool, CacheError> {
        let path = self.path(key);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.io(&path)(e)),
        }
    }

    /// Every session file in the cache (for `logout --all`).
    pub fn all_paths(&self) -> Result<Vec<PathBuf>, CacheError> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io(&self.dir)(e)),
        };
        let mut out: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("session-") && n.ends_with(".json"))
            })
            .collect();
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(cluster: &str) -> SessionKey {
        SessionKey {
            authority: "https://idp".into(),
            client_id: "c".into(),
            audience: None,
            cluster: cluster.into(),
            scopes: vec!["openid".into()],
            parameters: Default::default(),
        }
    }

    fn session(k: SessionKey) -> Session {
        Session {
            version: FORMAT_VERSION,
            key: k,
            profile: "default".into(),
            token_endpoint: Url::parse("https://idp/token").unwrap(),
            revocation_endpoint: None,
            jwks_uri: None,
            issuer: None,
            access_token: Secret::new("at-secret"),
            expires_at: None,
            refresh_token: Some(Secret::new("rt-secret")),
            refresh_expires_at: None,
            id_token: None,
            scope: None,
            identity: None,
            obtained_at: Utc::now(),
            refreshed_at: None,
        }
    }

    #[test]
    fn keys_isolate_clusters_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("c"), Printer::capture());
        let a = key("a:443");
        let b = key("b:443");
        assert_ne!(cache.path(&a), cache.path(&b));
        cache.store(&session(a.clone())).unwrap();
        assert!(cache.load(&b).unwrap().is_none());
        let back = cache.load(&a).unwrap().unwrap();
        assert_eq!(back.access_token.expose(), "at-secret");
        #[cfg(unix)]
        assert_eq!(fsutil::mode(&cache.path(&a)).unwrap(), Some(0o600));
    }

    /// A session written beside the caller's work: in place once waited
    /// for, the lock held until then; a write that fails is an error for
    /// `wait` and a warning (never a panic, never silence) when dropped.
    #[test]
    fn a_session_stored_beside_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let printer = Printer::capture();
        let cache = Cache::new(dir.path().join("c"), printer.clone());
        let k = key("a:443");
        let Locking::Held(lock) = cache.try_lock(&k).unwrap() else {
            panic!("the lock is free");
        };
        let saving = cache.store_beside(session(k.clone()), lock);
        assert_eq!(saving.wait().unwrap(), Some(cache.path(&k)));
        assert_eq!(saving.wait().unwrap(), None, "waited for once");
        assert!(cache.load(&k).unwrap().is_some());
        assert!(
            matches!(cache.try_lock(&k).unwrap(), Locking::Held(_)),
            "lock released"
        );

        // A directory where the file goes: the rename fails.
        let j = key("b:443");
        std::fs::create_dir_all(cache.path(&j).join("in-the-way")).unwrap();
        let Locking::Held(lock) = cache.try_lock(&j).unwrap() else {
            panic!("the lock is free");
        };
        assert!(cache.store_beside(session(j.clone()), lock).wait().is_err());
        let Locking::Held(lock) = cache.try_lock(&j).unwrap() else {
            panic!("the lock is free");
        };
        drop(cache.store_beside(session(j), lock));
        let said = printer.captured().stderr;
        assert!(said.contains("could not save the session"), "{said}");
        assert!(!said.contains("at-secret"), "{said}");
    }

    #[test]
    fn corrupt_is_discarded_and_loose_permissions_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf(), Printer::capture());
        let k = key("a:1");
        let p = cache.store(&session(k.clone())).unwrap();
        std::fs::write(&p, b"{\"version\": 1, \"trunc").unwrap();
        assert!(cache.load(&k).unwrap().is_none());
        assert!(!p.exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let p = cache.store(&session(k.clone())).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = cache.load(&k).unwrap_err();
            assert!(err.to_string().contains("readable by other users"), "{err}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn planted_cache_dirs_sessions_and_lock_links_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let unsafe_ = |e: CacheError| match e {
            CacheError::Unsafe { why, .. } => why,
            other => panic!("{other:?}"),
        };
        // A directory others can write to.
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("c");
        std::fs::create_dir(&c).unwrap();
        std::fs::set_permissions(&c, std::fs::Permissions::from_mode(0o777)).unwrap();
        let cache = Cache::new(c.clone(), Printer::capture());
        let k = key("a:1");
        let why = unsafe_(cache.store(&session(k.clone())).err().unwrap());
        assert!(why.contains("writable by other users"), "{why}");
        assert!(unsafe_(cache.lock(&k).err().unwrap()).contains("writable"));
        assert!(unsafe_(cache.load(&k).unwrap_err()).contains("writable"));
        use crate::error::Classify;
        assert_eq!(
            cache.load(&k).unwrap_err().exit_code(),
            crate::error::exit::LOCAL_STATE
        );

        // A symlink where the lock goes: never followed, nothing created.
        std::fs::set_permissions(&c, std::fs::Permissions::from_mode(0o700)).unwrap();
        let victim = dir.path().join("victim");
        let lock = c.join(format!("{}.lock", k.file_stem()));
        std::os::unix::fs::symlink(&victim, &lock).unwrap();
        assert!(unsafe_(cache.lock(&k).err().unwrap()).contains("symbolic link"));
        assert!(!victim.exists(), "the lock was created through the link");
        std::fs::remove_file(&lock).unwrap();
        cache.lock(&k).unwrap();
        assert_eq!(fsutil::mode(&lock).unwrap(), Some(0o600));

        // A session file that belongs to someone else (root can make one).
        if fsutil::euid() == 0 {
            let p = cache.store(&session(k.clone())).unwrap();
            std::os::unix::fs::chown(&p, Some(65534), Some(65534)).unwrap();
            assert!(unsafe_(cache.load(&k).unwrap_err()).contains("another user"));
        }
    }

    #[test]
    fn validity_uses_skew() {
        let now = Utc::now();
        let mut s = session(key("x:1"));
        let cases = [
            (Some(now + chrono::Duration::seconds(10)), false),
            (Some(now + chrono::Duration::seconds(300)), true),
            (Some(now - chrono::Duration::seconds(1)), false),
            (None, true),
        ];
        for (exp, want) in cases {
            s.expires_at = exp;
            assert_eq!(s.access_token_valid(now), want, "{exp:?}");
        }
    }

    #[test]
    fn expires_at_saturates_on_huge_lifetimes() {
        let now = Utc::now();
        let year = chrono::Duration::days(365);
        let cases = [
            (0, now),
            (60, now + chrono::Duration::seconds(60)),
            (u64::MAX, now + year),
            (9_000_000_000_000_000, now + year),
        ];
        for (secs, want) in cases {
            assert_eq!(
                expires_at(now, std::time::Duration::from_secs(secs)),
                want,
                "{secs}"
            );
        }
    }

    #[test]
    fn scopes_and_parameters_separate_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("c"), Printer::capture());
        let base = key("a:443");
        let more = SessionKey {
            scopes: vec!["influxdb".into(), "openid".into()],
            ..base.clone()
        };
        let resource = SessionKey {
            parameters: [("resource".to_string(), "https://db".to_string())].into(),
            ..base.clone()
        };
        let cases = [(&base, &more), (&base, &resource), (&more, &resource)];
        for (a, b) in cases {
            assert_ne!(cache.path(a), cache.path(b), "{a:?} / {b:?}");
        }
        cache.store(&session(base.clone())).unwrap();
        assert!(cache.load(&more).unwrap().is_none(), "asks for more");
        assert!(cache.load(&resource).unwrap().is_none(), "another resource");
        assert!(cache.load(&base).unwrap().is_some());
    }

    /// A session as an earlier version wrote it: stored by this one, then
    /// `path` (a JSON pointer: "" for the session, "/key" for its key) without
    /// the `fields` that version did not have.
    fn stored_without(dir: &Path, path: &str, fields: &[&str]) -> (Cache, SessionKey, PathBuf) {
        let cache = Cache::new(dir.join("c"), Printer::capture());
        let k = key("a:443");
        let p = cache.store(&session(k.clone())).unwrap();
        let mut old: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        let o = old.pointer_mut(path).unwrap().as_object_mut().unwrap();
        for field in fields {
            o.remove(*field);
        }
        fsutil::write_private_atomic(&p, &serde_json::to_vec(&old).unwrap()).unwrap();
        (cache, k, p)
    }

    #[test]
    fn a_session_saved_before_scopes_were_in_the_key_never_matches() {
        let dir = tempfile::tempdir().unwrap();
        let (cache, k, p) = stored_without(dir.path(), "/key", &["scopes", "parameters"]);
        let read = cache
            .load_path(&p)
            .unwrap()
            .expect("still readable (logout --all)");
        assert!(read.key.scopes.is_empty());
        assert!(cache.load(&k).unwrap().is_none(), "not reused");
    }

    #[test]
    fn a_session_without_its_optional_fields_reads_them_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let optional = [
            "revocation_endpoint",
            "jwks_uri",
            "issuer",
            "expires_at",
            "refresh_token",
            "refresh_expires_at",
            "id_token",
            "scope",
            "identity",
            "refreshed_at",
        ];
        let (cache, k, _) = stored_without(dir.path(), "", &optional);
        let read = cache.load(&k).unwrap().expect("still a usable session");
        assert!(read.refresh_token.is_none());
        assert!(read.expires_at.is_none() && read.identity.is_none());
    }
}
