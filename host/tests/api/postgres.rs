//! The API on PostgreSQL (when `BATON_TEST_POSTGRES_URL` is set; required under `CI=true`): two
//! hosts on one database, in a schema of their own. A component uploaded through the first is
//! conducted by the second, whose sandbox never saw it; both see the same procedure and tokens.

use std::str::FromStr;

use baton_host::api::{Server, ServerConfig};
use reqwest::{Client, StatusCode};
use serde_json::{Value as Json, json};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

use crate::harness::{Host, Options, catalog, script_bytes, shared_cache};

const PG_ENV: &str = "BATON_TEST_POSTGRES_URL";

fn postgres_url() -> Option<String> {
    match std::env::var(PG_ENV) {
        Ok(url) => Some(url),
        Err(_) => {
            if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                panic!("{PG_ENV} is not set, and CI=true: the PostgreSQL API test must run");
            }
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "\n========== POSTGRESQL API TEST SKIPPED ==========\n\
                 {PG_ENV} is not set; to run it:\n\
                 export {PG_ENV}=postgres://postgres@127.0.0.1:5432/test\n\
                 ================================================\n"
            );
            None
        }
    }
}

async fn drop_schema(url: &str, schema: &str) {
    let options = sqlx::postgres::PgConnectOptions::from_str(url).unwrap();
    let mut conn = PgConnection::connect_with(&options).await.unwrap();
    conn.execute(AssertSqlSafe(format!("DROP SCHEMA \"{schema}\" CASCADE")))
        .await
        .unwrap();
    conn.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_host_conducts_what_the_first_uploaded() {
    let Some(url) = postgres_url() else { return };
    let schema = format!("baton_api_{}", uuid::Uuid::new_v4().simple());
    let separator = if url.contains('?') { '&' } else { '?' };
    let database = format!("{url}{separator}schema={schema}");
    let first = Host::with(Options {
        database: Some(database.clone()),
        register_examples: false,
        ..Options::default()
    })
    .await;
    let digest = first.upload(script_bytes()).await;

    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path(), catalog(0.0, ""), ([127, 0, 0, 1], 0).into());
    config.database = Some(database);
    config.cache_dir = Some(shared_cache());
    config.register_examples = false;
    let second = Server::start(config).await.unwrap();
    assert!(second.admin_token.is_none(), "the tokens are shared");
    let second = second.server;
    let client = Client::new();
    let on_second = |path: &str| format!("{}{path}", second.url());

    let response = client
        .post(on_second("/procedures"))
        .bearer_auth(&first.admin)
        .json(&json!({"component": digest,
                      "params": {"script": "set sim:mx 1; act sim:det acquire exposure_s=0.01"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = response.json::<Json>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = client
        .post(on_second(&format!("/procedures/{id}/conduct")))
        .bearer_auth(&first.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let outcome: Json = response.json().await.unwrap();
    assert_eq!(outcome["status"], "Completed", "{outcome}");

    let (status, seen) = first.get(&format!("/procedures/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen["status"], "Completed");
    assert_eq!(seen["progress"]["done"], 2);
    let (_, journal) = first.get(&format!("/procedures/{id}/journal")).await;
    assert_eq!(journal["items"].as_array().unwrap().len(), 4);

    second.shutdown().await.unwrap();
    first.shutdown().await;
    drop_schema(&url, &schema).await;
}
