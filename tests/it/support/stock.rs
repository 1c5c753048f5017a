//! The reference cluster playing a **stock** cluster (our management-token
//! routes off, InfluxData's documented Management API on), and what the
//! tests of the documented API and of database-token `mint`/`rotate` do
//! with it: log in, use a token on the data path, count requests, hand out
//! a management token out of band, check stderr for token bytes.

use super::cluster::Cluster;
use super::{Idp, Output, ProfileToml, TestEnv};
use reference_cluster::config::DocumentedPaths;
use serde_json::{Value, json};

/// The documented API's long path form, as the cluster counts its routes.
pub const LONG: &str = "/api/v0/accounts/{account_id}/clusters/{cluster_id}";
/// The short form.
pub const SHORT: &str = "/api/v0";

/// `command`, the flags of the database token most tests make (`telegraf`,
/// writing `db`), then `extra`.
pub fn telegraf_db<'a>(command: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    let token = ["--description", "telegraf", "--write-database", "db"];
    [command, &token, extra].concat()
}

/// `command`, the flags of the database token in InfluxData's examples
/// (`telegraf on host-1`, reading and writing `sensors`), then `extra`.
pub fn telegraf_sensors<'a>(command: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    let token = [
        "--description",
        "telegraf on host-1",
        "--write-database",
        "sensors",
        "--read-database",
        "sensors",
    ];
    [command, &token, extra].concat()
}

/// A reference cluster without our management-token routes, serving the
/// documented API in `paths` (on `listen` when given: a restart in place).
pub fn stock(idp: &Idp, paths: DocumentedPaths, listen: Option<std::net::SocketAddr>) -> Cluster {
    Cluster::builder(idp)
        .configure(|c| {
            c.management_tokens = false;
            c.documented_paths = paths;
            if let Some(addr) = listen {
                c.listen = addr;
            }
        })
        .start()
}

/// A stock Cloud Dedicated cluster (account `acc-1`, cluster `clu-1`), a
/// management token handed to it out of band, and a profile for it whose
/// host has nothing listening: the documented API is at `management_url`,
/// as console.influxdata.com is for Cloud Dedicated.
pub fn dedicated_behind_management_url(idp: &Idp) -> (Cluster, String, ProfileToml) {
    let cluster = Cluster::builder(idp)
        .dedicated("acc-1", "clu-1")
        .configure(|c| c.management_tokens = false)
        .start();
    let mgmt = management_token(&cluster);
    let profile = ProfileToml::new(idp)
        .dedicated("acc-1", "clu-1")
        .host("127.0.0.1")
        .port(super::free_port())
        .management_url(&cluster.url());
    (cluster, mgmt, profile)
}

/// A CLI environment with a profile for `cluster` (nobody logged in).
pub fn stock_env(idp: &Idp, cluster: &Cluster) -> TestEnv {
    let env = TestEnv::new();
    env.write_config(&ProfileToml::new(idp).cluster(cluster).build());
    env
}

/// A CLI environment logged in as `admin` against `cluster`.
pub fn logged_in(idp: &Idp, cluster: &Cluster) -> TestEnv {
    let env = stock_env(idp, cluster);
    super::login(&env, idp, "admin");
    env
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
}

/// `GET /query?db=` with `token`: the status.
pub fn query(cluster: &Cluster, token: &str, db: &str) -> u16 {
    http()
        .get(format!("{}/query", cluster.url()))
        .query(&[("db", db), ("q", "SHOW MEASUREMENTS")])
        .bearer_auth(token)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

/// `POST /api/v2/write?bucket=` with `token`: the status.
pub fn write(cluster: &Cluster, token: &str, db: &str) -> u16 {
    http()
        .post(format!("{}/api/v2/write", cluster.url()))
        .query(&[("bucket", db)])
        .header("Authorization", format!("Token {token}"))
        .body("cpu,host=a usage=0.5")
        .send()
        .unwrap()
        .status()
        .as_u16()
}

/// A management token handed to the cluster out of band (as `influxctl
/// management create` does on a real one).
pub fn management_token(cluster: &Cluster) -> String {
    issued_management_token(cluster, "ops automation")
}

/// A management token described `description`, issued by the cluster's test
/// route.
pub fn issued_management_token(cluster: &Cluster, description: &str) -> String {
    let r: Value = http()
        .post(format!("{}/__test/management-tokens", cluster.url()))
        .json(&json!({ "description": description }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    r["accessToken"].as_str().unwrap().to_string()
}

/// Requests the cluster served on `METHOD path-template`.
pub fn requests(cluster: &Cluster, method: &str, path: &str) -> u64 {
    cluster.requests(&format!("{method} {path}"))
}

/// No `apiv1_` (database token) and no `M.V1.` (management token) byte on
/// stderr, nor any 16-byte window of `token`.
#[track_caller]
pub fn assert_no_secret_on_stderr(out: &Output, token: &str) {
    assert!(!out.stderr.contains("apiv1_"), "apiv1_ on stderr\n{out}");
    assert!(!out.stderr.contains("M.V1."), "M.V1. on stderr\n{out}");
    for w in token.as_bytes().windows(16) {
        let w = std::str::from_utf8(w).unwrap();
        assert!(!out.stderr.contains(w), "token bytes on stderr\n{out}");
    }
}
