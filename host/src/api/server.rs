//! A whole host on a socket: opens the store (SQLite under the data directory by default, or
//! the URL given), the sandbox (precompiled components cached under the data directory), the
//! device router of the catalog, the conductor and the API; registers the example components;
//! holds what a dead host left Running (restart recovery); makes an admin token on first start.
//!
//! Shutdown is graceful: new conducts are refused, every conduct running here is asked to hold
//! at its next step boundary (cause `host-restart`, reason "host shutting down"), the listener
//! stops accepting, in-flight requests finish (a waited conduct ends with its hold), background
//! conducts are waited for, and the store is closed. A restart then finds them Held.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::auth::{Scope, TokenError, issue_token};
use super::metrics::Metrics;
use super::observe::ObservedStore;
use super::state::{ApiConfig, ApiState};
use crate::conductor::{ConductError, Conductor, Recovered};
use crate::ports::{Catalog, CatalogError};
use crate::sandbox::{LoadError, Sandbox, SandboxConfig, SandboxError};
use crate::store::{self, ComponentStore, NewComponent, StoreError, TokenStore};

/// How to run a host.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Holds `baton.db` (unless `database` says otherwise) and the component cache.
    pub data_dir: PathBuf,
    /// A store URL (`sqlite://…`, `postgres://…`); default SQLite `baton.db` in the data dir.
    pub database: Option<String>,
    /// Where compiled components are cached; default `cache/` in the data dir.
    pub cache_dir: Option<PathBuf>,
    pub catalog: Catalog,
    pub listen: SocketAddr,
    /// Register the example components (`baton_artifacts::EXAMPLES`) at start.
    pub register_examples: bool,
    /// Make an admin token when the store has none.
    pub bootstrap_admin: bool,
    pub api: ApiConfig,
}

impl ServerConfig {
    /// The defaults of `baton serve`: SQLite in `data_dir`, examples registered, an admin token
    /// on first start.
    pub fn new(data_dir: impl Into<PathBuf>, catalog: Catalog, listen: SocketAddr) -> Self {
        ServerConfig {
            data_dir: data_dir.into(),
            database: None,
            cache_dir: None,
            catalog,
            listen,
            register_examples: true,
            bootstrap_admin: true,
            api: ApiConfig::default(),
        }
    }

    /// The store URL this configuration opens.
    pub fn database_url(&self) -> String {
        self.database.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("baton.db").display()
            )
        })
    }
}

/// Why a host could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot use data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("sandbox: {0}")]
    Sandbox(#[from] SandboxError),
    #[error("catalog: {0}")]
    Catalog(#[from] CatalogError),
    #[error("example component {name} does not load: {error}")]
    Example { name: String, error: LoadError },
    #[error("restart recovery failed: {0}")]
    Recovery(#[from] ConductError),
    #[error("admin token: {0}")]
    Token(#[from] TokenError),
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the server failed: {0}")]
    Serve(String),
}

/// What starting found and did.
#[derive(Debug)]
pub struct Started {
    pub server: Server,
    /// The admin token made at first start (shown once, never stored in clear).
    pub admin_token: Option<String>,
    /// Procedures restart recovery held.
    pub recovered: Vec<Recovered>,
    /// Example components registered: (name, digest).
    pub registered: Vec<(String, String)>,
}

/// A running host.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    state: ApiState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Starts a host and returns once it accepts connections.
    pub async fn start(config: ServerConfig) -> Result<Started, ServerError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| ServerError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        let backend = store::open(&config.database_url()).await?;
        let sandbox = Sandbox::new(SandboxConfig {
            cache_dir: Some(
                config
                    .cache_dir
                    .clone()
                    .unwrap_or_else(|| config.data_dir.join("cache")),
            ),
            ..SandboxConfig::default()
        })?;
        let router = Arc::new(config.catalog.router()?);
        let metrics = Arc::new(Metrics::new()?);
        let observed = ObservedStore::new(backend.clone(), metrics.clone());
        let conductor = Conductor::new(observed, sandbox.clone(), router, Arc::new(config.catalog));

        let mut registered = Vec::new();
        if config.register_examples {
            for example in baton_artifacts::EXAMPLES {
                let loaded =
                    sandbox
                        .load(example.bytes)
                        .await
                        .map_err(|error| ServerError::Example {
                            name: example.name.to_owned(),
                            error,
                        })?;
                let info = loaded.info();
                let info_json = serde_json::to_value(info)
                    .map_err(|e| StoreError::Corrupt(format!("info does not serialize: {e}")))?;
                backend
                    .put_component(&NewComponent::new(
                        example.bytes.to_vec(),
                        &info.name,
                        &info.version,
                        info_json,
                        OffsetDateTime::now_utc(),
                    ))
                    .await?;
                registered.push((example.name.to_owned(), loaded.digest().to_owned()));
            }
        }
        let recovered = conductor.recover().await?;
        for r in &recovered {
            tracing::warn!(procedure = %r.procedure_id, reason = %r.reason, "restart recovery held a procedure");
        }
        let admin_token = if config.bootstrap_admin && backend.list_tokens().await?.is_empty() {
            Some(
                issue_token(&backend, &[Scope::Admin], "admin (first start)")
                    .await?
                    .token,
            )
        } else {
            None
        };

        let state = ApiState::new(conductor, metrics, config.api);
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServerError::Listen {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener
            .local_addr()
            .map_err(|source| ServerError::Listen {
                addr: config.listen,
                source,
            })?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = super::router(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        });
        tracing::info!(%addr, "listening");
        Ok(Started {
            server: Server {
                addr,
                state,
                stop: Some(stop),
                task,
            },
            admin_token,
            recovered,
            registered,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn state(&self) -> &ApiState {
        &self.state
    }

    /// Shuts down gracefully (see the module doc); returns once every conduct running here has
    /// stopped at a step boundary and the store is closed.
    pub async fn shutdown(mut self) -> Result<(), ServerError> {
        self.state.begin_shutdown();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.state.wait_for_conducts().await;
        let served = (&mut self.task)
            .await
            .map_err(|e| ServerError::Serve(e.to_string()))?;
        served.map_err(|e| ServerError::Serve(e.to_string()))?;
        self.state.backend().close().await;
        tracing::info!("shut down");
        Ok(())
    }
}
