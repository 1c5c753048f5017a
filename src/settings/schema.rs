//! The file as people and influxctl write it: influxctl's profile schema
//! (`[[profile]]`, `port` as a string, `[profile.auth.oauth2]`…) plus two
//! extensions, `issuer` and `management_url`. Unknown keys are located with toml_edit's spans.
use super::paths::{FileKind, Files};
use super::values::{FilePort, Source, Value};
use crate::error::ConfigError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize)]
pub(super) struct FileConfig {
    #[serde(default)]
    pub(super) profile: Vec<FileProfile>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct FileProfile {
    pub(super) name: String,
    pub(super) product: Option<String>,
    pub(super) host: Option<String>,
    pub(super) port: Option<FilePort>,
    pub(super) account_id: Option<String>,
    pub(super) cluster_id: Option<String>,
    /// Our extension: where the Management API is served.
    pub(super) management_url: Option<String>,
    pub(super) mgmt_token: Option<String>,
    /// Our extension: `api` (our HTTP endpoints) or `influxctl` (issue 9).
    pub(super) management_backend: Option<String>,
    /// Our extension: the influxctl binary to drive.
    pub(super) influxctl: Option<PathBuf>,
    pub(super) tls: Option<FileTls>,
    pub(super) auth: Option<FileAuth>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct FileTls {
    pub(super) insecure: Option<bool>,
    pub(super) disable: Option<bool>,
    pub(super) ca: Option<PathBuf>,
    pub(super) cert: Option<PathBuf>,
    pub(super) key: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct FileAuth {
    pub(super) oauth2: Option<FileOAuth2>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct FileOAuth2 {
    pub(super) client_id: Option<String>,
    pub(super) scopes: Option<Vec<String>>,
    pub(super) parameters: Option<BTreeMap<String, String>>,
    pub(super) token_url: Option<String>,
    pub(super) device_url: Option<String>,
    pub(super) revocation_url: Option<String>,
    pub(super) issuer: Option<String>,
    /// Our extension (issue 20): `device` (default) or `client_credentials`.
    pub(super) grant: Option<String>,
    pub(super) client_secret_file: Option<PathBuf>,
    pub(super) private_key_file: Option<PathBuf>,
    pub(super) private_key_alg: Option<String>,
    pub(super) client_assertion_file: Option<PathBuf>,
}

/// The entry for profile `name` in the file being read, or an empty entry
/// when no file is read.
pub(super) fn load_profile(
    files: &Files,
    name: &Value<String>,
    notes: &mut Vec<String>,
) -> Result<FileProfile, ConfigError> {
    let Some(path) = &files.read else {
        return Ok(FileProfile::default());
    };
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let parsed = parse_file(path, &text, files.kind == FileKind::Ours, notes)?;
    parsed.select(name, path)
}

impl FileConfig {
    /// The profile called `name`. A file without profiles is fine when the
    /// name was not asked for: the environment may supply the rest.
    fn select(self, name: &Value<String>, path: &Path) -> Result<FileProfile, ConfigError> {
        let available: Vec<String> = self.profile.iter().map(|p| p.name.clone()).collect();
        match self.profile.into_iter().find(|p| p.name == name.value) {
            Some(p) => Ok(p),
            None if name.source == Source::Default && available.is_empty() => {
                Ok(FileProfile::default())
            }
            None => Err(ConfigError::NoSuchProfile {
                name: name.value.clone(),
                path: path.display().to_string(),
                available,
            }),
        }
    }
}

/// Parse config text strictly (as our own file), returning the profile
/// names. For fuzzing and property tests: never panics, whatever the input.
pub fn parse_text(text: &str) -> Result<Vec<String>, ConfigError> {
    let mut notes = Vec::new();
    let parsed = parse_file(Path::new("config.toml"), text, true, &mut notes)?;
    Ok(parsed.profile.into_iter().map(|p| p.name).collect())
}

/// Parse a config file. Unknown keys are an error in our own file (naming the
/// key and its line) and a debug note in influxctl's, which may grow keys we
/// do not know about.
pub(super) fn parse_file(
    path: &Path,
    text: &str,
    strict: bool,
    notes: &mut Vec<String>,
) -> Result<FileConfig, ConfigError> {
    let de = toml::de::Deserializer::parse(text).map_err(|e| syntax_error(path, text, &e))?;
    let mut unknown: Vec<Vec<Seg>> = Vec::new();
    let parsed: FileConfig = serde_ignored::deserialize(de, |p| unknown.push(segments(&p)))
        .map_err(|e: toml::de::Error| syntax_error(path, text, &e))?;
    if let Some(first) = unknown.first() {
        // Quoted TOML keys may hold newlines or escapes: keep errors one line.
        let key = crate::text::sanitize(&dotted(first));
        if strict {
            let line = locate(text, first).map_or(1, |o| line_of(text, o));
            let path = path.to_path_buf();
            let suggestion = unknown_key_suggestion(first);
            return Err(ConfigError::UnknownKey {
                path,
                line,
                key,
                suggestion,
            });
        }
        notes.push(format!(
            "ignoring unknown key `{key}` in {}",
            path.display()
        ));
    }
    check_names(path, text, &parsed)?;
    Ok(parsed)
}

fn syntax_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    ConfigError::Parse {
        path: path.to_path_buf(),
        line: e.span().map_or(1, |s| line_of(text, s.start)),
        message: crate::text::sanitize(&super::words::toml_message(e.message())),
    }
}

/// "did you mean …" for the last key of an unknown-key path, among the keys
/// of the table it is in.
fn unknown_key_suggestion(segs: &[Seg]) -> Option<String> {
    let keys: Vec<&str> = segs
        .iter()
        .filter_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Index(_) => None,
        })
        .collect();
    let (last, parents) = keys.split_last()?;
    super::words::key_suggestion(parents.last().copied().unwrap_or(""), last)
}

/// Every `[[profile]]` has a non-empty `name`.
fn check_names(path: &Path, text: &str, parsed: &FileConfig) -> Result<(), ConfigError> {
    let Some(i) = parsed.profile.iter().position(|p| p.name.trim().is_empty()) else {
        return Ok(());
    };
    let seg = vec![Seg::Key("profile".into()), Seg::Index(i)];
    Err(ConfigError::Parse {
        path: path.to_path_buf(),
        line: locate(text, &seg).map_or(1, |o| line_of(text, o)),
        message: "a [[profile]] has an empty `name`".into(),
    })
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

// ---------------------------------------------------------------------------
// Where an unknown key is.

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

fn segments(p: &serde_ignored::Path) -> Vec<Seg> {
    use serde_ignored::Path as P;
    let mut out = match p {
        P::Root => return Vec::new(),
        P::Seq { parent, .. }
        | P::Map { parent, .. }
        | P::Some { parent }
        | P::NewtypeStruct { parent }
        | P::NewtypeVariant { parent } => segments(parent),
    };
    match p {
        P::Seq { index, .. } => out.push(Seg::Index(*index)),
        P::Map { key, .. } => out.push(Seg::Key(key.clone())),
        _ => {}
    }
    out
}

/// `profile[1].auth.oauth2.foo` style, using the profile's position.
fn dotted(segs: &[Seg]) -> String {
    let mut s = String::new();
    for seg in segs {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Byte offset of the key a path points at, using toml_edit's spans.
fn locate(text: &str, segs: &[Seg]) -> Option<usize> {
    let doc = toml_edit::Document::parse(text).ok()?;
    in_table_like(doc.as_table(), segs, None)
}

fn in_item(item: &toml_edit::Item, segs: &[Seg], best: Option<usize>) -> Option<usize> {
    use toml_edit::{Item, Value as V};
    match (segs.first(), item) {
        (Some(Seg::Key(_)), Item::Table(t)) => in_table_like(t, segs, best),
        (Some(Seg::Key(_)), Item::Value(V::InlineTable(t))) => in_table_like(t, segs, best),
        (Some(Seg::Index(i)), Item::ArrayOfTables(a)) => match a.get(*i) {
            Some(t) => in_table_like(t, &segs[1..], t.span().map(|s| s.start).or(best)),
            None => best,
        },
        _ => best,
    }
}

fn in_table_like(t: &dyn toml_edit::TableLike, segs: &[Seg], best: Option<usize>) -> Option<usize> {
    let Some(Seg::Key(k)) = segs.first() else {
        return best;
    };
    match t.get_key_value(k) {
        Some((key, item)) => in_item(item, &segs[1..], key.span().map(|s| s.start).or(best)),
        None => best,
    }
}
