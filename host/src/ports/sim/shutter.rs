//! A simulated shutter: open or closed, moved by a setpoint (`"open"`/`"closed"`, a flag, or
//! 1/0) or by the `open` and `close` actions. It reads back as the text `"open"` or `"closed"`.
//! A detector gated by a shutter sees only its background while the shutter is closed.

use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use super::clock::SimClock;
use crate::domain::Value;
use crate::ports::{PortError, PortResult};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShutterConfig {
    pub name: String,
    /// Whether the shutter starts open.
    #[serde(default)]
    pub open: bool,
    /// How long a move takes, in simulated seconds.
    #[serde(default = "default_move_s")]
    pub move_s: f64,
}

fn default_move_s() -> f64 {
    0.05
}

impl ShutterConfig {
    pub(super) fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(self.move_s.is_finite() && self.move_s >= 0.0) {
            return Err((
                "move_s",
                format!("must be finite and >= 0, got {}", self.move_s),
            ));
        }
        Ok(())
    }
}

pub struct Shutter {
    config: ShutterConfig,
    open: AtomicBool,
}

pub fn state_text(open: bool) -> &'static str {
    if open { "open" } else { "closed" }
}

impl Shutter {
    pub fn new(config: ShutterConfig) -> Self {
        let open = AtomicBool::new(config.open);
        Shutter { config, open }
    }

    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst)
    }

    /// What a written value asks for: open (`true`) or closed.
    pub fn parse(&self, value: &Value) -> PortResult<bool> {
        match value {
            Value::Flag(b) => Ok(*b),
            Value::Int(1) => Ok(true),
            Value::Int(0) => Ok(false),
            Value::Text(t) if t == "open" => Ok(true),
            Value::Text(t) if t == "closed" || t == "close" => Ok(false),
            other => Err(PortError::out_of_limits(format!(
                "{}: expected \"open\"/\"closed\", a flag or 1/0, got {other:?}",
                self.config.name
            ))),
        }
    }

    /// Moves the shutter and returns once it has moved.
    pub async fn set(&self, open: bool, clock: &SimClock) {
        if self.is_open() != open {
            clock.sleep(self.config.move_s).await;
        }
        self.open.store(open, Ordering::SeqCst);
    }
}
