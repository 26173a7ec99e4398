//! What a procedure declares about itself: name, version, documentation and parameters.

use crate::Value;
use crate::bindings::baton::procedure::types as wit;

/// The kind of a parameter. Mirrors the variants of [`Value`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Float,
    Int,
    Text,
    Floats,
    Flag,
}

impl Kind {
    /// The name used in the WIT `param-spec.kind` field and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Float => "float",
            Kind::Int => "int",
            Kind::Text => "text",
            Kind::Floats => "floats",
            Kind::Flag => "flag",
        }
    }

    /// The kind with an article, for messages: "a float", "an int", "a list of floats".
    pub fn described(self) -> &'static str {
        match self {
            Kind::Float => "a float",
            Kind::Int => "an int",
            Kind::Text => "a text",
            Kind::Floats => "a list of floats",
            Kind::Flag => "a flag",
        }
    }

    /// Whether `value` is acceptable for a parameter of this kind. The one widening allowed is
    /// an int for a float (a JSON `5` arrives as an int), and only when the float represents it
    /// exactly (|i| <= 2^53). A flag is never a number and a float is never an int.
    pub fn accepts(self, value: &Value) -> bool {
        match (self, value) {
            (Kind::Float, Value::Float(_))
            | (Kind::Int, Value::Int(_))
            | (Kind::Text, Value::Text(_))
            | (Kind::Floats, Value::Floats(_))
            | (Kind::Flag, Value::Flag(_)) => true,
            (Kind::Float, Value::Int(i)) => i.unsigned_abs() <= MAX_EXACT_INT,
            _ => false,
        }
    }
}

/// The largest integer magnitude an f64 represents exactly.
pub(crate) const MAX_EXACT_INT: u64 = 1 << 53;

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One declared parameter: name, kind, optional default and a line of documentation.
///
/// ```
/// # use baton_guest::ParamSpec;
/// let points = ParamSpec::int("points", "number of points per line").default(11);
/// let snake = ParamSpec::flag("snake", "reverse every other line");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    name: String,
    kind: Kind,
    default: Option<Value>,
    doc: String,
}

impl ParamSpec {
    /// A parameter of any kind; the shorthands below are usually nicer.
    pub fn new(name: impl Into<String>, kind: Kind, doc: impl Into<String>) -> Self {
        ParamSpec {
            name: name.into(),
            kind,
            default: None,
            doc: doc.into(),
        }
    }

    /// A float parameter (ints are accepted too, see [`Kind::accepts`]).
    pub fn float(name: impl Into<String>, doc: impl Into<String>) -> Self {
        Self::new(name, Kind::Float, doc)
    }

    /// An int parameter.
    pub fn int(name: impl Into<String>, doc: impl Into<String>) -> Self {
        Self::new(name, Kind::Int, doc)
    }

    /// A text parameter, e.g. a channel name.
    pub fn text(name: impl Into<String>, doc: impl Into<String>) -> Self {
        Self::new(name, Kind::Text, doc)
    }

    /// A list-of-floats parameter.
    pub fn floats(name: impl Into<String>, doc: impl Into<String>) -> Self {
        Self::new(name, Kind::Floats, doc)
    }

    /// A boolean parameter.
    pub fn flag(name: impl Into<String>, doc: impl Into<String>) -> Self {
        Self::new(name, Kind::Flag, doc)
    }

    /// The value used when the caller does not pass this parameter. Without a default the
    /// parameter is required. A default of the wrong kind makes every resolution fail with a
    /// message naming the parameter (and [`Info::check`] catches it in a unit test).
    pub fn default(mut self, value: impl Into<Value>) -> Self {
        self.default = Some(value.into());
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn default_value(&self) -> Option<&Value> {
        self.default.as_ref()
    }

    pub fn doc(&self) -> &str {
        &self.doc
    }
}

/// What `describe` returns.
///
/// ```
/// # use baton_guest::{Info, ParamSpec};
/// let info = Info::new("align", "0.1.0", "Scans a motor around its current position.")
///     .param(ParamSpec::float("range", "full width of the scan (mm)").default(1.0));
/// assert!(info.check().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Info {
    name: String,
    version: String,
    doc: String,
    params: Vec<ParamSpec>,
}

impl Info {
    /// `version` is usually `env!("CARGO_PKG_VERSION")`.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        doc: impl Into<String>,
    ) -> Self {
        Info {
            name: name.into(),
            version: version.into(),
            doc: doc.into(),
            params: Vec::new(),
        }
    }

    /// Declares one more parameter.
    pub fn param(mut self, spec: ParamSpec) -> Self {
        self.params.push(spec);
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn doc(&self) -> &str {
        &self.doc
    }

    pub fn params(&self) -> &[ParamSpec] {
        &self.params
    }

    /// Checks the declaration itself: a non-empty name, unique non-empty parameter names, and
    /// finite defaults of the declared kind. The SDK runs it before every resolution; call it in a
    /// unit test to catch a bad declaration early.
    pub fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("the procedure has an empty name".into());
        }
        for (i, spec) in self.params.iter().enumerate() {
            if spec.name.trim().is_empty() {
                return Err(format!("parameter #{i} has an empty name"));
            }
            if self.params[..i].iter().any(|p| p.name == spec.name) {
                return Err(format!("parameter `{}` is declared twice", spec.name));
            }
            let Some(default) = &spec.default else {
                continue;
            };
            if !spec.kind.accepts(default) {
                return Err(format!(
                    "parameter `{}` is declared {} but its default is the {} {default}",
                    spec.name,
                    spec.kind,
                    default.kind_name()
                ));
            }
            if !crate::params::is_finite(default) {
                return Err(format!(
                    "parameter `{}` has the non-finite default {default}",
                    spec.name
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn into_params(self) -> Vec<ParamSpec> {
        self.params
    }
}

impl From<Info> for wit::Info {
    fn from(info: Info) -> Self {
        wit::Info {
            name: info.name,
            version: info.version,
            doc: info.doc,
            params: info
                .params
                .into_iter()
                .map(|p| wit::ParamSpec {
                    name: p.name,
                    kind: p.kind.as_str().to_owned(),
                    default: p.default,
                    doc: p.doc,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn an_int_is_a_float_only_when_exact() {
        assert!(Kind::Float.accepts(&Value::Int(5)));
        assert!(Kind::Float.accepts(&Value::Int(1 << 53)));
        assert!(!Kind::Float.accepts(&Value::Int((1 << 53) + 1)));
        assert!(!Kind::Int.accepts(&Value::Float(5.0)));
        assert!(!Kind::Float.accepts(&Value::Flag(true)));
        assert!(!Kind::Int.accepts(&Value::Flag(false)));
        assert!(!Kind::Floats.accepts(&Value::Float(1.0)));
    }

    #[test]
    fn check_refuses_duplicates_and_mistyped_defaults() {
        let dup = Info::new("p", "1", "")
            .param(ParamSpec::int("n", ""))
            .param(ParamSpec::float("n", ""));
        assert_eq!(dup.check().unwrap_err(), "parameter `n` is declared twice");

        let bad = Info::new("p", "1", "").param(ParamSpec::flag("on", "").default(1.0));
        let message = bad.check().unwrap_err();
        assert!(message.contains("`on` is declared flag"), "{message}");

        assert!(Info::new(" ", "1", "").check().is_err());
        assert!(
            Info::new("p", "1", "")
                .param(ParamSpec::int("", ""))
                .check()
                .is_err()
        );
    }

    #[test]
    fn converts_to_the_wit_shape() {
        let info = Info::new("p", "1.2.3", "doc").param(ParamSpec::float("x", "x doc").default(2));
        let wit: wit::Info = info.into();
        assert_eq!(wit.name, "p");
        assert_eq!(wit.version, "1.2.3");
        assert_eq!(wit.params[0].kind, "float");
        assert_eq!(wit.params[0].default, Some(Value::Int(2)));
        assert_eq!(wit.params[0].doc, "x doc");
    }
}
