//! What each store now holds (`crate::state` records) and which cluster a
//! profile names (the cluster refs the records and binding checks compare).
use crate::cluster::CreatedToken;
use crate::printer::Printer;
use crate::state::{ClusterRef, Record, Records, TokenKind};
use chrono::Utc;

/// Where `mint`/`rotate` record what they put in each store; none (with a
/// note) when there is no state directory.
pub fn recorder(env: &crate::env::Env, printer: &Printer, cluster: ClusterRef) -> Option<Recorder> {
    match crate::state::state_dir(env) {
        Some(dir) => Some(Recorder {
            records: Records::in_dir(&dir),
            cluster,
        }),
        None => {
            printer.note(
                "no state directory (set HOME or INFLUX_BOOTSTRAP_STATE_DIR): rotate will need --id",
            );
            None
        }
    }
}

fn product_name(cfg: &crate::settings::Config) -> String {
    match cfg.profile.product.value {
        crate::settings::Product::Clustered => "clustered",
        crate::settings::Product::Dedicated => "dedicated",
    }
    .into()
}

/// The record `mint` left for `store`, if any (an unreadable one is a
/// warning: `rotate --id` still works; an unsafe state directory stops the
/// run, exit 7).
pub fn record_of(
    env: &crate::env::Env,
    printer: &Printer,
    store: &str,
) -> Result<Option<Record>, crate::error::StateError> {
    let Some(dir) = crate::state::state_dir(env) else {
        return Ok(None);
    };
    match Records::in_dir(&dir).load(store) {
        Ok(r) => Ok(r),
        Err(e @ crate::error::StateError::Unsafe { .. }) => Err(e),
        Err(e) => {
            printer.warn(format!("could not read the record of {store}: {e}"));
            Ok(None)
        }
    }
}

/// Where a stored management token would be sent, as `host:port` (what an
/// influxctl profile names): `management_url`'s when set — the token goes
/// there, so that is what a store's binding must match (M4 of the
/// 2026-12-06 review) — else the profile's cluster.
pub fn profile_address(cfg: &crate::settings::Config) -> String {
    if let Some(u) = &cfg.profile.management_url
        && let (Some(host), Some(port)) = (u.value.host_str(), u.value.port_or_known_default())
    {
        return format!("{}:{port}", host.to_ascii_lowercase());
    }
    let host = cfg
        .profile
        .host
        .as_ref()
        .map(|h| h.value.to_ascii_lowercase())
        .unwrap_or_default();
    format!("{host}:{}", cfg.profile.port.value)
}

/// Our management-token API: its base URL (and the profile's ids).
pub fn management_ref(cfg: &crate::settings::Config, base: &str) -> ClusterRef {
    let id = |v: &Option<crate::settings::Value<String>>| v.as_ref().map(|v| v.value.clone());
    ClusterRef {
        product: product_name(cfg),
        api_base: base.to_string(),
        account_id: id(&cfg.profile.account_id),
        cluster_id: id(&cfg.profile.cluster_id),
    }
}

/// The documented API: the management origin and the long form's ids.
pub fn documented_ref(
    cfg: &crate::settings::Config,
    t: &crate::cluster::documented::Target,
) -> ClusterRef {
    ClusterRef {
        product: product_name(cfg),
        api_base: t.origin.to_string(),
        account_id: Some(t.account_id.clone()),
        cluster_id: Some(t.cluster_id.clone()),
    }
}

/// Writes a [`Record`] for every store that took a token; a failure to
/// write is a warning (the token is stored; only `rotate`'s look-up needs it).
pub struct Recorder {
    pub records: Records,
    pub cluster: ClusterRef,
}

impl Recorder {
    pub fn save(
        &self,
        printer: &Printer,
        kind: TokenKind,
        created: &CreatedToken,
        stores: &[String],
    ) {
        let t = &created.token;
        for store in stores {
            let r = Record {
                version: crate::state::RECORD_VERSION,
                store: store.clone(),
                kind,
                token_id: t.id.clone(),
                token_sha256: crate::state::fingerprint(&created.access_token),
                cluster: self.cluster.clone(),
                description: t.description.clone(),
                permissions: t.permissions.clone(),
                created_at: t.created_at,
                expires_at: t.expires_at,
                recorded_at: Utc::now(),
            };
            if let Err(e) = self.records.save(&r) {
                printer.warn(format!(
                    "could not record which token {store} holds in {}: {e} (rotate will need --id {})",
                    self.records.dir().display(),
                    t.id
                ));
            }
        }
    }
}
