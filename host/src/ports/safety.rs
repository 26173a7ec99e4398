//! The safety check before start + pin (docs/safety.md#rules): a pure judgement of a resolved step list
//! against the device catalog. Nothing is read or written; a violation refuses the conduct with
//! the step index and the rule, and the procedure stays Defined.
//!
//! Rules, for every step: its channel (a setpoint's channel and readback, a check's channel, an
//! action's device) is routed, and on a `sim` route the simulated beamline serves it (a setpoint
//! a writable channel, an action a command the device has); a write or action is not on a
//! read-only route and writes are enabled; a written value lies within the channel's limits
//! (non-finite values never do); a readback's tolerance and a check's criterion are well formed;
//! and the list fits the step-count cap.
//!
//! **Maximum step.** `max_step` bounds `|new - previous|` between consecutive writes to the same
//! channel *in the list*. The first write to a channel in a list has no previous value the check
//! can know (the device's current position is a reading, and this check reads nothing), so it is
//! bounded by `min`/`max` only. A value refused by the range is not taken as the previous value
//! of the next write.
//!
//! [`check`] stops at the first violation (the cap is judged first, then steps in order), which
//! is what a conduct needs; [`check_all`] collects every violation, for `baton validate` in CI.

use std::collections::HashMap;
use std::ops::ControlFlow;

use crate::domain::{Action, Check, CriterionError, Name, Setpoint, Step, Value};
use crate::ports::catalog::{Catalog, PortKind, RouteEntry};
use crate::ports::limits::LimitBreach;

/// The part a channel plays in its step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::Display, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum ChannelRole {
    Setpoint,
    Readback,
    Check,
    Action,
}

impl ChannelRole {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Which rule a step breaks.
#[derive(Clone, Debug, PartialEq, thiserror::Error, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum SafetyRule {
    #[error("too many steps: {count} exceeds the cap of {cap}")]
    TooManySteps { count: usize, cap: usize },
    #[error("no route serves this {role} channel")]
    Unrouted { role: ChannelRole },
    #[error("the simulated beamline does not serve this {role} channel: {reason}")]
    NotServed { role: ChannelRole, reason: String },
    #[error("the route {prefix:?} is read-only")]
    ReadOnlyRoute { prefix: String },
    #[error("writes are disabled (read-only mode)")]
    WritesDisabled,
    #[error("out of limits: {0}")]
    OutOfLimits(LimitBreach),
    #[error("maximum step: {0}")]
    MaxStep(LimitBreach),
    #[error("malformed readback: {reason}")]
    BadReadback { reason: String },
    #[error("malformed criterion: {0}")]
    BadCriterion(CriterionError),
}

impl SafetyRule {
    /// A stable name for the rule, for API bodies and metrics.
    pub fn name(&self) -> &'static str {
        self.into()
    }
}

/// One broken rule, naming the step (its absolute index in the list) and the channel.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("step {step_index} ({channel}): {rule}")]
pub struct SafetyViolation {
    pub step_index: usize,
    pub channel: Name,
    pub rule: SafetyRule,
}

/// The first violation, if any: the cap first, then the steps in order.
pub fn check(catalog: &Catalog, steps: &[Step]) -> Result<(), SafetyViolation> {
    let mut first = None;
    scan(catalog, steps, &mut |v| {
        first = Some(v);
        ControlFlow::Break(())
    });
    first.map_or(Ok(()), Err)
}

/// Every violation: the cap (if broken) first, then the steps' in order.
pub fn check_all(catalog: &Catalog, steps: &[Step]) -> Vec<SafetyViolation> {
    let mut all = Vec::new();
    scan(catalog, steps, &mut |v| {
        all.push(v);
        ControlFlow::Continue(())
    });
    all
}

type Emit<'e> = dyn FnMut(SafetyViolation) -> ControlFlow<()> + 'e;

struct Scan<'a, 'e> {
    catalog: &'a Catalog,
    emit: &'e mut Emit<'e>,
    /// The last in-range value written to each channel earlier in the list.
    last_written: HashMap<&'a str, &'a Value>,
}

fn scan<'e>(catalog: &Catalog, steps: &[Step], emit: &'e mut Emit<'e>) {
    if steps.len() > catalog.max_steps() {
        let cap = catalog.max_steps();
        let violation = SafetyViolation {
            step_index: cap,
            channel: steps[cap].target().into(),
            rule: SafetyRule::TooManySteps {
                count: steps.len(),
                cap,
            },
        };
        if emit(violation).is_break() {
            return;
        }
    }
    let mut scan = Scan {
        catalog,
        emit,
        last_written: HashMap::new(),
    };
    for (index, step) in steps.iter().enumerate() {
        let flow = match step {
            Step::Setpoint(sp) => scan.setpoint(index, sp),
            Step::Check(c) => scan.check(index, c),
            Step::Action(a) => scan.action(index, a),
        };
        if flow.is_break() {
            return;
        }
    }
}

impl<'a> Scan<'a, '_> {
    fn emit(&mut self, step_index: usize, channel: &Name, rule: SafetyRule) -> ControlFlow<()> {
        (self.emit)(SafetyViolation {
            step_index,
            channel: channel.clone(),
            rule,
        })
    }

    /// The route of a channel, emitting `Unrouted` when there is none.
    fn routed(
        &mut self,
        index: usize,
        channel: &Name,
        role: ChannelRole,
    ) -> ControlFlow<(), Option<&'a RouteEntry>> {
        match self.catalog.route_for(channel) {
            Some(route) => ControlFlow::Continue(Some(route)),
            None => {
                self.emit(index, channel, SafetyRule::Unrouted { role })?;
                ControlFlow::Continue(None)
            }
        }
    }

    /// On a sim route, whether the sim serves the channel in its role.
    fn served(
        &mut self,
        index: usize,
        route: &RouteEntry,
        channel: &Name,
        role: ChannelRole,
        command: Option<&str>,
    ) -> ControlFlow<()> {
        match route.port {
            PortKind::Sim => {
                let reason = match self.catalog.sim_channel(channel) {
                    None => Some("no sim device has this channel".to_owned()),
                    Some(c) if role == ChannelRole::Setpoint && !c.writable() => {
                        Some("the channel is read-only".to_owned())
                    }
                    Some(c) => command
                        .filter(|cmd| !c.commands().contains(cmd))
                        .map(|cmd| format!("no command {cmd:?} (it serves {:?})", c.commands())),
                };
                match reason {
                    Some(reason) => {
                        self.emit(index, channel, SafetyRule::NotServed { role, reason })
                    }
                    None => ControlFlow::Continue(()),
                }
            }
            // Whether a PV exists is known only at run time; an action must be configured.
            PortKind::Epics => match command {
                Some(cmd) if self.catalog.epics().action(cmd).is_none() => {
                    let serves: Vec<&str> = self
                        .catalog
                        .epics()
                        .actions
                        .iter()
                        .map(|a| a.command.as_str())
                        .collect();
                    let reason = format!("no EPICS action {cmd:?} (configured: {serves:?})");
                    self.emit(index, channel, SafetyRule::NotServed { role, reason })
                }
                _ => ControlFlow::Continue(()),
            },
        }
    }

    fn writable(&mut self, index: usize, route: &RouteEntry, channel: &Name) -> ControlFlow<()> {
        if route.read_only {
            let prefix = route.prefix.clone();
            self.emit(index, channel, SafetyRule::ReadOnlyRoute { prefix })?;
        }
        if !self.catalog.writes_enabled() {
            self.emit(index, channel, SafetyRule::WritesDisabled)?;
        }
        ControlFlow::Continue(())
    }

    fn setpoint(&mut self, index: usize, sp: &'a Setpoint) -> ControlFlow<()> {
        let channel = &sp.channel;
        if let Some(route) = self.routed(index, channel, ChannelRole::Setpoint)? {
            self.served(index, route, channel, ChannelRole::Setpoint, None)?;
            self.writable(index, route, channel)?;
        }
        let limits = self
            .catalog
            .limits_for(channel)
            .copied()
            .unwrap_or_default();
        match limits.check_value(&sp.value) {
            Err(breach) => self.emit(index, channel, SafetyRule::OutOfLimits(breach))?,
            Ok(()) => {
                let key: &'a str = &sp.channel;
                if let Some(previous) = self.last_written.insert(key, &sp.value)
                    && let Err(breach) = limits.check_step(previous, &sp.value)
                {
                    self.emit(index, channel, SafetyRule::MaxStep(breach))?;
                }
            }
        }
        if let Some(readback) = &sp.readback {
            if let Some(route) = self.routed(index, readback, ChannelRole::Readback)? {
                self.served(index, route, readback, ChannelRole::Readback, None)?;
            }
            let reason = match (sp.tolerance, sp.value.as_number()) {
                (Some(t), _) if !(t.is_finite() && t >= 0.0) => {
                    Some(format!("tolerance must be finite and >= 0, got {t}"))
                }
                (Some(_), None) => Some(format!(
                    "a tolerance needs a numeric value, got a {}",
                    sp.value.kind()
                )),
                _ => None,
            };
            if let Some(reason) = reason {
                self.emit(index, readback, SafetyRule::BadReadback { reason })?;
            }
        }
        ControlFlow::Continue(())
    }

    fn check(&mut self, index: usize, c: &Check) -> ControlFlow<()> {
        if let Some(route) = self.routed(index, &c.channel, ChannelRole::Check)? {
            self.served(index, route, &c.channel, ChannelRole::Check, None)?;
        }
        if let Err(e) = c.criterion.validate() {
            self.emit(index, &c.channel, SafetyRule::BadCriterion(e))?;
        }
        ControlFlow::Continue(())
    }

    fn action(&mut self, index: usize, a: &Action) -> ControlFlow<()> {
        if let Some(route) = self.routed(index, &a.device, ChannelRole::Action)? {
            self.served(
                index,
                route,
                &a.device,
                ChannelRole::Action,
                Some(&a.command),
            )?;
            self.writable(index, route, &a.device)?;
        }
        ControlFlow::Continue(())
    }
}
