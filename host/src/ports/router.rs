//! The router: dispatches a channel to the port whose route has the longest matching prefix,
//! enforces read-only routes, the global write switch, channel limits and deadlines, confirms
//! readbacks, and reports with every result the actuation kind of the routes it touched. The
//! kind is returned by the dispatch methods themselves, so a caller cannot get a result without
//! its provenance and no wrapper can hide it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::{ActionAnswer, DevicePort, PortError, PortResult, Quality, Reading};
use crate::domain::{Action, ActuationKind, Check, Criterion, Setpoint, Value};
use crate::ports::limits::ChannelLimits;

/// Deadlines and switches of a router. Per-step values (`settle_ms`, `timeout_ms`) override the
/// defaults here.
#[derive(Clone, Debug, PartialEq)]
pub struct RouterSettings {
    /// The deployment-wide write switch; off is read-only mode.
    pub writes_enabled: bool,
    /// How long a write may take to complete (a motor to arrive), before any readback wait.
    pub write_timeout: Duration,
    /// How long one read may take.
    pub read_timeout: Duration,
    /// How long an action may take when the step does not say.
    pub action_timeout: Duration,
    /// How long a readback may take to come within tolerance when the step does not say.
    pub settle_timeout: Duration,
    /// How often a readback (or a check with a timeout) is re-read while waiting.
    pub poll_interval: Duration,
}

impl Default for RouterSettings {
    fn default() -> Self {
        RouterSettings {
            writes_enabled: true,
            write_timeout: Duration::from_secs(60),
            read_timeout: Duration::from_secs(5),
            action_timeout: Duration::from_secs(300),
            settle_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_millis(20),
        }
    }
}

/// Why a route cannot be added.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("a route with prefix {0:?} already exists")]
    DuplicatePrefix(String),
    #[error("route {prefix:?}: a route is Simulated or Physical, not {kind:?}")]
    BadKind { prefix: String, kind: ActuationKind },
}

/// What the router knows about the route serving a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteInfo<'a> {
    pub prefix: &'a str,
    pub kind: ActuationKind,
    pub read_only: bool,
    pub port: &'a str,
}

struct Route {
    prefix: Box<str>,
    kind: ActuationKind,
    read_only: bool,
    port: Arc<dyn DevicePort>,
}

/// The outcome of a check: the last reading taken (if any read answered) and the judgement.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckOutcome {
    pub reading: Option<Reading>,
    pub result: PortResult<()>,
}

/// Dispatches channels to ports by longest prefix. Cheap to share behind an `Arc`.
pub struct Router {
    routes: Vec<Route>,
    limits: HashMap<Box<str>, ChannelLimits>,
    writes_enabled: AtomicBool,
    settings: RouterSettings,
}

/// The item among `items` whose prefix is the longest prefix of `channel`. Plain string
/// prefixes: `"sim:"` serves `"sim:mx"`, and `"sim:m"` would too.
pub(crate) fn longest_prefix<'a, T>(
    items: impl IntoIterator<Item = &'a T>,
    prefix: impl Fn(&T) -> &str,
    channel: &str,
) -> Option<&'a T> {
    items
        .into_iter()
        .filter(|item| channel.starts_with(prefix(item)))
        .max_by_key(|item| prefix(item).len())
}

async fn deadline<T>(
    limit: Duration,
    what: impl FnOnce() -> String,
    fut: impl Future<Output = PortResult<T>>,
) -> PortResult<T> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result,
        Err(_) => Err(PortError::timeout(format!(
            "{} did not answer within {} ms",
            what(),
            limit.as_millis()
        ))),
    }
}

fn ms(ms: u32) -> Duration {
    Duration::from_millis(u64::from(ms))
}

/// The criterion a readback must meet for a setpoint: numbers within the tolerance (exactly equal
/// without one), anything else equal. A malformed tolerance would fail again on resume, so it is
/// `OutOfLimits` (a configuration class), not `Rejected`.
fn readback_criterion(sp: &Setpoint) -> PortResult<Criterion> {
    match (sp.value.as_number(), sp.tolerance) {
        (Some(target), tolerance) => {
            let tolerance = tolerance.unwrap_or(0.0);
            let criterion = Criterion::Within { target, tolerance };
            criterion
                .validate()
                .map_err(|e| PortError::out_of_limits(format!("setpoint {}: {e}", sp.channel)))?;
            Ok(criterion)
        }
        (None, Some(_)) => Err(PortError::out_of_limits(format!(
            "setpoint {}: a tolerance needs a numeric value, got a {}",
            sp.channel,
            sp.value.kind()
        ))),
        (None, None) => Ok(Criterion::Equals {
            value: sp.value.clone(),
        }),
    }
}

impl Router {
    pub fn new(settings: RouterSettings) -> Self {
        Router {
            routes: Vec::new(),
            limits: HashMap::new(),
            writes_enabled: AtomicBool::new(settings.writes_enabled),
            settings,
        }
    }

    /// Adds a route. The kind is declared by whoever composes the router (the catalog implies it
    /// from the port); it must be `Simulated` or `Physical`.
    pub fn add_route(
        &mut self,
        prefix: &str,
        kind: ActuationKind,
        read_only: bool,
        port: Arc<dyn DevicePort>,
    ) -> Result<(), RouteError> {
        if !matches!(kind, ActuationKind::Simulated | ActuationKind::Physical) {
            return Err(RouteError::BadKind {
                prefix: prefix.to_owned(),
                kind,
            });
        }
        if self.routes.iter().any(|r| &*r.prefix == prefix) {
            return Err(RouteError::DuplicatePrefix(prefix.to_owned()));
        }
        self.routes.push(Route {
            prefix: prefix.into(),
            kind,
            read_only,
            port,
        });
        Ok(())
    }

    /// Sets (replaces) the limits enforced at dispatch for one channel.
    pub fn set_limits(&mut self, channel: &str, limits: ChannelLimits) {
        self.limits.insert(channel.into(), limits);
    }

    pub fn settings(&self) -> &RouterSettings {
        &self.settings
    }

    pub fn writes_enabled(&self) -> bool {
        self.writes_enabled.load(Ordering::SeqCst)
    }

    /// Flips the deployment-wide write switch at run time (read-only mode when off). A write
    /// already dispatched finishes; the next one is refused.
    pub fn set_writes_enabled(&self, enabled: bool) {
        self.writes_enabled.store(enabled, Ordering::SeqCst);
    }

    /// Lifts the injected faults of every simulated port behind the router; the number of
    /// ports that had faults to lift.
    pub fn clear_faults(&self) -> usize {
        self.routes.iter().filter(|r| r.port.clear_faults()).count()
    }

    fn route(&self, channel: &str) -> Option<&Route> {
        longest_prefix(&self.routes, |r| &r.prefix, channel)
    }

    /// The route serving `channel`, if any.
    pub fn route_info(&self, channel: &str) -> Option<RouteInfo<'_>> {
        self.route(channel).map(|r| RouteInfo {
            prefix: &r.prefix,
            kind: r.kind,
            read_only: r.read_only,
            port: r.port.port_name(),
        })
    }

    /// The actuation kind of the route serving `channel`; `None` when no route serves it.
    pub fn route_kind(&self, channel: &str) -> Option<ActuationKind> {
        self.route(channel).map(|r| r.kind)
    }

    fn routed(&self, channel: &str) -> PortResult<&Route> {
        self.route(channel)
            .ok_or_else(|| PortError::unrouted(format!("no route serves channel {channel}")))
    }

    fn writable(&self, channel: &str) -> PortResult<&Route> {
        let route = self.routed(channel)?;
        if route.read_only {
            return Err(PortError::access_denied(format!(
                "channel {channel} is served by read-only route {:?}",
                route.prefix
            )));
        }
        if !self.writes_enabled() {
            return Err(PortError::access_denied(format!(
                "writes are disabled (read-only mode); refused {channel}"
            )));
        }
        Ok(route)
    }

    fn within_limits(&self, channel: &str, value: &Value) -> PortResult<()> {
        let limits = self.limits.get(channel).copied().unwrap_or_default();
        limits
            .check_value(value)
            .map_err(|breach| PortError::out_of_limits(format!("{channel}: {breach}")))
    }

    /// Writes a setpoint and waits for completion; when the setpoint names a readback, then waits
    /// until the readback is within tolerance (exactly equal without a tolerance; only a `Good`
    /// reading counts) or the settle time runs out (`Timeout`, or `BadQuality` when the last
    /// reading was bad). Routing, access, limits and the readback's route are all judged before
    /// the port is called, so a refused write touches nothing and reports kind `None`. The
    /// returned kind joins the write's route and, once read, the readback's. Ok carries the
    /// settled readback the write was judged on (the reading that met the criterion), `None`
    /// when the setpoint names no readback.
    pub async fn write(&self, sp: &Setpoint) -> (ActuationKind, PortResult<Option<Reading>>) {
        let prepared = (|| {
            let route = self.writable(&sp.channel)?;
            let readback = match &sp.readback {
                Some(rb) => Some((rb, self.routed(rb)?, readback_criterion(sp)?)),
                None => None,
            };
            self.within_limits(&sp.channel, &sp.value)?;
            Ok((route, readback))
        })();
        let (route, readback) = match prepared {
            Ok(p) => p,
            Err(e) => return (ActuationKind::None, Err(e)),
        };
        let mut kind = route.kind;
        let written = deadline(
            self.settings.write_timeout,
            || format!("write to {}", sp.channel),
            route.port.write(sp),
        )
        .await;
        if let Err(e) = written {
            return (kind, Err(e));
        }
        let Some((rb, rb_route, criterion)) = readback else {
            return (kind, Ok(None));
        };
        kind = kind.join(rb_route.kind);
        let settle = sp.settle_ms.map(ms).unwrap_or(self.settings.settle_timeout);
        let settled = self.confirm(rb, rb_route, &criterion, settle).await;
        (kind, settled.map(Some))
    }

    async fn read_route(
        &self,
        route: &Route,
        channel: &str,
        limit: Duration,
    ) -> PortResult<Reading> {
        deadline(
            limit,
            || format!("read of {channel}"),
            route.port.read(channel),
        )
        .await
    }

    /// Re-reads `channel` until a `Good` reading meets `criterion` (that reading) or `settle`
    /// runs out.
    async fn confirm(
        &self,
        channel: &str,
        route: &Route,
        criterion: &Criterion,
        settle: Duration,
    ) -> PortResult<Reading> {
        let until = Instant::now() + settle;
        loop {
            let reading = self
                .read_route(route, channel, self.settings.read_timeout)
                .await?;
            if reading.quality == Quality::Good && criterion.evaluate(&reading.value).is_ok() {
                return Ok(reading);
            }
            let now = Instant::now();
            if now >= until {
                let message = format!(
                    "readback {channel} = {:?} ({} quality) did not meet {criterion:?} within {} ms",
                    reading.value,
                    reading.quality.as_str(),
                    settle.as_millis()
                );
                return Err(if reading.quality == Quality::Bad {
                    PortError::bad_quality(message)
                } else {
                    PortError::timeout(message)
                });
            }
            tokio::time::sleep(self.settings.poll_interval.min(until - now)).await;
        }
    }

    /// Reads a channel within the default read deadline.
    pub async fn read(&self, channel: &str) -> (ActuationKind, PortResult<Reading>) {
        self.read_within(channel, self.settings.read_timeout).await
    }

    /// Reads a channel within `limit`.
    pub async fn read_within(
        &self,
        channel: &str,
        limit: Duration,
    ) -> (ActuationKind, PortResult<Reading>) {
        match self.routed(channel) {
            Ok(route) => (route.kind, self.read_route(route, channel, limit).await),
            Err(e) => (ActuationKind::None, Err(e)),
        }
    }

    /// Runs a check: reads the channel and judges it ([`Reading::judge`]). Without `timeout_ms`
    /// the channel is read once. With it, the channel is re-read until the check passes or the
    /// time runs out, and the last judgement (`CriterionMismatch` or `BadQuality`) is the
    /// result. A read that fails ends the check with that failure at once.
    pub async fn check(&self, check: &Check) -> (ActuationKind, CheckOutcome) {
        let route = match self.routed(&check.channel) {
            Ok(route) => route,
            Err(e) => {
                let outcome = CheckOutcome {
                    reading: None,
                    result: Err(e),
                };
                return (ActuationKind::None, outcome);
            }
        };
        let until = check.timeout_ms.map(|t| Instant::now() + ms(t));
        loop {
            let reading = match self
                .read_route(route, &check.channel, self.settings.read_timeout)
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    let outcome = CheckOutcome {
                        reading: None,
                        result: Err(e),
                    };
                    return (route.kind, outcome);
                }
            };
            let judged = super::judge(&reading, &check.criterion);
            let now = Instant::now();
            match (judged, until) {
                (Err(_), Some(until)) if now < until => {
                    tokio::time::sleep(self.settings.poll_interval.min(until - now)).await;
                }
                (result, _) => {
                    let outcome = CheckOutcome {
                        reading: Some(reading),
                        result,
                    };
                    return (route.kind, outcome);
                }
            }
        }
    }

    /// Runs an action on the device it names. Actions have effects, so a read-only route or the
    /// write switch refuses them like writes (kind `None`, nothing touched). The deadline is the
    /// step's `timeout_ms`, else the default action timeout. Ok carries the device's typed
    /// results.
    pub async fn act(&self, action: &Action) -> (ActuationKind, PortResult<ActionAnswer>) {
        let route = match self.writable(&action.device) {
            Ok(route) => route,
            Err(e) => return (ActuationKind::None, Err(e)),
        };
        let limit = action
            .timeout_ms
            .map(ms)
            .unwrap_or(self.settings.action_timeout);
        let result = deadline(
            limit,
            || format!("action {} on {}", action.command, action.device),
            route.port.act(action),
        )
        .await;
        (route.kind, result)
    }
}
