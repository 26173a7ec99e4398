//! The one error a device port returns: a failure class (which decides hold versus abort) and a
//! message for the operator.

use crate::domain::FailureClass;

/// A failed port operation. The class is what callers branch on; the message is for people.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", class.as_str())]
pub struct PortError {
    pub class: FailureClass,
    pub message: String,
}

impl PortError {
    pub fn new(class: FailureClass, message: impl Into<String>) -> Self {
        PortError {
            class,
            message: message.into(),
        }
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(FailureClass::Timeout, message)
    }

    pub fn disconnected(message: impl Into<String>) -> Self {
        Self::new(FailureClass::Disconnected, message)
    }

    pub fn rejected(message: impl Into<String>) -> Self {
        Self::new(FailureClass::Rejected, message)
    }

    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(FailureClass::AccessDenied, message)
    }

    pub fn out_of_limits(message: impl Into<String>) -> Self {
        Self::new(FailureClass::OutOfLimits, message)
    }

    pub fn unrouted(message: impl Into<String>) -> Self {
        Self::new(FailureClass::Unrouted, message)
    }

    pub fn criterion_mismatch(message: impl Into<String>) -> Self {
        Self::new(FailureClass::CriterionMismatch, message)
    }

    pub fn bad_quality(message: impl Into<String>) -> Self {
        Self::new(FailureClass::BadQuality, message)
    }
}

/// What every port operation returns.
pub type PortResult<T> = Result<T, PortError>;
