//! Non-secret records of what `mint` and `rotate` put in each store: which
//! token (id, kind, permissions, lifetime) on which cluster. `rotate` reads
//! them to find the old token's id without the user typing it — a database
//! token cannot describe itself through the Management API, so this record is
//! the only link from a stored `apiv1_` secret to its id.
//!
//! One JSON file per store spec in `<state dir>/tokens/`, named by the
//! SHA-256 of the spec text; files 0600 in a 0700 directory, written
//! atomically (`fsutil::write_private`). The state directory is
//! `INFLUX_BOOTSTRAP_STATE_DIR`, else `$XDG_STATE_HOME/influx-bootstrap`, else
//! `~/.local/state/influx-bootstrap` (on macOS and Windows the platform's
//! local data directory).
//!
//! Nothing secret is written: the token is represented by the SHA-256 of its
//! secret (`token_sha256`). A token is 512 random bits, so the digest reveals
//! nothing, yet it tells whether the store still holds the token this record
//! describes (someone may have replaced it by hand). The `cluster` block says
//! where the token belongs, so a later "only send a stored token to its own
//! cluster" check can be built on it, and `version` lets a rotate journal be
//! added beside these fields without breaking old files.
//!
//! Nothing here is read or written unless the directories and files are
//! ours ([`trust`]), and `mint`/`rotate` hold a lock per store ([`lock`]).
use crate::cluster::documented::Permission;
use crate::env::Env;
use crate::error::StateError;
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub mod lock;
pub mod pending;
mod trust;

use trust::Area;

/// The version of the record format written now.
pub const RECORD_VERSION: u32 = 1;

/// Which API a token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// Our management-token API (`docs/management-api.yaml`).
    Management,
    /// A database token of InfluxData's documented Management API.
    Database,
}

impl TokenKind {
    pub fn noun(self) -> &'static str {
        match self {
            TokenKind::Management => "management token",
            TokenKind::Database => "database token",
        }
    }

    /// The command that revokes a token of this kind by id.
    pub fn revoke_command(self, id: &str) -> String {
        match self {
            TokenKind::Management => format!("influx-bootstrap management revoke {id} --force"),
            TokenKind::Database => format!("influx-bootstrap token revoke {id} --force"),
        }
    }
}

/// Where a token belongs: the API's base URL (management origin for the
/// documented API) and, for the long path form, the ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterRef {
    /// `clustered` or `dedicated`.
    pub product: String,
    /// The base the token was created through (no credentials in it).
    pub api_base: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
}

/// What one store holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub version: u32,
    /// The store spec as given on the command line.
    pub store: String,
    pub kind: TokenKind,
    pub token_id: String,
    /// SHA-256 (hex) of the token secret: which token the store held when
    /// this was written, without the secret.
    pub token_sha256: String,
    pub cluster: ClusterRef,
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<Permission>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// When this record was written (by `mint` or `rotate`).
    pub recorded_at: DateTime<Utc>,
}

impl Record {
    /// Does `token` (read from the store) hash to this record's token?
    pub fn describes(&self, token: &Secret) -> bool {
        self.token_sha256 == fingerprint(token)
    }
}

/// SHA-256 of a secret, hex.
pub fn fingerprint(token: &Secret) -> String {
    hex::encode(Sha256::digest(token.expose().as_bytes()))
}

/// The state directory (see the module documentation).
pub fn state_dir(env: &Env) -> Option<PathBuf> {
    if let Some(p) = env.path("INFLUX_BOOTSTRAP_STATE_DIR") {
        return Some(p);
    }
    env.base_dir(crate::env::BaseDir::State)
        .map(|b| b.join("influx-bootstrap"))
}

/// 128 bits of the SHA-256 of `text`, hex: a file name for a store spec.
fn short_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))[..32].to_string()
}

/// The records in one state directory.
#[derive(Debug, Clone)]
pub struct Records {
    tokens: Area,
    journals: Area,
}

impl Records {
    pub fn in_dir(state_dir: &Path) -> Self {
        Records {
            tokens: Area::new(state_dir, "tokens"),
            journals: Area::new(state_dir, "journal"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.tokens.dir
    }

    /// The state directory itself.
    pub fn root(&self) -> &Path {
        &self.tokens.root
    }

    fn name(store: &str) -> String {
        short_hash(store) + ".json"
    }

    #[cfg(test)]
    fn path(&self, store: &str) -> PathBuf {
        self.tokens.dir.join(Self::name(store))
    }

    /// The record of `store`; `Ok(None)` when there is none.
    pub fn load(&self, store: &str) -> Result<Option<Record>, StateError> {
        let name = Self::name(store);
        let Some(bytes) = self.tokens.read(&name)? else {
            return Ok(None);
        };
        let r: Record = serde_json::from_slice(&bytes).map_err(|e| {
            trust::io(&self.tokens.dir.join(&name))(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                e,
            ))
        })?;
        // Two specs never share a file name in practice (128 bits of a
        // hash), but a record says which spec it is for: trust only that.
        Ok((r.store == store).then_some(r))
    }

    pub fn save(&self, r: &Record) -> Result<(), StateError> {
        let bytes = serde_json::to_vec_pretty(r).expect("a record always serialises");
        self.tokens.write(&Self::name(&r.store), &bytes)
    }
}

/// A rotation in progress (issue 11 item 8): written before the create,
/// updated as it goes, removed once the stores agree again. If the process
/// dies in between (`kill -9`, power loss), the next `rotate` or `mint` with
/// the same stores finds it and converges first ([`crate::provision::recover`]):
/// back to the old token while any store still holds it, else forward to the
/// new one — ending with exactly one live token, stored everywhere. A
/// missing `Option` field reads as `None` (serde's rule), without
/// `#[serde(default)]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Journal {
    pub version: u32,
    /// The rotation's store specs, in order.
    pub stores: Vec<String>,
    pub kind: TokenKind,
    pub cluster: ClusterRef,
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<Permission>,
    pub old_id: String,
    pub old_sha256: String,
    /// Known once the create answered.
    pub new_id: Option<String>,
    pub new_sha256: Option<String>,
    /// Stores written with the new token (for stores that cannot be read
    /// back, e.g. `exec:`).
    #[serde(default)]
    pub switched: Vec<String>,
    pub started_at: DateTime<Utc>,
    /// The marker of the run that wrote this journal
    /// ([`crate::cluster::ours`]): the only proof of which listed token its
    /// create made. A journal without one (older versions) proves nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// `rotate --keep-old`: finishing forward leaves the old token valid.
    #[serde(default)]
    pub keep_old: bool,
}

impl Records {
    /// One journal per set of stores (order does not matter).
    fn journal_name(stores: &[String]) -> String {
        let mut sorted: Vec<&str> = stores.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        format!("rotate-{}.json", short_hash(&sorted.join("\n")))
    }

    /// Where the journal of `stores` lives (for messages).
    pub fn journal_path(&self, stores: &[String]) -> PathBuf {
        self.journals.dir.join(Self::journal_name(stores))
    }

    /// The journal of `stores`, if any. One that names other stores than
    /// its file name says was not written by us for these stores: refused.
    pub fn load_journal(&self, stores: &[String]) -> Result<Option<Journal>, StateError> {
        let name = Self::journal_name(stores);
        let path = self.journals.dir.join(&name);
        let Some(bytes) = self.journals.read(&name)? else {
            return Ok(None);
        };
        let j: Journal = serde_json::from_slice(&bytes).map_err(|e| {
            trust::io(&path)(std::io::Error::new(std::io::ErrorKind::InvalidData, e))
        })?;
        if Self::journal_name(&j.stores) != name {
            return Err(StateError::Unsafe {
                path,
                why: "the journal names other stores than these".into(),
            });
        }
        Ok(Some(j))
    }

    pub fn save_journal(&self, j: &Journal) -> Result<(), StateError> {
        let bytes = serde_json::to_vec_pretty(j).expect("a journal always serialises");
        self.journals.write(&Self::journal_name(&j.stores), &bytes)
    }

    pub fn remove_journal(&self, stores: &[String]) -> Result<(), StateError> {
        self.journals.remove(&Self::journal_name(stores))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(store: &str) -> Record {
        Record {
            version: RECORD_VERSION,
            store: store.into(),
            kind: TokenKind::Database,
            token_id: "id-1".into(),
            token_sha256: fingerprint(&Secret::new("apiv1_x")),
            cluster: ClusterRef {
                product: "clustered".into(),
                api_base: "https://c.example/api/v0".into(),
                account_id: None,
                cluster_id: None,
            },
            description: "telegraf".into(),
            permissions: vec![Permission::new("write", "db")],
            created_at: Utc::now(),
            expires_at: None,
            recorded_at: Utc::now(),
        }
    }

    #[test]
    fn save_load_private_and_per_store() {
        let dir = tempfile::tempdir().unwrap();
        let records = Records::in_dir(dir.path());
        let cases = [("file:/a", true), ("file:/b", false)];
        records.save(&record("file:/a")).unwrap();
        for (store, present) in cases {
            let got = records.load(store).unwrap();
            assert_eq!(got.is_some(), present, "{store}");
        }
        let r = records.load("file:/a").unwrap().unwrap();
        assert!(r.describes(&Secret::new("apiv1_x")));
        assert!(!r.describes(&Secret::new("apiv1_y")));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(records.dir()), 0o700);
            assert_eq!(mode(&records.path("file:/a")), 0o600);
        }
        let text = std::fs::read_to_string(records.path("file:/a")).unwrap();
        assert!(!text.contains("apiv1_x"), "{text}");
    }

    #[test]
    fn journal_is_per_store_set_and_removable() {
        let dir = tempfile::tempdir().unwrap();
        let records = Records::in_dir(dir.path());
        let r = record("file:/a");
        let j = Journal {
            version: RECORD_VERSION,
            stores: vec!["file:/a".into(), "file:/b".into()],
            kind: r.kind,
            cluster: r.cluster,
            description: r.description,
            permissions: r.permissions,
            old_id: "old".into(),
            old_sha256: r.token_sha256,
            new_id: None,
            new_sha256: None,
            switched: Vec::new(),
            started_at: Utc::now(),
            run: Some(crate::cluster::ours::new_run()),
            keep_old: false,
        };
        records.save_journal(&j).unwrap();
        let cases: [(&[&str], bool); 3] = [
            (&["file:/a", "file:/b"], true),
            (&["file:/b", "file:/a"], true),
            (&["file:/a"], false),
        ];
        for (stores, found) in cases {
            let stores: Vec<String> = stores.iter().map(|s| s.to_string()).collect();
            assert_eq!(
                records.load_journal(&stores).unwrap().is_some(),
                found,
                "{stores:?}"
            );
        }
        records.remove_journal(&j.stores).unwrap();
        records.remove_journal(&j.stores).unwrap();
        assert!(records.load_journal(&j.stores).unwrap().is_none());

        // M1: a journal planted under these stores' name that names other
        // stores is refused (it was never removed before, so it fired on
        // every run).
        let mine = vec!["file:/mine".to_string()];
        let planted = serde_json::to_vec(&j).unwrap();
        std::fs::write(records.journal_path(&mine), planted).unwrap();
        let e = records.load_journal(&mine).unwrap_err();
        assert!(e.to_string().contains("names other stores"), "{e}");
        assert_eq!(crate::error::Classify::exit_code(&e), 7);
    }

    #[test]
    fn state_dir_order() {
        let cases: [(&[(&str, &str)], Option<&str>); 4] = [
            (
                &[("INFLUX_BOOTSTRAP_STATE_DIR", "/s"), ("HOME", "/h")],
                Some("/s"),
            ),
            (
                &[("XDG_STATE_HOME", "/x"), ("HOME", "/h")],
                Some("/x/influx-bootstrap"),
            ),
            (&[("HOME", "/h")], Some("/h/.local/state/influx-bootstrap")),
            (&[], None),
        ];
        if !cfg!(all(unix, not(target_os = "macos"))) {
            return;
        }
        for (vars, want) in cases {
            let env = Env::from_pairs(vars.iter().copied());
            assert_eq!(state_dir(&env), want.map(PathBuf::from), "{vars:?}");
        }
    }
}
