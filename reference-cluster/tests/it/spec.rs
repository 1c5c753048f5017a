//! `docs/management-api.yaml` and the server agree: same (method, path) set,
//! every spec operation is routed, and the token schemas match what the server
//! serialises.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use reference_cluster::store::{CreatedToken, TokenRecord};
use reference_cluster::{AppState, Config, ROUTES, TEST_ROUTES};
use serde_json::Value;
use tower::ServiceExt as _;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/management-api.yaml");
    let text = std::fs::read_to_string(path).expect("docs/management-api.yaml");
    serde_norway::from_str(&text).expect("valid YAML")
}

fn spec_operations(spec: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (key, _) in item.as_object().unwrap() {
            if METHODS.contains(&key.as_str()) {
                ops.insert((key.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

fn router_operations() -> BTreeSet<(String, String)> {
    ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect()
}

/// Resolves a `$ref` within the document.
fn resolve<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').expect("local $ref");
            let target = spec
                .pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {r}"));
            resolve(spec, target)
        }
        None => v,
    }
}

fn all_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    out.push(x.as_str().unwrap().to_string());
                } else {
                    all_refs(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| all_refs(x, out)),
        _ => {}
    }
}

#[test]
fn spec_and_router_have_the_same_routes() {
    let spec = spec();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let in_spec = spec_operations(&spec);
    let in_router = router_operations();
    let missing_in_router: Vec<_> = in_spec.difference(&in_router).collect();
    let missing_in_spec: Vec<_> = in_router.difference(&in_spec).collect();
    assert!(
        missing_in_router.is_empty(),
        "in the spec, not served: {missing_in_router:?}"
    );
    assert!(
        missing_in_spec.is_empty(),
        "served, not in the spec: {missing_in_spec:?}"
    );
    assert_eq!(in_spec.len(), 8);
    for (_, path) in TEST_ROUTES {
        assert!(
            spec["paths"].get(*path).is_none(),
            "test routes stay out of the spec"
        );
    }
}

#[test]
fn every_ref_resolves() {
    let spec = spec();
    let mut refs = Vec::new();
    all_refs(&spec, &mut refs);
    assert!(refs.len() > 20);
    for r in refs {
        let pointer = r.strip_prefix('#').expect("local $ref");
        assert!(spec.pointer(pointer).is_some(), "dangling $ref {r}");
    }
}

#[test]
fn every_operation_documents_its_responses() {
    let spec = spec();
    let mut operation_ids = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let path_params: Vec<&Value> = item
            .get("parameters")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|p| resolve(&spec, p)).collect())
            .unwrap_or_default();
        // Every {param} of the template is declared.
        for segment in path.split('/').filter(|s| s.starts_with('{')) {
            let name = segment.trim_matches(|c| c == '{' || c == '}');
            assert!(
                path_params
                    .iter()
                    .any(|p| p["name"] == name && p["in"] == "path"),
                "{path}: parameter {name} not declared"
            );
        }
        for (method, op) in item.as_object().unwrap() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let id = op["operationId"].as_str().expect("operationId");
            assert!(operation_ids.insert(id.to_string()), "duplicate {id}");
            let responses = op["responses"].as_object().unwrap();
            let mut expected = vec!["401", "403", "429", "503", "default"];
            match method.as_str() {
                "post" => expected.extend(["201", "400", "409"]),
                "get" | "delete" => expected.push("200"),
                _ => unreachable!(),
            }
            if path.contains("{id}") || path.contains("{account_id}") {
                expected.push("404");
            }
            for code in expected {
                assert!(
                    responses.contains_key(code),
                    "{method} {path}: response {code} missing"
                );
            }
            for (code, resp) in responses {
                let resp = resolve(&spec, resp);
                let schema = resolve(&spec, &resp["content"]["application/json"]["schema"]);
                assert!(!schema.is_null(), "{method} {path} {code}: no JSON schema");
                let headers = &resp["headers"];
                match code.as_str() {
                    "401" => assert!(headers.get("WWW-Authenticate").is_some()),
                    "429" | "503" => assert!(headers.get("Retry-After").is_some()),
                    _ => {}
                }
                if code.starts_with('4') || code.starts_with('5') || code == "default" {
                    assert_eq!(schema, &spec["components"]["schemas"]["Error"]);
                }
            }
            if method == "post" {
                let params: Vec<_> = op["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| resolve(&spec, p))
                    .collect();
                assert!(
                    params
                        .iter()
                        .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header")
                );
                let body = resolve(&spec, &op["requestBody"]);
                assert_eq!(
                    resolve(&spec, &body["content"]["application/json"]["schema"]),
                    &spec["components"]["schemas"]["CreateManagementTokenRequest"]
                );
            }
        }
    }
    let scheme = &spec["components"]["securitySchemes"]["BearerAuth"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(spec["security"][0]["BearerAuth"], Value::Array(vec![]));
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn schemas_match_the_serialised_objects() {
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    let record = TokenRecord {
        id: reference_cluster::token::new_uuid_v4(),
        description: "d".into(),
        token_prefix: "M.V1.abcdef".into(),
        created_at: 1_800_000_000_000_000,
        created_by: "admin".into(),
        expires_at: None,
        revoked_at: Some(1_800_000_000_500_000),
    };
    let token = serde_json::to_value(&record).unwrap();
    let schema = &schemas["ManagementToken"];
    assert_eq!(keys(&token), keys(&schema["properties"]));
    assert_eq!(keys(&token), strings(&schema["required"]));
    for (name, prop) in schema["properties"].as_object().unwrap() {
        let nullable = prop["nullable"] == true;
        assert!(
            !token[name].is_null() || nullable,
            "{name} is null but not nullable"
        );
        if prop["format"] == "date-time" && !token[name].is_null() {
            assert!(token[name].as_str().unwrap().ends_with('Z'));
        }
    }

    let access = reference_cluster::token::generate_token();
    let created = serde_json::to_value(CreatedToken {
        record: &record,
        access_token: &access,
    })
    .unwrap();
    let parts = schemas["CreatedManagementToken"]["allOf"]
        .as_array()
        .unwrap();
    let mut expected = keys(&resolve(&spec, &parts[0])["properties"]);
    expected.extend(keys(&parts[1]["properties"]));
    assert_eq!(keys(&created), expected);
    let pattern = parts[1]["properties"]["accessToken"]["pattern"]
        .as_str()
        .unwrap();
    assert_eq!(pattern, r"^M\.V1\.[A-Za-z0-9_-]{43}$");
    assert_eq!(access.len(), 48);
    assert!(
        access[5..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    );
    let example = parts[1]["properties"]["accessToken"]["example"]
        .as_str()
        .unwrap();
    assert_eq!(example.len(), access.len());

    let request = &schemas["CreateManagementTokenRequest"];
    assert_eq!(
        keys(&request["properties"]),
        ["description", "expiresAt"].map(String::from).into()
    );
    assert_eq!(request["properties"]["description"]["maxLength"], 255);
    assert_eq!(
        keys(&schemas["Error"]["properties"]),
        ["code", "message"].map(String::from).into()
    );
}

/// Substitutes path parameters with values the server accepts.
fn concrete(path: &str, config: &Config) -> String {
    let d = config.dedicated.as_ref().unwrap();
    path.replace("{account_id}", &d.account_id)
        .replace("{cluster_id}", &d.cluster_id)
        .replace("{id}", "00000000-0000-4000-8000-000000000000")
}

#[tokio::test]
async fn every_spec_operation_is_routed_and_nothing_else() {
    let spec = spec();
    let mut config = Config::minimal("http://127.0.0.1:9", "https://a.example", &["admin"]);
    config.dedicated = Some(reference_cluster::config::Dedicated {
        account_id: "acc".into(),
        cluster_id: "clu".into(),
    });
    let state = AppState::new(config.clone()).unwrap();
    let app = reference_cluster::app(state);
    let ops = spec_operations(&spec);
    let paths: BTreeSet<&String> = ops.iter().map(|(_, p)| p).collect();
    for path in paths {
        for m in METHODS {
            let method = m.to_uppercase();
            let req = Request::builder()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri(concrete(path, &config))
                .body(Body::empty())
                .unwrap();
            let resp = app.clone().oneshot(req).await.unwrap();
            if ops.contains(&(method.clone(), path.clone())) {
                // Routed to the handler, which asks for a credential.
                assert_eq!(
                    resp.status(),
                    StatusCode::UNAUTHORIZED,
                    "{method} {path} is not served"
                );
            } else if method != "HEAD" || !ops.contains(&("GET".into(), path.clone())) {
                assert_eq!(
                    resp.status(),
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} should not be served"
                );
            }
        }
    }
    // Unknown paths fall through to 404.
    for uri in [
        "/api/v0/management",
        "/api/v0/management/tokens/a/b",
        "/api/v1/management/tokens",
        "/__test/stats",
    ] {
        let req = Request::builder().uri(uri).body(Body::empty()).unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{uri}");
    }
}
