//! A host for one test: the real server on 127.0.0.1 with a port of its own, a temporary data
//! directory (SQLite file store), the example components registered (compiled once for the
//! whole test binary through a shared component cache), and an admin token. Requests go over
//! the socket with reqwest.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use baton_host::api::{ApiConfig, Server, ServerConfig};
use baton_host::ports::Catalog;
use baton_host::ports::catalog::DEFAULT_CATALOG;
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Value as Json, json};

/// The built-in catalog at a time scale, with extra TOML appended (e.g. `[[sim.faults]]`).
pub fn catalog(time_scale: f64, extra: &str) -> Catalog {
    Catalog::parse(&format!("{DEFAULT_CATALOG}\n{extra}\n"))
        .unwrap()
        .with_time_scale(time_scale)
        .unwrap()
}

/// The fault of the step-fault tests: `sim:my` refuses to move at all.
pub const MY_DISCONNECTED: &str =
    "[[sim.faults]]\nchannel = \"sim:my\"\nmode = \"disconnect_after\"\nops = 0\n";

/// One cache of compiled components for every host of this test binary.
pub fn shared_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("api-component-cache")
}

pub fn digest(bytes: &[u8]) -> String {
    baton_host::sandbox::sha256_hex(bytes)
}

pub fn hello() -> String {
    digest(baton_artifacts::hello_bytes())
}

pub fn script_bytes() -> &'static [u8] {
    baton_artifacts::guest_script_bytes()
}

pub struct Host {
    pub server: Option<Server>,
    pub url: String,
    pub admin: String,
    pub client: Client,
    pub dir: tempfile::TempDir,
}

pub struct Options {
    pub catalog: Catalog,
    pub database: Option<String>,
    pub api: ApiConfig,
    pub register_examples: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            catalog: catalog(0.0, ""),
            database: None,
            api: ApiConfig::default(),
            register_examples: true,
        }
    }
}

impl Host {
    /// A host with an instantaneous simulated beamline.
    pub async fn start() -> Host {
        Host::with(Options::default()).await
    }

    pub async fn with_catalog(catalog: Catalog) -> Host {
        Host::with(Options {
            catalog,
            ..Options::default()
        })
        .await
    }

    pub async fn with(options: Options) -> Host {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(dir.path(), options.catalog, ([127, 0, 0, 1], 0).into());
        config.cache_dir = Some(shared_cache());
        config.database = options.database;
        config.api = options.api;
        config.register_examples = options.register_examples;
        let started = Server::start(config).await.unwrap();
        let admin = started
            .admin_token
            .expect("a fresh store gets an admin token");
        Host {
            url: started.server.url(),
            server: Some(started.server),
            admin,
            client: Client::new(),
            dir,
        }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.admin)
    }

    /// A request as admin with an optional JSON body; the status and the JSON answer (Null when
    /// the body is empty or not JSON).
    pub async fn call(&self, method: Method, path: &str, body: Option<Json>) -> (StatusCode, Json) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Json) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Json) -> (StatusCode, Json) {
        self.call(Method::POST, path, Some(body)).await
    }

    /// A token with `scopes`, made through the API.
    pub async fn token(&self, scopes: &[&str]) -> String {
        let (status, body) = self
            .post("/tokens", json!({ "scopes": scopes, "label": "test" }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// Uploads a component; its digest.
    pub async fn upload(&self, wasm: &[u8]) -> String {
        let response = self
            .request(Method::POST, "/components")
            .body(wasm.to_vec())
            .send()
            .await
            .unwrap();
        let (status, body) = answer(response).await;
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status}: {body}"
        );
        body["digest"].as_str().unwrap().to_owned()
    }

    /// Defines a procedure of `component` with `params`; its id.
    pub async fn define(&self, component: &str, params: Json) -> String {
        let (status, body) = self
            .post(
                "/procedures",
                json!({ "component": component, "params": params }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Uploads the script guest and defines a procedure running `script`.
    pub async fn define_script(&self, script: &str) -> String {
        let digest = self.upload(script_bytes()).await;
        self.define(&digest, json!({ "script": script })).await
    }

    /// Polls the procedure until `done` says so (at most 30 s); the last body.
    pub async fn wait_for(&self, id: &str, done: impl Fn(&Json) -> bool) -> Json {
        for _ in 0..600 {
            let (status, body) = self.get(&format!("/procedures/{id}?steps=false")).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            if done(&body) {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("procedure {id} never got there");
    }

    /// Shuts the host down and starts another on the same data directory (a new sandbox that
    /// has seen no component, the same store); the admin token stays valid.
    pub async fn restart(mut self, catalog: Catalog) -> Host {
        if let Some(server) = self.server.take() {
            server.shutdown().await.unwrap();
        }
        let mut config = ServerConfig::new(self.dir.path(), catalog, ([127, 0, 0, 1], 0).into());
        config.cache_dir = Some(shared_cache());
        config.register_examples = false;
        let started = Server::start(config).await.unwrap();
        assert!(
            started.admin_token.is_none(),
            "a second start makes no admin token"
        );
        Host {
            url: started.server.url(),
            server: Some(started.server),
            ..self
        }
    }

    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.unwrap();
        }
    }
}

/// The status and JSON body of a response (Null when empty or not JSON). Every problem body
/// (every error answer is one, and a procedure's `last_conduct` may hold one) is checked
/// against the spec: [`check_problem`].
pub async fn answer(response: Response) -> (StatusCode, Json) {
    let status = response.status();
    let problem = response
        .headers()
        .get("content-type")
        .is_some_and(|t| t == "application/problem+json");
    assert!(
        problem || !(status.is_client_error() || status.is_server_error()),
        "{status} answered without a problem body"
    );
    let text = response.text().await.unwrap();
    if problem {
        let body = check_problem(&text);
        assert_eq!(body["status"], status.as_u16(), "{text}");
        return (status, body);
    }
    let body = serde_json::from_str(&text).unwrap_or(Json::Null);
    check_embedded_problems(&body);
    (status, body)
}

/// The OpenAPI document's `ProblemBody`, compiled once per test binary. The document is the one
/// `/openapi.json` serves (`meta::openapi` answers `openapi::spec()`); the schema is compiled
/// with the document's components beside it, so its `$ref`s resolve.
fn problem_schema() -> &'static jsonschema::Validator {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let spec = serde_json::to_value(baton_host::api::openapi::spec()).unwrap();
        let schema = json!({
            "$ref": "#/components/schemas/ProblemBody",
            "components": spec["components"],
        });
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&schema)
            .unwrap_or_else(|e| panic!("ProblemBody does not compile: {e}"))
    })
}

/// The top-level member names of a JSON object in the order written, repeats kept
/// (`serde_json::Value` keeps only the last of a repeated name).
struct Members(Vec<String>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Names;
        impl<'de> Visitor<'de> for Names {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    map.next_value::<IgnoredAny>()?;
                    names.push(name);
                }
                Ok(Members(names))
            }
        }
        deserializer.deserialize_map(Names)
    }
}

/// Asserts `text` is an RFC 9457 body: no member twice (so exactly one `status`), `status` an
/// error code, and the spec's `ProblemBody` schema holds. The body, parsed.
pub fn check_problem(text: &str) -> Json {
    let Members(names) = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("a problem body that is not a JSON object ({e}): {text}"));
    let mut seen = std::collections::BTreeSet::new();
    for name in &names {
        assert!(seen.insert(name), "member {name} twice: {text}");
    }
    let body: Json = serde_json::from_str(text).unwrap();
    let errors: Vec<String> = problem_schema()
        .iter_errors(&body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "not a ProblemBody: {errors:?}\n{text}");
    assert!(
        body["status"]
            .as_u64()
            .is_some_and(|s| (400..600).contains(&s)),
        "{text}"
    );
    body
}

/// The problem bodies a JSON answer carries inside (a procedure's `last_conduct.problem`),
/// checked as [`check_problem`] does.
fn check_embedded_problems(body: &Json) {
    let mut bodies: Vec<&Json> = vec![body];
    if let Some(items) = body["items"].as_array() {
        bodies.extend(items);
    }
    for body in bodies {
        let problem = &body["last_conduct"]["problem"];
        if problem.is_object() {
            check_problem(&problem.to_string());
        }
    }
}

/// Asserts a problem+json refusal of `status` with the problem `slug`; returns the body.
pub async fn expect_problem(response: Response, status: StatusCode, slug: &str) -> Json {
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "not a problem for {slug}"
    );
    let (got, body) = answer(response).await;
    assert_eq!(got, status, "{body}");
    assert_eq!(body["type"], format!("urn:baton:problem:{slug}"), "{body}");
    assert_eq!(body["status"], status.as_u16());
    assert!(!body["detail"].as_str().unwrap_or("").is_empty(), "{body}");
    body
}

/// Asserts the body of `(status, body)` is the problem `slug` at `status`.
pub fn assert_problem(got: &(StatusCode, Json), status: StatusCode, slug: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(
        got.1["type"],
        format!("urn:baton:problem:{slug}"),
        "{}",
        got.1
    );
}
