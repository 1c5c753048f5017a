//! The integration tests of `influx-bootstrap`: the real binary
//! (`CARGO_BIN_EXE_influx-bootstrap`, built with the `test-keyring` feature)
//! against the real OpenID provider (`tests/idp`), the reference cluster and
//! hand-written fixtures, plus property tests of the parsers.
//!
//! One test binary with one module per area (as ripgrep and uv do): the
//! support code is compiled and linked once, and libtest runs every test of
//! the package in one pool. Filter as usual, e.g. `cargo test --test it login::`.

mod support;

mod careful_admin;
mod config_cli;
mod db_mint;
mod doctor;
mod documented;
mod faults;
mod first_run;
mod fleet;
mod glewlwyd;
mod hardening;
mod hostile;
mod idp_fixture;
mod influxctl_backend;
mod influxctl_hostile;
mod login;
mod management;
mod mint;
mod newcomer;
mod output;
mod properties;
mod providers;
mod quirks;
mod recipes;
mod store_hardening;
mod tty;
mod workload;
