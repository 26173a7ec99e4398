//! Channel Access status codes (ECA_*) folded into failure classes, by what a retry would do: a
//! timeout is `Timeout` and a lost circuit `Disconnected` (both may clear: try-conduct holds);
//! missing read or write access is `AccessDenied`, and a type, count or conversion the channel can
//! never take is `OutOfLimits` (configuration: try-conduct aborts); what the server refuses at
//! run time (a failed put: a disabled record, a busy device, an unknown state label) is
//! `Rejected`.

use epics_ca::error::{Error as CaError, ErrorKind};

use crate::domain::FailureClass;
use crate::ports::PortError;

/// The failure class of a CA status.
pub fn class_of(kind: ErrorKind) -> FailureClass {
    match kind {
        ErrorKind::Timeout | ErrorKind::Connseqtmo | ErrorKind::Unresptmo => FailureClass::Timeout,
        ErrorKind::Disconn | ErrorKind::Chandestroy => FailureClass::Disconnected,
        ErrorKind::Nowtaccess | ErrorKind::Nordaccess => FailureClass::AccessDenied,
        ErrorKind::Badtype
        | ErrorKind::Badcount
        | ErrorKind::Noconvert
        | ErrorKind::Badstr
        | ErrorKind::Tolarge => FailureClass::OutOfLimits,
        _ => FailureClass::Rejected,
    }
}

/// What libca's `ca_message` says for the statuses a port meets, without an FFI call.
fn describe(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Timeout => "user specified timeout on IO operation expired",
        ErrorKind::Connseqtmo => "connection sequence timeout",
        ErrorKind::Unresptmo => "virtual circuit unresponsive",
        ErrorKind::Disconn => "virtual circuit disconnect",
        ErrorKind::Chandestroy => "user destroyed the channel",
        ErrorKind::Nowtaccess => "write access denied",
        ErrorKind::Nordaccess => "read access denied",
        ErrorKind::Putfail => "the server refused the put",
        ErrorKind::Getfail => "the server refused the get",
        ErrorKind::Badtype => "the data type is not supported by this channel",
        ErrorKind::Badcount => "the element count is out of range for this channel",
        ErrorKind::Noconvert => "the server cannot convert the value to the field type",
        ErrorKind::Badstr => "invalid string",
        ErrorKind::Putcbinprog => "a put-callback is already in progress",
        ErrorKind::Allocmem => "memory allocation failed",
        ErrorKind::Tolarge => "the request is larger than the maximum array size",
        _ => "Channel Access error",
    }
}

/// A CA error on `op` (`"get"`, `"put"`, `"connect"`) of `pv` as a port error.
pub fn ca_error(op: &str, pv: &str, error: CaError) -> PortError {
    PortError::new(
        class_of(error.kind),
        format!(
            "EPICS {op} of {pv}: {} ({:?})",
            describe(error.kind),
            error.kind
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_fold_into_failure_classes() {
        assert_eq!(class_of(ErrorKind::Timeout), FailureClass::Timeout);
        assert_eq!(class_of(ErrorKind::Unresptmo), FailureClass::Timeout);
        assert_eq!(class_of(ErrorKind::Disconn), FailureClass::Disconnected);
        assert_eq!(class_of(ErrorKind::Nowtaccess), FailureClass::AccessDenied);
        assert_eq!(class_of(ErrorKind::Nordaccess), FailureClass::AccessDenied);
        assert_eq!(class_of(ErrorKind::Putfail), FailureClass::Rejected);
        assert_eq!(class_of(ErrorKind::Badtype), FailureClass::OutOfLimits);
        assert_eq!(class_of(ErrorKind::Noconvert), FailureClass::OutOfLimits);
        assert!(class_of(ErrorKind::Badcount).is_configuration());
        assert_eq!(class_of(ErrorKind::Other(999)), FailureClass::Rejected);
    }

    #[test]
    fn messages_name_the_operation_the_pv_and_the_status() {
        let err = ca_error("put", "BL:RO", epics_ca::error::NOWTACCESS);
        assert_eq!(err.class, FailureClass::AccessDenied);
        assert!(err.message.contains("put of BL:RO"), "{}", err.message);
        assert!(err.message.contains("Nowtaccess"), "{}", err.message);
    }
}
