//! How the pipeline's reports look: [`provision::Reporter`] rendered with
//! `output` (a table for people, one JSON document for machines).
use crate::cluster::ManagementToken;
use crate::output::summary::{self, Summary};
use crate::printer::Printer;
use crate::provision::{self, Finished};

/// Renders reports with the command's printer.
pub struct Summaries(pub Printer);

impl provision::Reporter for Summaries {
    fn finished(&self, f: Finished<'_>) {
        let mut s = Summary::new(f.event, f.created, f.stores, f.verified);
        s.revoked_old = f.old;
        summary::print(&self.0, &s, f.json, f.to_stderr);
    }

    /// `--if-missing` and the first store's token is good: say so, change
    /// nothing.
    fn unchanged(&self, store: &str, t: &ManagementToken, json: bool) -> anyhow::Result<()> {
        let expires = t.expires_at.map(crate::text::rfc3339);
        let what = if t.permissions.is_empty() {
            t.token_prefix.clone()
        } else {
            let ps: Vec<String> = t.permissions.iter().map(|p| p.to_string()).collect();
            crate::text::sanitize(&ps.join(" "))
        };
        self.0.status(format!(
            "{store} already holds a working token ({}, {what}, expires {}); nothing to do.",
            t.id,
            expires.as_deref().unwrap_or("never")
        ));
        if json {
            let mut doc = serde_json::json!({
                "event": "unchanged", "id": t.id, "token_prefix": t.token_prefix,
                "expires_at": expires,
            });
            // A database token: its permissions, and no prefix (the
            // documented API shows none).
            if !t.permissions.is_empty() {
                doc["permissions"] = t.permissions.iter().map(|p| p.to_string()).collect();
                if let Some(o) = doc.as_object_mut() {
                    o.remove("token_prefix");
                }
            }
            self.0.json(&doc)?;
        }
        Ok(())
    }
}
