//! The scheduling recipes of `docs/recipes/` (issue 17), each checked by a
//! tool that understands it: `systemd-analyze verify` for the service and
//! timer, a YAML parser for the Kubernetes CronJob, the crontab fields by
//! hand (no cron has a checker); and every command line in them is one the
//! CLI accepts (its flags parse).

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

fn recipe(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/recipes")
        .join(name)
}

/// The CLI accepts these arguments (`--help` after them: clap checks every
/// flag before it, and stops before doing anything).
#[track_caller]
fn flags_parse(args: &[&str]) {
    let env = support::TestEnv::new();
    let mut all: Vec<&str> = args.to_vec();
    all.push("--help");
    let out = env.run(&all);
    assert!(out.success(), "{args:?}\n{out}");
}

/// `influx-bootstrap ARGS...` out of a command line (shell words split on
/// spaces; the recipes use no quoting).
fn our_args(line: &str) -> Vec<&str> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| w.ends_with("influx-bootstrap"))
        .unwrap_or_else(|| panic!("no influx-bootstrap in {line}"));
    words[at + 1..]
        .iter()
        .take_while(|w| **w != "&&")
        .copied()
        .collect()
}

#[test]
fn systemd_service_and_timer_verify() {
    let Ok(v) = Command::new("systemd-analyze").arg("--version").output() else {
        // Not installable everywhere (macOS); Debian CI has it.
        eprintln!("systemd-analyze not found: recipe not verified");
        return;
    };
    assert!(v.status.success());
    let dir = tempfile::tempdir().unwrap();
    let service = std::fs::read_to_string(recipe("influx-bootstrap-rotate.service")).unwrap();
    // `verify` checks that ExecStart's program exists: point it at ours.
    let bin = support::bin_path().display().to_string();
    let here = service.replace("/usr/local/bin/influx-bootstrap", &bin);
    assert_ne!(
        here, service,
        "the service runs /usr/local/bin/influx-bootstrap"
    );
    let unit = dir.path().join("influx-bootstrap-rotate.service");
    std::fs::write(&unit, &here).unwrap();
    let timer = dir.path().join("influx-bootstrap-rotate.timer");
    std::fs::copy(recipe("influx-bootstrap-rotate.timer"), &timer).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .arg(&timer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Unknown keys are only warnings: any output is a finding.
    assert!(out.status.success() && stderr.trim().is_empty(), "{stderr}");
    for want in [
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "StateDirectory=",
    ] {
        assert!(service.contains(want), "sandboxing: {want}");
    }
    let exec = service
        .lines()
        .find(|l| l.starts_with("ExecStart="))
        .unwrap();
    flags_parse(&our_args(exec));
}

#[test]
fn crontab_line_is_well_formed_and_locked() {
    let text = std::fs::read_to_string(recipe("influx-bootstrap.cron")).unwrap();
    let jobs: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#') && !l.contains('='))
        .collect();
    assert_eq!(jobs.len(), 1, "{text}");
    let fields: Vec<&str> = jobs[0].split_whitespace().collect();
    // minute hour day-of-month month day-of-week user command (/etc/cron.d).
    let ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
    for (field, (lo, hi)) in fields.iter().zip(ranges) {
        if *field != "*" {
            let n: u32 = field.parse().unwrap_or_else(|_| panic!("{field}"));
            assert!((lo..=hi).contains(&n), "{field}");
        }
    }
    assert_eq!(fields[5], "root");
    assert_eq!(&fields[6..8], ["flock", "-n"], "a lock around the job");
    // cron turns an unescaped % into a newline.
    assert!(!jobs[0].contains('%'), "{}", jobs[0]);
    flags_parse(&our_args(jobs[0]));
}

#[test]
fn kubernetes_cronjob_parses_and_is_locked_down() {
    let text = std::fs::read_to_string(recipe("influx-bootstrap-cronjob.yaml")).unwrap();
    let doc: serde_json::Value = serde_norway::from_str(&text).unwrap();
    assert_eq!(doc["apiVersion"], "batch/v1");
    assert_eq!(doc["kind"], "CronJob");
    let spec = &doc["spec"];
    assert_eq!(spec["schedule"].as_str().unwrap().split(' ').count(), 5);
    assert_eq!(spec["concurrencyPolicy"], "Forbid");
    let pod = &spec["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    // The management token comes from a Secret, never inline.
    let env = c["env"].as_array().unwrap();
    let mgmt = env
        .iter()
        .find(|e| e["name"] == "INFLUX_BOOTSTRAP_MGMT_TOKEN")
        .unwrap();
    assert!(mgmt.get("value").is_none() && mgmt["valueFrom"]["secretKeyRef"].is_object());
    // The state directory is a mounted volume (it must outlive the pod).
    let state = env
        .iter()
        .find(|e| e["name"] == "INFLUX_BOOTSTRAP_STATE_DIR")
        .unwrap()["value"]
        .clone();
    let mounts = c["volumeMounts"].as_array().unwrap();
    assert!(mounts.iter().any(|m| m["mountPath"] == state), "{state}");
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    flags_parse(&args);
}
