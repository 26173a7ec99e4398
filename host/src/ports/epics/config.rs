//! The EPICS port's settings, as the catalog's `[epics]` table declares them: deadlines of the
//! Channel Access operations and the actions a device prefix serves. Compiled with or without the
//! `epics` feature, so a catalog parses and validates the same either way.
//!
//! An action maps a step's `command` onto puts under the step's `device` prefix: each named
//! argument is written (put with completion) to `<device><suffix>`, then the trigger value is
//! written to `<device><trigger>` with completion, which for an areaDetector-style `Acquire`
//! record returns when the frame is done; finally each result PV is read. The default is the
//! areaDetector convention:
//!
//! ```toml
//! [[epics.actions]]
//! command = "acquire"
//! trigger = ":Acquire"
//! trigger_value = 1
//! args = { exposure_s = ":AcquireTime" }
//! results = { array_counter = ":ArrayCounter_RBV" }
//! ```

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::Value;

/// A scalar as TOML writes it (`1`, `0.5`, `"Open"`): the value an action's trigger writes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Int(i64),
    Float(f64),
    Text(String),
}

impl Scalar {
    pub fn to_value(&self) -> Value {
        match self {
            Scalar::Int(i) => Value::Int(*i),
            Scalar::Float(x) => Value::Float(*x),
            Scalar::Text(s) => Value::Text(s.clone()),
        }
    }
}

/// One command served on every device prefix of an `epics` route.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpicsAction {
    /// The step's `command` this entry serves (`acquire`).
    pub command: String,
    /// Suffix of the PV whose put-callback runs the command (`:Acquire`).
    pub trigger: String,
    /// The value written to the trigger PV.
    #[serde(default = "default_trigger_value")]
    pub trigger_value: Scalar,
    /// Argument name → suffix of the PV it is written to before the trigger
    /// (`exposure_s = ":AcquireTime"`). A step naming another argument is refused untouched.
    #[serde(default)]
    pub args: BTreeMap<String, String>,
    /// Result name → suffix of a PV read once the trigger completed; the action's answer.
    #[serde(default)]
    pub results: BTreeMap<String, String>,
}

fn default_trigger_value() -> Scalar {
    Scalar::Int(1)
}

impl EpicsAction {
    /// The areaDetector acquisition: `exposure_s` → `:AcquireTime`, trigger `:Acquire` = 1,
    /// result `array_counter` ← `:ArrayCounter_RBV`.
    pub fn acquire() -> EpicsAction {
        EpicsAction {
            command: "acquire".to_owned(),
            trigger: ":Acquire".to_owned(),
            trigger_value: Scalar::Int(1),
            args: BTreeMap::from([("exposure_s".to_owned(), ":AcquireTime".to_owned())]),
            results: BTreeMap::from([("array_counter".to_owned(), ":ArrayCounter_RBV".to_owned())]),
        }
    }
}

/// The `[epics]` table of the catalog. Every field has a default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EpicsConfig {
    /// How long a PV may take to connect (name search plus circuit). A PV nobody serves fails
    /// with `Timeout` after this; one whose server went away, with `Disconnected`.
    pub connect_timeout_ms: u64,
    /// How long one get may take once connected.
    pub read_timeout_ms: u64,
    /// How long a put-callback of a setpoint may take (a motor move).
    pub write_timeout_ms: u64,
    /// How long an action's trigger may take when the step gives no `timeout_ms`.
    pub action_timeout_ms: u64,
    /// The commands served on device prefixes; defaults to [`EpicsAction::acquire`].
    pub actions: Vec<EpicsAction>,
}

impl Default for EpicsConfig {
    fn default() -> Self {
        EpicsConfig {
            connect_timeout_ms: 2_000,
            read_timeout_ms: 5_000,
            write_timeout_ms: 60_000,
            action_timeout_ms: 300_000,
            actions: vec![EpicsAction::acquire()],
        }
    }
}

/// A field of the `[epics]` table that makes no sense, named relative to the table.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("epics.{field}: {message}")]
pub struct EpicsConfigError {
    pub field: String,
    pub message: String,
}

fn config_error(field: impl Into<String>, message: impl Into<String>) -> EpicsConfigError {
    EpicsConfigError {
        field: field.into(),
        message: message.into(),
    }
}

/// A PV name (or suffix) must be non-empty text without NUL, which C strings cannot carry.
fn check_pv_part(field: String, part: &str) -> Result<(), EpicsConfigError> {
    if part.is_empty() {
        Err(config_error(field, "must not be empty"))
    } else if part.contains('\0') {
        Err(config_error(field, "must not contain NUL"))
    } else {
        Ok(())
    }
}

impl EpicsConfig {
    /// Checks that deadlines are positive and actions well formed (unique commands, non-empty
    /// suffixes).
    pub fn validate(&self) -> Result<(), EpicsConfigError> {
        for (field, ms) in [
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("read_timeout_ms", self.read_timeout_ms),
            ("write_timeout_ms", self.write_timeout_ms),
            ("action_timeout_ms", self.action_timeout_ms),
        ] {
            if ms == 0 {
                return Err(config_error(field, "must be > 0"));
            }
        }
        let mut commands = HashSet::new();
        for (i, action) in self.actions.iter().enumerate() {
            if action.command.is_empty() {
                return Err(config_error(
                    format!("actions[{i}].command"),
                    "must not be empty",
                ));
            }
            if !commands.insert(action.command.as_str()) {
                return Err(config_error(
                    format!("actions[{i}].command"),
                    format!("command {:?} is declared twice", action.command),
                ));
            }
            check_pv_part(format!("actions[{i}].trigger"), &action.trigger)?;
            if let Scalar::Float(x) = action.trigger_value
                && !x.is_finite()
            {
                return Err(config_error(
                    format!("actions[{i}].trigger_value"),
                    "must be finite",
                ));
            }
            for (name, suffix) in action.args.iter().chain(&action.results) {
                check_pv_part(format!("actions[{i}].{name}"), suffix)?;
            }
        }
        Ok(())
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub fn read_timeout(&self) -> Duration {
        Duration::from_millis(self.read_timeout_ms)
    }

    pub fn write_timeout(&self) -> Duration {
        Duration::from_millis(self.write_timeout_ms)
    }

    pub fn action_timeout(&self) -> Duration {
        Duration::from_millis(self.action_timeout_ms)
    }

    /// The action serving `command`, if any.
    pub fn action(&self, command: &str) -> Option<&EpicsAction> {
        self.actions.iter().find(|a| a.command == command)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn parse(text: &str) -> Result<EpicsConfig, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn an_empty_table_takes_the_defaults() {
        let config = parse("").unwrap();
        assert_eq!(config, EpicsConfig::default());
        assert!(config.validate().is_ok());
        let acquire = config.action("acquire").unwrap();
        assert_eq!(acquire.trigger, ":Acquire");
        assert_eq!(acquire.trigger_value.to_value(), Value::Int(1));
        assert_eq!(acquire.args["exposure_s"], ":AcquireTime");
    }

    #[test]
    fn actions_parse_with_any_scalar_trigger() {
        let config = parse(
            r#"
            connect_timeout_ms = 300
            [[actions]]
            command = "open"
            trigger = ":Shutter"
            trigger_value = "Open"
            [[actions]]
            command = "count"
            trigger = ":Count"
            trigger_value = 2.5
            args = { seconds = ":Time" }
            "#,
        )
        .unwrap();
        assert!(config.validate().is_ok());
        assert_eq!(config.connect_timeout(), Duration::from_millis(300));
        assert_eq!(
            config.action("open").unwrap().trigger_value.to_value(),
            Value::Text("Open".into())
        );
        assert_eq!(
            config.action("count").unwrap().trigger_value.to_value(),
            Value::Float(2.5)
        );
        assert!(
            config.action("acquire").is_none(),
            "an explicit list replaces the default"
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(parse("connect_timeout = 3").is_err());
        assert!(parse("[[actions]]\ncommand = \"a\"\ntrigger = \":A\"\nwat = 1").is_err());
    }

    #[test]
    fn nonsense_is_named() {
        let zero = EpicsConfig {
            read_timeout_ms: 0,
            ..EpicsConfig::default()
        };
        assert_eq!(zero.validate().unwrap_err().field, "read_timeout_ms");

        let mut twice = EpicsConfig::default();
        twice.actions.push(EpicsAction::acquire());
        let err = twice.validate().unwrap_err();
        assert_eq!(err.field, "actions[1].command");
        assert!(err.message.contains("twice"), "{err}");

        let mut empty_suffix = EpicsConfig::default();
        empty_suffix.actions[0]
            .args
            .insert("gain".to_owned(), String::new());
        assert_eq!(
            empty_suffix.validate().unwrap_err().field,
            "actions[0].gain"
        );

        let mut nul = EpicsConfig::default();
        nul.actions[0].trigger = ":Acq\0uire".to_owned();
        assert_eq!(nul.validate().unwrap_err().field, "actions[0].trigger");

        let mut nan = EpicsConfig::default();
        nan.actions[0].trigger_value = Scalar::Float(f64::NAN);
        assert_eq!(
            nan.validate().unwrap_err().field,
            "actions[0].trigger_value"
        );
    }
}
