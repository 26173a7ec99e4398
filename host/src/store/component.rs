//! Uploaded procedure components, content-addressed by the sha256 of their bytes.

use serde_json::Value as Json;
use time::OffsetDateTime;

use super::error::StoreError;
use super::event::sha256_hex;

/// A component to register.
#[derive(Clone, Debug, PartialEq)]
pub struct NewComponent {
    /// sha256 of `wasm`, lowercase hex; checked on insert.
    pub digest: String,
    pub wasm: Vec<u8>,
    pub name: String,
    pub version: String,
    /// What `describe` returned, as a JSON object.
    pub info: Json,
    pub uploaded_at: OffsetDateTime,
}

impl NewComponent {
    /// A component whose digest is computed from its bytes.
    pub fn new(
        wasm: Vec<u8>,
        name: impl Into<String>,
        version: impl Into<String>,
        info: Json,
        uploaded_at: OffsetDateTime,
    ) -> Self {
        NewComponent {
            digest: sha256_hex(&wasm),
            wasm,
            name: name.into(),
            version: version.into(),
            info,
            uploaded_at,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        let actual = sha256_hex(&self.wasm);
        if actual != self.digest {
            return Err(StoreError::DigestMismatch {
                claimed: self.digest.clone(),
                actual,
            });
        }
        if !self.info.is_object() {
            return Err(StoreError::InfoNotObject {
                digest: self.digest.clone(),
            });
        }
        Ok(())
    }
}

/// A stored component without its bytes (what a listing shows).
#[derive(Clone, Debug, PartialEq)]
pub struct ComponentMeta {
    pub digest: String,
    pub name: String,
    pub version: String,
    pub info: Json,
    pub size: u64,
    pub uploaded_at: OffsetDateTime,
}

/// A stored component with its bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Component {
    pub meta: ComponentMeta,
    pub wasm: Vec<u8>,
}
