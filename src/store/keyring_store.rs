//! `keyring:SERVICE/ACCOUNT`: the OS keyring, through the `keyring` crate
//! (v4: `keyring-core` plus one credential store per platform — the pure-Rust
//! zbus Secret Service client on Linux/BSD, Keychain on macOS, Credential
//! Manager on Windows).
//!
//! Fail fast, never hang: on Linux/BSD without a D-Bus session
//! ([`StoreOptions::dbus_session`] false) the Secret Service cannot be
//! reached, so we fail at once with a hint to use another store. With a
//! session, connecting runs on its own thread and is abandoned after
//! [`StoreOptions::keyring_timeout`] (D-Bus may try to start a Secret
//! Service that never answers). Reading and writing after a successful
//! connection get [`OP_TIMEOUT`], since the keyring may ask a person to
//! unlock it.
//!
//! With the `test-keyring` cargo feature (never in release builds; see
//! Cargo.toml), [`KeyringBackend::TestDir`] swaps in `DirKeyring`, a
//! `keyring_core` credential store that keeps one 0600 file per
//! service/account, so tests (including end-to-end tests of the binary)
//! exercise the same code path.
use super::{KeyringBackend, StoreError, StoreOptions, StoreOutcome};
use crate::secret::Secret;
use keyring_core::{Entry, Error as KError};
use std::sync::mpsc;
use std::time::Duration;
#[cfg(any(test, feature = "test-keyring"))]
use {
    super::util,
    crate::fsutil,
    keyring_core::api::{CredentialApi, CredentialStoreApi},
    keyring_core::{Credential, CredentialPersistence},
    std::collections::HashMap,
    std::path::{Path, PathBuf},
    std::sync::Arc,
};

/// How long a read or write may take once the keyring answered.
pub const OP_TIMEOUT: Duration = Duration::from_secs(120);

#[cfg(target_os = "macos")]
const OS_BACKEND: &str = "the macOS Keychain";
#[cfg(target_os = "windows")]
const OS_BACKEND: &str = "the Windows Credential Manager";
#[cfg(not(any(target_os = "macos", target_os = "windows")))]
const OS_BACKEND: &str = "the Secret Service keyring";
#[cfg(any(test, feature = "test-keyring"))]
const TEST_BACKEND: &str = "the test keyring";

fn backend_name(b: &KeyringBackend) -> &'static str {
    match b {
        KeyringBackend::Os => OS_BACKEND,
        #[cfg(any(test, feature = "test-keyring"))]
        KeyringBackend::TestDir(_) => TEST_BACKEND,
    }
}

pub(super) fn write(
    service: &str,
    account: &str,
    token: &Secret,
    opts: &StoreOptions,
) -> Result<StoreOutcome, StoreError> {
    // Replacing an entry that holds a token needs --force, as for `file:`:
    // the token there would stay live and be stored nowhere.
    let held = read(service, account, opts)?.is_some();
    if held && !opts.force {
        return Err(holds(service, account, opts));
    }
    let entry = entry(service, account, opts)?;
    let backend = backend_name(&opts.keyring_backend);
    let token = token.clone();
    let timeout = op_timeout(opts);
    run_with_timeout(backend, timeout, move || {
        entry
            .set_password(token.expose())
            .map_err(|e| map_err(backend, e))
    })?;
    let out = StoreOutcome::new(format!(
        "saved in {backend} as service `{service}`, account `{account}`"
    ));
    Ok(if held {
        out.note("the token the entry held before was replaced (--force)")
    } else {
        out
    })
}

fn holds(service: &str, account: &str, opts: &StoreOptions) -> StoreError {
    StoreError::HoldsToken {
        place: format!(
            "{} entry service `{service}`, account `{account}`",
            backend_name(&opts.keyring_backend)
        ),
    }
}

pub(super) fn read(
    service: &str,
    account: &str,
    opts: &StoreOptions,
) -> Result<Option<Secret>, StoreError> {
    let entry = entry(service, account, opts)?;
    let backend = backend_name(&opts.keyring_backend);
    run_with_timeout(backend, op_timeout(opts), move || {
        match entry.get_password() {
            Ok(p) if p.is_empty() => Ok(None),
            Ok(p) => Ok(Some(Secret::new(p))),
            Err(KError::NoEntry) => Ok(None),
            Err(e) => Err(map_err(backend, e)),
        }
    })
}

pub(super) fn check(service: &str, account: &str, opts: &StoreOptions) -> Result<(), StoreError> {
    match &opts.keyring_backend {
        KeyringBackend::Os => connect_os(opts)?,
        #[cfg(any(test, feature = "test-keyring"))]
        KeyringBackend::TestDir(dir) => {
            util::check_parent(&dir.join("x"))?;
        }
    }
    if !opts.force && read(service, account, opts)?.is_some() {
        return Err(holds(service, account, opts));
    }
    Ok(())
}

fn op_timeout(opts: &StoreOptions) -> Duration {
    match opts.keyring_backend {
        KeyringBackend::Os => OP_TIMEOUT.max(opts.keyring_timeout),
        #[cfg(any(test, feature = "test-keyring"))]
        KeyringBackend::TestDir(_) => opts.keyring_timeout.max(Duration::from_secs(5)),
    }
}

/// An entry in the configured backend (connecting to the OS keyring first).
fn entry(service: &str, account: &str, opts: &StoreOptions) -> Result<Entry, StoreError> {
    match &opts.keyring_backend {
        KeyringBackend::Os => {
            connect_os(opts)?;
            keyring::Entry::new(service, account)
                .map(|e| e.inner)
                .map_err(|e| map_err(OS_BACKEND, e))
        }
        #[cfg(any(test, feature = "test-keyring"))]
        KeyringBackend::TestDir(dir) => {
            let store: Arc<keyring_core::CredentialStore> = DirKeyring::new(dir.clone());
            Entry::new_in_store(&store, service, account).map_err(|e| map_err(TEST_BACKEND, e))
        }
    }
}

/// Make sure the OS keyring answers (once per process; cached by `keyring`).
fn connect_os(opts: &StoreOptions) -> Result<(), StoreError> {
    #[cfg(all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    ))]
    if !opts.dbus_session {
        return Err(StoreError::KeyringUnavailable {
            backend: OS_BACKEND,
            reason: "there is no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set), so no Secret Service can be reached"
                .into(),
        });
    }
    run_with_timeout(
        OS_BACKEND,
        opts.keyring_timeout,
        || match keyring::Entry::store_status() {
            Ok(()) => Ok(()),
            Err(e) => Err(StoreError::KeyringUnavailable {
                backend: OS_BACKEND,
                reason: describe(e),
            }),
        },
    )
}

/// Run `f` on its own thread; give up (leaving the thread behind, blocked in
/// the platform call) after `timeout`.
fn run_with_timeout<T: Send + 'static>(
    backend: &'static str,
    timeout: Duration,
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("keyring".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| StoreError::Keyring {
            backend,
            message: format!("cannot start a thread: {e}"),
        })?;
    match rx.recv_timeout(timeout) {
        Ok(r) => r,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(StoreError::KeyringUnavailable {
            backend,
            reason: format!("no answer within {}", humantime::format_duration(timeout)),
        }),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(StoreError::Keyring {
            backend,
            message: "the keyring call panicked".into(),
        }),
    }
}

/// A message for a keyring error that never includes secret bytes (some
/// variants carry the raw data).
fn describe(e: &KError) -> String {
    match e {
        KError::PlatformFailure(p) => format!("platform failure: {p}"),
        KError::NoStorageAccess(p) => format!("access denied or the keyring is locked: {p}"),
        KError::NoEntry => "no such entry".into(),
        KError::BadEncoding(_) => "the stored value is not UTF-8 text".into(),
        KError::BadDataFormat(..) => "the stored value is malformed".into(),
        KError::BadStoreFormat(r) => format!("the keyring's data is malformed: {r}"),
        KError::TooLong(what, n) => format!("{what} is longer than the limit of {n}"),
        KError::Invalid(what, why) => format!("{what} is invalid: {why}"),
        KError::Ambiguous(v) => format!("{} entries match", v.len()),
        KError::NoDefaultStore => "no keyring backend could be initialised".into(),
        KError::NotSupportedByStore(why) => format!("not supported: {why}"),
        _ => "unknown keyring error".into(),
    }
}

fn map_err(backend: &'static str, e: KError) -> StoreError {
    StoreError::Keyring {
        backend,
        message: describe(&e),
    }
}

// ---------------------------------------------------------------------------
// The test backend (the `test-keyring` feature; unit tests).

/// Where [`DirKeyring`] keeps the secret of `service`/`account` inside `dir`:
/// `<service>_<account>`, each percent-encoded except `[A-Za-z0-9.-]`.
#[cfg(any(test, feature = "test-keyring"))]
pub fn test_keyring_file(dir: &Path, service: &str, account: &str) -> PathBuf {
    fn enc(s: &str) -> String {
        let mut out = String::new();
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
    dir.join(format!("{}_{}", enc(service), enc(account)))
}

/// A file-backed `keyring_core` credential store for tests: each credential
/// is one 0600 file (see [`test_keyring_file`]) in a 0700 directory. Not
/// secure storage; never used unless [`KeyringBackend::TestDir`] is chosen.
#[cfg(any(test, feature = "test-keyring"))]
#[derive(Debug)]
pub struct DirKeyring {
    dir: PathBuf,
}

#[cfg(any(test, feature = "test-keyring"))]
impl DirKeyring {
    pub fn new(dir: PathBuf) -> Arc<Self> {
        Arc::new(DirKeyring { dir })
    }
}

#[cfg(any(test, feature = "test-keyring"))]
impl CredentialStoreApi for DirKeyring {
    fn vendor(&self) -> String {
        "influx-bootstrap test directory keyring".into()
    }

    fn id(&self) -> String {
        self.dir.display().to_string()
    }

    fn build(
        &self,
        service: &str,
        user: &str,
        _modifiers: Option<&HashMap<&str, &str>>,
    ) -> keyring_core::Result<Entry> {
        if service.is_empty() || user.is_empty() {
            return Err(KError::Invalid(
                "service/user".into(),
                "must not be empty".into(),
            ));
        }
        let cred: Arc<Credential> = Arc::new(DirCred {
            dir: self.dir.clone(),
            path: test_keyring_file(&self.dir, service, user),
            service: service.to_string(),
            user: user.to_string(),
        });
        Ok(Entry::new_with_credential(cred))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn persistence(&self) -> CredentialPersistence {
        CredentialPersistence::UntilDelete
    }
}

#[cfg(any(test, feature = "test-keyring"))]
#[derive(Debug)]
struct DirCred {
    dir: PathBuf,
    path: PathBuf,
    service: String,
    user: String,
}

#[cfg(any(test, feature = "test-keyring"))]
fn platform(e: std::io::Error) -> KError {
    KError::PlatformFailure(Box::new(e))
}

#[cfg(any(test, feature = "test-keyring"))]
impl CredentialApi for DirCred {
    fn set_secret(&self, secret: &[u8]) -> keyring_core::Result<()> {
        fsutil::create_private_dir(&self.dir).map_err(platform)?;
        fsutil::write_private_atomic(&self.path, secret).map_err(platform)
    }

    fn get_secret(&self) -> keyring_core::Result<Vec<u8>> {
        match std::fs::read(&self.path) {
            Ok(d) => Ok(d),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(KError::NoEntry),
            Err(e) => Err(platform(e)),
        }
    }

    fn delete_credential(&self) -> keyring_core::Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(KError::NoEntry),
            Err(e) => Err(platform(e)),
        }
    }

    fn get_credential(&self) -> keyring_core::Result<Option<Arc<Credential>>> {
        if self.path.exists() {
            Ok(None)
        } else {
            Err(KError::NoEntry)
        }
    }

    fn get_specifiers(&self) -> Option<(String, String)> {
        Some((self.service.clone(), self.user.clone()))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
pub(super) fn describe_for_test(e: KError) -> StoreError {
    map_err(TEST_BACKEND, e)
}
