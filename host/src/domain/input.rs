//! Input rules shared by the deciders: names, reasons, digests, parameters. A violation is an
//! [`InvalidInput`] (HTTP 400/422); it never reaches an event.

use time::OffsetDateTime;

use super::iteration::IterationIndexError;
use super::value::Value;

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_REASON_CHARS: usize = 500;

/// Why a command's input is refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum InvalidInput {
    #[error("name must be 1 to {MAX_NAME_CHARS} characters after trimming, got {chars}")]
    BadName { chars: usize },
    #[error("reason must be 1 to {MAX_REASON_CHARS} characters after trimming, got {chars}")]
    BadReason { chars: usize },
    #[error("{what} must be 64 lowercase hex characters (sha256), got {value:?}")]
    BadDigest { what: &'static str, value: String },
    #[error("parameter names must be non-empty, got {0:?}")]
    BadParamName(String),
    #[error("parameter {0:?} is given twice")]
    DuplicateParam(String),
    #[error("{what} {name:?} is not finite; JSON cannot carry NaN or infinities")]
    NonFiniteValue { what: &'static str, name: String },
    #[error("the patience cap must be at least 1")]
    ZeroPatienceCap,
    #[error("the pin's component digest {pin} differs from the procedure's {procedure}")]
    PinDigestMismatch { pin: String, procedure: String },
    #[error("boundary {boundary} is past the pinned step count {step_count}")]
    BoundaryPastEnd { boundary: u64, step_count: u64 },
    #[error(transparent)]
    Iteration(#[from] IterationIndexError),
    #[error("interrupted_at {interrupted_at} is later than now ({now})")]
    InterruptedInFuture {
        interrupted_at: OffsetDateTime,
        now: OffsetDateTime,
    },
}

/// A name, trimmed, 1 to 200 characters.
pub fn name(raw: &str) -> Result<String, InvalidInput> {
    let trimmed = raw.trim();
    let chars = trimmed.chars().count();
    if (1..=MAX_NAME_CHARS).contains(&chars) {
        Ok(trimmed.to_owned())
    } else {
        Err(InvalidInput::BadName { chars })
    }
}

/// A reason for a hold, abort, stop or truncate, trimmed, 1 to 500 characters.
pub fn reason(raw: &str) -> Result<String, InvalidInput> {
    let trimmed = raw.trim();
    let chars = trimmed.chars().count();
    if (1..=MAX_REASON_CHARS).contains(&chars) {
        Ok(trimmed.to_owned())
    } else {
        Err(InvalidInput::BadReason { chars })
    }
}

/// True for a lowercase hex sha256 digest.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub fn sha256_hex(what: &'static str, value: &str) -> Result<(), InvalidInput> {
    if is_sha256_hex(value) {
        Ok(())
    } else {
        Err(InvalidInput::BadDigest {
            what,
            value: value.to_owned(),
        })
    }
}

/// Named values (parameters, observed reads): non-empty unique names, finite floats.
pub fn named_values(what: &'static str, values: &[(String, Value)]) -> Result<(), InvalidInput> {
    let mut seen = std::collections::BTreeSet::new();
    for (name, value) in values {
        if name.trim().is_empty() {
            return Err(InvalidInput::BadParamName(name.clone()));
        }
        if !seen.insert(name.as_str()) {
            return Err(InvalidInput::DuplicateParam(name.clone()));
        }
        if !value.is_finite() {
            return Err(InvalidInput::NonFiniteValue {
                what,
                name: name.clone(),
            });
        }
    }
    Ok(())
}

/// A status, cause or kind name that does not parse (e.g. from a query string or a database row).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownName {
    pub what: &'static str,
    pub value: String,
}

/// Parses `s` as the variant whose strum name it is; the error says `what` was expected.
pub(crate) fn parse_name<T>(what: &'static str, s: &str) -> Result<T, UnknownName>
where
    T: strum::VariantArray + Copy + Into<&'static str>,
{
    T::VARIANTS
        .iter()
        .copied()
        .find(|v| Into::<&'static str>::into(*v) == s)
        .ok_or_else(|| UnknownName {
            what,
            value: s.to_owned(),
        })
}
