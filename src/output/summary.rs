//! The summary of a `mint` or `rotate`: a table for people, one JSON
//! document for machines.
use crate::cluster::CreatedToken;
use crate::printer::Printer;
use serde::Serialize;

/// How one store took (or did not take) the token.
#[derive(Debug, Serialize, Clone, PartialEq, Eq)]
pub struct StoreResult {
    pub store: String,
    pub ok: bool,
    pub detail: String,
}

impl StoreResult {
    pub fn ok(store: String, detail: impl Into<String>) -> Self {
        StoreResult {
            store,
            ok: true,
            detail: detail.into(),
        }
    }
    pub fn failed(store: String, detail: impl Into<String>) -> Self {
        StoreResult {
            store,
            ok: false,
            detail: detail.into(),
        }
    }
}

#[derive(Debug, Serialize, Clone)]
pub struct Summary {
    pub event: &'static str,
    pub id: String,
    pub description: String,
    /// Empty (and absent from JSON) for a database token.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token_prefix: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    /// A database token's permissions (`read:DB`, `write:*`); absent for a
    /// management token.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
    pub stores: Vec<StoreResult>,
    pub verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_old: Option<String>,
}

impl Summary {
    pub fn new(
        event: &'static str,
        created: &CreatedToken,
        stores: Vec<StoreResult>,
        verified: bool,
    ) -> Self {
        Summary {
            event,
            id: created.token.id.clone(),
            description: created.token.description.clone(),
            token_prefix: created.token.token_prefix.clone(),
            created_at: crate::text::rfc3339(created.token.created_at),
            expires_at: created.token.expires_at.map(crate::text::rfc3339),
            permissions: created
                .token
                .permissions
                .iter()
                .map(|p| crate::text::sanitize(&p.to_string()))
                .collect(),
            stores,
            verified,
            revoked_old: None,
        }
    }

    fn rows(&self) -> Vec<Vec<String>> {
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
        let mut rows = vec![
            vec!["ID".into(), self.id.clone()],
            vec!["DESCRIPTION".into(), self.description.clone()],
            vec!["PREFIX".into(), self.token_prefix.clone()],
            vec![
                "EXPIRES AT".into(),
                self.expires_at.clone().unwrap_or_else(|| "never".into()),
            ],
            vec!["VERIFIED".into(), yes_no(self.verified)],
        ];
        // The documented API reveals no prefix of a database token.
        if self.token_prefix.is_empty() {
            rows.retain(|r| r[0] != "PREFIX");
        }
        if !self.permissions.is_empty() {
            rows.push(vec!["PERMISSIONS".into(), self.permissions.join(" ")]);
        }
        if let Some(old) = &self.revoked_old {
            rows.push(vec!["OLD TOKEN".into(), old.clone()]);
        }
        for r in &self.stores {
            let state = if r.ok { "ok" } else { "FAILED" };
            rows.push(vec![
                format!("STORE {}", r.store),
                format!("{state}: {}", r.detail),
            ]);
        }
        rows
    }
}

/// Print the summary: JSON on stdout, or the table on stdout — on stderr
/// when stdout holds the token (a `stdout` store) or the run failed (so a
/// script reading stdout never mistakes a failure report for data).
/// A failure to print is reported, never returned: the token is already
/// stored (or revoked) by now, and that outcome is what the exit code says.
pub fn print(printer: &Printer, s: &Summary, json: bool, to_stderr: bool) {
    let r = if json {
        printer.json(s)
    } else {
        let text = super::table(&["FIELD", "VALUE"], &s.rows());
        if to_stderr {
            printer.block(&text);
            Ok(())
        } else {
            printer.data(&text)
        }
    };
    if let Err(e) = r {
        printer.warn(format!("could not print the summary on stdout: {e}"));
    }
}
