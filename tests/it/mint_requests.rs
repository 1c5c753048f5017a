//! The requests `mint` makes (issue 21): the provider's discovery runs beside
//! the cluster's pre-flight probe only when a login is certain, and is never
//! fetched twice; a saved session fetches nothing from the provider.

use crate::support;

use support::{DEFAULT_TIMEOUT, Idp};

#[test]
fn mint_discovers_once_and_a_saved_session_not_at_all() {
    let (idp, cluster, env) =
        support::Stack::configured(Idp::builder().interval(1).start()).parts();
    let store = format!("file:{}", env.home().join("mgmt-token").display());
    let mut run = env.spawn([
        "mint",
        "--description",
        "requests",
        "--store",
        &store,
        "--browser",
        "never",
        "--format",
        "json",
    ]);
    let ev = run.next_stdout_json(DEFAULT_TIMEOUT);
    assert_eq!(ev["event"], "device_code", "{ev}");
    // The user code is out: the probe passed (it comes first), and the
    // discovery it ran beside is the one the device flow used.
    assert_eq!(cluster.requests("GET /api/v0/management/tokens"), 1);
    assert_eq!(idp.stat("discovery"), 1);
    idp.approve(ev["user_code"].as_str().unwrap(), "admin");
    run.wait_output().assert_success();
    assert_eq!(idp.stat("device_authorization"), 1);

    // A saved session: nothing is asked of the provider (the cluster, which
    // found the provider's keys while checking the first create, asks
    // nothing more either).
    let discovered = idp.stat("discovery");
    env.run(["management", "list", "--format", "json"])
        .assert_success();
    assert_eq!(idp.stat("discovery"), discovered);
    assert_eq!(idp.stat("device_authorization"), 1);
}
