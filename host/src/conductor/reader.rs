//! The guest's `host.read(channel)` during a conduct's resolve, answered by the device router.
//! Only good readings are handed to the guest: a procedure must not plan around a value its
//! device flags as untrustworthy.

use crate::domain::Value;
use crate::ports::{Quality, Router};
use crate::sandbox::ChannelReader;

pub(crate) struct RouterReader<'a> {
    pub router: &'a Router,
}

#[async_trait::async_trait]
impl ChannelReader for RouterReader<'_> {
    async fn read(&self, channel: &str) -> Result<Value, String> {
        let (_kind, result) = self.router.read(channel).await;
        match result {
            Ok(reading) if reading.quality == Quality::Good => Ok(reading.value),
            Ok(reading) => Err(format!(
                "{channel} reported {:?} with {} quality",
                reading.value,
                reading.quality.as_str()
            )),
            Err(e) => Err(format!("{channel}: {e}")),
        }
    }
}
