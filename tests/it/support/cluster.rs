//! The reference cluster (workspace member `reference-cluster`), run
//! in-process on its own tokio runtime, on a free loopback port, stopped on drop.
use super::Idp;
use reference_cluster::config::{Dedicated, Faults, Tls};
use reference_cluster::{Config, RunningServer};
use serde_json::Value;
use std::path::{Path, PathBuf};
use test_support::cluster_db::ClusterDb;

pub struct ClusterBuilder {
    config: Config,
    tls: bool,
}

pub struct Cluster {
    rt: tokio::runtime::Runtime,
    server: Option<RunningServer>,
    config: Config,
    /// Holds the database (and the TLS files); removed on drop.
    _dir: tempfile::TempDir,
    ca: Option<PathBuf>,
    http: reqwest::blocking::Client,
}

impl ClusterBuilder {
    /// Admins: `admin`. Test control on, SQLite file in a temp dir.
    pub fn new(idp: &Idp) -> Self {
        let mut config = Config::minimal(idp.issuer(), idp.audience(), &["admin"]);
        config.faults = Faults {
            test_control: true,
            ..Faults::default()
        };
        ClusterBuilder { config, tls: false }
    }

    pub fn audience(mut self, aud: &str) -> Self {
        self.config.identity.audience = aud.into();
        self
    }

    /// Serve HTTPS with a certificate from a freshly generated test CA.
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    pub fn dedicated(mut self, account: &str, cluster: &str) -> Self {
        self.config.dedicated = Some(Dedicated {
            account_id: account.into(),
            cluster_id: cluster.into(),
        });
        self
    }

    /// Any other setting (`documented_paths`, `management_tokens`, `listen`…).
    pub fn configure(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(&mut self.config);
        self
    }

    pub fn start(mut self) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        self.config.database = dir.path().join("cluster.sqlite").display().to_string();
        let ca = if self.tls {
            let files = test_support::tls::write_tls_files(dir.path());
            self.config.tls = Some(Tls {
                cert: files.cert,
                key: files.key,
            });
            Some(files.ca)
        } else {
            None
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = rt
            .block_on(reference_cluster::start(self.config.clone()))
            .expect("start the reference cluster");
        // Keep the port across restarts.
        self.config.listen = server.local_addr();
        let http = reqwest::blocking::Client::builder()
            .no_proxy()
            .danger_accept_invalid_certs(true)
            .build()
            .unwrap();
        Cluster {
            rt,
            server: Some(server),
            config: self.config,
            _dir: dir,
            ca,
            http,
        }
    }
}

impl Cluster {
    pub fn builder(idp: &Idp) -> ClusterBuilder {
        ClusterBuilder::new(idp)
    }

    pub fn start(idp: &Idp) -> Cluster {
        ClusterBuilder::new(idp).start()
    }

    pub fn port(&self) -> u16 {
        self.config.listen.port()
    }

    pub fn url(&self) -> String {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port())
    }

    pub fn ca_path(&self) -> Option<&Path> {
        self.ca.as_deref()
    }

    /// The cluster's SQLite file, to put a token into a state that would
    /// otherwise take waiting (see `test_support::cluster_db`).
    pub fn db(&self) -> ClusterDb {
        ClusterDb::new(&self.config.database)
    }

    /// `POST /__test/faults`, e.g. `json!({"fail_next": 2, "retry_after": 1})`.
    pub fn faults(&self, body: Value) {
        let r = self
            .http
            .post(format!("{}/__test/faults", self.url()))
            .json(&body)
            .send()
            .unwrap();
        assert!(r.status().is_success(), "faults: {}", r.status());
    }

    /// `GET /__test/stats`.
    pub fn stats(&self) -> Value {
        self.http
            .get(format!("{}/__test/stats", self.url()))
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    /// Requests served per `"METHOD /route/template"`.
    pub fn requests(&self, route: &str) -> u64 {
        self.stats()["requests"][route].as_u64().unwrap_or(0)
    }

    /// The sum of every request the cluster served (test routes aside).
    pub fn served(&self) -> u64 {
        let stats = self.stats();
        stats["requests"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum()
    }

    pub fn token_count(&self) -> u64 {
        self.stats()["tokens"].as_u64().unwrap()
    }

    /// Every token on the cluster, read with a management token or JWT.
    pub fn list_with(&self, bearer: &str) -> Vec<Value> {
        let r = self
            .http
            .get(format!("{}/api/v0/management/tokens", self.url()))
            .bearer_auth(bearer)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().unwrap()
    }

    pub fn get_with(&self, bearer: &str, id: &str) -> reqwest::blocking::Response {
        self.http
            .get(format!("{}/api/v0/management/tokens/{id}", self.url()))
            .bearer_auth(bearer)
            .send()
            .unwrap()
    }

    /// Panics unless `bearer` works: it reads the management token `id`
    /// (its own record, or one it may see) with 200.
    #[track_caller]
    pub fn assert_works(&self, bearer: &str, id: &Value) {
        let id = id.as_str().unwrap_or_else(|| panic!("not an id: {id}"));
        assert_eq!(self.get_with(bearer, id).status(), 200, "token {id}");
    }

    pub fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.shutdown());
        }
    }

    /// Stop and start again on the same port with the same database.
    pub fn restart(&mut self) {
        self.stop();
        let server = self
            .rt
            .block_on(reference_cluster::start(self.config.clone()))
            .expect("restart the reference cluster");
        self.server = Some(server);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}
