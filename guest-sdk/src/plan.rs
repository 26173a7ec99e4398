//! The plan a procedure resolves to: a names table and the steps, which refer to channels,
//! devices, commands and argument names by index into that table.
//!
//! Naming each channel once keeps a long plan cheap twice over: the guest does not allocate a
//! `String` per step, and the host copies a `u32` per reference instead of a string.

use std::collections::BTreeMap;

use crate::bindings::baton::procedure::types as wit;
use crate::step::IntoStep;
use crate::view::ResolvedStep;

/// A name interned in one [`Plan`] (see [`Plan::name`]). Copy it freely into step builders; it
/// only means something in the plan that made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(u32);

impl Name {
    /// The index into the plan's names table, as the host sees it.
    pub fn index(self) -> u32 {
        self.0
    }
}

/// A channel, device, command or argument name as step builders accept it: a `&str` (looked
/// up when the step is pushed), a `String`, or a [`Name`] interned beforehand (no lookup at
/// all, the fastest choice in a loop).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameArg<'a> {
    Borrowed(&'a str),
    Owned(String),
    Interned(Name),
}

impl<'a> From<&'a str> for NameArg<'a> {
    #[inline]
    fn from(s: &'a str) -> Self {
        NameArg::Borrowed(s)
    }
}

impl<'a> From<&'a String> for NameArg<'a> {
    #[inline]
    fn from(s: &'a String) -> Self {
        NameArg::Borrowed(s)
    }
}

impl From<String> for NameArg<'_> {
    #[inline]
    fn from(s: String) -> Self {
        NameArg::Owned(s)
    }
}

impl From<Name> for NameArg<'_> {
    #[inline]
    fn from(n: Name) -> Self {
        NameArg::Interned(n)
    }
}

/// The steps a procedure resolves to, in order.
///
/// ```
/// # use baton_guest::{Action, Plan, Setpoint};
/// let mut plan = Plan::with_capacity(2 * 100);
/// // Intern the names used in the loop once: the pushes below do no lookup at all.
/// let (mx, rbv, det, acquire) = (plan.name("sim:mx"), plan.name("sim:mx.rbv"),
///                                plan.name("sim:det"), plan.name("acquire"));
/// let exposure = plan.name("exposure_s");
/// for i in 0..100 {
///     plan.push(Setpoint::new(mx, i as f64 * 0.1).readback(rbv).tolerance(0.005));
///     plan.push(Action::new(det, acquire).arg(exposure, 0.5));
/// }
/// assert_eq!(plan.len(), 200);
/// assert_eq!(plan.names().len(), 5);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Plan {
    names: Vec<String>,
    // A BTreeMap, not a HashMap: std's HashMap seeds itself from `wasi:random`, an import a
    // procedure has no use for.
    index: BTreeMap<String, u32>,
    steps: Vec<wit::Step>,
}

impl Plan {
    /// An empty plan.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty plan with room for `steps` steps. Worth it for long plans: growing by doubling
    /// briefly needs three times the memory.
    pub fn with_capacity(steps: usize) -> Self {
        Plan {
            steps: Vec::with_capacity(steps),
            ..Self::default()
        }
    }

    /// Makes room for `additional` more steps.
    pub fn reserve(&mut self, additional: usize) {
        self.steps.reserve(additional);
    }

    /// Interns `name` (once; later calls return the same [`Name`]).
    pub fn name(&mut self, name: &str) -> Name {
        if let Some(&i) = self.index.get(name) {
            return Name(i);
        }
        self.insert(name.to_owned())
    }

    fn insert(&mut self, name: String) -> Name {
        let i = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.index.insert(name.clone(), i);
        self.names.push(name);
        Name(i)
    }

    /// The index of `name`, interning it if needed. The `Interned` case is the hot one (names
    /// interned before a loop) and must stay a few instructions.
    #[inline]
    pub(crate) fn intern(&mut self, name: NameArg<'_>) -> u32 {
        match name {
            NameArg::Interned(n) => {
                debug_assert!(
                    (n.0 as usize) < self.names.len(),
                    "a Name from another plan"
                );
                n.0
            }
            other => self.intern_text(other),
        }
    }

    #[inline(never)]
    fn intern_text(&mut self, name: NameArg<'_>) -> u32 {
        match name {
            NameArg::Interned(n) => n.0,
            NameArg::Borrowed(s) => self.name(s).0,
            NameArg::Owned(s) => match self.index.get(s.as_str()) {
                Some(&i) => i,
                None => self.insert(s).0,
            },
        }
    }

    /// Appends a step: a [`crate::Setpoint`], a [`crate::Check`] or an [`crate::Action`].
    #[inline]
    pub fn push(&mut self, step: impl IntoStep) -> &mut Self {
        let step = step.into_wit(self);
        self.steps.push(step);
        self
    }

    /// The number of steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The names table, in interning order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The text of an interned name.
    pub fn name_of(&self, name: Name) -> Option<&str> {
        self.names.get(name.0 as usize).map(String::as_str)
    }

    /// The steps with their names resolved to text: what the host will see. Allocates; meant
    /// for tests and inspection, not for the hot path.
    pub fn resolved_steps(&self) -> Vec<ResolvedStep> {
        self.steps
            .iter()
            .map(|s| ResolvedStep::from_wit(s, &self.names))
            .collect()
    }

    /// The WIT `plan`, moved out without copying steps or names. Only the wasm export (and
    /// tests) use it.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn into_wit(self) -> wit::Plan {
        wit::Plan {
            names: self.names,
            steps: self.steps,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::{Action, Check, Setpoint, Value};

    #[test]
    fn names_are_interned_once_in_first_use_order() {
        let mut plan = Plan::new();
        plan.push(Setpoint::new("sim:mx", 1.0).readback("sim:mx.rbv"));
        plan.push(Setpoint::new("sim:mx", 2.0).readback("sim:mx.rbv"));
        plan.push(Setpoint::new(String::from("sim:my"), 3.0));
        plan.push(Action::new("sim:det", "acquire").arg("exposure_s", 0.1));
        assert_eq!(
            plan.names(),
            [
                "sim:mx",
                "sim:mx.rbv",
                "sim:my",
                "sim:det",
                "acquire",
                "exposure_s"
            ]
        );
        let wit = plan.into_wit();
        let channels: Vec<u32> = wit
            .steps
            .iter()
            .filter_map(|s| match s {
                wit::Step::Setpoint(sp) => Some(sp.channel),
                _ => None,
            })
            .collect();
        assert_eq!(channels, [0, 0, 2]);
    }

    #[test]
    fn a_pre_interned_name_and_its_text_are_the_same_name() {
        let mut plan = Plan::new();
        let mx = plan.name("sim:mx");
        assert_eq!(plan.name("sim:mx"), mx);
        plan.push(Check::within("sim:mx", 1.0, 0.1));
        plan.push(Check::within(mx, 1.0, 0.1));
        assert_eq!(plan.names().len(), 1);
        assert_eq!(plan.name_of(mx), Some("sim:mx"));
        let steps = plan.resolved_steps();
        assert_eq!(steps[0], steps[1]);
    }

    #[test]
    fn into_wit_keeps_order_and_values() {
        let mut plan = Plan::with_capacity(3);
        plan.push(Setpoint::new("a", 1.0))
            .push(Check::equals("b", "open"))
            .push(Action::new("c", "go"));
        assert_eq!(plan.len(), 3);
        let wit = plan.into_wit();
        assert!(matches!(&wit.steps[0], wit::Step::Setpoint(s) if s.value == Value::Float(1.0)));
        assert!(matches!(&wit.steps[1], wit::Step::Check(c)
            if c.criterion == wit::Criterion::Equals(Value::Text("open".into()))));
        assert!(matches!(&wit.steps[2], wit::Step::Action(a) if a.args.is_empty()));
    }
}
