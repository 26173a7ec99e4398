//! The names every string enum goes by (on the wire, in the database, in metrics and messages),
//! pinned. Each enum names its variants once, with strum derives; these tests hold those names
//! to the exact strings that are stored and sent, and hold serde, `as_str`, `Display` and
//! parsing to agree with them, so a renamed variant or a changed case rule cannot slip through.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::{Debug, Display};
use std::str::FromStr;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use strum::VariantArray;

use super::auth::Scope;
use super::error::Problem;
use super::routes::Verb as HttpVerb;
use crate::conductor::Verb;
use crate::domain::procedure::{ProcedureCommandKind, ProcedureStatus};
use crate::domain::run::{RunCommandKind, RunStatus};
use crate::domain::{ActuationKind, FailureClass, HoldCause, StepKind, Value};
use crate::ports::safety::ChannelRole;
use crate::ports::{PortKind, Quality};
use crate::sandbox::ParamKind;

/// The names of `T`'s variants, in declaration order.
fn names<T: VariantArray + Copy + Into<&'static str>>() -> Vec<&'static str> {
    T::VARIANTS.iter().copied().map(Into::into).collect()
}

/// serde, `Display` and `FromStr` agree with the strum name of every variant, which is `expected`.
fn agrees<T>(expected: &[&str])
where
    T: VariantArray
        + Copy
        + Into<&'static str>
        + Serialize
        + DeserializeOwned
        + Display
        + FromStr
        + PartialEq
        + Debug,
    <T as FromStr>::Err: Debug,
{
    assert_eq!(names::<T>(), expected, "{}", std::any::type_name::<T>());
    for v in T::VARIANTS {
        let name: &'static str = (*v).into();
        assert_eq!(serde_json::to_value(v).unwrap(), json!(name), "{v:?}");
        assert_eq!(serde_json::from_value::<T>(json!(name)).unwrap(), *v);
        assert_eq!(v.to_string(), name);
        assert_eq!(name.parse::<T>().unwrap(), *v);
    }
}

#[test]
fn serde_enums_keep_their_names() {
    agrees::<ProcedureStatus>(&[
        "Defined",
        "Running",
        "Held",
        "Completed",
        "Aborted",
        "Truncated",
    ]);
    agrees::<RunStatus>(&[
        "Running",
        "Held",
        "Completed",
        "Aborted",
        "Stopped",
        "Truncated",
    ]);
    agrees::<HoldCause>(&["operator", "step-fault", "host-restart"]);
    agrees::<ActuationKind>(&["none", "simulated", "physical", "hybrid"]);
    agrees::<FailureClass>(&[
        "timeout",
        "disconnected",
        "rejected",
        "access_denied",
        "out_of_limits",
        "unrouted",
        "criterion_mismatch",
        "bad_quality",
    ]);
    agrees::<StepKind>(&["setpoint", "check", "action"]);
    agrees::<ParamKind>(&["float", "int", "text", "floats", "flag"]);
    agrees::<Quality>(&["good", "uncertain", "bad"]);
    agrees::<PortKind>(&["sim", "epics"]);
    agrees::<Scope>(&["read", "author", "operate", "admin"]);
}

#[test]
fn as_str_is_the_strum_name() {
    for v in ProcedureStatus::VARIANTS {
        assert_eq!(v.as_str(), Into::<&str>::into(*v));
    }
    for v in RunStatus::VARIANTS {
        assert_eq!(v.as_str(), Into::<&str>::into(*v));
    }
    for v in HoldCause::VARIANTS {
        assert_eq!(v.as_str(), Into::<&str>::into(*v));
    }
    for v in ActuationKind::VARIANTS {
        assert_eq!(v.as_str(), Into::<&str>::into(*v));
    }
    for v in FailureClass::VARIANTS {
        assert_eq!(v.as_str(), Into::<&str>::into(*v));
    }
    for v in StepKind::VARIANTS {
        assert_eq!(v.as_str(), Into::<&str>::into(*v));
    }
    for v in ParamKind::VARIANTS {
        assert_eq!(v.as_str(), Into::<&str>::into(*v));
    }
    for v in Quality::VARIANTS {
        assert_eq!(v.as_str(), Into::<&str>::into(*v));
    }
    for v in PortKind::VARIANTS {
        assert_eq!(v.as_str(), Into::<&str>::into(*v));
    }
    for v in Scope::VARIANTS {
        assert_eq!(v.as_str(), Into::<&str>::into(*v));
    }
}

#[test]
fn the_conduct_verbs_serialize_as_their_names() {
    assert_eq!(names::<Verb>(), ["conduct", "try-conduct", "reconduct"]);
    for v in Verb::VARIANTS {
        assert_eq!(serde_json::to_value(v).unwrap(), json!(v.as_str()));
    }
}

#[test]
fn enums_without_serde_keep_their_names() {
    assert_eq!(
        names::<ProcedureCommandKind>(),
        [
            "define",
            "start",
            "start iteration",
            "end iteration",
            "hold",
            "resume",
            "complete",
            "abort",
            "truncate",
        ]
    );
    for v in ProcedureCommandKind::VARIANTS {
        assert_eq!(v.to_string(), v.as_str());
    }
    assert_eq!(
        names::<RunCommandKind>(),
        [
            "start", "hold", "resume", "complete", "abort", "stop", "truncate"
        ]
    );
    for v in RunCommandKind::VARIANTS {
        assert_eq!(v.to_string(), v.as_str());
    }
    let http: Vec<&str> = [HttpVerb::Get, HttpVerb::Post, HttpVerb::Delete]
        .into_iter()
        .map(HttpVerb::as_str)
        .collect();
    assert_eq!(http, ["GET", "POST", "DELETE"]);
    let roles = [
        ChannelRole::Setpoint,
        ChannelRole::Readback,
        ChannelRole::Check,
        ChannelRole::Action,
    ];
    let role_names: Vec<String> = roles.iter().map(ToString::to_string).collect();
    assert_eq!(role_names, ["setpoint", "readback", "check", "action"]);
    assert!(roles.iter().all(|r| r.to_string() == r.as_str()));
    let kinds: Vec<&str> = [
        Value::Float(1.0),
        Value::Int(1),
        Value::Text("a".into()),
        Value::Floats(vec![]),
        Value::Flag(true),
    ]
    .iter()
    .map(Value::kind)
    .collect();
    assert_eq!(kinds, ["float", "int", "text", "floats", "flag"]);
}

#[test]
fn problem_slugs_are_stable() {
    let slugs: Vec<&str> = Problem::VARIANTS.iter().map(|p| p.slug()).collect();
    assert_eq!(
        slugs,
        [
            "malformed-request",
            "boundary-past-end",
            "unauthorized",
            "forbidden",
            "not-found",
            "wrong-status",
            "version-conflict",
            "already-conducting",
            "hold-claims-remain",
            "component-in-use",
            "payload-too-large",
            "invalid-body",
            "invalid-command",
            "invalid-params",
            "invalid-component",
            "component-unavailable",
            "resolve-failed",
            "safety-violation",
            "method-not-allowed",
            "timeout",
            "shutting-down",
            "internal",
        ]
    );
}
