//! The device catalog: the deployment's routes (prefix → port, read-only or not), per-channel
//! limits, the global write switch, the step-count cap, the default deadlines and the simulated
//! beamline's devices and faults, read from TOML. Its `revision` (the sha256 of the file's text)
//! goes into every pin, so a pinned conduct names the exact limits it was checked against.
//!
//! A syntax or type error names the line and column; a value that parses but makes no sense
//! (min above max, a duplicated prefix, a limit or a fault on a channel nothing serves) names
//! the field.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::DevicePort;
use super::epics::EpicsConfig;
#[cfg(feature = "epics")]
use super::epics::EpicsPort;
use super::limits::ChannelLimits;
use super::router::{Router, RouterSettings, longest_prefix};
use super::sim::{SimChannel, SimConfig, SimPort};
use crate::domain::ActuationKind;

/// The catalog `baton serve` uses when given none: the default simulated beamline.
pub const DEFAULT_CATALOG: &str = include_str!("../../catalogs/sim.toml");

/// Which port implementation serves a route. The actuation kind follows from it.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum PortKind {
    Sim,
    /// EPICS Channel Access (needs the `epics` cargo feature); the channel name is the PV name.
    Epics,
}

impl PortKind {
    pub fn actuation_kind(self) -> ActuationKind {
        match self {
            PortKind::Sim => ActuationKind::Simulated,
            PortKind::Epics => ActuationKind::Physical,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One route: channels starting with `prefix` go to `port`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteEntry {
    pub prefix: String,
    pub port: PortKind,
    /// A read-only route refuses writes and actions.
    #[serde(default)]
    pub read_only: bool,
}

/// Default deadlines, in milliseconds; a step's own `settle_ms` / `timeout_ms` wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    pub write_ms: u64,
    pub read_ms: u64,
    pub action_ms: u64,
    pub settle_ms: u64,
    pub poll_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        let d = RouterSettings::default();
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Timeouts {
            write_ms: ms(d.write_timeout),
            read_ms: ms(d.read_timeout),
            action_ms: ms(d.action_timeout),
            settle_ms: ms(d.settle_timeout),
            poll_ms: ms(d.poll_interval),
        }
    }
}

fn default_true() -> bool {
    true
}

fn default_max_steps() -> usize {
    100_000
}

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default = "default_true")]
    writes_enabled: bool,
    #[serde(default = "default_max_steps")]
    max_steps: usize,
    #[serde(default)]
    timeouts: Timeouts,
    #[serde(default)]
    routes: Vec<RouteEntry>,
    #[serde(default)]
    limits: BTreeMap<String, ChannelLimits>,
    #[serde(default)]
    sim: SimConfig,
    #[serde(default)]
    epics: EpicsConfig,
}

/// Why a catalog could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read catalog {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, or a field of the wrong type, an unknown field, a missing field.
    #[error("catalog line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// Well-formed, but a value makes no sense.
    #[error("catalog field {field}: {message}")]
    Invalid { field: String, message: String },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> CatalogError {
    CatalogError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// A validated device catalog.
#[derive(Clone, Debug)]
pub struct Catalog {
    revision: String,
    writes_enabled: bool,
    max_steps: usize,
    timeouts: Timeouts,
    routes: Vec<RouteEntry>,
    limits: BTreeMap<String, ChannelLimits>,
    sim: SimConfig,
    sim_channels: HashMap<Box<str>, SimChannel>,
    epics: EpicsConfig,
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl Catalog {
    /// Parses and validates a catalog from its TOML text.
    pub fn parse(text: &str) -> Result<Catalog, CatalogError> {
        let file: CatalogFile = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((0, 0), |s| line_column(text, s.start));
            CatalogError::Syntax {
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        let revision = format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())));
        Catalog::validated(file, revision)
    }

    /// Reads, parses and validates a catalog file.
    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Io {
            path: path.to_owned(),
            source,
        })?;
        Catalog::parse(&text)
    }

    /// The built-in catalog ([`DEFAULT_CATALOG`]): the default simulated beamline.
    pub fn builtin() -> Result<Catalog, CatalogError> {
        Catalog::parse(DEFAULT_CATALOG)
    }

    fn validated(file: CatalogFile, revision: String) -> Result<Catalog, CatalogError> {
        if file.max_steps == 0 {
            return Err(invalid("max_steps", "must be at least 1"));
        }
        let t = file.timeouts;
        for (field, ms) in [
            ("timeouts.write_ms", t.write_ms),
            ("timeouts.read_ms", t.read_ms),
            ("timeouts.action_ms", t.action_ms),
            ("timeouts.settle_ms", t.settle_ms),
            ("timeouts.poll_ms", t.poll_ms),
        ] {
            if ms == 0 {
                return Err(invalid(field, "must be > 0"));
            }
        }
        let mut prefixes = HashSet::new();
        for (i, route) in file.routes.iter().enumerate() {
            if !prefixes.insert(route.prefix.as_str()) {
                return Err(invalid(
                    format!("routes[{i}].prefix"),
                    format!("prefix {:?} is routed twice", route.prefix),
                ));
            }
        }
        for (channel, limits) in &file.limits {
            limits.validate().map_err(|(field, message)| {
                invalid(format!("limits.{channel:?}.{field}"), message)
            })?;
        }
        let sim_channels = file
            .sim
            .channels()
            .map_err(|e| invalid(format!("sim.{}", e.field), e.message))?;
        // A limit on a channel nothing writes is a typo, and a typo here would leave the
        // intended channel unlimited: refuse it.
        for channel in file.limits.keys() {
            let field = || format!("limits.{channel:?}");
            match longest_prefix(&file.routes, |r| &r.prefix, channel) {
                None => return Err(invalid(field(), "no route serves this channel")),
                Some(route) => match route.port {
                    PortKind::Sim => {
                        if !sim_channels
                            .get(channel.as_str())
                            .is_some_and(|c| c.writable())
                        {
                            return Err(invalid(
                                field(),
                                "the simulated beamline has no writable channel of this name",
                            ));
                        }
                    }
                    // Which PVs an IOC serves is known only at run time.
                    PortKind::Epics => {}
                },
            }
        }
        file.epics
            .validate()
            .map_err(|e| invalid(format!("epics.{}", e.field), e.message))?;
        Ok(Catalog {
            revision,
            writes_enabled: file.writes_enabled,
            max_steps: file.max_steps,
            timeouts: file.timeouts,
            routes: file.routes,
            limits: file.limits,
            sim: file.sim,
            sim_channels,
            epics: file.epics,
        })
    }

    /// `sha256:<hex>` of the catalog's text; recorded in the pin.
    pub fn revision(&self) -> &str {
        &self.revision
    }

    pub fn writes_enabled(&self) -> bool {
        self.writes_enabled
    }

    /// The most steps one conduct may pin.
    pub fn max_steps(&self) -> usize {
        self.max_steps
    }

    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    pub fn routes(&self) -> &[RouteEntry] {
        &self.routes
    }

    pub fn limits(&self) -> &BTreeMap<String, ChannelLimits> {
        &self.limits
    }

    pub fn sim(&self) -> &SimConfig {
        &self.sim
    }

    /// The `[epics]` table: Channel Access deadlines and the actions of `epics` routes.
    pub fn epics(&self) -> &EpicsConfig {
        &self.epics
    }

    /// The same catalog with another simulated time scale (0 for tests and benchmarks). The
    /// revision is kept: the time scale changes how fast the sim runs, not what is allowed.
    pub fn with_time_scale(mut self, time_scale: f64) -> Result<Catalog, CatalogError> {
        if !(time_scale.is_finite() && time_scale >= 0.0) {
            return Err(invalid(
                "sim.time_scale",
                format!("must be finite and >= 0, got {time_scale}"),
            ));
        }
        self.sim.time_scale = time_scale;
        Ok(self)
    }

    /// The route serving `channel` (longest prefix), if any.
    pub fn route_for(&self, channel: &str) -> Option<&RouteEntry> {
        longest_prefix(&self.routes, |r| &r.prefix, channel)
    }

    pub fn limits_for(&self, channel: &str) -> Option<&ChannelLimits> {
        self.limits.get(channel)
    }

    /// What the simulated beamline serves under `channel`, if anything.
    pub fn sim_channel(&self, channel: &str) -> Option<SimChannel> {
        self.sim_channels.get(channel).copied()
    }

    /// The router settings the catalog implies.
    pub fn router_settings(&self) -> RouterSettings {
        let t = &self.timeouts;
        RouterSettings {
            writes_enabled: self.writes_enabled,
            write_timeout: Duration::from_millis(t.write_ms),
            read_timeout: Duration::from_millis(t.read_ms),
            action_timeout: Duration::from_millis(t.action_ms),
            settle_timeout: Duration::from_millis(t.settle_ms),
            poll_interval: Duration::from_millis(t.poll_ms),
        }
    }

    /// Builds the router the catalog describes, with a fresh simulated beamline behind every
    /// `sim` route (one beamline shared by all of them), one EPICS port (one CA context) behind
    /// every `epics` route, and the limits enforced at dispatch.
    pub fn router(&self) -> Result<Router, CatalogError> {
        let mut router = Router::new(self.router_settings());
        let mut sim: Option<Arc<SimPort>> = None;
        let mut epics: Option<Arc<dyn DevicePort>> = None;
        for (i, route) in self.routes.iter().enumerate() {
            let port: Arc<dyn DevicePort> = match route.port {
                PortKind::Sim => match &sim {
                    Some(port) => port.clone(),
                    None => {
                        let port = Arc::new(
                            SimPort::new(&self.sim)
                                .map_err(|e| invalid(format!("sim.{}", e.field), e.message))?,
                        );
                        sim = Some(Arc::clone(&port));
                        port
                    }
                },
                PortKind::Epics => match &epics {
                    Some(port) => Arc::clone(port),
                    None => {
                        let port = self.epics_port(i)?;
                        epics = Some(Arc::clone(&port));
                        port
                    }
                },
            };
            router
                .add_route(
                    &route.prefix,
                    route.port.actuation_kind(),
                    route.read_only,
                    port,
                )
                .map_err(|e| invalid(format!("routes[{i}]"), e.to_string()))?;
        }
        for (channel, limits) in &self.limits {
            router.set_limits(channel, *limits);
        }
        Ok(router)
    }

    #[cfg(feature = "epics")]
    fn epics_port(&self, route: usize) -> Result<Arc<dyn DevicePort>, CatalogError> {
        let port = EpicsPort::new(self.epics.clone())
            .map_err(|e| invalid(format!("routes[{route}].port"), e.to_string()))?;
        Ok(Arc::new(port))
    }

    #[cfg(not(feature = "epics"))]
    fn epics_port(&self, route: usize) -> Result<Arc<dyn DevicePort>, CatalogError> {
        Err(invalid(
            format!("routes[{route}].port"),
            "this baton was built without the `epics` cargo feature",
        ))
    }
}
