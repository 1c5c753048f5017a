//! The pipeline against an in-memory cluster and in-memory stores: every
//! failure point of `mint` and `rotate` (create lost, store k of n fails,
//! verify fails, a signal at each step), checking the two promises — never
//! orphan a token, never lose the old one.
use super::*;
use crate::cluster::documented::Permission;
use crate::cluster::{CreatedToken, Credential, CredentialKind, ManagementToken, NewToken};
use crate::error::{ClusterError, ClusterResult};
use crate::interrupt::Interrupt;
use crate::interrupt::Trigger;
use crate::output::exit_code;
use crate::printer::Printer;
use crate::secret::Secret;
use crate::state::TokenKind;
use crate::store::{StoreError, StoreOutcome};
use chrono::Utc;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;

const SESSION: &str = "session-access-token";

/// What the fake cluster should do wrong.
#[derive(Default, Clone, Copy)]
struct Faults {
    /// Commit the create, then answer as if the connection dropped.
    lose_create_response: bool,
    /// Refuse the create with a 500 before committing.
    fail_create: bool,
    /// Fire the trigger and never answer the first create (in flight).
    interrupt_in_create: bool,
    /// Fire the trigger, then answer the create.
    interrupt_after_create: bool,
    /// Verification sees another description.
    wrong_description: bool,
    /// Revoking fails (cluster down at the end).
    fail_revoke: bool,
    /// Commit the first create only, then answer as if the connection dropped.
    lose_first_create_response: bool,
    /// Fire the trigger during the first create, then answer it.
    interrupt_during_create: bool,
    /// The created secret carries a newline and an escape sequence.
    unsafe_secret: bool,
    /// Another host of the fleet creates a token with the same description
    /// (its own run marker) and permissions while our first create is in
    /// flight (M2 of the 2026-12-06 review).
    neighbour_in_create: bool,
}

impl Faults {
    /// No fault but those `set` turns on.
    fn with(set: impl FnOnce(&mut Faults)) -> Faults {
        let mut f = Faults::default();
        set(&mut f);
        f
    }
}

#[derive(Default)]
struct ClusterState {
    /// secret → metadata
    tokens: Vec<(String, ManagementToken)>,
    keys: HashMap<String, usize>,
    creates: usize,
}

struct FakeCluster {
    state: Mutex<ClusterState>,
    faults: Faults,
    trigger: Trigger,
    /// Play the documented API: database tokens (they cannot call the API
    /// themselves), no idempotency on create, these permissions.
    database: Option<Vec<Permission>>,
}

fn unauthorized() -> ClusterError {
    ClusterError::Unauthorized {
        url: "mem://cluster".into(),
        credential: "management token",
        message: String::new(),
    }
}

impl FakeCluster {
    fn new(faults: Faults, trigger: Trigger) -> Self {
        FakeCluster {
            state: Mutex::new(ClusterState::default()),
            faults,
            trigger,
            database: None,
        }
    }

    /// Add a live token (the one a store already holds, for rotate).
    fn seed(&self, secret: &str, description: &str, lifetime_days: i64) -> ManagementToken {
        let mut st = self.state.lock().unwrap();
        let created = Utc::now() - chrono::Duration::days(1);
        let t = ManagementToken {
            id: format!("id-{}", st.tokens.len()),
            description: description.into(),
            token_prefix: secret[..6].into(),
            created_at: created,
            created_by: "seed".into(),
            expires_at: Some(created + chrono::Duration::days(lifetime_days)),
            revoked_at: None,
            permissions: Vec::new(),
        };
        st.tokens.push((secret.into(), t.clone()));
        t
    }

    fn authorized(&self, cred: &Credential) -> Result<(), ClusterError> {
        let st = self.state.lock().unwrap();
        let s = cred.token.expose();
        let live = st
            .tokens
            .iter()
            .any(|(k, t)| k == s && t.revoked_at.is_none());
        if s == SESSION || (live && self.database.is_none()) {
            Ok(())
        } else {
            Err(unauthorized())
        }
    }

    fn live(&self) -> Vec<String> {
        let st = self.state.lock().unwrap();
        st.tokens
            .iter()
            .filter(|(_, t)| t.revoked_at.is_none())
            .map(|(s, _)| s.clone())
            .collect()
    }

    fn creates(&self) -> usize {
        self.state.lock().unwrap().creates
    }
}

impl TokenApi for FakeCluster {
    async fn create(&self, cred: &Credential, new: &NewToken<'_>) -> ClusterResult<CreatedToken> {
        let NewToken {
            description,
            expires_at,
            idempotency_key: key,
        } = *new;
        self.authorized(cred)?;
        if self.faults.fail_create {
            return Err(ClusterError::Server {
                url: "mem://cluster".into(),
                status: 500,
                message: String::new(),
            });
        }
        let (created, first) = {
            let mut st = self.state.lock().unwrap();
            st.creates += 1;
            let first = st.creates == 1;
            // The documented API ignores the key: every create is new.
            let known = self.database.is_none().then(|| st.keys.get(key)).flatten();
            let i = match known {
                Some(i) => *i,
                None => {
                    let n = st.tokens.len();
                    let mut secret = format!("secret-{n}-{}", "x".repeat(20));
                    if self.faults.unsafe_secret {
                        secret.push_str("\nEVIL=1\x1b[2K");
                    }
                    let t = ManagementToken {
                        id: format!("id-{n}"),
                        description: description.into(),
                        token_prefix: secret[..9].into(),
                        created_at: Utc::now(),
                        created_by: "fake".into(),
                        expires_at,
                        revoked_at: None,
                        permissions: self.database.clone().unwrap_or_default(),
                    };
                    st.tokens.push((secret, t));
                    st.keys.insert(key.into(), n);
                    n
                }
            };
            if first && self.faults.neighbour_in_create {
                let n = st.tokens.len();
                let mut t = st.tokens[i].1.clone();
                t.id = format!("id-{n}");
                t.description = crate::cluster::ours::marked(&t.description, "ba9876543210");
                st.tokens.push((NEIGHBOUR_SECRET.into(), t));
            }
            let (secret, token) = st.tokens[i].clone();
            let created = CreatedToken {
                token,
                access_token: Secret::new(secret),
            };
            (created, first)
        };
        if first && self.faults.interrupt_in_create {
            self.trigger.fire();
            std::future::pending::<()>().await;
        }
        if first && self.faults.interrupt_after_create {
            self.trigger.fire();
        }
        if first && self.faults.interrupt_during_create {
            self.trigger.fire();
            tokio::task::yield_now().await;
        }
        if self.faults.lose_create_response || (first && self.faults.lose_first_create_response) {
            return Err(ClusterError::Unreachable {
                url: "mem://cluster".into(),
                cause: "connection reset".into(),
            });
        }
        Ok(created)
    }

    async fn get(&self, cred: &Credential, id: &str) -> ClusterResult<ManagementToken> {
        self.authorized(cred)?;
        let st = self.state.lock().unwrap();
        let mut t = st
            .tokens
            .iter()
            .find(|(_, t)| t.id == id)
            .map(|(_, t)| t.clone())
            .ok_or(ClusterError::NotFound {
                what: format!("management token with id `{id}`"),
                list: "management list",
            })?;
        if self.faults.wrong_description {
            t.description.push_str(" (changed)");
        }
        Ok(t)
    }

    async fn list(&self, cred: &Credential) -> ClusterResult<Vec<ManagementToken>> {
        self.authorized(cred)?;
        let st = self.state.lock().unwrap();
        Ok(st.tokens.iter().map(|(_, t)| t.clone()).collect())
    }

    fn kind(&self) -> TokenKind {
        match self.database {
            Some(_) => TokenKind::Database,
            None => TokenKind::Management,
        }
    }

    fn idempotent_create(&self) -> bool {
        self.database.is_none()
    }

    fn permissions(&self) -> &[Permission] {
        self.database.as_deref().unwrap_or_default()
    }

    async fn revoke(&self, cred: &Credential, id: &str) -> ClusterResult<ManagementToken> {
        if self.faults.fail_revoke {
            return Err(ClusterError::Unreachable {
                url: "mem://cluster".into(),
                cause: "connection refused".into(),
            });
        }
        self.authorized(cred)?;
        let mut st = self.state.lock().unwrap();
        let (_, t) =
            st.tokens
                .iter_mut()
                .find(|(_, t)| t.id == id)
                .ok_or(ClusterError::NotFound {
                    what: format!("management token with id `{id}`"),
                    list: "management list",
                })?;
        t.revoked_at.get_or_insert_with(Utc::now);
        Ok(t.clone())
    }
}

/// A store in memory; fails its nth write (1-based) when told to, and may
/// fire the trigger while writing.
struct MemStore {
    name: String,
    value: Mutex<Option<Secret>>,
    writes: Mutex<usize>,
    fail_on_write: Option<usize>,
    interrupt_on_write: Option<Trigger>,
}

impl MemStore {
    fn new(name: &str) -> Self {
        MemStore {
            name: name.into(),
            value: Mutex::new(None),
            writes: Mutex::new(0),
            fail_on_write: None,
            interrupt_on_write: None,
        }
    }
    fn failing(name: &str, nth: usize) -> Self {
        MemStore {
            fail_on_write: Some(nth),
            ..MemStore::new(name)
        }
    }
    fn holding(name: &str, token: &str) -> Self {
        let s = MemStore::new(name);
        *s.value.lock().unwrap() = Some(Secret::new(token));
        s
    }
    fn get(&self) -> Option<String> {
        self.value
            .lock()
            .unwrap()
            .as_ref()
            .map(|s| s.expose().to_string())
    }
}

impl std::fmt::Display for MemStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "mem:{}", self.name)
    }
}

impl Store for MemStore {
    fn check(&self) -> Result<(), StoreError> {
        Ok(())
    }
    fn write(&self, token: &Secret) -> Result<StoreOutcome, StoreError> {
        let n = {
            let mut w = self.writes.lock().unwrap();
            *w += 1;
            *w
        };
        if let Some(t) = &self.interrupt_on_write {
            t.fire();
        }
        if self.fail_on_write == Some(n) {
            return Err(StoreError::Unusable {
                path: self.name.clone().into(),
                message: "disk full".into(),
            });
        }
        *self.value.lock().unwrap() = Some(token.clone());
        Ok(StoreOutcome {
            summary: "stored in memory".into(),
            notes: Vec::new(),
            backup: None,
        })
    }
    fn read(&self) -> Result<Option<Secret>, StoreError> {
        Ok(self.value.lock().unwrap().clone())
    }
}

struct Rig {
    cluster: FakeCluster,
    printer: Printer,
    /// The command layer's renderer, so summaries are checked as printed.
    reporter: crate::commands::Summaries,
    interrupt: Interrupt,
    trigger: Trigger,
}

impl Rig {
    fn new(faults: Faults) -> Self {
        let (interrupt, trigger) = Interrupt::manual();
        let printer = Printer::capture();
        Rig {
            reporter: crate::commands::Summaries(printer.clone()),
            cluster: FakeCluster::new(faults, trigger.clone()),
            printer,
            interrupt,
            trigger,
        }
    }
    fn pipeline(&self) -> Pipeline<'_, FakeCluster> {
        Pipeline {
            api: &self.cluster,
            printer: &self.printer,
            interrupt: &self.interrupt,
            run: crate::cluster::ours::new_run(),
            reporter: &self.reporter,
        }
    }
}

fn plan(stores: &[Arc<MemStore>], on_no_store: OnNoStore) -> Plan {
    Plan {
        description: "telegraf".into(),
        expires_at: Some(Utc::now() + chrono::Duration::days(30)),
        stores: stores.iter().map(|s| s.clone() as Arc<dyn Store>).collect(),
        on_no_store,
        json: true,
        record: None,
        ready_timeout: None,
    }
}

fn session() -> Credential {
    Credential {
        token: Secret::new(SESSION),
        kind: CredentialKind::OAuth { subject: None },
    }
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The outcome of one mint: exit code, live tokens on the cluster, what
/// each store holds.
struct Outcome {
    code: i32,
    message: String,
    live: Vec<String>,
    held: Vec<Option<String>>,
    stdout: String,
    creates: usize,
}

fn mint_with(faults: Faults, stores: Vec<MemStore>, on_no_store: OnNoStore) -> Outcome {
    let rig = Rig::new(faults);
    let stores: Vec<Arc<MemStore>> = stores.into_iter().map(Arc::new).collect();
    let plan = plan(&stores, on_no_store);
    let r = run(mint(&rig.pipeline(), &plan, &session()));
    let (code, message) = match &r {
        Ok(()) => (0, String::new()),
        Err(e) => (exit_code(e), format!("{e:#}")),
    };
    Outcome {
        code,
        message,
        live: rig.cluster.live(),
        held: stores.iter().map(|s| s.get()).collect(),
        stdout: rig.printer.captured().stdout,
        creates: rig.cluster.creates(),
    }
}

#[test]
fn mint_failure_points() {
    use crate::error::exit;
    let interrupting = |name: &str, trigger: &Trigger| MemStore {
        interrupt_on_write: Some(trigger.clone()),
        ..MemStore::new(name)
    };
    // (case, faults, stores, policy, exit code, live tokens, stores holding the token)
    type Case = (
        &'static str,
        Faults,
        Box<dyn Fn(&Trigger) -> Vec<MemStore>>,
        OnNoStore,
        i32,
        usize,
        Vec<bool>,
    );
    let two = || -> Box<dyn Fn(&Trigger) -> Vec<MemStore>> {
        Box::new(|_| vec![MemStore::new("a"), MemStore::new("b")])
    };
    let cases: Vec<Case> = vec![
        (
            "all stores take it",
            Faults::default(),
            two(),
            OnNoStore::Revoke,
            exit::OK,
            1,
            vec![true, true],
        ),
        (
            "store 2 of 3 fails: kept in the others",
            Faults::default(),
            Box::new(|_| {
                vec![
                    MemStore::new("a"),
                    MemStore::failing("b", 1),
                    MemStore::new("c"),
                ]
            }),
            OnNoStore::Revoke,
            exit::STORE_PARTIAL,
            1,
            vec![true, false, true],
        ),
        (
            "no store takes it: revoked",
            Faults::default(),
            Box::new(|_| vec![MemStore::failing("a", 1), MemStore::failing("b", 1)]),
            OnNoStore::Revoke,
            exit::STORE_NONE,
            0,
            vec![false, false],
        ),
        (
            "print asked but no terminal: revoked",
            Faults::default(),
            Box::new(|_| vec![MemStore::failing("a", 1)]),
            OnNoStore::Print,
            exit::STORE_NONE,
            0,
            vec![false],
        ),
        (
            "verify fails: stored, kept, exit 12",
            Faults::with(|f| f.wrong_description = true),
            two(),
            OnNoStore::Revoke,
            exit::VERIFY,
            1,
            vec![true, true],
        ),
        (
            "create refused: nothing exists, nothing stored",
            Faults::with(|f| f.fail_create = true),
            two(),
            OnNoStore::Revoke,
            exit::CLUSTER,
            0,
            vec![false, false],
        ),
        (
            "signal while the create is in flight: replayed and revoked",
            Faults::with(|f| f.interrupt_in_create = true),
            two(),
            OnNoStore::Revoke,
            exit::INTERRUPTED,
            0,
            vec![false, false],
        ),
        (
            "signal right after the create: revoked before any store",
            Faults::with(|f| f.interrupt_after_create = true),
            two(),
            OnNoStore::Revoke,
            exit::INTERRUPTED,
            0,
            vec![false, false],
        ),
        (
            "a secret with a newline and an escape: revoked, never stored",
            Faults::with(|f| f.unsafe_secret = true),
            two(),
            OnNoStore::Revoke,
            exit::CLUSTER,
            0,
            vec![false, false],
        ),
        (
            "signal while storing: the stored token is kept, the rest skipped",
            Faults::default(),
            Box::new(move |t| vec![interrupting("a", t), MemStore::new("b")]),
            OnNoStore::Revoke,
            exit::INTERRUPTED,
            1,
            vec![true, false],
        ),
    ];
    for (name, faults, stores, policy, code, live, held) in cases {
        // The stores need the trigger of the rig that runs them.
        let rig = Rig::new(faults);
        let stores: Vec<Arc<MemStore>> = stores(&rig.trigger).into_iter().map(Arc::new).collect();
        let plan = plan(&stores, policy);
        let r = run(mint(&rig.pipeline(), &plan, &session()));
        let got = r.as_ref().map_or_else(exit_code, |_| 0);
        assert_eq!(got, code, "{name}: {r:?}");
        let live_tokens = rig.cluster.live();
        assert_eq!(
            live_tokens.len(),
            live,
            "{name}: live tokens {live_tokens:?}"
        );
        let holding: Vec<bool> = stores.iter().map(|s| s.get().is_some()).collect();
        assert_eq!(holding, held, "{name}");
        // Whatever happened, no token is live that no store holds.
        for t in &live_tokens {
            assert!(
                stores
                    .iter()
                    .any(|s| s.get().as_deref() == Some(t.as_str())),
                "{name}: orphaned token {t}"
            );
        }
    }
}

#[test]
fn mint_success_prints_one_snake_case_summary() {
    let o = mint_with(
        Faults::default(),
        vec![MemStore::new("a")],
        OnNoStore::Revoke,
    );
    assert_eq!(o.code, 0, "{}", o.message);
    let doc: serde_json::Value = serde_json::from_str(o.stdout.trim()).unwrap();
    assert_eq!(doc["event"], "minted");
    assert_eq!(doc["verified"], true);
    assert!(doc.get("token_prefix").is_some(), "{doc}");
    assert!(
        !o.stdout.contains(&o.live[0]),
        "the summary must not hold the token"
    );
    assert_eq!(o.held, vec![Some(o.live[0].clone())]);
}

#[test]
fn lost_create_response_says_how_to_find_the_token() {
    let o = mint_with(
        Faults::with(|f| f.lose_create_response = true),
        vec![MemStore::new("a")],
        OnNoStore::Revoke,
    );
    assert_eq!(o.code, crate::error::exit::CLUSTER);
    assert!(o.message.contains("management list"), "{}", o.message);
    assert_eq!(o.held, vec![None]);
    assert_eq!(o.creates, 1, "the pipeline itself does not re-post");
}

const OLD: &str = "old-secret-token-aaaaaaaa";

/// The outcome of one rotate.
fn rotate_with(
    faults: Faults,
    stores: Vec<MemStore>,
    keep_old: bool,
) -> (i32, String, Vec<String>, Vec<Option<String>>) {
    let rig = Rig::new(faults);
    let meta = rig.cluster.seed(OLD, "telegraf", 30);
    let stores: Vec<Arc<MemStore>> = stores.into_iter().map(Arc::new).collect();
    let plan = RotatePlan {
        old: Secret::new(OLD),
        cred: management_credential(&Secret::new(OLD)),
        record: None,
        meta,
        stores: stores.iter().map(|s| s.clone() as Arc<dyn Store>).collect(),
        expires_at: None,
        keep_old,
        ready_timeout: std::time::Duration::from_secs(5),
        on_rotated: None,
        grace: None,
        json: true,
    };
    let r = run(rotate(&rig.pipeline(), &plan));
    let (code, msg) = match &r {
        Ok(()) => (0, String::new()),
        Err(e) => (exit_code(e), format!("{e:#}")),
    };
    let held = stores.iter().map(|s| s.get()).collect();
    (code, msg, rig.cluster.live(), held)
}

#[test]
fn rotate_failure_points() {
    use crate::error::exit;
    let old = || Some(OLD.to_string());
    // (case, faults, stores, keep_old, exit, old still live, stores hold the old token)
    let cases: Vec<(&str, Faults, Vec<MemStore>, bool, i32, bool, Vec<bool>)> = vec![
        (
            "success: the new token everywhere, the old one revoked",
            Faults::default(),
            vec![MemStore::holding("a", OLD), MemStore::holding("b", OLD)],
            false,
            exit::OK,
            false,
            vec![false, false],
        ),
        (
            "--keep-old keeps it valid",
            Faults::default(),
            vec![MemStore::holding("a", OLD)],
            true,
            exit::OK,
            true,
            vec![false],
        ),
        (
            "store 2 fails: store 1 switched back, new revoked",
            Faults::default(),
            vec![MemStore::holding("a", OLD), MemStore::failing("b", 1)],
            false,
            exit::STORE_PARTIAL,
            true,
            vec![true, false],
        ),
        (
            "verify fails: rolled back",
            Faults::with(|f| f.wrong_description = true),
            vec![MemStore::holding("a", OLD)],
            false,
            exit::VERIFY,
            true,
            vec![true],
        ),
    ];
    for (name, faults, stores, keep_old, code, old_live, old_held) in cases {
        let (got, msg, live, held) = rotate_with(faults, stores, keep_old);
        assert_eq!(got, code, "{name}: {msg}");
        assert_eq!(
            live.contains(&OLD.to_string()),
            old_live,
            "{name}: {live:?}"
        );
        let holds_old: Vec<bool> = held.iter().map(|h| *h == old()).collect();
        assert_eq!(holds_old, old_held, "{name}");
        if code == exit::OK {
            // Exactly one new live token, held by every store.
            let new: Vec<&String> = live.iter().filter(|t| *t != OLD).collect();
            assert_eq!(new.len(), 1, "{name}: {live:?}");
            assert!(held.iter().all(|h| h.as_ref() == Some(new[0])), "{name}");
        } else {
            assert_eq!(
                live,
                vec![OLD.to_string()],
                "{name}: the new token must be revoked"
            );
            assert!(msg.contains("rolled back"), "{name}: {msg}");
        }
    }
}

#[test]
fn rotate_rollback_that_fails_keeps_the_new_token_valid() {
    // Store "a" takes the new token, then refuses the old one back; store
    // "b" fails outright. The new token must stay valid: "a" holds it.
    let (code, msg, live, held) = rotate_with(
        Faults::default(),
        vec![MemStore::failing("a", 2), MemStore::failing("b", 1)],
        false,
    );
    assert_eq!(code, crate::error::exit::STORE_PARTIAL, "{msg}");
    assert_eq!(live.len(), 2, "old and new both valid: {live:?}");
    assert!(msg.contains("still hold it"), "{msg}");
    let new = live.iter().find(|t| *t != OLD).unwrap();
    assert_eq!(held[0].as_ref(), Some(new));
}

#[test]
fn rotate_interrupted_while_storing_rolls_back() {
    let rig = Rig::new(Faults::default());
    let meta = rig.cluster.seed(OLD, "telegraf", 30);
    let a = Arc::new(MemStore {
        interrupt_on_write: Some(rig.trigger.clone()),
        ..MemStore::holding("a", OLD)
    });
    let b = Arc::new(MemStore::holding("b", OLD));
    let plan = RotatePlan {
        old: Secret::new(OLD),
        cred: management_credential(&Secret::new(OLD)),
        record: None,
        meta,
        stores: vec![a.clone() as Arc<dyn Store>, b.clone()],
        expires_at: None,
        keep_old: false,
        ready_timeout: std::time::Duration::from_secs(5),
        on_rotated: None,
        grace: None,
        json: false,
    };
    let r = run(rotate(&rig.pipeline(), &plan));
    let err = r.expect_err("interrupted");
    assert_eq!(exit_code(&err), crate::error::exit::INTERRUPTED);
    assert_eq!(a.get().as_deref(), Some(OLD));
    assert_eq!(b.get().as_deref(), Some(OLD));
    assert_eq!(rig.cluster.live(), vec![OLD.to_string()]);
}

#[test]
fn rotate_old_revoke_failure_is_reported_with_the_command() {
    let (code, msg, live, held) = rotate_with(
        Faults::with(|f| f.fail_revoke = true),
        vec![MemStore::holding("a", OLD)],
        false,
    );
    assert_eq!(code, crate::error::exit::CLUSTER, "{msg}");
    assert!(msg.contains("management revoke id-0 --force"), "{msg}");
    assert_eq!(live.len(), 2);
    assert_ne!(held[0].as_deref(), Some(OLD));
}

#[test]
fn new_expiry_keeps_the_lifetime() {
    let now = Utc::now();
    let created = now - chrono::Duration::days(10);
    let meta = ManagementToken {
        id: "i".into(),
        description: "d".into(),
        token_prefix: "p".into(),
        created_at: created,
        created_by: "c".into(),
        expires_at: Some(created + chrono::Duration::days(30)),
        revoked_at: None,
        permissions: Vec::new(),
    };
    let asked = now + chrono::Duration::days(5);
    let cases = [
        (None, Some(now + chrono::Duration::days(30))),
        (Some(asked), Some(asked)),
    ];
    for (flag, want) in cases {
        let plan = RotatePlan {
            old: Secret::new("x"),
            cred: management_credential(&Secret::new("x")),
            record: None,
            meta: meta.clone(),
            stores: Vec::new(),
            expires_at: flag,
            keep_old: false,
            ready_timeout: std::time::Duration::from_secs(5),
            on_rotated: None,
            grace: None,
            json: false,
        };
        assert_eq!(plan.new_expiry(now), want);
    }
}

/// The secret of [`Faults::neighbour_in_create`]'s token.
const NEIGHBOUR_SECRET: &str = "neighbour-secret-xxxxxxxxxxxx";

fn db_permissions() -> Vec<Permission> {
    vec![
        Permission::new("write", "telegraf"),
        Permission::new("read", "telegraf"),
    ]
}

/// Database tokens through the same pipeline: no server idempotency, so a
/// create whose answer is lost is reconciled by listing, the lost token
/// revoked, and the create sent once more; never two live tokens.
#[test]
fn database_token_failure_points() {
    use crate::error::exit;
    // (case, faults, exit, creates, live tokens (all stored), revoked, message)
    let cases: Vec<(&str, Faults, i32, usize, usize, usize, &str)> = vec![
        ("success", Faults::default(), exit::OK, 1, 1, 0, ""),
        (
            "first answer lost: revoked, created again once",
            Faults::with(|f| f.lose_first_create_response = true),
            exit::OK,
            2,
            1,
            1,
            "",
        ),
        (
            "first answer lost while another host made the same token: only ours revoked",
            Faults::with(|f| (f.lose_first_create_response, f.neighbour_in_create) = (true, true)),
            exit::OK,
            2,
            2,
            1,
            "",
        ),
        (
            "every answer lost: both revoked, no third try",
            Faults::with(|f| f.lose_create_response = true),
            exit::CLUSTER,
            2,
            0,
            2,
            "token list",
        ),
        (
            "answer lost and the lost one cannot be revoked: not created again",
            Faults::with(|f| (f.lose_first_create_response, f.fail_revoke) = (true, true)),
            exit::CLUSTER,
            1,
            1,
            0,
            "token list",
        ),
        (
            "HTTP 500 before commit: nothing found to revoke, sent once more, then the error",
            Faults::with(|f| f.fail_create = true),
            exit::CLUSTER,
            0,
            0,
            0,
            "",
        ),
        (
            "signal during the create: its answer awaited, the token revoked",
            Faults::with(|f| f.interrupt_during_create = true),
            exit::INTERRUPTED,
            1,
            0,
            1,
            "revoked",
        ),
        (
            "verify sees another description: stored, kept, exit 12",
            Faults::with(|f| f.wrong_description = true),
            exit::VERIFY,
            1,
            1,
            0,
            "",
        ),
    ];
    for (name, faults, code, creates, live, revoked, message) in cases {
        let mut rig = Rig::new(faults);
        rig.cluster.database = Some(db_permissions());
        let store = Arc::new(MemStore::new("a"));
        let plan = plan(std::slice::from_ref(&store), OnNoStore::Revoke);
        let r = run(mint(&rig.pipeline(), &plan, &session()));
        let got = r.as_ref().map_or_else(exit_code, |_| 0);
        let msg = r
            .as_ref()
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert_eq!(got, code, "{name}: {msg}");
        assert!(msg.contains(message), "{name}: {msg}");
        assert_eq!(rig.cluster.creates(), creates, "{name}");
        let st = rig.cluster.state.lock().unwrap();
        let n_revoked = st
            .tokens
            .iter()
            .filter(|(_, t)| t.revoked_at.is_some())
            .count();
        assert_eq!(n_revoked, revoked, "{name}");
        let live_tokens: Vec<&String> = st
            .tokens
            .iter()
            .filter(|(_, t)| t.revoked_at.is_none())
            .map(|(s, _)| s)
            .collect();
        assert_eq!(live_tokens.len(), live, "{name}");
        // Every live token is stored, except when revoking a lost one failed
        // (then the error names it).
        if !faults.fail_revoke {
            let ours = live_tokens
                .iter()
                .filter(|t| t.as_str() != NEIGHBOUR_SECRET);
            for t in ours {
                assert_eq!(store.get().as_deref(), Some(t.as_str()), "{name}: orphan");
            }
        } else {
            assert!(
                msg.contains("id-0") || rig.printer.captured().stderr.contains("id-0"),
                "{name}: {msg}"
            );
        }
        for (_, t) in st.tokens.iter() {
            assert_eq!(t.permissions, db_permissions(), "{name}");
        }
    }
}

/// A signal while a database-token create hangs: after the cleanup budget
/// the pipeline lists, finds the token the create made, and revokes it.
#[test]
fn database_token_create_hanging_at_a_signal_is_found_by_listing() {
    let mut rig = Rig::new(Faults::with(|f| f.interrupt_in_create = true));
    rig.cluster.database = Some(db_permissions());
    let store = Arc::new(MemStore::new("a"));
    let plan = plan(std::slice::from_ref(&store), OnNoStore::Revoke);
    let r = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(mint(&rig.pipeline(), &plan, &session()));
    let msg = format!("{:#}", r.unwrap_err());
    assert!(msg.contains("revoked (id id-0)"), "{msg}");
    assert!(rig.cluster.live().is_empty());
    assert_eq!(store.get(), None);
}

/// Verification of a database token compares permissions as a set and
/// refuses any other set.
#[test]
fn database_token_verify_checks_permissions() {
    let cases = [
        (db_permissions(), true),
        (db_permissions().into_iter().rev().collect::<Vec<_>>(), true),
        (vec![Permission::new("write", "telegraf")], false),
    ];
    for (asked, ok) in cases {
        let mut rig = Rig::new(Faults::default());
        rig.cluster.database = Some(db_permissions());
        let marked = crate::cluster::ours::marked("telegraf", "0123456789ab");
        let created = run(rig.cluster.create(
            &session(),
            &NewToken {
                description: &marked,
                expires_at: None,
                idempotency_key: "k",
            },
        ))
        .unwrap();
        rig.cluster.database = Some(asked.clone());
        let mut p = rig.pipeline();
        p.run = "0123456789ab".into();
        let r = run(p.verify(&session(), &created, "telegraf", None));
        assert_eq!(r.is_ok(), ok, "{asked:?}: {r:?}");
    }
}

/// Rotating a database token: the management credential (not the old token,
/// which cannot call the API) creates the successor and revokes the old one.
#[test]
fn database_token_rotate_uses_the_management_credential() {
    let cases = [(false, 1), (true, 2)];
    for (keep_old, live) in cases {
        let mut rig = Rig::new(Faults::default());
        rig.cluster.database = Some(db_permissions());
        let meta = rig.cluster.seed(OLD, "telegraf", 30);
        let store = Arc::new(MemStore::holding("a", OLD));
        let plan = RotatePlan {
            old: Secret::new(OLD),
            cred: session(),
            record: None,
            meta,
            stores: vec![store.clone() as Arc<dyn Store>],
            expires_at: None,
            keep_old,
            ready_timeout: std::time::Duration::from_secs(5),
            on_rotated: None,
            grace: None,
            json: true,
        };
        let r = run(rotate(&rig.pipeline(), &plan));
        assert!(r.is_ok(), "{r:?}");
        let now = store.get().unwrap();
        assert_ne!(now, OLD);
        assert_eq!(rig.cluster.live().len(), live, "keep_old {keep_old}");
        assert!(rig.cluster.live().contains(&now));
    }
}

/// A state directory and the stores `mem:a`, `mem:b` holding `a` and `b`.
#[allow(clippy::type_complexity)]
fn two_stores(
    a: &str,
    b: &str,
) -> (
    tempfile::TempDir,
    crate::state::Records,
    Arc<MemStore>,
    Arc<MemStore>,
    Stores,
) {
    let dir = tempfile::tempdir().unwrap();
    let records = crate::state::Records::in_dir(dir.path());
    let sa = Arc::new(MemStore::holding("a", a));
    let sb = Arc::new(MemStore::holding("b", b));
    let stores: Stores = vec![sa.clone() as Arc<dyn Store>, sb.clone()];
    (dir, records, sa, sb, stores)
}

/// After a crash mid-rotation, `recover` converges to exactly one live
/// token held by every store: back while any store holds the old token,
/// forward when none does, and a create that never answered has its token
/// found by listing and revoked. For both kinds of token.
#[test]
fn recover_interrupted_rotation() {
    use crate::cluster::ours::marked;
    use crate::state::{ClusterRef, Journal, fingerprint};
    const NEW: &str = "new-secret-token-bbbbbbbb";
    const NEIGHBOUR: &str = "nbr-secret-token-cccccccc";
    const RUN: &str = "0123456789ab";
    const OTHER_RUN: &str = "ba9876543210";
    // (case, new token known to the journal, store a, store b, want live, want in stores, finished)
    let cases: [(&str, bool, &str, &str, &str, bool); 4] = [
        (
            "create never answered: its token revoked",
            false,
            OLD,
            OLD,
            OLD,
            false,
        ),
        ("split stores: rolled back", true, NEW, OLD, OLD, false),
        (
            "split the other way: rolled back",
            true,
            OLD,
            NEW,
            OLD,
            false,
        ),
        (
            "every store switched: finished forward",
            true,
            NEW,
            NEW,
            NEW,
            true,
        ),
    ];
    for database in [false, true] {
        for (name, known, a, b, want, finished) in cases {
            let mut rig = Rig::new(Faults::default());
            if database {
                rig.cluster.database = Some(db_permissions());
            }
            let old_meta = rig.cluster.seed(OLD, "telegraf", 30);
            let new_meta = rig.cluster.seed(NEW, &marked("telegraf", RUN), 30);
            // Another host of the fleet rotated at the same moment: same
            // description and permissions, its own marker. Never touched.
            rig.cluster
                .seed(NEIGHBOUR, &marked("telegraf", OTHER_RUN), 30);
            {
                // The new token was made by the rotation, just now.
                let mut st = rig.cluster.state.lock().unwrap();
                for (secret, t) in st.tokens.iter_mut() {
                    if database {
                        t.permissions = db_permissions();
                    }
                    if secret == NEW || secret == NEIGHBOUR {
                        t.created_at = Utc::now();
                    }
                }
            }
            let (_dir, records, sa, sb, stores) = two_stores(a, b);
            let journal = Journal {
                version: 1,
                stores: vec!["mem:a".into(), "mem:b".into()],
                kind: rig.cluster.kind(),
                cluster: ClusterRef {
                    product: "clustered".into(),
                    api_base: "mem://cluster".into(),
                    account_id: None,
                    cluster_id: None,
                },
                description: "telegraf".into(),
                permissions: if database {
                    db_permissions()
                } else {
                    Vec::new()
                },
                old_id: old_meta.id.clone(),
                old_sha256: fingerprint(&Secret::new(OLD)),
                new_id: known.then(|| new_meta.id.clone()),
                new_sha256: known.then(|| fingerprint(&Secret::new(NEW))),
                switched: Vec::new(),
                started_at: Utc::now() - chrono::Duration::minutes(1),
                run: Some(RUN.into()),
                keep_old: false,
            };
            records.save_journal(&journal).unwrap();
            let cred = database.then(session);
            let r = run(recover(
                &rig.pipeline(),
                &records,
                &journal,
                &stores,
                cred.as_ref(),
                &journal.cluster,
            ))
            .unwrap_or_else(|e| panic!("{name} (database {database}): {e:#}"));
            let tag = format!("{name} (database {database})");
            assert_eq!(matches!(r, Recovered::Finished(_)), finished, "{tag}");
            let mut live = rig.cluster.live();
            live.sort();
            let mut want_live = vec![want.to_string(), NEIGHBOUR.to_string()];
            want_live.sort();
            assert_eq!(live, want_live, "{tag}");
            assert_eq!(sa.get().as_deref(), Some(want), "{tag}");
            assert_eq!(sb.get().as_deref(), Some(want), "{tag}");
            assert!(
                records.load_journal(&journal.stores).unwrap().is_none(),
                "{tag}"
            );
            if finished {
                let rec = records.load("mem:a").unwrap().unwrap();
                assert_eq!(rec.token_id, new_meta.id, "{tag}");
            }
        }
    }
}

/// The fleet rule (issue 17 items 1 and 6): a journal that cannot prove
/// which listed token its create made (no run marker, as older versions
/// wrote) revokes nothing, names the candidates and exits 13; finishing
/// forward honours `--keep-old`; a journal of another cluster sends nothing.
#[test]
fn recover_touches_only_what_it_can_prove() {
    use crate::cluster::ours::marked;
    use crate::state::{ClusterRef, Journal, fingerprint};
    const NEW: &str = "new-secret-token-bbbbbbbb";
    const NEIGHBOUR: &str = "nbr-secret-token-cccccccc";
    let here = ClusterRef {
        product: "clustered".into(),
        api_base: "mem://cluster".into(),
        account_id: None,
        cluster_id: None,
    };
    let elsewhere = ClusterRef {
        api_base: "mem://elsewhere".into(),
        ..here.clone()
    };
    // (case, journal run, new token known, keep_old, profile's cluster,
    //  want exit code (0 = ok), want live)
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        bool,
        bool,
        &'a ClusterRef,
        i32,
        &'a [&'a str],
    );
    let cases: [Case; 4] = [
        (
            "no marker: nothing revoked, exit 13",
            None,
            false,
            false,
            &here,
            13,
            &[OLD, NEW, NEIGHBOUR],
        ),
        (
            "marker of another run: nothing of ours",
            Some("0123456789ab"),
            false,
            false,
            &here,
            0,
            &[OLD, NEW, NEIGHBOUR],
        ),
        (
            "forward with --keep-old: old kept",
            Some("0123456789ab"),
            true,
            true,
            &here,
            0,
            &[OLD, NEW, NEIGHBOUR],
        ),
        (
            "another cluster: refused, nothing sent",
            Some("0123456789ab"),
            true,
            false,
            &elsewhere,
            2,
            &[OLD, NEW, NEIGHBOUR],
        ),
    ];
    for (name, run_marker, known, keep_old, profile, code, want_live) in cases {
        let rig = Rig::new(Faults::default());
        let old_meta = rig.cluster.seed(OLD, "telegraf", 30);
        let new_meta = rig
            .cluster
            .seed(NEW, &marked("telegraf", "ffffffffffff"), 30);
        rig.cluster
            .seed(NEIGHBOUR, &marked("telegraf", "ba9876543210"), 30);
        let (a, b) = if known { (NEW, NEW) } else { (OLD, OLD) };
        let (_dir, records, _, _, stores) = two_stores(a, b);
        let journal = Journal {
            version: 1,
            stores: vec!["mem:a".into(), "mem:b".into()],
            kind: rig.cluster.kind(),
            cluster: here.clone(),
            description: "telegraf".into(),
            permissions: Vec::new(),
            old_id: old_meta.id.clone(),
            old_sha256: fingerprint(&Secret::new(OLD)),
            new_id: known.then(|| new_meta.id.clone()),
            new_sha256: known.then(|| fingerprint(&Secret::new(NEW))),
            switched: Vec::new(),
            started_at: Utc::now(),
            run: run_marker.map(String::from),
            keep_old,
        };
        records.save_journal(&journal).unwrap();
        let r = run(recover(
            &rig.pipeline(),
            &records,
            &journal,
            &stores,
            None,
            profile,
        ));
        let got = match &r {
            Ok(_) => 0,
            Err(e) => crate::output::report::exit_code(e),
        };
        assert_eq!(got, code, "{name}: {r:?}");
        if code == 13 {
            let msg = format!("{:#}", r.unwrap_err());
            assert!(msg.contains("Candidates: id-1, id-2"), "{name}: {msg}");
        }
        let mut live = rig.cluster.live();
        live.sort();
        let mut want: Vec<String> = want_live.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(live, want, "{name}");
        // A refused journal stays for the person; a finished one is gone.
        let kept = records.load_journal(&journal.stores).unwrap().is_some();
        assert_eq!(kept, code != 0, "{name}");
    }
}
