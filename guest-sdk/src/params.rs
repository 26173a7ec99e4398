//! Typed access to a resolution's parameters, with the declared defaults and clear errors.
//!
//! Rules, checked once when the parameters arrive (before `resolve` runs):
//! - every given parameter must be declared, and given once;
//! - its value must be of the declared kind; the one widening is an int where a float is
//!   declared (a JSON `5` arrives as an int), if the float represents it exactly;
//! - floats (also inside a list) must be finite.
//!
//! The accessors then apply the declared default when a parameter is not given, and the range
//! checks the procedure asks for. Every error names the parameter.

use std::ops::{Bound, RangeBounds};

use crate::info::MAX_EXACT_INT;
use crate::{Kind, ParamSpec, ResolveError, Value};

/// Why a parameter cannot be used. Every variant but the two about the declaration itself
/// becomes [`ResolveError::InvalidParams`]; those two are bugs in the procedure and become
/// [`ResolveError::Failed`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ParamError {
    #[error("unknown parameter `{name}` (declared: {declared})")]
    Unknown { name: String, declared: String },
    #[error("parameter `{name}` is given more than once")]
    Duplicate { name: String },
    #[error("parameter `{name}` is required (it has no default) but was not given")]
    Missing { name: String },
    #[error("parameter `{name}` must be {expected}, got the {actual} {value}")]
    WrongType {
        name: String,
        expected: &'static str,
        actual: &'static str,
        value: String,
    },
    #[error("parameter `{name}` must be finite, got {value}")]
    NotFinite { name: String, value: String },
    #[error("parameter `{name}` must be {range}, got {value}")]
    OutOfRange {
        name: String,
        range: String,
        value: String,
    },
    /// A check of the procedure's own, e.g. "must be greater than `start`".
    #[error("parameter `{name}` {message}")]
    Invalid { name: String, message: String },
    /// The procedure asked for a parameter it does not declare.
    #[error("the procedure asks for parameter `{name}`, which it does not declare")]
    Undeclared { name: String },
    /// The procedure's `describe` is inconsistent (see [`crate::Info::check`]).
    #[error("the procedure's declaration is invalid: {0}")]
    BadDeclaration(String),
}

impl ParamError {
    /// A procedure-specific refusal: `ParamError::invalid("stop", "must differ from `start`")`
    /// reads "parameter `stop` must differ from `start`".
    pub fn invalid(name: impl Into<String>, message: impl Into<String>) -> Self {
        ParamError::Invalid {
            name: name.into(),
            message: message.into(),
        }
    }
}

impl From<ParamError> for ResolveError {
    fn from(e: ParamError) -> Self {
        match e {
            ParamError::Undeclared { .. } | ParamError::BadDeclaration(_) => {
                ResolveError::Failed(e.to_string())
            }
            _ => ResolveError::InvalidParams(e.to_string()),
        }
    }
}

/// The parameters of one resolution, checked against the declaration.
///
/// ```
/// # use baton_guest::{Params, ParamSpec, Value};
/// let specs = vec![
///     ParamSpec::float("start", "first position (mm)").default(0.0),
///     ParamSpec::int("points", "number of points"),
/// ];
/// let params = Params::new(vec![("points".into(), Value::Int(5))], specs).unwrap();
/// assert_eq!(params.float("start"), Ok(0.0));
/// assert_eq!(params.int_in("points", 2..=1000), Ok(5));
/// assert!(params.int_in("points", 10..).is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    given: Vec<(String, Value)>,
    specs: Vec<ParamSpec>,
}

impl Params {
    /// Checks `given` against `specs` (see the module rules). The SDK does this before calling
    /// [`crate::Procedure::resolve`]; tests may call it directly.
    pub fn new(given: Vec<(String, Value)>, specs: Vec<ParamSpec>) -> Result<Self, ParamError> {
        for (i, (name, value)) in given.iter().enumerate() {
            let Some(spec) = specs.iter().find(|s| s.name() == name) else {
                return Err(ParamError::Unknown {
                    name: name.clone(),
                    declared: declared_names(&specs),
                });
            };
            if given[..i].iter().any(|(n, _)| n == name) {
                return Err(ParamError::Duplicate { name: name.clone() });
            }
            if !spec.kind().accepts(value) {
                return Err(wrong_type(name, spec.kind().described(), value));
            }
            if !is_finite(value) {
                return Err(ParamError::NotFinite {
                    name: name.clone(),
                    value: value.to_string(),
                });
            }
        }
        Ok(Params { given, specs })
    }

    /// The declared parameters.
    pub fn specs(&self) -> &[ParamSpec] {
        &self.specs
    }

    /// Whether the caller passed `name` (as opposed to it taking its default).
    pub fn is_given(&self, name: &str) -> bool {
        self.given.iter().any(|(n, _)| n == name)
    }

    /// The value of `name`: the given one, else the declared default.
    pub fn value(&self, name: &str) -> Result<&Value, ParamError> {
        if let Some((_, v)) = self.given.iter().find(|(n, _)| n == name) {
            return Ok(v);
        }
        match self.specs.iter().find(|s| s.name() == name) {
            Some(spec) => spec.default_value().ok_or_else(|| ParamError::Missing {
                name: name.to_owned(),
            }),
            None => Err(ParamError::Undeclared {
                name: name.to_owned(),
            }),
        }
    }

    /// A float; an int is accepted when a float represents it exactly.
    pub fn float(&self, name: &str) -> Result<f64, ParamError> {
        let value = self.value(name)?;
        let x = match value {
            Value::Float(x) => *x,
            Value::Int(i) if i.unsigned_abs() <= MAX_EXACT_INT => *i as f64,
            other => return Err(wrong_type(name, Kind::Float.described(), other)),
        };
        if x.is_finite() {
            Ok(x)
        } else {
            Err(ParamError::NotFinite {
                name: name.to_owned(),
                value: x.to_string(),
            })
        }
    }

    /// A float within `range`, e.g. `params.float_in("exposure_s", 0.001..=60.0)`.
    pub fn float_in(&self, name: &str, range: impl RangeBounds<f64>) -> Result<f64, ParamError> {
        let x = self.float(name)?;
        if range.contains(&x) {
            Ok(x)
        } else {
            Err(out_of_range(name, &range, x))
        }
    }

    /// An int. A float is never an int, not even `5.0`.
    pub fn int(&self, name: &str) -> Result<i64, ParamError> {
        match self.value(name)? {
            Value::Int(i) => Ok(*i),
            other => Err(wrong_type(name, Kind::Int.described(), other)),
        }
    }

    /// An int within `range`, e.g. `params.int_in("points", 1..=10_000)`.
    pub fn int_in(&self, name: &str, range: impl RangeBounds<i64>) -> Result<i64, ParamError> {
        let i = self.int(name)?;
        if range.contains(&i) {
            Ok(i)
        } else {
            Err(out_of_range(name, &range, i))
        }
    }

    /// A count within `range` (which must lie within `0..`), as a `usize` ready for loops and
    /// capacities, e.g. `params.count("points", 1..=10_000)`.
    pub fn count(&self, name: &str, range: impl RangeBounds<usize>) -> Result<usize, ParamError> {
        let i = self.int(name)?;
        match usize::try_from(i) {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(ParamError::OutOfRange {
                name: name.to_owned(),
                range: describe_range(&range),
                value: i.to_string(),
            }),
        }
    }

    /// A text.
    pub fn text(&self, name: &str) -> Result<&str, ParamError> {
        match self.value(name)? {
            Value::Text(s) => Ok(s),
            other => Err(wrong_type(name, Kind::Text.described(), other)),
        }
    }

    /// A text that can name a channel or device: non-empty, no whitespace or control
    /// characters (EPICS PV names and `sim:` names both qualify).
    pub fn channel(&self, name: &str) -> Result<&str, ParamError> {
        let s = self.text(name)?;
        if s.is_empty() {
            Err(ParamError::invalid(
                name,
                "must name a channel, got an empty text",
            ))
        } else if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            Err(ParamError::invalid(
                name,
                format!("must name a channel, got {s:?} (whitespace or control characters)"),
            ))
        } else {
            Ok(s)
        }
    }

    /// A flag. A number is never a flag.
    pub fn flag(&self, name: &str) -> Result<bool, ParamError> {
        match self.value(name)? {
            Value::Flag(b) => Ok(*b),
            other => Err(wrong_type(name, Kind::Flag.described(), other)),
        }
    }

    /// A list of floats (possibly empty).
    pub fn floats(&self, name: &str) -> Result<&[f64], ParamError> {
        match self.value(name)? {
            Value::Floats(xs) => Ok(xs),
            other => Err(wrong_type(name, Kind::Floats.described(), other)),
        }
    }
}

/// Whether every float in `value` is finite.
pub(crate) fn is_finite(value: &Value) -> bool {
    match value {
        Value::Float(x) => x.is_finite(),
        Value::Floats(xs) => xs.iter().all(|x| x.is_finite()),
        Value::Int(_) | Value::Text(_) | Value::Flag(_) => true,
    }
}

fn declared_names(specs: &[ParamSpec]) -> String {
    if specs.is_empty() {
        return "none".to_owned();
    }
    let names: Vec<&str> = specs.iter().map(ParamSpec::name).collect();
    names.join(", ")
}

fn wrong_type(name: &str, expected: &'static str, value: &Value) -> ParamError {
    ParamError::WrongType {
        name: name.to_owned(),
        expected,
        actual: value.kind_name(),
        value: truncated(value),
    }
}

/// The value for a message, cut short so a huge text never floods the operator's screen.
fn truncated(value: &Value) -> String {
    const MAX: usize = 80;
    let s = value.to_string();
    if s.len() <= MAX {
        return s;
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn out_of_range<T: std::fmt::Display>(
    name: &str,
    range: &impl RangeBounds<T>,
    value: T,
) -> ParamError {
    ParamError::OutOfRange {
        name: name.to_owned(),
        range: describe_range(range),
        value: value.to_string(),
    }
}

/// "in [1, 10]", "in [0, 1)", ">= 1", "< 5", "any value".
fn describe_range<T: std::fmt::Display>(range: &impl RangeBounds<T>) -> String {
    match (range.start_bound(), range.end_bound()) {
        (Bound::Unbounded, Bound::Unbounded) => "any value".to_owned(),
        (Bound::Included(a), Bound::Unbounded) => format!(">= {a}"),
        (Bound::Excluded(a), Bound::Unbounded) => format!("> {a}"),
        (Bound::Unbounded, Bound::Included(b)) => format!("<= {b}"),
        (Bound::Unbounded, Bound::Excluded(b)) => format!("< {b}"),
        (Bound::Included(a), Bound::Included(b)) => format!("in [{a}, {b}]"),
        (Bound::Included(a), Bound::Excluded(b)) => format!("in [{a}, {b})"),
        (Bound::Excluded(a), Bound::Included(b)) => format!("in ({a}, {b}]"),
        (Bound::Excluded(a), Bound::Excluded(b)) => format!("in ({a}, {b})"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn specs() -> Vec<ParamSpec> {
        vec![
            ParamSpec::float("start", "").default(0.5),
            ParamSpec::float("stop", ""),
            ParamSpec::int("points", "").default(5),
            ParamSpec::text("motor", "").default("sim:mx"),
            ParamSpec::flag("snake", "").default(true),
            ParamSpec::floats("plateaus", "").default([1.0, 2.0]),
        ]
    }

    fn params(given: Vec<(&str, Value)>) -> Result<Params, ParamError> {
        Params::new(
            given.into_iter().map(|(n, v)| (n.to_owned(), v)).collect(),
            specs(),
        )
    }

    #[test]
    fn defaults_apply_when_not_given() {
        let p = params(vec![]).unwrap();
        assert_eq!(p.float("start"), Ok(0.5));
        assert_eq!(p.int("points"), Ok(5));
        assert_eq!(p.text("motor"), Ok("sim:mx"));
        assert_eq!(p.flag("snake"), Ok(true));
        assert_eq!(p.floats("plateaus"), Ok(&[1.0, 2.0][..]));
        assert!(!p.is_given("start"));
    }

    #[test]
    fn given_values_win_over_defaults() {
        let p = params(vec![("start", Value::Float(-1.0)), ("snake", false.into())]).unwrap();
        assert_eq!(p.float("start"), Ok(-1.0));
        assert_eq!(p.flag("snake"), Ok(false));
        assert!(p.is_given("start"));
    }

    #[test]
    fn a_required_parameter_without_default_is_missing() {
        let p = params(vec![]).unwrap();
        let e = p.float("stop").unwrap_err();
        assert_eq!(
            e,
            ParamError::Missing {
                name: "stop".into()
            }
        );
        let r: ResolveError = e.into();
        assert!(
            matches!(&r, ResolveError::InvalidParams(m) if m.contains("`stop`")),
            "{r}"
        );
    }

    #[test]
    fn an_int_is_accepted_for_a_float_but_not_the_reverse() {
        let p = params(vec![("start", Value::Int(3))]).unwrap();
        assert_eq!(p.float("start"), Ok(3.0));
        let e = params(vec![("points", Value::Float(3.0))]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "parameter `points` must be an int, got the float 3"
        );
    }

    #[test]
    fn a_flag_is_never_a_number_and_a_number_never_a_flag() {
        let e = params(vec![("start", Value::Flag(true))]).unwrap_err();
        assert!(matches!(e, ParamError::WrongType { ref name, .. } if name == "start"));
        let e = params(vec![("snake", Value::Int(1))]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "parameter `snake` must be a flag, got the int 1"
        );
    }

    #[test]
    fn unknown_and_duplicate_parameters_are_refused() {
        let e = params(vec![("strat", Value::Float(1.0))]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown parameter `strat` (declared: start, stop, points, motor, snake, plateaus)"
        );
        let e = params(vec![("stop", 1.0.into()), ("stop", 2.0.into())]).unwrap_err();
        assert_eq!(
            e,
            ParamError::Duplicate {
                name: "stop".into()
            }
        );
    }

    #[test]
    fn non_finite_floats_are_refused_even_inside_lists() {
        let e = params(vec![("stop", Value::Float(f64::NAN))]).unwrap_err();
        assert!(matches!(e, ParamError::NotFinite { ref name, .. } if name == "stop"));
        let e = params(vec![("plateaus", Value::Floats(vec![1.0, f64::INFINITY]))]).unwrap_err();
        assert!(matches!(e, ParamError::NotFinite { ref name, .. } if name == "plateaus"));
    }

    #[test]
    fn ranges_name_the_parameter_the_bounds_and_the_value() {
        let p = params(vec![("stop", 12.5.into()), ("points", 0.into())]).unwrap();
        assert_eq!(
            p.float_in("stop", 0.0..=10.0).unwrap_err().to_string(),
            "parameter `stop` must be in [0, 10], got 12.5"
        );
        assert_eq!(
            p.int_in("points", 1..).unwrap_err().to_string(),
            "parameter `points` must be >= 1, got 0"
        );
        assert_eq!(
            p.count("points", 2..100).unwrap_err().to_string(),
            "parameter `points` must be in [2, 100), got 0"
        );
        assert_eq!(p.float_in("stop", 0.0..), Ok(12.5));
        assert_eq!(p.count("points", ..=3), Ok(0));
    }

    #[test]
    fn a_negative_count_is_out_of_range() {
        let p = params(vec![("points", Value::Int(-3))]).unwrap();
        assert!(matches!(
            p.count("points", ..),
            Err(ParamError::OutOfRange { ref value, .. }) if value == "-3"
        ));
    }

    #[test]
    fn channels_must_be_usable_names() {
        let p = params(vec![("motor", "".into())]).unwrap();
        assert!(
            p.channel("motor")
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        let p = params(vec![("motor", "sim: mx".into())]).unwrap();
        assert!(p.channel("motor").is_err());
        let p = params(vec![("motor", "BL13:MOT1".into())]).unwrap();
        assert_eq!(p.channel("motor"), Ok("BL13:MOT1"));
    }

    #[test]
    fn asking_for_an_undeclared_parameter_is_a_procedure_bug() {
        let p = params(vec![]).unwrap();
        let e = p.float("nope").unwrap_err();
        assert_eq!(
            e,
            ParamError::Undeclared {
                name: "nope".into()
            }
        );
        assert!(matches!(ResolveError::from(e), ResolveError::Failed(_)));
    }

    #[test]
    fn huge_texts_are_truncated_in_messages() {
        let big = "x".repeat(10_000);
        let e = params(vec![("start", Value::Text(big))]).unwrap_err();
        assert!(e.to_string().len() < 200, "{}", e.to_string().len());
    }
}
