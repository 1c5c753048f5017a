//! Pending revocations (issue 17, `rotate --grace`): the old token of a
//! rotation stays valid for a grace period, and its revocation is recorded
//! here, one file per token in `<state dir>/pending/`. Every later `rotate`
//! of the same stores first revokes the pending tokens whose grace has
//! passed and whose successor the stores still hold (it was accepted before
//! it was stored); the file is removed only after the cluster confirmed
//! (or said the token is gone), so a crash in between repeats an idempotent
//! revocation, never skips one.
use super::trust::Area;
use super::{ClusterRef, TokenKind, short_hash};
use crate::error::StateError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One old token waiting for its grace to end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    pub version: u32,
    pub id: String,
    pub kind: TokenKind,
    pub cluster: ClusterRef,
    /// The rotation's store specs.
    pub stores: Vec<String>,
    /// Not revoked before this.
    pub not_before: DateTime<Utc>,
    /// The token that replaced it (id, and SHA-256 of its secret).
    pub successor_id: String,
    pub successor_sha256: String,
}

/// The pending revocations of one state directory.
#[derive(Debug, Clone)]
pub struct PendingList {
    area: Area,
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let mut a: Vec<&String> = a.iter().collect();
    let mut b: Vec<&String> = b.iter().collect();
    a.sort();
    b.sort();
    a == b
}

impl PendingList {
    pub fn in_dir(state_dir: &Path) -> Self {
        PendingList {
            area: Area::new(state_dir, "pending"),
        }
    }

    fn name(id: &str) -> String {
        short_hash(id) + ".json"
    }

    pub fn save(&self, p: &Pending) -> Result<(), StateError> {
        let bytes = serde_json::to_vec_pretty(p).expect("a pending record always serialises");
        self.area.write(&Self::name(&p.id), &bytes)
    }

    pub fn remove(&self, id: &str) -> Result<(), StateError> {
        self.area.remove(&Self::name(id))
    }

    /// Every pending revocation (a file that does not parse, or is named
    /// for another id, is skipped with a log line).
    pub fn all(&self) -> Result<Vec<Pending>, StateError> {
        if !self.area.check()? {
            return Ok(Vec::new());
        }
        let dir = std::fs::read_dir(&self.area.dir).map_err(super::trust::io(&self.area.dir))?;
        let mut out = Vec::new();
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".json") {
                continue;
            }
            let Some(bytes) = self.area.read(&name)? else {
                continue;
            };
            match serde_json::from_slice::<Pending>(&bytes) {
                Ok(p) if Self::name(&p.id) == name => out.push(p),
                _ => tracing::warn!("ignoring pending revocation file {name}"),
            }
        }
        out.sort_by_key(|p| p.not_before);
        Ok(out)
    }

    /// The pending revocations of a rotation of exactly `stores`.
    pub fn for_stores(&self, stores: &[String]) -> Result<Vec<Pending>, StateError> {
        Ok(self
            .all()?
            .into_iter()
            .filter(|p| same_set(&p.stores, stores))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_listed_per_store_set_and_removed() {
        let t = tempfile::tempdir().unwrap();
        let list = PendingList::in_dir(t.path());
        let p = Pending {
            version: 1,
            id: "old".into(),
            kind: TokenKind::Database,
            cluster: ClusterRef {
                product: "clustered".into(),
                api_base: "https://c/api/v0".into(),
                account_id: None,
                cluster_id: None,
            },
            stores: vec!["file:/a".into(), "file:/b".into()],
            not_before: Utc::now(),
            successor_id: "new".into(),
            successor_sha256: "00".into(),
        };
        list.save(&p).unwrap();
        let cases: [(&[&str], usize); 3] = [
            (&["file:/b", "file:/a"], 1),
            (&["file:/a"], 0),
            (&["file:/a", "file:/b", "file:/c"], 0),
        ];
        for (stores, n) in cases {
            let stores: Vec<String> = stores.iter().map(|s| s.to_string()).collect();
            assert_eq!(list.for_stores(&stores).unwrap().len(), n, "{stores:?}");
        }
        list.remove("old").unwrap();
        list.remove("old").unwrap();
        assert!(list.all().unwrap().is_empty());
    }
}
