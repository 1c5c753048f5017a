//! Hostile servers and terminals (issue 11, items 10, 11 and 13), through the
//! real binary: a cluster whose descriptions carry escape sequences and bidi
//! overrides, identity providers and clusters that answer huge bodies or
//! absurd lifetimes, and a proxy on loopback that must never see a request.

use crate::support;

use serde_json::{Value, json};
use support::cluster::Cluster;
use support::{Idp, ProfileToml, TestEnv};

/// Cursor up, erase the line, then a right-to-left override: on a terminal
/// the row above disappears and `evil` reads backwards.
const HOSTILE: &str = "ops\x1b[1A\x1b[2K\u{202e}live";

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
}

/// A management token handed out by the cluster with `description`.
fn management_token(cluster: &Cluster, description: &str) -> Value {
    http()
        .post(format!("{}/__test/management-tokens", cluster.url()))
        .json(&json!({ "description": description }))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// Stdout shows the hostile text escaped, on the row of `id`, and carries
/// none of the raw characters.
#[track_caller]
fn shows_escaped(out: &support::Output, id: &str) {
    out.assert_success();
    let row = out
        .stdout
        .lines()
        .find(|l| l.contains(id))
        .unwrap_or_else(|| panic!("no row for {id}\n{out}"));
    assert!(
        row.contains(r"ops\x1b[1A\x1b[2K\u{202e}live"),
        "row not escaped: {row:?}\n{out}"
    );
    for raw in ['\x1b', '\u{202e}'] {
        assert!(!out.stdout.contains(raw), "raw {raw:?} on stdout\n{out}");
        assert!(!out.stderr.contains(raw), "raw {raw:?} on stderr\n{out}");
    }
}

#[test]
fn descriptions_cannot_hide_rows_of_management_and_token_lists() {
    let idp = Idp::builder().interval(1).start();
    let cluster = Cluster::start(&idp);
    // A stolen management token was used to create a token with a hostile
    // description (the API accepts any text).
    let planted = management_token(&cluster, HOSTILE);
    let planted_id = planted["id"].as_str().unwrap().to_string();
    let mgmt = planted["accessToken"].as_str().unwrap().to_string();
    let env = TestEnv::new();
    env.write_config(
        &ProfileToml::new(&idp)
            .cluster(&cluster)
            .mgmt_token(Some(&mgmt))
            .build(),
    );

    shows_escaped(&env.run(["management", "list"]), &planted_id);

    // The same through the documented API's database tokens.
    let r: Value = http()
        .post(format!("{}/api/v0/tokens", cluster.url()))
        .bearer_auth(&mgmt)
        .json(&json!({
            "description": HOSTILE,
            "permissions": [{"action": "read", "resource": "*"}],
        }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token_id = r["id"].as_str().unwrap().to_string();
    shows_escaped(&env.run(["token", "list"]), &token_id);
    shows_escaped(&env.run(["token", "get", &token_id]), "DESCRIPTION");
}
