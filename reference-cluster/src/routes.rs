//! The route table: every (method, path) the cluster serves, and which of
//! them a configuration serves. A leaf beside `config`: the router
//! ([`crate::app()`]) maps each [`Operation`] to its handler, and the spec test
//! compares [`ROUTES`] with `docs/management-api.yaml`.

use crate::config::Config;

/// Path prefix of the API on InfluxDB Clustered.
pub const CLUSTERED_PREFIX: &str = "/api/v0";
/// Path prefix of the API on InfluxDB Cloud Dedicated.
pub const DEDICATED_PREFIX: &str = "/api/v0/accounts/{account_id}/clusters/{cluster_id}";

/// What an API route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    // Our management-token routes.
    Create,
    List,
    Get,
    Revoke,
    // The documented Management API: databases.
    DatabaseList,
    DatabaseCreate,
    DatabaseUpdate,
    DatabaseDelete,
    // The documented Management API: database tokens.
    DatabaseTokenList,
    DatabaseTokenCreate,
    DatabaseTokenGet,
    DatabaseTokenUpdate,
    DatabaseTokenRevoke,
    // The data path.
    Query,
    WriteV2,
    WriteV1,
}

/// One (method, path template) served by the API. Path templates use the
/// `{name}` syntax of both OpenAPI and axum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub operation: Operation,
}

const fn route(method: &'static str, path: &'static str, operation: Operation) -> Route {
    Route {
        method,
        path,
        operation,
    }
}

/// Every API route; the router is built from this list and the spec test
/// compares it with `docs/management-api.yaml`.
pub const ROUTES: &[Route] = &[
    route("POST", "/api/v0/management/tokens", Operation::Create),
    route("GET", "/api/v0/management/tokens", Operation::List),
    route("GET", "/api/v0/management/tokens/{id}", Operation::Get),
    route(
        "DELETE",
        "/api/v0/management/tokens/{id}",
        Operation::Revoke,
    ),
    route(
        "POST",
        "/api/v0/accounts/{account_id}/clusters/{cluster_id}/management/tokens",
        Operation::Create,
    ),
    route(
        "GET",
        "/api/v0/accounts/{account_id}/clusters/{cluster_id}/management/tokens",
        Operation::List,
    ),
    route(
        "GET",
        "/api/v0/accounts/{account_id}/clusters/{cluster_id}/management/tokens/{id}",
        Operation::Get,
    ),
    route(
        "DELETE",
        "/api/v0/accounts/{account_id}/clusters/{cluster_id}/management/tokens/{id}",
        Operation::Revoke,
    ),
];

macro_rules! documented {
    ($($method:literal $path:literal $op:ident,)*) => {
        &[
            $(route($method, concat!("/api/v0", $path), Operation::$op),)*
            $(route($method, concat!("/api/v0/accounts/{account_id}/clusters/{cluster_id}", $path), Operation::$op),)*
        ]
    };
}

/// InfluxData's documented Management API for databases and database tokens
/// (OpenAPI specs of InfluxDB Clustered and Cloud Dedicated), in the short
/// form `/api/v0/...` and the long form [`DEDICATED_PREFIX`]`/...` (which
/// Clustered accepts too).
/// Kept apart from [`ROUTES`], which the spec test compares with
/// `docs/management-api.yaml`.
pub const DOCUMENTED_ROUTES: &[Route] = documented![
    "GET" "/databases" DatabaseList,
    "POST" "/databases" DatabaseCreate,
    "PATCH" "/databases/{name}" DatabaseUpdate,
    "DELETE" "/databases/{name}" DatabaseDelete,
    "GET" "/tokens" DatabaseTokenList,
    "POST" "/tokens" DatabaseTokenCreate,
    "GET" "/tokens/{id}" DatabaseTokenGet,
    "PATCH" "/tokens/{id}" DatabaseTokenUpdate,
    "DELETE" "/tokens/{id}" DatabaseTokenRevoke,
];

/// The minimal data path that checks a database token's permissions (and
/// stores nothing).
pub const DATA_ROUTES: &[Route] = &[
    route("GET", "/query", Operation::Query),
    route("POST", "/api/v2/write", Operation::WriteV2),
    route("POST", "/write", Operation::WriteV1),
];

/// Test-control routes, served only with `faults.test_control = true`; not
/// part of the published API.
pub const TEST_ROUTES: &[(&str, &str)] = &[
    ("POST", "/__test/faults"),
    ("GET", "/__test/stats"),
    ("POST", "/__test/activation"),
    ("GET", "/__test/activation"),
    ("POST", "/__test/management-tokens"),
    ("POST", PRIVATE_PREFIX),
    ("GET", PRIVATE_PREFIX),
    ("DELETE", "/__test/private/management/tokens/{id}"),
];

/// Prefix of the private routes of the influxctl stand-in ([`crate::private`]).
pub const PRIVATE_PREFIX: &str = "/__test/private/management/tokens";

/// Every route `config` serves: [`ROUTES`] unless `management_tokens` is
/// off, the path forms of [`DOCUMENTED_ROUTES`] chosen by
/// `documented_paths`, and [`DATA_ROUTES`].
pub fn served_routes(config: &Config) -> Vec<Route> {
    let management = ROUTES.iter().filter(|_| config.management_tokens);
    let documented = DOCUMENTED_ROUTES.iter().filter(|r| {
        if r.path.starts_with("/api/v0/accounts/") {
            config.documented_paths.serves_long()
        } else {
            config.documented_paths.serves_short()
        }
    });
    management
        .chain(documented)
        .chain(DATA_ROUTES)
        .copied()
        .collect()
}
