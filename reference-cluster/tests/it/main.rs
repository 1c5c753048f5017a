//! The integration tests of the reference cluster: the API in-process, the
//! binary, the bundled IdP end to end, and the agreement with
//! `docs/management-api.yaml`. One test binary with one module per area.

mod support;

mod api;
mod binary;
mod hostile;
mod idp_e2e;
mod load;
mod spec;
