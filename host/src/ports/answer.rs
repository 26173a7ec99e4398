//! What a device reports for an action: its results as typed values by name (what the journal
//! records as the action's observation), and the JSON answer the journal's `detail.answer` has
//! always carried, kept as it was so readers of that member keep working.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use super::{PortError, PortResult};
use crate::domain::Value;

/// The answer of [`DevicePort::act`](super::DevicePort::act).
#[derive(Clone, Debug, PartialEq)]
pub struct ActionAnswer {
    /// The results by name, typed (the WIT `value`s), in name order.
    pub results: BTreeMap<String, Value>,
    /// The device's answer as journaled under `detail.answer`: the results as plain JSON for
    /// the simulated beamline; for EPICS wrapped with the device and command, plus the result
    /// PVs that could not be read.
    pub answer: Json,
}

impl ActionAnswer {
    /// An answer that is just the results, as a plain JSON object (`{"counts": 12, …}`).
    pub fn of_results(results: BTreeMap<String, Value>) -> ActionAnswer {
        let answer = Json::Object(plain_object(&results));
        ActionAnswer { results, answer }
    }
}

/// The results as a JSON object of plain values (no type tags).
pub fn plain_object(results: &BTreeMap<String, Value>) -> Map<String, Json> {
    results
        .iter()
        .map(|(name, value)| (name.clone(), value.to_plain_json()))
        .collect()
}

/// A device's unsigned count as a typed int result; a count an int cannot hold is a
/// `BadQuality` failure naming the result, never a wrapped or clamped number.
pub fn count(device: &str, name: &str, n: u64) -> PortResult<Value> {
    i64::try_from(n).map(Value::Int).map_err(|_| {
        PortError::bad_quality(format!(
            "{device}: result {name} = {n} does not fit a 64-bit int"
        ))
    })
}
