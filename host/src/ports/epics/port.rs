//! [`EpicsPort`]: the [`DevicePort`] on EPICS Channel Access. A channel name is the PV name.
//! `write` is a put with completion callback, `read` a DBR_STS get (the alarm severity becomes
//! the quality), `act` runs a configured action ([`EpicsAction`]) on a device prefix.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::client::Client;
use super::config::{EpicsAction, EpicsConfig, EpicsConfigError};
use crate::domain::{Action, Setpoint, Value};
use crate::ports::answer::plain_object;
use crate::ports::{ActionAnswer, DevicePort, PortError, PortResult, Reading};

/// Why an [`EpicsPort`] could not be made.
#[derive(Debug, thiserror::Error)]
pub enum EpicsPortError {
    #[error(transparent)]
    Config(#[from] EpicsConfigError),
    #[error("cannot create a Channel Access context: {0:?}")]
    Context(epics_ca::Error),
}

/// The EPICS Channel Access port. One CA context per port; cheap to share behind an `Arc`.
///
/// Name resolution follows the process's EPICS environment (`EPICS_CA_ADDR_LIST`,
/// `EPICS_CA_AUTO_ADDR_LIST`, `EPICS_CA_SERVER_PORT`, …), which libca reads when the port
/// creates its first channel.
pub struct EpicsPort {
    client: Client,
    config: EpicsConfig,
}

impl EpicsPort {
    /// A port with the given settings (validated first).
    pub fn new(config: EpicsConfig) -> Result<EpicsPort, EpicsPortError> {
        config.validate()?;
        let client = Client::new(config.connect_timeout()).map_err(EpicsPortError::Context)?;
        Ok(EpicsPort { client, config })
    }

    pub fn config(&self) -> &EpicsConfig {
        &self.config
    }

    /// Reads a PV (the same as [`DevicePort::read`]).
    pub async fn get(&self, pv: &str) -> PortResult<Reading> {
        self.client.get(pv, self.config.read_timeout()).await
    }

    /// Writes a PV with a put-callback and waits for completion within `limit`.
    pub async fn put(&self, pv: &str, value: &Value, limit: Duration) -> PortResult<()> {
        self.client.put(pv, value, limit).await
    }

    fn action_spec(&self, action: &Action) -> PortResult<&EpicsAction> {
        let spec = self.config.action(&action.command).ok_or_else(|| {
            let known: Vec<&str> = self
                .config
                .actions
                .iter()
                .map(|a| a.command.as_str())
                .collect();
            PortError::unrouted(format!(
                "EPICS device {} has no action {:?} (configured: {})",
                action.device,
                action.command,
                known.join(", ")
            ))
        })?;
        for (name, value) in &action.args {
            if !spec.args.contains_key(&**name) {
                return Err(PortError::out_of_limits(format!(
                    "action {} on {} takes no argument {name:?} (it takes: {})",
                    action.command,
                    action.device,
                    spec.args.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
            if !value.is_finite() {
                return Err(PortError::out_of_limits(format!(
                    "action {} on {}: argument {name} = {value:?} is not finite",
                    action.command, action.device
                )));
            }
        }
        Ok(spec)
    }
}

#[async_trait]
impl DevicePort for EpicsPort {
    fn port_name(&self) -> &str {
        "epics"
    }

    async fn write(&self, setpoint: &Setpoint) -> PortResult<()> {
        self.client
            .put(
                &setpoint.channel,
                &setpoint.value,
                self.config.write_timeout(),
            )
            .await
    }

    async fn read(&self, channel: &str) -> PortResult<Reading> {
        self.get(channel).await
    }

    /// Writes each argument to its PV (put with completion), then the trigger value to the
    /// trigger PV, waiting for completion within the step's `timeout_ms` (else the configured
    /// action timeout); then reads the result PVs. The typed results are the values read, by
    /// the catalog's result names. The JSON answer is `{"device", "command", "results": {name:
    /// value}}`, plus `"unread": {name: error}` for result PVs that could not be read: the
    /// command ran, so a failed read of its results does not turn it into a failure (such a
    /// result is absent from the typed results).
    async fn act(&self, action: &Action) -> PortResult<ActionAnswer> {
        let spec = self.action_spec(action)?;
        let device = &*action.device;
        for (name, value) in &action.args {
            if let Some(suffix) = spec.args.get(&**name) {
                let pv = format!("{device}{suffix}");
                self.client
                    .put(&pv, value, self.config.write_timeout())
                    .await?;
            }
        }
        let limit = action
            .timeout_ms
            .map(|ms| Duration::from_millis(u64::from(ms)))
            .unwrap_or(self.config.action_timeout());
        let trigger = format!("{device}{}", spec.trigger);
        self.client
            .put(&trigger, &spec.trigger_value.to_value(), limit)
            .await?;
        let mut results = BTreeMap::new();
        let mut unread = Map::new();
        for (name, suffix) in &spec.results {
            match self.get(&format!("{device}{suffix}")).await {
                Ok(reading) => {
                    results.insert(name.clone(), reading.value);
                }
                Err(e) => {
                    unread.insert(name.clone(), json!(e.to_string()));
                }
            }
        }
        let mut answer = Map::from_iter([
            ("device".to_owned(), json!(device)),
            ("command".to_owned(), json!(&*action.command)),
            ("results".to_owned(), Json::Object(plain_object(&results))),
        ]);
        if !unread.is_empty() {
            answer.insert("unread".to_owned(), Json::Object(unread));
        }
        Ok(ActionAnswer {
            results,
            answer: Json::Object(answer),
        })
    }
}
