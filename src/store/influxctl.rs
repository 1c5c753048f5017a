//! `influxctl:PROFILE`: set `mgmt_token` in a `[[profile]]` of influxctl's
//! `config.toml`, so `influxctl` works with the new token right away.
//!
//! The file is edited with `toml_edit`, so every other byte survives:
//! comments, key order, blank lines, indentation, influxctl's string ports.
//! An existing `mgmt_token` keeps its place and its decoration (including a
//! trailing comment); a new one goes right after `port` (or after the
//! profile's last plain key) with the indentation of its siblings.
//!
//! Before editing, the original is copied to `config.toml.bak` (0600,
//! written atomically, replacing the previous backup): **one backup at
//! most**, since each holds a token that may still be live. Timestamped
//! `config.toml.bak.<UTC time>` files that older versions left are removed.
//! The new file is written atomically into a fresh inode owned by us, mode
//! 0600. A symbolic link at the config path is refused (never followed), and
//! so is a directory others can change. Replacing a non-empty `mgmt_token`
//! needs `force` (`rotate` passes it). The file and the profile must exist
//! already: we set a token, we do not invent a cluster profile.
use super::util::{self, Replace};
use super::{StoreError, StoreOptions, StoreOutcome};
use crate::fsutil;
use crate::secret::Secret;
use std::path::{Path, PathBuf};
use toml_edit::{ArrayOfTables, DocumentMut, Item, Key, Table, Value};

const KEY: &str = "mgmt_token";

pub(super) fn write(
    profile: &str,
    token: &str,
    opts: &StoreOptions,
) -> Result<StoreOutcome, StoreError> {
    let path = config_path(opts)?.to_path_buf();
    let meta = util::safe_target(&path)?
        .ok_or_else(|| StoreError::NoInfluxctlFile { path: path.clone() })?;
    let (original, mut doc) =
        load(&path)?.ok_or_else(|| StoreError::NoInfluxctlFile { path: path.clone() })?;
    let table = profile_mut(&mut doc, profile, &path)?;
    if holds_token(table) && !opts.force {
        return Err(StoreError::HoldsToken {
            place: format!("profile `{profile}` of {}", path.display()),
        });
    }
    let replaced = set_token(table, token);
    let new = doc.to_string();
    let backup = backup(&path, original.as_bytes())?;
    util::write_atomic(
        &path,
        new.as_bytes(),
        Replace {
            noclobber: false,
            unchanged: Some(original.as_bytes()),
        },
    )?;
    let verb = if replaced { "replaced" } else { "added" };
    #[allow(unused_mut)]
    let mut out = StoreOutcome::new(format!(
        "{verb} {KEY} in profile `{profile}` of {} (0600)",
        path.display()
    ))
    .note(format!("backup at {} (0600)", backup.display()));
    if replaced {
        out = out.note("the token the profile held before was replaced (--force)");
    }
    if let Some(n) = util::tightened(Some(&meta)) {
        out = out.note(n);
    }
    out.backup = Some(backup);
    Ok(out)
}

pub(super) fn read(profile: &str, opts: &StoreOptions) -> Result<Option<Secret>, StoreError> {
    let path = config_path(opts)?;
    let token = with_profile(profile, path, |table| {
        table
            .get(KEY)
            .and_then(Item::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(Secret::new)
    })?;
    if token.is_some()
        && let Ok(meta) = std::fs::symlink_metadata(path)
    {
        util::warn_if_loose(path, &meta);
    }
    Ok(token)
}

/// The cluster an influxctl profile is for: its `host` and `port` (influxctl
/// writes the port as a string; 443 when absent), so a token read from it is
/// only ever sent there (see `provision::check_bound`).
pub(super) fn address(profile: &str, opts: &StoreOptions) -> Result<Option<String>, StoreError> {
    with_profile(profile, config_path(opts)?, |table| {
        let host = table.get("host").and_then(Item::as_str)?;
        let port = match table.get("port") {
            Some(p) => p
                .as_str()
                .map(|s| s.trim().to_string())
                .or_else(|| p.as_integer().map(|i| i.to_string()))
                .unwrap_or_default(),
            None => "443".into(),
        };
        Some(format!("{}:{port}", host.trim().to_ascii_lowercase()))
    })
}

/// `get` of the profile's table in the config file at `path`; `None` when
/// there is no file.
fn with_profile<T>(
    profile: &str,
    path: &Path,
    get: impl FnOnce(&Table) -> Option<T>,
) -> Result<Option<T>, StoreError> {
    let Some((_, mut doc)) = load(path)? else {
        return Ok(None);
    };
    Ok(get(profile_mut(&mut doc, profile, path)?))
}

pub(super) fn check(profile: &str, opts: &StoreOptions) -> Result<(), StoreError> {
    let path = config_path(opts)?;
    if util::safe_target(path)?.is_none() {
        return Err(StoreError::NoInfluxctlFile {
            path: path.to_path_buf(),
        });
    }
    let (_, mut doc) = load(path)?.ok_or_else(|| StoreError::NoInfluxctlFile {
        path: path.to_path_buf(),
    })?;
    let table = profile_mut(&mut doc, profile, path)?;
    if holds_token(table) && !opts.force {
        return Err(StoreError::HoldsToken {
            place: format!("profile `{profile}` of {}", path.display()),
        });
    }
    let dir = util::parent_of(path);
    if !util::dir_writable(dir) {
        return Err(util::unusable(
            dir,
            "directory is not writable by this user (needed for the backup and the atomic rewrite)",
        ));
    }
    util::probe_dir(dir)
}

/// Does the profile hold a non-empty `mgmt_token`?
fn holds_token(table: &Table) -> bool {
    table
        .get(KEY)
        .and_then(Item::as_str)
        .is_some_and(|t| !t.trim().is_empty())
}

fn config_path(opts: &StoreOptions) -> Result<&Path, StoreError> {
    opts.influxctl_config
        .as_deref()
        .ok_or(StoreError::NoInfluxctlConfig)
}

/// The file's text and parsed document, or None if there is no file.
fn load(path: &Path) -> Result<Option<(String, DocumentMut)>, StoreError> {
    let Some(bytes) = util::read_file(path)? else {
        return Ok(None);
    };
    let text = String::from_utf8(bytes).map_err(|_| util::unusable(path, "not UTF-8 text"))?;
    let doc = text.parse::<DocumentMut>().map_err(|e| {
        let line = e.span().map_or(1, |s| {
            text[..s.start.min(text.len())].matches('\n').count() + 1
        });
        StoreError::InfluxctlParse {
            path: path.to_path_buf(),
            line,
            message: e.message().trim().to_string(),
        }
    })?;
    Ok(Some((text, doc)))
}

fn profiles_mut(doc: &mut DocumentMut) -> Option<&mut ArrayOfTables> {
    doc.get_mut("profile")
        .and_then(Item::as_array_of_tables_mut)
}

fn profile_mut<'a>(
    doc: &'a mut DocumentMut,
    name: &str,
    path: &Path,
) -> Result<&'a mut Table, StoreError> {
    let available: Vec<String> = profiles_mut(doc)
        .map(|a| {
            a.iter()
                .filter_map(|t| t.get("name").and_then(Item::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if !available.iter().any(|n| n == name) {
        return Err(StoreError::NoProfile {
            profile: name.to_string(),
            path: path.to_path_buf(),
            available,
        });
    }
    let tables = profiles_mut(doc).expect("profiles were listed above");
    Ok(tables
        .iter_mut()
        .find(|t| t.get("name").and_then(Item::as_str) == Some(name))
        .expect("the profile was found above"))
}

/// Set `mgmt_token` in the profile table; true if it replaced a value.
fn set_token(table: &mut Table, token: &str) -> bool {
    if let Some(v) = table.get_mut(KEY).and_then(Item::as_value_mut) {
        let decor = v.decor().clone();
        let mut new = Value::from(token);
        *new.decor_mut() = decor;
        *v = new;
        return true;
    }
    // Something other than a plain value under that name (a table?) is not
    // influxctl's format; replace it all the same.
    table.remove(KEY);

    // Format like the siblings: the indentation of `port` (or the first plain
    // key), i.e. the last line of its key's prefix, and its ` = ` spacing.
    let plain: Vec<String> = table
        .iter()
        .filter(|(_, item)| item.is_value())
        .map(|(k, _)| k.to_string())
        .collect();
    let model = plain
        .iter()
        .find(|k| *k == "port")
        .or_else(|| plain.first())
        .cloned();
    let mut key = Key::new(KEY);
    let mut value = Value::from(token);
    if let Some(model) = &model
        && let Some((k, item)) = table.get_key_value(model)
    {
        let prefix = k
            .leaf_decor()
            .prefix()
            .and_then(|r| r.as_str())
            .unwrap_or("");
        let indent = prefix.rsplit('\n').next().unwrap_or("");
        let suffix = k
            .leaf_decor()
            .suffix()
            .and_then(|r| r.as_str())
            .unwrap_or(" ");
        key.leaf_decor_mut().set_prefix(indent.to_string());
        key.leaf_decor_mut().set_suffix(suffix.to_string());
        let vprefix = item
            .as_value()
            .and_then(|v| v.decor().prefix())
            .and_then(|r| r.as_str())
            .unwrap_or(" ");
        value.decor_mut().set_prefix(vprefix.to_string());
        value.decor_mut().set_suffix("");
    }

    // Insert after `port`, else after the last plain key: move the entries
    // that follow behind the new one (keys keep their decoration; tables keep
    // their document position).
    let anchor = plain
        .iter()
        .position(|k| k == "port")
        .or_else(|| plain.len().checked_sub(1))
        .map(|i| plain[i].clone());
    let all: Vec<String> = table.iter().map(|(k, _)| k.to_string()).collect();
    let after = match &anchor {
        Some(a) => all.iter().position(|k| k == a).map_or(all.len(), |i| i + 1),
        None => 0,
    };
    let moved: Vec<(Key, Item)> = all[after..]
        .iter()
        .filter_map(|k| table.remove_entry(k))
        .collect();
    table.insert_formatted(&key, Item::Value(value));
    for (k, item) in moved {
        table.insert_formatted(&k, item);
    }
    false
}

/// Copy `original` to `<file>.bak` next to `path` (0600, atomically,
/// replacing the previous backup), and remove the timestamped
/// `<file>.bak.<UTC time>[.n]` backups older versions made: one backup at
/// most, since each holds a token.
fn backup(path: &Path, original: &[u8]) -> Result<PathBuf, StoreError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config.toml".into());
    let dir = util::parent_of(path);
    let target = dir.join(format!("{name}.bak"));
    util::write_atomic(&target, original, Replace::default())?;
    remove_old_backups(dir, &name);
    Ok(target)
}

/// Remove `<name>.bak.<stamp>` files that we own (regular files only).
fn remove_old_backups(dir: &Path, name: &str) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!("{name}.bak.");
    for e in rd.flatten() {
        let file = e.file_name();
        let Some(rest) = file.to_str().and_then(|f| f.strip_prefix(&prefix)) else {
            continue;
        };
        // 20260101T000000Z, optionally .N
        if !rest.starts_with(|c: char| c.is_ascii_digit()) || !rest.contains('T') {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if meta.uid() != fsutil::euid() {
                continue;
            }
        }
        if meta.is_file() && std::fs::remove_file(e.path()).is_ok() {
            tracing::info!("removed old backup {}", e.path().display());
        }
    }
    fsutil::sync_dir(dir);
}
