//! OpenAPI schemas of the types the API shows but does not own (domain values and steps, the
//! conductor's outcome, a component's description). They are written here, at the edge, so
//! the inner layers carry no OpenAPI code. String enums are generated from the types' own
//! variant lists (strum's `VariantArray`) through serde, so a new status or class cannot be missing from the spec; the
//! object shapes are checked against real serialized values by the API tests.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Value as Json, json};
use strum::VariantArray;
use utoipa::openapi::schema::{OneOfBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::conductor::{ConductOutcome, Verb};
use crate::domain::procedure::ProcedureStatus;
use crate::domain::run::RunStatus;
use crate::domain::{ActuationKind, Criterion, FailureClass, HoldCause, Step, StepKind, Value};
use crate::sandbox::{Info, ParamKind};

/// A schema from its JSON form. `oneOf` is built explicitly (utoipa's untagged `Schema` would
/// read it as an empty object); anything nested must be a `$ref`, never an inline `oneOf`.
pub fn from_json(json: Json) -> RefOr<Schema> {
    if let Some(reference) = json.get("$ref").and_then(Json::as_str) {
        return RefOr::Ref(Ref::new(reference));
    }
    if let Some(Json::Array(items)) = json.get("oneOf") {
        let mut one_of = OneOfBuilder::new();
        for item in items {
            one_of = one_of.item(from_json(item.clone()));
        }
        if let Some(description) = json.get("description").and_then(Json::as_str) {
            one_of = one_of.description(Some(description));
        }
        return RefOr::T(Schema::OneOf(one_of.build()));
    }
    serde_json::from_value(json).unwrap_or_else(|e| {
        // Only reachable through a typo in this file, which the round-trip test catches.
        tracing::error!("schema does not parse: {e}");
        RefOr::T(Schema::default())
    })
}

fn reference(name: &str) -> Json {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The serde names of every variant of `T`.
fn names<T: Serialize + VariantArray>() -> Vec<Json> {
    T::VARIANTS
        .iter()
        .map(|v| serde_json::to_value(v).unwrap_or(Json::Null))
        .collect()
}

fn string_enum(all: Vec<Json>, description: &str) -> Json {
    json!({ "type": "string", "enum": all, "description": description })
}

/// Implements `ToSchema` for a type from a JSON schema.
macro_rules! schema {
    ($ty:ty, $name:literal, $json:ident) => {
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                from_json($json())
            }
        }
        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

fn schema_procedure_status() -> Json {
    string_enum(
        names::<ProcedureStatus>(),
        "Defined, Running, Held, or one of the terminal Completed, Aborted, Truncated",
    )
}
schema!(ProcedureStatus, "ProcedureStatus", schema_procedure_status);
fn schema_run_status() -> Json {
    string_enum(names::<RunStatus>(), "the status of a run")
}
schema!(RunStatus, "RunStatus", schema_run_status);
fn schema_actuation_kind() -> Json {
    string_enum(
        names::<ActuationKind>(),
        "what the procedure drove: none < simulated, physical < hybrid (join-only)",
    )
}
schema!(ActuationKind, "ActuationKind", schema_actuation_kind);
fn schema_hold_cause() -> Json {
    string_enum(names::<HoldCause>(), "why a procedure is held")
}
schema!(HoldCause, "HoldCause", schema_hold_cause);
fn schema_step_kind() -> Json {
    string_enum(names::<StepKind>(), "the kind of a step")
}
schema!(StepKind, "StepKind", schema_step_kind);
fn schema_failure_class() -> Json {
    string_enum(names::<FailureClass>(), "why a step failed")
}
schema!(FailureClass, "FailureClass", schema_failure_class);
fn schema_verb() -> Json {
    string_enum(names::<Verb>(), "a conduct verb")
}
schema!(Verb, "Verb", schema_verb);
fn schema_param_kind() -> Json {
    string_enum(names::<ParamKind>(), "the kind of a declared parameter")
}
schema!(ParamKind, "ParamKind", schema_param_kind);

fn tagged(tag: &str, value: Json) -> Json {
    json!({
        "type": "object",
        "required": ["type", "value"],
        "properties": { "type": { "type": "string", "enum": [tag] }, "value": value },
    })
}

fn schema_value() -> Json {
    json!({
        "description": "a typed value: {\"type\": \"float\", \"value\": 1.5}",
        "oneOf": [
            tagged("float", json!({"type": "number"})),
            tagged("int", json!({"type": "integer", "format": "int64"})),
            tagged("text", json!({"type": "string"})),
            tagged("floats", json!({"type": "array", "items": {"type": "number"}})),
            tagged("flag", json!({"type": "boolean"})),
        ]
    })
}
schema!(Value, "Value", schema_value);

fn schema_criterion() -> Json {
    json!({
        "description": "what a check asks of a value",
        "oneOf": [
            {
                "type": "object",
                "required": ["type", "value"],
                "properties": {
                    "type": {"type": "string", "enum": ["equals"]},
                    "value": reference("Value"),
                },
            },
            {
                "type": "object",
                "required": ["type", "target", "tolerance"],
                "properties": {
                    "type": {"type": "string", "enum": ["within"]},
                    "target": {"type": "number"},
                    "tolerance": {"type": "number"},
                },
            },
            {
                "type": "object",
                "required": ["type", "low", "high"],
                "properties": {
                    "type": {"type": "string", "enum": ["between"]},
                    "low": {"type": "number"},
                    "high": {"type": "number"},
                },
            },
        ]
    })
}
schema!(Criterion, "Criterion", schema_criterion);

fn named_value_pairs() -> Json {
    json!({
        "type": "array",
        "description": "[name, value] pairs",
        // A nested array schema does not survive utoipa's untagged parse (the round-trip
        // test catches it), so the pair is described in words.
        "items": {
            "type": "array",
            "description": "[name, value]: the name (a string), then its Value",
        },
    })
}

fn schema_step() -> Json {
    json!({
        "description": "one pinned step",
        "oneOf": [
            {
                "type": "object",
                "required": ["kind", "channel", "value"],
                "properties": {
                    "kind": {"type": "string", "enum": ["setpoint"]},
                    "channel": {"type": "string"},
                    "value": reference("Value"),
                    "readback": {"type": "string"},
                    "tolerance": {"type": "number"},
                    "settle_ms": {"type": "integer", "minimum": 0},
                },
            },
            {
                "type": "object",
                "required": ["kind", "channel", "criterion"],
                "properties": {
                    "kind": {"type": "string", "enum": ["check"]},
                    "channel": {"type": "string"},
                    "criterion": reference("Criterion"),
                    "timeout_ms": {"type": "integer", "minimum": 0},
                },
            },
            {
                "type": "object",
                "required": ["kind", "device", "command"],
                "properties": {
                    "kind": {"type": "string", "enum": ["action"]},
                    "device": {"type": "string"},
                    "command": {"type": "string"},
                    "args": named_value_pairs(),
                    "timeout_ms": {"type": "integer", "minimum": 0},
                },
            },
        ]
    })
}
schema!(Step, "Step", schema_step);

fn schema_component_info() -> Json {
    json!({
        "type": "object",
        "description": "what the component's `describe` declares",
        "required": ["name", "version", "doc", "params"],
        "properties": {
            "name": {"type": "string"},
            "version": {"type": "string"},
            "doc": {"type": "string"},
            "params": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "kind", "doc"],
                    "properties": {
                        "name": {"type": "string"},
                        "kind": reference("ParamKind"),
                        "default": reference("Value"),
                        "doc": {"type": "string"},
                    },
                },
            },
        },
    })
}
schema!(Info, "ComponentInfo", schema_component_info);

fn schema_conduct_outcome() -> Json {
    json!({
        "type": "object",
        "description": "the result of a conduct verb that ran: always 200, whatever the steps did",
        "required": [
            "procedure_id", "verb", "status", "succeeded", "held", "completed_steps",
            "step_count", "actuation_kind"
        ],
        "properties": {
            "procedure_id": {"type": "string", "format": "uuid"},
            "verb": reference("Verb"),
            "status": reference("ProcedureStatus"),
            "succeeded": {"type": "boolean", "description": "every step ran and it completed"},
            "held": {"type": "boolean", "description": "a hold actually landed"},
            "halted": {
                "type": "object",
                "description": "replay stopped before an action that already fired",
                "required": ["step_index", "target", "reason"],
                "properties": {
                    "step_index": {"type": "integer", "minimum": 0},
                    "target": {"type": "string"},
                    "reason": {"type": "string"},
                },
            },
            "stopped_by": {"type": "string", "enum": ["held_by_operator", "aborted_by_operator"]},
            "failure": {
                "type": "object",
                "required": ["step_index", "kind", "target", "class", "message"],
                "properties": {
                    "step_index": {"type": "integer", "minimum": 0},
                    "kind": reference("StepKind"),
                    "target": {"type": "string"},
                    "class": reference("FailureClass"),
                    "message": {"type": "string"},
                },
            },
            "lifecycle_failure": {
                "type": "string",
                "description": "a transition that was due and did not land: never swallowed",
            },
            "completed_steps": {"type": "integer", "minimum": 0},
            "step_count": {"type": "integer", "minimum": 0},
            "boundary": {"type": "integer", "minimum": 0},
            "actuation_kind": reference("ActuationKind"),
            "resolution": {
                "type": "object",
                "description": "what the guest's one resolution cost",
                "required": ["fuel_used", "resolve_seconds", "peak_memory_bytes", "reads"],
                "properties": {
                    "fuel_used": {"type": "integer", "minimum": 0},
                    "resolve_seconds": {"type": "number"},
                    "peak_memory_bytes": {"type": "integer", "minimum": 0},
                    "reads": {"type": "integer", "minimum": 0},
                },
            },
        },
    })
}
schema!(ConductOutcome, "ConductOutcome", schema_conduct_outcome);

/// The JSON of every schema of this module, by name.
type Source = (&'static str, fn() -> Json);

const SOURCES: &[Source] = &[
    ("ProcedureStatus", schema_procedure_status),
    ("RunStatus", schema_run_status),
    ("ActuationKind", schema_actuation_kind),
    ("HoldCause", schema_hold_cause),
    ("StepKind", schema_step_kind),
    ("FailureClass", schema_failure_class),
    ("Verb", schema_verb),
    ("ParamKind", schema_param_kind),
    ("Value", schema_value),
    ("Criterion", schema_criterion),
    ("Step", schema_step),
    ("ComponentInfo", schema_component_info),
    ("ConductOutcome", schema_conduct_outcome),
];

/// The schemas of this module, for the spec's components.
pub fn all() -> Vec<(String, RefOr<Schema>)> {
    SOURCES
        .iter()
        .map(|(name, json)| ((*name).to_owned(), from_json(json())))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// Every schema written here survives the trip into utoipa's types unchanged: nothing was
    /// silently dropped by an untagged parse.
    #[test]
    fn schemas_round_trip() {
        for (name, source) in SOURCES {
            let written = source();
            let built = serde_json::to_value(from_json(written.clone())).unwrap();
            assert_eq!(built, written, "{name}");
        }
        assert_eq!(all().len(), SOURCES.len());
        let value = serde_json::to_value(Value::schema()).unwrap();
        assert_eq!(value["oneOf"].as_array().unwrap().len(), 5);
        let status = serde_json::to_value(ProcedureStatus::schema()).unwrap();
        assert_eq!(status["enum"].as_array().unwrap().len(), 6);
        assert_eq!(status["enum"][2], "Held");
        let cause = serde_json::to_value(HoldCause::schema()).unwrap();
        assert!(
            cause["enum"]
                .as_array()
                .unwrap()
                .contains(&json!("host-restart"))
        );
    }
}
