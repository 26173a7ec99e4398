//! The read-only view of the beamline a procedure gets while it resolves.

use crate::{ResolveError, Value};

/// All a procedure may ask of the host while it resolves. Read-only: a read is recorded in the
/// pin as provenance, a log line travels with the result.
///
/// In a component the calls go to the host through the WIT `host` import; in native tests
/// [`crate::testing::TestHost`] answers them from a map.
pub trait Host {
    /// The current value of `channel`, or the host's reason for not giving one.
    fn read(&self, channel: &str) -> Result<Value, String>;

    /// Appends a line to the resolution's log.
    fn log(&self, message: &str);

    /// Reads `channel` as a number (a float, or an int widened). An unreadable channel or a
    /// value that is not a number is a [`ResolveError::Failed`] naming the channel: the
    /// parameters were fine but the beamline's state makes no plan possible.
    fn read_number(&self, channel: &str) -> Result<f64, ResolveError> {
        let value = self
            .read(channel)
            .map_err(|e| ResolveError::failed(format!("cannot read `{channel}`: {e}")))?;
        match value.as_number() {
            Some(x) if x.is_finite() => Ok(x),
            Some(x) => Err(ResolveError::failed(format!(
                "`{channel}` reads {x}, which is not a finite number"
            ))),
            None => Err(ResolveError::failed(format!(
                "`{channel}` reads the {} {value}, expected a number",
                value.kind_name()
            ))),
        }
    }
}

/// The host behind the WIT `host` import. Only exists in a component: on other targets the
/// generated import functions are stubs that panic, so nothing native may reach them.
#[cfg(target_arch = "wasm32")]
pub(crate) struct WasmHost;

#[cfg(target_arch = "wasm32")]
impl Host for WasmHost {
    fn read(&self, channel: &str) -> Result<Value, String> {
        crate::bindings::baton::procedure::host::read(channel)
    }

    fn log(&self, message: &str) {
        crate::bindings::baton::procedure::host::log(message);
    }
}
