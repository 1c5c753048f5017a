//! The application router: each served [`Route`] mapped to its handler,
//! behind the fault/stats layer and the access log.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::error::{ApiError, method_not_allowed, not_found};
use crate::request::LogSlot;
use crate::routes::{Operation, Route, served_routes};
use crate::state::AppState;
use crate::{data, documented as doc, management as ours, test_control};

/// Counts API requests per route and applies `fail_next`.
async fn faults_and_stats(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    state.count_request(format!("{} {route}", req.method()));
    if state.take_fault(|f| &mut f.fail_next) {
        let f = state.faults();
        let status = StatusCode::from_u16(f.fail_status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return ApiError {
            retry_after: Some(f.retry_after),
            ..ApiError::new(status, "injected fault: try again later")
        }
        .into_response();
    }
    next.run(req).await
}

/// A request no route serves (a pre-flight probe of `/`, a wrong path): 404,
/// counted as `"METHOD (no route)"` so that a test counting what a run sent
/// sees every request (issue 21; test-control routes stay uncounted).
async fn unrouted(State(state): State<Arc<AppState>>, method: Method) -> ApiError {
    state.count_request(format!("{method} (no route)"));
    not_found().await
}

/// One access-log line per request: method, path, status, principal. Never
/// headers or bodies (which may hold credentials).
async fn access_log(mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let slot = LogSlot::default();
    req.extensions_mut().insert(slot.clone());
    let started = Instant::now();
    let resp = next.run(req).await;
    tracing::info!(
        "{method} {path} {} principal={} {}ms",
        resp.status().as_u16(),
        slot.get(),
        started.elapsed().as_millis()
    );
    resp
}

fn method_router(route: &Route) -> MethodRouter<Arc<AppState>> {
    let filter =
        MethodFilter::try_from(Method::from_bytes(route.method.as_bytes()).expect("valid method"))
            .expect("supported method");
    match route.operation {
        Operation::Create => on(filter, ours::create_token),
        Operation::List => on(filter, ours::list_tokens),
        Operation::Get => on(filter, ours::get_token),
        Operation::Revoke => on(filter, ours::revoke_token),
        Operation::DatabaseList => on(filter, doc::databases::list),
        Operation::DatabaseCreate => on(filter, doc::databases::create),
        Operation::DatabaseUpdate => on(filter, doc::databases::update),
        Operation::DatabaseDelete => on(filter, doc::databases::delete),
        Operation::DatabaseTokenList => on(filter, doc::tokens::list),
        Operation::DatabaseTokenCreate => on(filter, doc::tokens::create),
        Operation::DatabaseTokenGet => on(filter, doc::tokens::get),
        Operation::DatabaseTokenUpdate => on(filter, doc::tokens::update),
        Operation::DatabaseTokenRevoke => on(filter, doc::tokens::revoke),
        Operation::Query => on(filter, data::query),
        Operation::WriteV2 => on(filter, data::write_v2),
        Operation::WriteV1 => on(filter, data::write_v1),
    }
}

/// The application router for `state` (without the connection layer; see
/// [`crate::server`] for a listening server).
pub fn app(state: Arc<AppState>) -> Router {
    let mut by_path: BTreeMap<&str, MethodRouter<Arc<AppState>>> = BTreeMap::new();
    for r in &served_routes(&state.config) {
        let mr = method_router(r);
        let entry = by_path.remove(r.path);
        by_path.insert(r.path, entry.map_or(mr.clone(), |e| e.merge(mr)));
    }
    let mut router = Router::new();
    for (path, mr) in by_path {
        router = router.route(path, mr.fallback(method_not_allowed));
    }
    router = router.route_layer(middleware::from_fn_with_state(
        state.clone(),
        faults_and_stats,
    ));
    if state.config.faults.test_control {
        router = router.merge(test_control::routes());
    }
    router
        .fallback(unrouted)
        .layer(middleware::from_fn(access_log))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DocumentedPaths;
    use crate::routes::{DATA_ROUTES, DEDICATED_PREFIX, DOCUMENTED_ROUTES, ROUTES};
    use crate::test_support::{ONES, TestApp, assert_error, config, long};

    #[test]
    fn documented_routes_are_kept_apart_from_ours() {
        assert_eq!(ROUTES.len(), 8, "docs/management-api.yaml has 8 operations");
        assert_eq!(DOCUMENTED_ROUTES.len(), 18, "9 operations in 2 path forms");
        for r in DOCUMENTED_ROUTES.iter().chain(DATA_ROUTES) {
            assert!(
                !ROUTES.iter().any(|o| o.path == r.path),
                "{} {} must not be in ROUTES",
                r.method,
                r.path
            );
        }
        let (short, long): (Vec<&Route>, Vec<_>) = DOCUMENTED_ROUTES
            .iter()
            .partition(|r| !r.path.starts_with("/api/v0/accounts/"));
        for (s, l) in short.iter().zip(&long) {
            assert_eq!(s.method, l.method);
            assert_eq!(s.operation, l.operation);
            assert_eq!(l.path, s.path.replace("/api/v0", DEDICATED_PREFIX).as_str());
        }
    }

    #[tokio::test]
    async fn every_documented_and_data_route_is_served_and_asks_for_a_credential() {
        let app = TestApp::new(config());
        for r in DOCUMENTED_ROUTES.iter().chain(DATA_ROUTES) {
            let uri = r
                .path
                .replace("{account_id}", ONES)
                .replace("{cluster_id}", ONES)
                .replace("{name}", "db")
                .replace("{id}", ONES);
            let reply = app.send(r.method, &uri, None, None).await;
            assert_error(&reply, 401, &format!("{} {uri}", r.method));
        }
    }

    #[tokio::test]
    async fn switches_choose_the_routes() {
        // (management_tokens, documented_paths, ours, short, long)
        let cases = [
            (true, DocumentedPaths::Both, 200, 200, 200),
            (false, DocumentedPaths::Both, 404, 200, 200),
            (true, DocumentedPaths::Short, 200, 200, 404),
            (false, DocumentedPaths::Long, 404, 404, 200),
        ];
        for (management_tokens, paths, ours, short, long_status) in cases {
            let mut c = config();
            c.management_tokens = management_tokens;
            c.documented_paths = paths;
            let served = served_routes(&c);
            let want = if management_tokens { 8 } else { 0 }
                + match paths {
                    DocumentedPaths::Both => 18,
                    _ => 9,
                }
                + DATA_ROUTES.len();
            assert_eq!(served.len(), want, "{management_tokens} {paths:?}");
            let app = TestApp::new(c);
            // A management token authenticates either way.
            let mgmt = app.management_token().await;
            let what = format!("management_tokens={management_tokens} {paths:?}");
            for (uri, status) in [
                ("/api/v0/management/tokens".to_string(), ours),
                (
                    format!("/api/v0/accounts/{ONES}/clusters/{ONES}/management/tokens"),
                    404,
                ),
                ("/api/v0/databases".to_string(), short),
                ("/api/v0/tokens".to_string(), short),
                (long("/databases"), long_status),
                (long("/tokens"), long_status),
            ] {
                let r = app.call("GET", &uri, &mgmt, None).await;
                assert_eq!(r.status.as_u16(), status, "{what}: GET {uri}: {}", r.text);
                if status == 404 {
                    assert_error(&r, 404, &uri);
                }
            }
        }
    }
}
