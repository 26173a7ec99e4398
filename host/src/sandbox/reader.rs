//! How the guest's `host.read(channel)` is answered. The sandbox does not know devices: the caller
//! passes a `ChannelReader` (the conductor's wraps the device ports; `validate` uses a map).
//! Every answered read is recorded and returned as provenance with the resolution.

use std::collections::HashMap;

use crate::domain::Value;

/// Answers the guest's reads. Implement with `#[async_trait::async_trait]`.
#[async_trait::async_trait]
pub trait ChannelReader: Send + Sync {
    /// The channel's current value, or a message the guest receives as the read's error.
    async fn read(&self, channel: &str) -> Result<Value, String>;
}

/// Refuses every read: for procedures that must not depend on the beamline's state.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoReads;

#[async_trait::async_trait]
impl ChannelReader for NoReads {
    async fn read(&self, channel: &str) -> Result<Value, String> {
        Err(format!(
            "reads are not available here (channel `{channel}`)"
        ))
    }
}

/// Answers reads from a fixed map: for `baton validate --reads`, tests and dry runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MapReader {
    values: HashMap<String, Value>,
}

impl MapReader {
    pub fn new(values: impl IntoIterator<Item = (String, Value)>) -> MapReader {
        MapReader {
            values: values.into_iter().collect(),
        }
    }
}

#[async_trait::async_trait]
impl ChannelReader for MapReader {
    async fn read(&self, channel: &str) -> Result<Value, String> {
        self.values
            .get(channel)
            .cloned()
            .ok_or_else(|| format!("no value for channel `{channel}`"))
    }
}
