//! A stored token goes only to the cluster it was made for.
use super::Store;
use crate::error::ConfigError;
use crate::secret::Secret;
use crate::state::{ClusterRef, Record};

/// A stored management token is only ever sent to the cluster it belongs to
/// (a stolen or mixed-up profile must not make us hand one cluster's key to
/// another host). Two witnesses, either of which refuses: the record `mint`
/// left for the store (when it describes this very token), and the store's
/// own idea of its cluster (an `influxctl:` profile's host and port).
/// `here` is where the token would be sent, `address` its `host:port`.
pub fn check_bound(
    store: &dyn Store,
    record: Option<&Record>,
    token: &Secret,
    here: &ClusterRef,
    address: &str,
) -> Result<(), ConfigError> {
    let refuse = |why: String| {
        ConfigError::usage(
            "--store",
            format!(
                "the token in {store} {why}, not for {}; it was not sent",
                here.api_base
            ),
            "use the profile of the cluster the token belongs to (--profile NAME)",
        )
    };
    if let Some(r) = record.filter(|r| r.describes(token))
        && (r.cluster.api_base != here.api_base
            || r.cluster.account_id != here.account_id
            || r.cluster.cluster_id != here.cluster_id)
    {
        return Err(refuse(format!("was made for {}", r.cluster.api_base)));
    }
    // The profile may be unreadable here only if reading the token worked,
    // so an error is the same refusal, not a silent pass.
    match store.cluster_address() {
        Ok(Some(a)) if !a.eq_ignore_ascii_case(address) => {
            Err(refuse(format!("is for {a} (its influxctl profile)")))
        }
        Ok(_) => Ok(()),
        Err(e) => Err(refuse(format!("has no readable cluster address ({e})"))),
    }
}
