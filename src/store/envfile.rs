//! `env-file:PATH[#KEY]`: one `KEY=value` line in a dotenv file.
//!
//! Rules (all tested):
//!
//! - Every line other than the `KEY` line is kept byte for byte: comments,
//!   blank lines, other assignments, CRLF or LF endings, bytes that are not
//!   UTF-8, a missing final newline.
//! - A line assigns `KEY` when it reads, after optional spaces or tabs,
//!   `KEY=`, `KEY =`, or the same after `export ` (`export KEY=...`).
//!   Commented-out lines (`# KEY=...`) do not count.
//! - The first such line is replaced in place, keeping its leading
//!   whitespace, its `export ` prefix and its line ending. **Later duplicates
//!   are removed**: shells, docker's `--env-file`, systemd and the dotenv
//!   libraries all let the last assignment win, so a stale later line would
//!   silently override the new token. The outcome says how many were removed.
//! - Without such a line, `KEY=value` is appended, with the file's line
//!   ending (CRLF if its first line ends in CRLF); a final line without a
//!   newline first gets one, the only change to any other line.
//! - The value is written bare when it only contains `[A-Za-z0-9._~+/=-]`,
//!   otherwise in single quotes (a value containing `'` is refused).
//! - Replacing a non-empty value of an existing `KEY` needs `force` (as
//!   `file:` does): the token it holds would otherwise stay live on the
//!   cluster and be stored nowhere. `rotate` passes it (replacing is its
//!   point, and it revokes the old token); the outcome says what was
//!   replaced. The file is rewritten atomically into a fresh inode owned by
//!   us, mode 0600 whatever its mode was (the outcome says when the mode
//!   changed). A symbolic link at the path is refused, never followed, and so
//!   is a directory others can change ([`crate::fsutil::check_target`]).
//! - `read` returns the value of the **last** `KEY` line (the one that takes
//!   effect), without its quotes; an empty value counts as no token.
use super::util::{self, Replace};
use super::{StoreError, StoreOptions, StoreOutcome};
use crate::secret::Secret;
use std::path::Path;

pub(super) fn write(
    path: &Path,
    key: &str,
    token: &str,
    opts: &StoreOptions,
) -> Result<StoreOutcome, StoreError> {
    let value = format_value(token)?;
    let target = path.to_path_buf();
    let meta = util::safe_target(&target)?;
    let original = match &meta {
        Some(_) => util::read_file(&target)?,
        None => None,
    };
    let held = original
        .as_deref()
        .and_then(|d| lookup(d, key))
        .is_some_and(|v| !v.is_empty());
    if held && !opts.force {
        return Err(StoreError::HoldsToken {
            place: format!("{key} in {}", target.display()),
        });
    }
    let new_dirs = original
        .is_none()
        .then(|| util::first_missing_dir(&target))
        .flatten();
    let created_dir = match original {
        None => util::ensure_parent(&target)?,
        Some(_) => None,
    };
    let edit = edit(original.as_deref().unwrap_or(b""), key, &value);
    util::write_atomic(
        &target,
        &edit.contents,
        Replace {
            noclobber: original.is_none(),
            unchanged: original.as_deref(),
        },
    )
    .map_err(|e| {
        // Leave nothing behind: not even the directories made for it.
        if let Some(top) = &new_dirs {
            util::remove_created_dirs(&target, top);
        }
        match e {
            StoreError::Exists { path } => util::unusable(
                &path,
                "the file appeared while we were writing it; nothing was written, try again",
            ),
            e => e,
        }
    })?;
    let shown = target.display();
    let mut out = StoreOutcome::new(match (&original, edit.replaced) {
        (None, _) => format!("created {shown} with {key} (0600)"),
        (Some(_), true) => format!("replaced {key} in {shown} (0600)"),
        (Some(_), false) => format!("added {key} to {shown} (0600)"),
    });
    if let Some(n) = created_dir {
        out = out.note(n);
    }
    if held {
        out = out.note(format!(
            "the token {key} held before was replaced (--force)"
        ));
    }
    if let Some(n) = util::tightened(meta.as_ref()) {
        out = out.note(n);
    }
    if edit.removed > 0 {
        out = out.note(format!(
            "removed {} later duplicate {key} line{}",
            edit.removed,
            if edit.removed == 1 { "" } else { "s" }
        ));
    }
    Ok(out)
}

pub(super) fn read(path: &Path, key: &str) -> Result<Option<Secret>, StoreError> {
    let Some(data) = util::read_file(path)? else {
        return Ok(None);
    };
    let Some(raw) = lookup(&data, key) else {
        return Ok(None);
    };
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        util::warn_if_loose(path, &meta);
    }
    let value = String::from_utf8(raw)
        .map_err(|_| util::unusable(path, format!("the value of {key} is not UTF-8")))?;
    Ok((!value.is_empty()).then(|| Secret::new(value)))
}

pub(super) fn check(path: &Path, key: &str, opts: &StoreOptions) -> Result<(), StoreError> {
    let existing = util::preflight_target(path)?;
    if existing.is_some() {
        let data = util::read_file(path)?.unwrap_or_default();
        if !opts.force && lookup(&data, key).is_some_and(|v| !v.is_empty()) {
            return Err(StoreError::HoldsToken {
                place: format!("{key} in {}", path.display()),
            });
        }
    }
    Ok(())
}

/// Bare when safe, else single-quoted.
pub(super) fn format_value(v: &str) -> Result<String, StoreError> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "._~+/=-".contains(c);
    if !v.is_empty() && v.chars().all(safe) {
        Ok(v.to_string())
    } else if !v.contains('\'') && !v.contains('\n') && !v.contains('\r') {
        Ok(format!("'{v}'"))
    } else {
        Err(StoreError::BadToken {
            reason: "it contains a single quote, which a dotenv value cannot hold".into(),
        })
    }
}

pub(super) struct Edit {
    pub contents: Vec<u8>,
    /// An existing line was replaced (else one was appended).
    pub replaced: bool,
    /// Later duplicate lines removed.
    pub removed: usize,
}

/// The file with `KEY=value` set (see the module docs for the rules).
pub(super) fn edit(data: &[u8], key: &str, value: &str) -> Edit {
    let mut contents = Vec::with_capacity(data.len() + key.len() + value.len() + 2);
    let mut replaced = false;
    let mut removed = 0;
    for line in data.split_inclusive(|b| *b == b'\n') {
        let (body, ending) = split_ending(line);
        match match_key(body, key) {
            Some(m) if !replaced => {
                contents.extend_from_slice(&body[..m.key_start]);
                contents.extend_from_slice(key.as_bytes());
                contents.push(b'=');
                contents.extend_from_slice(value.as_bytes());
                contents.extend_from_slice(ending);
                replaced = true;
            }
            Some(_) => removed += 1,
            None => contents.extend_from_slice(line),
        }
    }
    if !replaced {
        let nl: &[u8] = match data.split_inclusive(|b| *b == b'\n').next() {
            Some(first) if first.ends_with(b"\r\n") => b"\r\n",
            _ => b"\n",
        };
        if contents.ends_with(b"\r") && nl == b"\r\n" {
            // A dangling CR at the end of a CRLF file: complete its ending
            // rather than add a second CR (found by `cargo fuzz run env_file`).
            contents.push(b'\n');
        } else if !contents.is_empty() && !contents.ends_with(b"\n") {
            contents.extend_from_slice(nl);
        }
        contents.extend_from_slice(key.as_bytes());
        contents.push(b'=');
        contents.extend_from_slice(value.as_bytes());
        contents.extend_from_slice(nl);
    }
    Edit {
        contents,
        replaced,
        removed,
    }
}

/// The raw value of the last `KEY` line, quotes removed.
pub(super) fn lookup(data: &[u8], key: &str) -> Option<Vec<u8>> {
    data.split_inclusive(|b| *b == b'\n')
        .rev()
        .find_map(|line| {
            let (body, _) = split_ending(line);
            match_key(body, key).map(|m| parse_value(&body[m.value_start..]))
        })
}

/// A line without its ending, and the ending (`\r\n`, `\n` or nothing).
fn split_ending(line: &[u8]) -> (&[u8], &[u8]) {
    if let Some(b) = line.strip_suffix(b"\r\n") {
        (b, &line[b.len()..])
    } else if let Some(b) = line.strip_suffix(b"\n") {
        (b, &line[b.len()..])
    } else {
        (line, &[])
    }
}

struct KeyMatch {
    /// Where the key starts (after indentation and `export `).
    key_start: usize,
    /// Where the value starts (after `=`).
    value_start: usize,
}

fn match_key(body: &[u8], key: &str) -> Option<KeyMatch> {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let mut i = body.iter().take_while(|b| blank(b)).count();
    if let Some(rest) = body[i..].strip_prefix(b"export") {
        let n = rest.iter().take_while(|b| blank(b)).count();
        if n > 0 {
            i += "export".len() + n;
        }
    }
    let key_start = i;
    let rest = body[i..].strip_prefix(key.as_bytes())?;
    let n = rest.iter().take_while(|b| blank(b)).count();
    let rest = &rest[n..];
    (rest.first() == Some(&b'=')).then(|| KeyMatch {
        key_start,
        value_start: body.len() - rest.len() + 1,
    })
}

/// The value part of `KEY=value`: surrounding blanks trimmed; `'...'` taken
/// literally; `"..."` with `\"` and `\\` unescaped; a bare value ends at a
/// ` #` comment.
fn parse_value(raw: &[u8]) -> Vec<u8> {
    let raw = raw.trim_ascii();
    match raw.first() {
        Some(b'\'') => {
            let inner = &raw[1..];
            let end = inner
                .iter()
                .position(|b| *b == b'\'')
                .unwrap_or(inner.len());
            inner[..end].to_vec()
        }
        Some(b'"') => {
            let mut out = Vec::new();
            let mut it = raw[1..].iter();
            while let Some(&b) = it.next() {
                match b {
                    b'"' => break,
                    b'\\' => match it.next() {
                        Some(&n @ (b'"' | b'\\')) => out.push(n),
                        Some(&n) => {
                            out.push(b'\\');
                            out.push(n);
                        }
                        None => out.push(b'\\'),
                    },
                    _ => out.push(b),
                }
            }
            out
        }
        _ => {
            let end = raw
                .windows(2)
                .position(|w| (w[0] == b' ' || w[0] == b'\t') && w[1] == b'#')
                .unwrap_or(raw.len());
            raw[..end].trim_ascii().to_vec()
        }
    }
}
