//! Stores under a careful admin's eye, second pass (issue 19 items 7, 8, 9):
//! signals during an `exec:` store, ownership on reads, whole-path checks.
use crate::influxctl_hostile::await_death;
use crate::support::{self, Stack};
use std::path::Path;
use std::time::Duration;
use test_support::users;

fn read_pid(p: &Path) -> u32 {
    std::fs::read_to_string(p).unwrap().trim().parse().unwrap()
}

/// Item 7: SIGTERM while an `exec:` store waits stops its process group at
/// once (the command would store the token if let go: its gate is never
/// opened), a `setsid` child it started dies too, and the new token is
/// revoked. Before, the signal waited for the command's 60 s timeout.
#[test]
fn a_signal_during_an_exec_store_stops_it_at_once_and_revokes_the_token() {
    let s = Stack::start();
    let gate = support::StoreGate::new(s.env.home(), "sig", 0);
    let pidfile = s.env.home().join("escaped.pid");
    let spec = gate.spec.replacen(
        "exec:",
        &format!(
            "exec:setsid sh -c 'sleep 300' & echo $! > {}.tmp && mv {0}.tmp {0}; ",
            pidfile.display()
        ),
        1,
    );
    let run = s.env.spawn(support::mint_into("sig", spec.as_str()));
    gate.wait_until_storing(&run);
    let escaped = read_pid(&pidfile);
    run.signal("TERM");
    // Well inside the exec: timeout (60 s): the signal alone ended the store.
    let out = run.wait_output_timeout(Duration::from_secs(30));
    out.assert_fails(143, &["revoked"]);
    let all = s.tokens();
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0]["revokedAt"].is_string(), "no orphan: {all:?}");
    let gone = await_death(escaped);
    if !gone {
        let _ = std::process::Command::new("kill")
            .args(["-9", &escaped.to_string()])
            .status();
    }
    assert!(gone, "the setsid child outlived the store");
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Item 8 (L6): `--if-missing` applies the write-side ownership rule to what
/// it reads: a working token that another user planted in a sticky
/// directory is refused, not taken as "already holds a working token".
#[test]
fn if_missing_refuses_a_token_file_another_user_planted() {
    users::require_root("planting a file as another user");
    let s = Stack::start();
    let mine = s.env.home().join("mine");
    s.env
        .run(support::mint_into(
            "theirs",
            &format!("file:{}", mine.display()),
        ))
        .assert_success();
    let shared = s.env.home().join("shared");
    std::fs::create_dir(&shared).unwrap();
    set_mode(&shared, 0o1777);
    let planted = shared.join("app-token");
    std::fs::copy(&mine, &planted).unwrap();
    set_mode(&planted, 0o600);
    std::os::unix::fs::chown(&planted, Some(users::OTHER), Some(users::OTHER)).unwrap();
    let out = s.env.run([
        "mint",
        "--if-missing",
        "--description",
        "app",
        "--store",
        &format!("file:{}", planted.display()),
    ]);
    out.assert_fails(2, &["belongs to another user"])
        .assert_stderr_lacks(&["nothing to do"]);
    assert_eq!(s.tokens().len(), 1, "nothing created");
}

/// Item 9 (L7): every directory above a store is checked, not only its own:
/// a user who owns a higher directory could swap a lower one for a link.
#[test]
fn a_store_below_a_directory_another_user_owns_is_refused() {
    users::require_root("a directory of another user");
    let s = Stack::start();
    let anc = s.env.home().join("anc");
    users::dir_of_other(&anc, 0o755);
    let sub = anc.join("sub");
    std::fs::create_dir(&sub).unwrap();
    set_mode(&sub, 0o700);
    let file = sub.join("tok");
    let out = s.env.run(support::mint_into(
        "ancestor",
        &format!("file:{}", file.display()),
    ));
    out.assert_fails(2, &[&anc.display().to_string(), "another user"]);
    assert!(!file.exists());
    assert!(s.tokens().is_empty(), "nothing created");
}
