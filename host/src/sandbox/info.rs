//! What a component says about itself (`describe`): name, version, documentation and declared
//! parameters. Checked at load (known kinds, defaults of the declared kind, unique names), and
//! used to fill in defaults and to read and type parameters from JSON (the API's define and the
//! CLI's conduct both type through [`Info::typed_params`]).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr, VariantArray};

use super::bindings::baton::procedure::types as wit;
use super::convert::{check_value, value_from_wit};
use super::limits::Limits;
use crate::domain::Value;

/// The kind of a declared parameter; the same names as `Value::kind`.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    IntoStaticStr,
    VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ParamKind {
    Float,
    Int,
    Text,
    Floats,
    Flag,
}

impl ParamKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One declared parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamSpec {
    pub name: String,
    pub kind: ParamKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    pub doc: String,
}

/// A component's description of itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Info {
    pub name: String,
    pub version: String,
    pub doc: String,
    pub params: Vec<ParamSpec>,
}

/// Why parameters given as JSON cannot be used.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ParamsError {
    #[error("parameters must be a JSON object of name: value")]
    NotAnObject,
    #[error(
        "parameter `{name}` is not declared by {component} (it declares: {})",
        declared.join(", ")
    )]
    Undeclared {
        name: String,
        component: String,
        declared: Vec<String>,
    },
    #[error("parameter `{name}`: {message}")]
    Bad { name: String, message: String },
}

impl Info {
    /// Converts and checks what `describe` returned.
    pub(crate) fn from_wit(info: wit::Info, limits: &Limits) -> Result<Info, String> {
        let cap = limits.max_string_bytes;
        for (what, s) in [
            ("name", &info.name),
            ("version", &info.version),
            ("doc", &info.doc),
        ] {
            if s.len() > cap {
                return Err(format!("{what} is {} bytes; the limit is {cap}", s.len()));
            }
        }
        if info.name.trim().is_empty() {
            return Err("the procedure name is empty".into());
        }
        let mut seen = HashSet::new();
        let mut params = Vec::with_capacity(info.params.len());
        for p in info.params {
            if p.name.is_empty() || p.name.len() > cap || p.doc.len() > cap {
                return Err(format!(
                    "parameter `{}`: the name must be 1 to {cap} bytes and the doc at most {cap}",
                    p.name
                ));
            }
            if !seen.insert(p.name.clone()) {
                return Err(format!("parameter `{}` is declared twice", p.name));
            }
            let kind = p.kind.parse::<ParamKind>().map_err(|_| {
                format!(
                    "parameter `{}` has kind `{}`; expected one of float, int, text, floats, flag",
                    p.name, p.kind
                )
            })?;
            let default = p.default.map(value_from_wit);
            if let Some(d) = &default {
                if d.kind() != kind.as_str() {
                    return Err(format!(
                        "parameter `{}` is declared {} but its default is a {}",
                        p.name,
                        kind.as_str(),
                        d.kind()
                    ));
                }
                check_value(d, limits)
                    .map_err(|e| format!("parameter `{}` default: {}", p.name, e.message()))?;
            }
            params.push(ParamSpec {
                name: p.name,
                kind,
                default,
                doc: p.doc,
            });
        }
        Ok(Info {
            name: info.name,
            version: info.version,
            doc: info.doc,
            params,
        })
    }

    pub fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }

    /// The given parameters completed with the declared defaults: declared parameters first, in
    /// declaration order (the given value, else the default, else left out), then any given
    /// parameter the component does not declare (the guest decides whether to refuse it).
    pub fn with_defaults(&self, given: &[(String, Value)]) -> Vec<(String, Value)> {
        let mut out = Vec::with_capacity(self.params.len() + given.len());
        for spec in &self.params {
            if let Some((_, v)) = given.iter().find(|(n, _)| *n == spec.name) {
                out.push((spec.name.clone(), v.clone()));
            } else if let Some(d) = &spec.default {
                out.push((spec.name.clone(), d.clone()));
            }
        }
        for (n, v) in given {
            if self.param(n).is_none() {
                out.push((n.clone(), v.clone()));
            }
        }
        out
    }

    /// Types parameters given as a JSON object against the declared ones: every name must be
    /// declared, and every value is read as its declared kind (see [`Info::params_from_json`]).
    pub fn typed_params(
        &self,
        given: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Vec<(String, Value)>, ParamsError> {
        if let Some(unknown) = given.keys().find(|name| self.param(name).is_none()) {
            return Err(ParamsError::Undeclared {
                name: unknown.clone(),
                component: self.name.clone(),
                declared: self.params.iter().map(|p| p.name.clone()).collect(),
            });
        }
        self.read_params(given)
    }

    /// Reads parameters from a JSON object. A value is either the tagged form of `Value`
    /// (`{"type": "int", "value": 3}`) or plain JSON, read as the declared kind: a number for
    /// float (or int, if whole), a string for text, an array of numbers for floats, a bool for
    /// flag. An undeclared parameter's plain value is read by its JSON type (whole numbers as int).
    pub fn params_from_json(
        &self,
        json: &serde_json::Value,
    ) -> Result<Vec<(String, Value)>, ParamsError> {
        self.read_params(json.as_object().ok_or(ParamsError::NotAnObject)?)
    }

    fn read_params(
        &self,
        obj: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Vec<(String, Value)>, ParamsError> {
        obj.iter()
            .map(|(name, v)| {
                let kind = self.param(name).map(|p| p.kind);
                value_from_json(v, kind)
                    .map(|v| (name.clone(), v))
                    .map_err(|message| ParamsError::Bad {
                        name: name.clone(),
                        message,
                    })
            })
            .collect()
    }
}

/// Reads one value from JSON (see `Info::params_from_json`). With no declared kind, a whole
/// number reads as `int`, any other number as `float`.
pub fn value_from_json(json: &serde_json::Value, kind: Option<ParamKind>) -> Result<Value, String> {
    use serde_json::Value as J;
    if let J::Object(o) = json
        && o.contains_key("type")
    {
        let v: Value = serde_json::from_value(json.clone()).map_err(|e| e.to_string())?;
        if let Some(k) = kind
            && v.kind() != k.as_str()
        {
            return Err(format!(
                "expected a {} value, got a {}",
                k.as_str(),
                v.kind()
            ));
        }
        return Ok(v);
    }
    let number = |n: &serde_json::Number| n.as_f64().ok_or_else(|| format!("{n} is not a number"));
    match (kind, json) {
        (Some(ParamKind::Float), J::Number(n)) => Ok(Value::Float(number(n)?)),
        (Some(ParamKind::Int) | None, J::Number(n)) if n.as_i64().is_some() => {
            Ok(Value::Int(n.as_i64().unwrap_or_default()))
        }
        (None, J::Number(n)) => Ok(Value::Float(number(n)?)),
        (Some(ParamKind::Int), J::Number(n)) => Err(format!("expected a whole number, got {n}")),
        (Some(ParamKind::Text) | None, J::String(s)) => Ok(Value::Text(s.clone())),
        (Some(ParamKind::Flag) | None, J::Bool(b)) => Ok(Value::Flag(*b)),
        (Some(ParamKind::Floats) | None, J::Array(xs)) => xs
            .iter()
            .map(|x| match x {
                J::Number(n) => number(n),
                other => Err(format!("expected a list of numbers, found {other}")),
            })
            .collect::<Result<Vec<f64>, String>>()
            .map(Value::Floats),
        (Some(k), other) => Err(format!("expected a {} value, got {other}", k.as_str())),
        (None, other) => Err(format!("cannot read {other} as a value")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn info() -> Info {
        Info {
            name: "scan".into(),
            version: "1.0.0".into(),
            doc: String::new(),
            params: vec![
                ParamSpec {
                    name: "start".into(),
                    kind: ParamKind::Float,
                    default: Some(Value::Float(0.0)),
                    doc: String::new(),
                },
                ParamSpec {
                    name: "points".into(),
                    kind: ParamKind::Int,
                    default: Some(Value::Int(10)),
                    doc: String::new(),
                },
                ParamSpec {
                    name: "label".into(),
                    kind: ParamKind::Text,
                    default: None,
                    doc: String::new(),
                },
            ],
        }
    }

    #[test]
    fn defaults_fill_in_what_is_not_given() {
        let got = info().with_defaults(&[
            ("points".into(), Value::Int(3)),
            ("extra".into(), Value::Flag(true)),
        ]);
        assert_eq!(
            got,
            vec![
                ("start".to_string(), Value::Float(0.0)),
                ("points".to_string(), Value::Int(3)),
                ("extra".to_string(), Value::Flag(true)),
            ]
        );
    }

    #[test]
    fn json_params_follow_the_declared_kind() {
        let got = info()
            .params_from_json(&json!({"start": 1, "points": 4, "label": "x"}))
            .unwrap();
        assert!(got.contains(&("start".into(), Value::Float(1.0))));
        assert!(got.contains(&("points".into(), Value::Int(4))));
        assert!(got.contains(&("label".into(), Value::Text("x".into()))));
        let tagged = info()
            .params_from_json(&json!({"points": {"type": "int", "value": 7}}))
            .unwrap();
        assert_eq!(tagged, vec![("points".into(), Value::Int(7))]);
    }

    #[test]
    fn json_params_of_the_wrong_kind_are_refused() {
        let err = info()
            .params_from_json(&json!({"points": 2.5}))
            .unwrap_err();
        assert!(err.to_string().contains("points"), "{err}");
        let err = info().params_from_json(&json!({"label": 3})).unwrap_err();
        assert!(err.to_string().contains("text"), "{err}");
        let err = info()
            .params_from_json(&json!({"start": {"type": "text", "value": "a"}}))
            .unwrap_err();
        assert!(err.to_string().contains("float"), "{err}");
        assert_eq!(
            info().params_from_json(&json!([1, 2])).unwrap_err(),
            ParamsError::NotAnObject
        );
    }

    #[test]
    fn typed_params_refuse_undeclared_names() {
        let given = json!({"start": 1, "points": 5});
        let typed = info().typed_params(given.as_object().unwrap()).unwrap();
        assert!(typed.contains(&("start".into(), Value::Float(1.0))));
        assert!(typed.contains(&("points".into(), Value::Int(5))));
        let unknown = info()
            .typed_params(json!({"stop": 1}).as_object().unwrap())
            .unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "parameter `stop` is not declared by scan (it declares: start, points, label)"
        );
    }

    fn wit_info(params: Vec<wit::ParamSpec>) -> wit::Info {
        wit::Info {
            name: "p".into(),
            version: "0.1.0".into(),
            doc: String::new(),
            params,
        }
    }

    fn wit_param(name: &str, kind: &str, default: Option<wit::Value>) -> wit::ParamSpec {
        wit::ParamSpec {
            name: name.into(),
            kind: kind.into(),
            default,
            doc: String::new(),
        }
    }

    #[test]
    fn describe_output_is_checked() {
        let limits = Limits::default();
        assert!(
            Info::from_wit(
                wit_info(vec![wit_param("a", "float", Some(wit::Value::Float(1.0)))]),
                &limits
            )
            .is_ok()
        );
        let unknown =
            Info::from_wit(wit_info(vec![wit_param("a", "real", None)]), &limits).unwrap_err();
        assert!(unknown.contains("real"), "{unknown}");
        let mismatch = Info::from_wit(
            wit_info(vec![wit_param("a", "int", Some(wit::Value::Float(1.0)))]),
            &limits,
        )
        .unwrap_err();
        assert!(mismatch.contains("default is a float"), "{mismatch}");
        let twice = Info::from_wit(
            wit_info(vec![
                wit_param("a", "int", None),
                wit_param("a", "int", None),
            ]),
            &limits,
        )
        .unwrap_err();
        assert!(twice.contains("twice"), "{twice}");
        let nan = Info::from_wit(
            wit_info(vec![wit_param(
                "a",
                "float",
                Some(wit::Value::Float(f64::NAN)),
            )]),
            &limits,
        )
        .unwrap_err();
        assert!(nan.contains("not finite"), "{nan}");
    }
}
