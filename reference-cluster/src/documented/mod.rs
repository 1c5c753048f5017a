//! InfluxData's documented Management API for databases and database tokens,
//! as described by the public OpenAPI specs of InfluxDB Clustered and Cloud
//! Dedicated (`api-docs/influxdb3/{clustered,cloud-dedicated}/management/` in
//! `influxdata/docs-v2`). See `docs/documented-api.md` for what is served.
//!
//! Both path forms are routed to these handlers: the short form
//! `/api/v0/...` and the long form
//! `/api/v0/accounts/{accountId}/clusters/{clusterId}/...`. Through the long
//! form, objects carry `accountId` and `clusterId`. With `[dedicated]`
//! configured only its ids are accepted (404 otherwise, before the
//! credential); without it any ids are (Clustered with InfluxData's
//! placeholder ids).
//!
//! There is no idempotency here (the documented API has none): an
//! `Idempotency-Key` header is ignored.

pub mod databases;
pub mod fields;
pub mod tokens;

pub use databases::{DEFAULT_MAX_COLUMNS_PER_TABLE, DEFAULT_MAX_TABLES};
pub use fields::{MAX_DATABASE_NAME_CHARS, MAX_PARTITION_TEMPLATE_PARTS, check_database_name};

/// Largest request body read.
const MAX_BODY: usize = 1024 * 1024;

/// The objects of a list response, each as served.
fn view<'a, R, V>(records: &'a [R], shown: impl Fn(&'a R) -> V) -> Vec<V> {
    records.iter().map(shown).collect()
}

#[cfg(test)]
mod tests {
    use crate::test_support::{TestApp, config, is_rfc3339};
    use crate::token;
    use serde_json::json;

    #[tokio::test]
    async fn databases_and_tokens_survive_a_restart_and_secrets_never_reach_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.sqlite");
        let mut c = config();
        c.database = path.to_str().unwrap().to_string();
        let (secret, id) = {
            let (app, m) = TestApp::with_admin(c.clone()).await;
            app.post("/api/v0/databases", &m, json!({"name": "db"}))
                .await;
            let r = app
                .post("/api/v0/tokens", &m, json!({"description": "d"}))
                .await;
            let id = r.str("id");
            app.call("DELETE", &format!("/api/v0/tokens/{id}"), &m, None)
                .await;
            (r.str("accessToken"), id)
        };
        let (app, m) = TestApp::with_admin(c).await;
        let r = app.call("GET", "/api/v0/databases", &m, None).await;
        assert_eq!(r.body[0]["name"], "db");
        let r = app
            .call("GET", &format!("/api/v0/tokens/{id}"), &m, None)
            .await;
        assert!(is_rfc3339(&r.body["revokedAt"]), "{}", r.text);
        drop(app);
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        let random_part = &secret.as_bytes()["apiv1_".len()..];
        assert!(
            !bytes.windows(random_part.len()).any(|w| w == random_part),
            "the database token is on disk"
        );
        let hash = token::hash_database_token(&secret);
        assert!(
            bytes.windows(hash.len()).any(|w| w == hash),
            "its SHA-512 is"
        );
    }
}
