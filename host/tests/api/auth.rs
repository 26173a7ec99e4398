//! The auth matrix, driven by the route table itself: every route × no token, an unknown
//! token, a token of every other scope, the right scope and admin. Plus token management:
//! made through the API, listed without secrets, revoked.

use baton_host::api::{Access, ROUTES, Scope};
use reqwest::{Method, StatusCode};
use serde_json::json;
use strum::VariantArray;

use crate::harness::{Host, expect_problem};

/// A concrete path for a route: ids that exist nowhere, so no call of the matrix changes
/// anything a later call sees.
fn concrete(path: &str) -> String {
    path.replace("{id}", &uuid::Uuid::new_v4().to_string())
        .replace("{digest}", &"0".repeat(64))
}

#[tokio::test]
async fn every_route_refuses_without_the_right_scope() {
    let host = Host::start().await;
    let mut tokens = Vec::new();
    for &scope in Scope::VARIANTS {
        tokens.push((scope, host.token(&[scope.as_str()]).await));
    }
    let mut checked = 0;
    for route in ROUTES {
        let method = route.verb.method();
        let path = concrete(route.path);
        let send = |token: Option<&str>| {
            let mut request = host
                .client
                .request(method.clone(), format!("{}{path}", host.url));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request.send()
        };
        let what = format!("{} {}", route.verb.as_str(), route.path);
        match route.access {
            Access::Public => {
                let response = send(None).await.unwrap();
                assert_eq!(response.status(), StatusCode::OK, "{what}");
            }
            Access::Scope(needed) => {
                let none = send(None).await.unwrap();
                assert!(none.headers().contains_key("www-authenticate"), "{what}");
                expect_problem(none, StatusCode::UNAUTHORIZED, "unauthorized").await;
                let unknown = send(Some(&format!("baton_{}", "f".repeat(64))))
                    .await
                    .unwrap();
                expect_problem(unknown, StatusCode::UNAUTHORIZED, "unauthorized").await;
                let not_bearer = host
                    .client
                    .request(method.clone(), format!("{}{path}", host.url))
                    .header("authorization", "Basic YWRtaW46YWRtaW4=")
                    .send()
                    .await
                    .unwrap();
                expect_problem(not_bearer, StatusCode::UNAUTHORIZED, "unauthorized").await;
                for (scope, token) in &tokens {
                    let response = send(Some(token)).await.unwrap();
                    let allowed = *scope == needed || *scope == Scope::Admin;
                    if allowed {
                        let status = response.status();
                        assert!(
                            status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                            "{what} with {scope}: {status}"
                        );
                    } else {
                        let body =
                            expect_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
                        assert_eq!(body["required_scope"], needed.as_str(), "{what}");
                        assert_eq!(body["token_scopes"], json!([scope.as_str()]));
                    }
                }
            }
        }
        checked += 1;
    }
    assert_eq!(checked, ROUTES.len());
    host.shutdown().await;
}

#[tokio::test]
async fn tokens_are_made_listed_without_secrets_and_revoked() {
    let host = Host::start().await;
    let (status, created) = host
        .post(
            "/tokens",
            json!({"scopes": ["read", "operate"], "label": "beamline ops"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("baton_") && token.len() == 70, "{token}");
    assert_eq!(created["scopes"], json!(["read", "operate"]));
    let id = created["id"].as_str().unwrap().to_owned();

    let with = |token: &str, path: &str| {
        host.client
            .get(format!("{}{path}", host.url))
            .bearer_auth(token.to_owned())
            .send()
    };
    assert_eq!(
        with(&token, "/procedures").await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        with(&token, "/tokens").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );

    let (_, list) = host.get("/tokens").await;
    let listed = list.as_array().unwrap();
    assert_eq!(listed.len(), 2, "the admin token and the new one");
    let text = list.to_string();
    assert!(!text.contains(&token[6..]), "no secret in the listing");
    assert!(!text.contains(&host.admin[6..]));
    assert!(listed.iter().any(|t| t["label"] == "beamline ops"));

    for bad in [
        json!({"scopes": []}),
        json!({"scopes": ["root"]}),
        json!({"scope": ["read"]}),
    ] {
        let (status, body) = host.post("/tokens", bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }

    let revoked = host
        .call(Method::DELETE, &format!("/tokens/{id}"), None)
        .await;
    assert_eq!(revoked.0, StatusCode::NO_CONTENT);
    let response = with(&token, "/procedures").await.unwrap();
    expect_problem(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let again = host
        .call(Method::DELETE, &format!("/tokens/{id}"), None)
        .await;
    assert_eq!(again.0, StatusCode::NOT_FOUND);
    host.shutdown().await;
}

#[tokio::test]
async fn metrics_need_read_and_count_what_happened() {
    let host = Host::start().await;
    let reader = host.token(&["read"]).await;
    let id = host.define(&crate::harness::hello(), json!({})).await;
    let (status, _) = host
        .call(Method::POST, &format!("/procedures/{id}/conduct"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let response = host
        .client
        .get(format!("{}/metrics", host.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = host
        .client
        .get(format!("{}/metrics", host.url))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    for line in [
        r#"baton_conducts_total{outcome="completed",verb="conduct"} 1"#,
        r#"baton_step_duration_seconds_count{kind="setpoint"} 1"#,
        r#"baton_step_duration_seconds_count{kind="action"} 1"#,
        "baton_guest_fuel_count 1",
        "baton_guest_resolve_seconds_count 1",
        r#"baton_http_requests_total{method="POST",route="/procedures/{id}/conduct",status="200"} 1"#,
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    let appends = text
        .lines()
        .find_map(|l| l.strip_prefix("baton_journal_append_seconds_count "))
        .unwrap();
    assert!(appends.parse::<u64>().unwrap() >= 2, "{appends}");
    host.shutdown().await;
}
