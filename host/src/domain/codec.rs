//! How events cross into the store: each event has a stable type name and a payload that is a
//! JSON object. New payload fields are optional with defaults, so old streams decode unchanged;
//! an unknown type fails loudly, naming it. Also the fold errors: a stream that does not begin
//! with its genesis event, or begins twice, is corrupt.

/// An event as the store sees it.
pub trait DomainEvent: Sized {
    /// Every type name this enum knows, in declaration order.
    const EVENT_TYPES: &'static [&'static str];

    /// The stable type name stored next to the payload, e.g. `"ProcedureDefined"`.
    fn event_type(&self) -> &'static str;

    /// The type name and the payload as a JSON object.
    fn to_stored(&self) -> Result<(&'static str, serde_json::Value), EventCodecError>;

    /// Decodes a stored event; an unknown type or a malformed payload is an error.
    fn from_stored(event_type: &str, payload: serde_json::Value) -> Result<Self, EventCodecError>;
}

#[derive(Debug, thiserror::Error)]
pub enum EventCodecError {
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    #[error("payload of {event_type} is not a JSON object")]
    NotAnObject { event_type: String },
    #[error("payload of {event_type} does not decode: {source}")]
    BadPayload {
        event_type: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("payload of {event_type} does not encode: {source}")]
    Encode {
        event_type: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

/// A stream that cannot be folded: it is corrupt (HTTP 500), never silently repaired.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FoldError {
    #[error("stream begins with {event_type}, not with its genesis event")]
    MissingGenesis { event_type: &'static str },
    #[error("genesis event {event_type} repeated at version {version}")]
    RepeatedGenesis {
        event_type: &'static str,
        version: u64,
    },
}

pub(crate) fn encode<P: serde::Serialize>(
    event_type: &'static str,
    payload: &P,
) -> Result<(&'static str, serde_json::Value), EventCodecError> {
    let value = serde_json::to_value(payload)
        .map_err(|source| EventCodecError::Encode { event_type, source })?;
    if value.is_object() {
        Ok((event_type, value))
    } else {
        Err(EventCodecError::NotAnObject {
            event_type: event_type.to_owned(),
        })
    }
}

pub(crate) fn decode<P: serde::de::DeserializeOwned>(
    event_type: &str,
    payload: serde_json::Value,
) -> Result<P, EventCodecError> {
    if !payload.is_object() {
        return Err(EventCodecError::NotAnObject {
            event_type: event_type.to_owned(),
        });
    }
    serde_json::from_value(payload).map_err(|source| EventCodecError::BadPayload {
        event_type: event_type.to_owned(),
        source,
    })
}

/// Declares an event enum whose variants each wrap one payload struct, with its stable type
/// names listed once, and implements [`DomainEvent`] and `From<Payload>` for it.
macro_rules! event_enum {
    (
        $(#[$meta:meta])*
        pub enum $enum:ident {
            $( $(#[$vmeta:meta])* $variant:ident($payload:ident) = $name:literal, )+
        }
    ) => {
        $(#[$meta])*
        pub enum $enum {
            $( $(#[$vmeta])* $variant($payload), )+
        }

        impl $crate::domain::codec::DomainEvent for $enum {
            const EVENT_TYPES: &'static [&'static str] = &[$($name),+];

            fn event_type(&self) -> &'static str {
                match self {
                    $( $enum::$variant(_) => $name, )+
                }
            }

            fn to_stored(
                &self,
            ) -> Result<(&'static str, serde_json::Value), $crate::domain::codec::EventCodecError> {
                match self {
                    $( $enum::$variant(p) => $crate::domain::codec::encode($name, p), )+
                }
            }

            fn from_stored(
                event_type: &str,
                payload: serde_json::Value,
            ) -> Result<Self, $crate::domain::codec::EventCodecError> {
                match event_type {
                    $( $name => $crate::domain::codec::decode(event_type, payload).map($enum::$variant), )+
                    other => Err($crate::domain::codec::EventCodecError::UnknownType(other.to_owned())),
                }
            }
        }

        $(
            impl From<$payload> for $enum {
                fn from(payload: $payload) -> Self {
                    $enum::$variant(payload)
                }
            }
        )+
    };
}

pub(crate) use event_enum;
