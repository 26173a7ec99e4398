//! DBR mapping between Channel Access fields and baton values, both ways, and alarm severity →
//! quality.
//!
//! | native field (count)         | read as (DBR_STS_*)  | value             | writable from            |
//! |------------------------------|----------------------|-------------------|--------------------------|
//! | DOUBLE, FLOAT (1)            | `Sts<f64>`           | `Float`           | `Float`, `Int` (exact)   |
//! | LONG, SHORT, CHAR (1)        | `Sts<i32>`           | `Int`             | `Int`, integral `Float`, `Flag` (in range) |
//! | STRING (1)                   | `Sts<EpicsString>`   | `Text`            | `Text` (≤ 39 bytes)      |
//! | ENUM (1)                     | `Sts<EpicsString>`   | `Text` (state label) | `Text` (a label), `Int` (an index), `Flag` |
//! | any numeric (> 1): waveform  | `Sts<[f64]>`         | `Floats` (NORD elements) | `Floats` (1..=NELM) |
//!
//! An enum reads as its state label, not its index: a check says `Equals "Done"`, which reads
//! the way the operator screen does, and stays right if the states are renumbered. Every other
//! pairing (a text to a number, a flag to a double, a scalar to a waveform) is refused before
//! anything is sent: the port never guesses a conversion. Such a refusal would repeat on every
//! retry, so the port reports it as `OutOfLimits`, a configuration class. Quality folds the alarm severity:
//! NO_ALARM is `Good`, MINOR `Uncertain`, MAJOR and INVALID `Bad`.

use std::ffi::CString;
use std::marker::PhantomData;

use epics_ca::Channel;
use epics_ca::channel::Put;
use epics_ca::channel::get::Callback;
use epics_ca::error::Error as CaError;
use epics_ca::request::{ReadRequest, Sts};
use epics_ca::types::{AlarmSeverity, EpicsString, FieldId};

use crate::domain::Value;
use crate::ports::Quality;

/// What a channel holds, as far as the mapping cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Float,
    /// An integer field and the range it holds.
    Int {
        min: i64,
        max: i64,
    },
    Text,
    Enum,
    /// A numeric array of at most `max` elements.
    Floats {
        max: usize,
    },
    /// An array of strings or enums: no baton value holds one.
    Unsupported(FieldId),
}

/// Longest text a DBR_STRING carries (40 bytes with the NUL).
pub const MAX_TEXT: usize = 39;

pub fn shape(field: FieldId, count: usize) -> Shape {
    match (field, count) {
        (FieldId::Double | FieldId::Float, 1) => Shape::Float,
        (FieldId::Long, 1) => Shape::Int {
            min: i32::MIN.into(),
            max: i32::MAX.into(),
        },
        (FieldId::Short, 1) => Shape::Int {
            min: i16::MIN.into(),
            max: i16::MAX.into(),
        },
        // DBF_CHAR travels as an unsigned byte.
        (FieldId::Char, 1) => Shape::Int {
            min: 0,
            max: u8::MAX.into(),
        },
        (FieldId::String, 1) => Shape::Text,
        (FieldId::Enum, 1) => Shape::Enum,
        (FieldId::Double | FieldId::Float | FieldId::Long | FieldId::Short | FieldId::Char, n) => {
            Shape::Floats { max: n }
        }
        (other, _) => Shape::Unsupported(other),
    }
}

pub fn quality(severity: AlarmSeverity) -> Quality {
    match severity {
        AlarmSeverity::None => Quality::Good,
        AlarmSeverity::Minor => Quality::Uncertain,
        AlarmSeverity::Major | AlarmSeverity::Invalid => Quality::Bad,
    }
}

fn field_name(field: FieldId) -> &'static str {
    match field {
        FieldId::String => "STRING",
        FieldId::Short => "SHORT",
        FieldId::Float => "FLOAT",
        FieldId::Enum => "ENUM",
        FieldId::Char => "CHAR",
        FieldId::Long => "LONG",
        FieldId::Double => "DOUBLE",
    }
}

impl Shape {
    pub fn describe(self) -> String {
        match self {
            Shape::Float => "a floating-point field".to_owned(),
            Shape::Int { min, max } => format!("an integer field ({min}..={max})"),
            Shape::Text => "a string field".to_owned(),
            Shape::Enum => "an enum field".to_owned(),
            Shape::Floats { max } => format!("a waveform of up to {max} elements"),
            Shape::Unsupported(field) => format!("an array of {}", field_name(field)),
        }
    }
}

/// A get callback that folds a DBR_STS_* answer into a value and its severity.
struct Fold<R: ?Sized, F> {
    fold: F,
    _request: PhantomData<fn(&R)>,
}

fn fold<R, F>(fold: F) -> Fold<R, F>
where
    R: ReadRequest + ?Sized,
    F: FnOnce(&R) -> (Value, AlarmSeverity) + Send,
{
    Fold {
        fold,
        _request: PhantomData,
    }
}

impl<R, F> Callback for Fold<R, F>
where
    R: ReadRequest + ?Sized,
    F: FnOnce(&R) -> (Value, AlarmSeverity) + Send,
{
    type Request = R;
    type Output = (Value, AlarmSeverity);

    fn apply(self, input: Result<&R, CaError>) -> Result<Self::Output, CaError> {
        input.map(self.fold)
    }
}

fn text(s: &EpicsString) -> String {
    s.to_string_lossy().into_owned()
}

/// Reads the channel with the DBR_STS_* type its shape calls for; the server converts (an
/// integer field arrives as DBR_STS_LONG, an enum as its state string). `None` for a shape
/// no value holds.
pub async fn read(
    chan: &mut Channel,
    shape: Shape,
) -> Option<Result<(Value, AlarmSeverity), CaError>> {
    Some(match shape {
        Shape::Float => {
            chan.get_with(fold(|r: &Sts<f64>| {
                (Value::Float(r.value), r.alarm.severity)
            }))
            .await
        }
        Shape::Int { .. } => {
            chan.get_with(fold(|r: &Sts<i32>| {
                (Value::Int(r.value.into()), r.alarm.severity)
            }))
            .await
        }
        Shape::Text | Shape::Enum => {
            chan.get_with(fold(|r: &Sts<EpicsString>| {
                (Value::Text(text(&r.value)), r.alarm.severity)
            }))
            .await
        }
        Shape::Floats { .. } => {
            chan.get_with(fold(|r: &Sts<[f64]>| {
                (Value::Floats(r.value.to_vec()), r.alarm.severity)
            }))
            .await
        }
        Shape::Unsupported(_) => return None,
    })
}

/// A put request in the DBR type the server converts from.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    Double(f64),
    Long(i32),
    Text(EpicsString),
    Doubles(Vec<f64>),
}

/// Largest integer an f64 holds exactly.
const EXACT_F64: i64 = 1 << 53;

fn integral(x: f64, min: i64, max: i64) -> Option<i64> {
    // `as` saturates; the range and fract checks make the conversion exact.
    (x.is_finite() && x.fract() == 0.0 && x >= min as f64 && x <= max as f64).then_some(x as i64)
}

fn epics_string(s: &str) -> Result<EpicsString, String> {
    if s.len() > MAX_TEXT {
        return Err(format!(
            "a text of {} bytes does not fit a DBR_STRING (at most {MAX_TEXT})",
            s.len()
        ));
    }
    let c = CString::new(s).map_err(|_| "a text with a NUL byte cannot be sent".to_owned())?;
    EpicsString::from_cstr(&c).ok_or_else(|| "the text does not fit a DBR_STRING".to_owned())
}

fn long(i: i64) -> Result<i32, String> {
    i32::try_from(i).map_err(|_| format!("{i} does not fit a DBR_LONG"))
}

/// The request that writes `value` to a field of `shape`, or why it is refused.
pub fn encode(shape: Shape, value: &Value) -> Result<Request, String> {
    let refuse = || {
        Err(format!(
            "a {} value cannot be written to {}",
            value.kind(),
            shape.describe()
        ))
    };
    if !value.is_finite() {
        return Err(format!("{value:?} is not finite"));
    }
    match (shape, value) {
        (Shape::Float, Value::Float(x)) => Ok(Request::Double(*x)),
        (Shape::Float, Value::Int(i)) if (-EXACT_F64..=EXACT_F64).contains(i) => {
            Ok(Request::Double(*i as f64))
        }
        (Shape::Float, Value::Int(i)) => Err(format!("{i} has no exact double")),
        (Shape::Int { min, max }, Value::Int(i)) => {
            if (min..=max).contains(i) {
                long(*i).map(Request::Long)
            } else {
                Err(format!("{i} is outside the field's range {min}..={max}"))
            }
        }
        (Shape::Int { min, max }, Value::Float(x)) => match integral(*x, min, max) {
            Some(i) => long(i).map(Request::Long),
            None => Err(format!(
                "{x} is not an integer in the field's range {min}..={max}"
            )),
        },
        (Shape::Int { .. } | Shape::Enum, Value::Flag(b)) => Ok(Request::Long(i32::from(*b))),
        (Shape::Text | Shape::Enum, Value::Text(s)) => epics_string(s).map(Request::Text),
        (Shape::Enum, Value::Int(i)) => {
            if (0..=i64::from(u16::MAX)).contains(i) {
                long(*i).map(Request::Long)
            } else {
                Err(format!("{i} is not an enum index"))
            }
        }
        (Shape::Floats { max }, Value::Floats(xs)) => {
            if xs.is_empty() {
                Err("an empty waveform cannot be written".to_owned())
            } else if xs.len() > max {
                Err(format!(
                    "{} elements do not fit a waveform of {max}",
                    xs.len()
                ))
            } else {
                Ok(Request::Doubles(xs.clone()))
            }
        }
        _ => refuse(),
    }
}

/// Sends the put with completion callback (`ca_array_put_callback`); the returned future
/// resolves when the server reports the put complete.
pub fn put<'a>(chan: &'a mut Channel, request: &Request) -> Result<Put<'a>, CaError> {
    match request {
        Request::Double(x) => chan.put_ref::<f64>(x),
        Request::Long(i) => chan.put_ref::<i32>(i),
        Request::Text(s) => chan.put_ref::<EpicsString>(s),
        Request::Doubles(xs) => chan.put_ref::<[f64]>(xs.as_slice()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use proptest::prelude::*;

    use super::*;

    const LONG: Shape = Shape::Int {
        min: i32::MIN as i64,
        max: i32::MAX as i64,
    };

    #[test]
    fn native_fields_have_shapes() {
        assert_eq!(shape(FieldId::Double, 1), Shape::Float);
        assert_eq!(shape(FieldId::Float, 1), Shape::Float);
        assert_eq!(shape(FieldId::Long, 1), LONG);
        assert_eq!(shape(FieldId::Char, 1), Shape::Int { min: 0, max: 255 });
        assert_eq!(shape(FieldId::String, 1), Shape::Text);
        assert_eq!(shape(FieldId::Enum, 1), Shape::Enum);
        assert_eq!(shape(FieldId::Double, 8), Shape::Floats { max: 8 });
        assert_eq!(shape(FieldId::Long, 4), Shape::Floats { max: 4 });
        assert_eq!(
            shape(FieldId::String, 3),
            Shape::Unsupported(FieldId::String)
        );
    }

    #[test]
    fn severity_folds_into_quality() {
        assert_eq!(quality(AlarmSeverity::None), Quality::Good);
        assert_eq!(quality(AlarmSeverity::Minor), Quality::Uncertain);
        assert_eq!(quality(AlarmSeverity::Major), Quality::Bad);
        assert_eq!(quality(AlarmSeverity::Invalid), Quality::Bad);
    }

    #[test]
    fn matching_values_encode() {
        assert_eq!(
            encode(Shape::Float, &Value::Float(2.5)),
            Ok(Request::Double(2.5))
        );
        assert_eq!(
            encode(Shape::Float, &Value::Int(-3)),
            Ok(Request::Double(-3.0))
        );
        assert_eq!(encode(LONG, &Value::Int(12)), Ok(Request::Long(12)));
        assert_eq!(encode(LONG, &Value::Float(12.0)), Ok(Request::Long(12)));
        assert_eq!(encode(LONG, &Value::Flag(true)), Ok(Request::Long(1)));
        assert_eq!(encode(Shape::Enum, &Value::Int(2)), Ok(Request::Long(2)));
        assert_eq!(
            encode(Shape::Enum, &Value::Flag(false)),
            Ok(Request::Long(0))
        );
        let Ok(Request::Text(s)) = encode(Shape::Enum, &Value::Text("High".into())) else {
            panic!("a label encodes as a string");
        };
        assert_eq!(s.to_str().unwrap(), "High");
        assert_eq!(
            encode(Shape::Floats { max: 8 }, &Value::Floats(vec![1.0, 2.0])),
            Ok(Request::Doubles(vec![1.0, 2.0]))
        );
    }

    #[test]
    fn mismatched_values_are_refused_with_a_reason() {
        let cases = [
            (Shape::Float, Value::Text("1.0".into()), "text value"),
            (Shape::Float, Value::Flag(true), "flag value"),
            (Shape::Float, Value::Floats(vec![1.0]), "floats value"),
            (Shape::Float, Value::Float(f64::NAN), "not finite"),
            (Shape::Float, Value::Int(i64::MAX), "no exact double"),
            (LONG, Value::Float(2.5), "not an integer"),
            (LONG, Value::Int(1 << 40), "outside the field's range"),
            (
                Shape::Int { min: 0, max: 255 },
                Value::Int(-1),
                "outside the field's range",
            ),
            (Shape::Text, Value::Int(1), "int value"),
            (Shape::Text, Value::Text("x".repeat(40)), "40 bytes"),
            (Shape::Text, Value::Text("a\0b".into()), "NUL"),
            (Shape::Enum, Value::Float(1.0), "float value"),
            (Shape::Enum, Value::Int(-1), "not an enum index"),
            (
                Shape::Floats { max: 2 },
                Value::Floats(vec![0.0; 3]),
                "3 elements",
            ),
            (Shape::Floats { max: 2 }, Value::Floats(vec![]), "empty"),
            (Shape::Floats { max: 2 }, Value::Float(1.0), "float value"),
            (
                Shape::Unsupported(FieldId::String),
                Value::Text("a".into()),
                "array of STRING",
            ),
        ];
        for (shape, value, why) in cases {
            let err = encode(shape, &value).expect_err(&format!("{value:?} into {shape:?}"));
            assert!(err.contains(why), "{value:?} into {shape:?}: {err}");
        }
    }

    proptest! {
        /// An integer field accepts exactly the in-range integers, from an int or an integral
        /// float, and never changes the number.
        #[test]
        fn integer_fields_take_exact_in_range_numbers(i in any::<i64>(), bits in 0u32..64) {
            let i = i >> bits;
            let short = Shape::Int { min: i16::MIN.into(), max: i16::MAX.into() };
            for shape in [LONG, short] {
                let Shape::Int { min, max } = shape else { unreachable!() };
                let encoded = encode(shape, &Value::Int(i));
                prop_assert_eq!(encoded.is_ok(), (min..=max).contains(&i));
                if let Ok(Request::Long(v)) = encoded {
                    prop_assert_eq!(i64::from(v), i);
                }
                let as_float = encode(shape, &Value::Float(i as f64));
                if let Ok(Request::Long(v)) = as_float {
                    prop_assert_eq!(v as f64, i as f64);
                }
            }
        }

        /// A fractional float never reaches an integer field.
        #[test]
        fn fractions_never_reach_integer_fields(x in -1e9f64..1e9) {
            prop_assume!(x.fract() != 0.0);
            prop_assert!(encode(LONG, &Value::Float(x)).is_err());
        }

        /// A text fits a DBR_STRING exactly when it has at most 39 bytes and no NUL.
        #[test]
        fn texts_fit_when_short_and_nul_free(s in "[a-zA-Z0-9 :\\x00]{0,50}") {
            let ok = s.len() <= MAX_TEXT && !s.contains('\0');
            let encoded = encode(Shape::Text, &Value::Text(s.clone()));
            prop_assert_eq!(encoded.is_ok(), ok);
            if let Ok(Request::Text(e)) = encoded {
                prop_assert_eq!(e.to_str().unwrap(), s.as_str());
            }
        }
    }
}
