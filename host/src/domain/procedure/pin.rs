//! The pin: what a start records about the steps it will run. The steps themselves live in a
//! pinned-steps table keyed by their content hash (docs/storage.md#pins), so folding a stream never parses
//! a step list; the pin carries the hash, the count and the provenance of the resolution.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::step::Step;
use crate::domain::value::Value;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pin {
    /// Lowercase hex sha256 of [`canonical_steps_json`] of the pinned steps.
    pub content_hash: String,
    pub step_count: u64,
    /// The component that resolved the steps.
    pub component_digest: String,
    /// The parameters the component resolved them from.
    pub params: Vec<(String, Value)>,
    /// Readbacks the component was shown while resolving.
    #[serde(default)]
    pub observed_reads: Vec<(String, Value)>,
    /// The revision of the device limits the steps were checked against.
    pub limits_revision: String,
}

/// The canonical JSON of a step list: the bytes the pinned-steps table stores and the content
/// hash covers. Field order is the declaration order of the step structs, so it is stable.
pub fn canonical_steps_json(steps: &[Step]) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(steps)
}

/// Lowercase hex sha256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Pin {
    /// A pin for `steps`, hashing their canonical JSON.
    pub fn for_steps(
        steps: &[Step],
        component_digest: String,
        params: Vec<(String, Value)>,
        observed_reads: Vec<(String, Value)>,
        limits_revision: String,
    ) -> Result<Pin, serde_json::Error> {
        let json = canonical_steps_json(steps)?;
        Ok(Pin {
            content_hash: sha256_hex(&json),
            step_count: steps.len() as u64,
            component_digest,
            params,
            observed_reads,
            limits_revision,
        })
    }
}
