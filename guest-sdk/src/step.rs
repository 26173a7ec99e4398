//! Step builders: [`Setpoint`], [`Check`] and [`Action`]. A builder holds names as given
//! (text or [`crate::Name`]); [`crate::Plan::push`] interns them.

use crate::bindings::baton::procedure::types as wit;
use crate::{NameArg, Plan, Value};

/// An idempotent absolute write, optionally confirmed by a readback within a tolerance, with an
/// optional settle time. Re-driving it after a crash is safe.
///
/// ```
/// # use baton_guest::Setpoint;
/// let step = Setpoint::new("sim:mx", 1.25).readback("sim:mx.rbv").tolerance(0.005).settle_ms(200);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Setpoint<'a> {
    channel: NameArg<'a>,
    value: Value,
    readback: Option<NameArg<'a>>,
    tolerance: Option<f64>,
    settle_ms: Option<u32>,
}

impl<'a> Setpoint<'a> {
    /// Write `value` to `channel`.
    #[inline]
    pub fn new(channel: impl Into<NameArg<'a>>, value: impl Into<Value>) -> Self {
        Setpoint {
            channel: channel.into(),
            value: value.into(),
            readback: None,
            tolerance: None,
            settle_ms: None,
        }
    }

    /// Confirm the write by reading `channel` (e.g. a motor's `.rbv`).
    #[inline]
    pub fn readback(mut self, channel: impl Into<NameArg<'a>>) -> Self {
        self.readback = Some(channel.into());
        self
    }

    /// How far the readback may be from the value (absolute, in the channel's unit).
    #[inline]
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = Some(tolerance);
        self
    }

    /// How long to wait for the readback to settle, in milliseconds.
    #[inline]
    pub fn settle_ms(mut self, ms: u32) -> Self {
        self.settle_ms = Some(ms);
        self
    }
}

/// A pure read judged by a criterion, optionally retried until a timeout.
///
/// ```
/// # use baton_guest::Check;
/// let cold = Check::within("sim:temp:rbv", 80.0, 0.5).timeout_ms(600_000);
/// let open = Check::equals("sim:shutter", "open");
/// let beam = Check::between("sim:ring:current", 190.0, 210.0);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Check<'a> {
    channel: NameArg<'a>,
    criterion: wit::Criterion,
    timeout_ms: Option<u32>,
}

impl<'a> Check<'a> {
    /// The channel reads exactly `value`, of the same kind.
    #[inline]
    pub fn equals(channel: impl Into<NameArg<'a>>, value: impl Into<Value>) -> Self {
        Self::with(channel, wit::Criterion::Equals(value.into()))
    }

    /// `|reading - target| <= tolerance`; the reading must be a number.
    #[inline]
    pub fn within(channel: impl Into<NameArg<'a>>, target: f64, tolerance: f64) -> Self {
        Self::with(
            channel,
            wit::Criterion::Within(wit::ToleranceBand { target, tolerance }),
        )
    }

    /// `low <= reading <= high`; the reading must be a number.
    #[inline]
    pub fn between(channel: impl Into<NameArg<'a>>, low: f64, high: f64) -> Self {
        Self::with(channel, wit::Criterion::Between(wit::Range { low, high }))
    }

    #[inline]
    fn with(channel: impl Into<NameArg<'a>>, criterion: wit::Criterion) -> Self {
        Check {
            channel: channel.into(),
            criterion,
            timeout_ms: None,
        }
    }

    /// Keep reading until the criterion holds or `ms` milliseconds have passed.
    #[inline]
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.timeout_ms = Some(ms);
        self
    }
}

/// A non-idempotent command on a device (acquire, trigger, open), with named arguments.
///
/// ```
/// # use baton_guest::Action;
/// let acquire = Action::new("sim:det", "acquire").arg("exposure_s", 0.5).timeout_ms(10_000);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Action<'a> {
    device: NameArg<'a>,
    command: NameArg<'a>,
    // Most actions take one argument: keeping it inline spares an allocation per step.
    first_arg: Option<(NameArg<'a>, Value)>,
    more_args: Vec<(NameArg<'a>, Value)>,
    timeout_ms: Option<u32>,
}

impl<'a> Action<'a> {
    /// Run `command` on `device`.
    #[inline]
    pub fn new(device: impl Into<NameArg<'a>>, command: impl Into<NameArg<'a>>) -> Self {
        Action {
            device: device.into(),
            command: command.into(),
            first_arg: None,
            more_args: Vec::new(),
            timeout_ms: None,
        }
    }

    /// Adds a named argument; arguments keep their order.
    #[inline]
    pub fn arg(mut self, name: impl Into<NameArg<'a>>, value: impl Into<Value>) -> Self {
        let arg = (name.into(), value.into());
        if self.first_arg.is_none() {
            self.first_arg = Some(arg);
        } else {
            self.more_args.push(arg);
        }
        self
    }

    /// Give up on the command after `ms` milliseconds.
    #[inline]
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.timeout_ms = Some(ms);
        self
    }
}

/// What [`Plan::push`] accepts: [`Setpoint`], [`Check`], [`Action`] and [`Step`]. Sealed.
pub trait IntoStep: sealed::Sealed {
    /// Interns the step's names into `plan` and returns the WIT step.
    #[doc(hidden)]
    fn into_wit(self, plan: &mut Plan) -> wit::Step;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Setpoint<'_> {}
    impl Sealed for super::Check<'_> {}
    impl Sealed for super::Action<'_> {}
    impl Sealed for super::Step<'_> {}
}

// Each builder converts itself, without going through `Step`: in a 100 000-step loop the
// wrapping enum would be built, copied and matched for nothing.

impl IntoStep for Setpoint<'_> {
    #[inline]
    fn into_wit(self, plan: &mut Plan) -> wit::Step {
        wit::Step::Setpoint(wit::Setpoint {
            channel: plan.intern(self.channel),
            value: self.value,
            readback: self.readback.map(|r| plan.intern(r)),
            tolerance: self.tolerance,
            settle_ms: self.settle_ms,
        })
    }
}

impl IntoStep for Check<'_> {
    #[inline]
    fn into_wit(self, plan: &mut Plan) -> wit::Step {
        wit::Step::Check(wit::Check {
            channel: plan.intern(self.channel),
            criterion: self.criterion,
            timeout_ms: self.timeout_ms,
        })
    }
}

impl IntoStep for Action<'_> {
    #[inline]
    fn into_wit(self, plan: &mut Plan) -> wit::Step {
        let device = plan.intern(self.device);
        let command = plan.intern(self.command);
        let mut args = Vec::new();
        if let Some((name, value)) = self.first_arg {
            args.reserve_exact(1 + self.more_args.len());
            args.push((plan.intern(name), value));
            for (name, value) in self.more_args {
                args.push((plan.intern(name), value));
            }
        }
        wit::Step::Action(wit::Action {
            device,
            command,
            args,
            timeout_ms: self.timeout_ms,
        })
    }
}

/// Any step: for code that keeps steps of different kinds together before pushing them.
#[derive(Clone, Debug, PartialEq)]
pub enum Step<'a> {
    Setpoint(Setpoint<'a>),
    Check(Check<'a>),
    Action(Action<'a>),
}

impl<'a> From<Setpoint<'a>> for Step<'a> {
    fn from(s: Setpoint<'a>) -> Self {
        Step::Setpoint(s)
    }
}

impl<'a> From<Check<'a>> for Step<'a> {
    fn from(c: Check<'a>) -> Self {
        Step::Check(c)
    }
}

impl<'a> From<Action<'a>> for Step<'a> {
    fn from(a: Action<'a>) -> Self {
        Step::Action(a)
    }
}

impl IntoStep for Step<'_> {
    fn into_wit(self, plan: &mut Plan) -> wit::Step {
        match self {
            Step::Setpoint(s) => s.into_wit(plan),
            Step::Check(c) => c.into_wit(plan),
            Step::Action(a) => a.into_wit(plan),
        }
    }
}
