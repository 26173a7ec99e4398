//! Proptest strategies and fixtures shared by the domain's tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use strum::VariantArray;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::actuation::ActuationKind;
use super::hold::HoldCause;
use super::value::Value;

pub const T0: OffsetDateTime = datetime!(2025-03-01 12:00:00 UTC);

/// `T0` plus some seconds.
pub fn at(secs: i64) -> OffsetDateTime {
    T0 + Duration::seconds(secs)
}

pub fn arb_time() -> impl Strategy<Value = OffsetDateTime> {
    (0i64..10_000_000, 0i64..1_000_000_000)
        .prop_map(|(s, n)| T0 + Duration::seconds(s) + Duration::nanoseconds(n))
}

pub fn arb_uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

pub fn arb_digest() -> impl Strategy<Value = String> {
    "[0-9a-f]{64}"
}

pub fn arb_finite() -> impl Strategy<Value = f64> {
    prop_oneof![-1e9f64..1e9, Just(0.0), Just(-0.5), Just(1e300)]
}

pub fn arb_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        arb_finite().prop_map(Value::Float),
        any::<i64>().prop_map(Value::Int),
        "[ -~]{0,12}".prop_map(Value::Text),
        prop::collection::vec(arb_finite(), 0..4).prop_map(Value::Floats),
        any::<bool>().prop_map(Value::Flag),
    ]
}

/// Named values with unique names.
pub fn arb_named_values() -> impl Strategy<Value = Vec<(String, Value)>> {
    prop::collection::btree_map("[a-z][a-z0-9_]{0,8}", arb_value(), 0..4)
        .prop_map(|m| m.into_iter().collect())
}

pub fn arb_name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9 _-]{0,30}"
}

/// A reason that passes validation.
pub fn arb_reason() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9 ]{0,40}"
}

/// A reason that is mostly valid, sometimes empty, blank or too long.
pub fn arb_any_reason() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => arb_reason(),
        1 => Just(String::new()),
        1 => Just("   ".to_owned()),
        1 => Just("x".repeat(501)),
    ]
}

pub fn arb_kind() -> impl Strategy<Value = ActuationKind> {
    prop::sample::select(vec![
        ActuationKind::None,
        ActuationKind::Simulated,
        ActuationKind::Physical,
        ActuationKind::Hybrid,
    ])
}

pub fn arb_cause() -> impl Strategy<Value = HoldCause> {
    prop::sample::select(HoldCause::VARIANTS.to_vec())
}
