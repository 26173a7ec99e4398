//! The typed value that travels in parameters, setpoints, checks and readbacks, with the
//! conversions that make step builders pleasant (`Setpoint::new("sim:mx", 1.5)`).

/// A typed value: `Float`, `Int`, `Text`, `Floats` or `Flag`. This is the WIT `value` itself,
/// so handing it to the host costs nothing.
pub use crate::bindings::baton::procedure::types::Value;

impl Value {
    /// The kind's name as used in parameter declarations and messages: `"float"`, `"int"`,
    /// `"text"`, `"floats"` or `"flag"`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Float(_) => "float",
            Value::Int(_) => "int",
            Value::Text(_) => "text",
            Value::Floats(_) => "floats",
            Value::Flag(_) => "flag",
        }
    }

    /// The value as a number when it is one: a float, or an int (widened). Flags, texts and
    /// lists are not numbers.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Float(x) => Some(*x),
            Value::Int(i) => Some(*i as f64),
            Value::Text(_) | Value::Floats(_) | Value::Flag(_) => None,
        }
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i64::from(i))
    }
}

impl From<u32> for Value {
    fn from(i: u32) -> Self {
        Value::Int(i64::from(i))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Flag(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<Vec<f64>> for Value {
    fn from(xs: Vec<f64>) -> Self {
        Value::Floats(xs)
    }
}

impl From<&[f64]> for Value {
    fn from(xs: &[f64]) -> Self {
        Value::Floats(xs.to_vec())
    }
}

impl<const N: usize> From<[f64; N]> for Value {
    fn from(xs: [f64; N]) -> Self {
        Value::Floats(xs.to_vec())
    }
}

impl std::fmt::Display for Value {
    /// Human-readable, for messages: `1.5`, `3`, `"text"`, `[1, 2]`, `true`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Float(x) => write!(f, "{x}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Text(s) => write!(f, "{s:?}"),
            Value::Floats(xs) => {
                f.write_str("[")?;
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str("]")
            }
            Value::Flag(b) => write!(f, "{b}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn conversions_pick_the_matching_variant() {
        assert_eq!(Value::from(1.5), Value::Float(1.5));
        assert_eq!(Value::from(3_i64), Value::Int(3));
        assert_eq!(Value::from(3_i32), Value::Int(3));
        assert_eq!(Value::from(true), Value::Flag(true));
        assert_eq!(Value::from("open"), Value::Text("open".into()));
        assert_eq!(Value::from([1.0, 2.0]), Value::Floats(vec![1.0, 2.0]));
    }

    #[test]
    fn only_floats_and_ints_are_numbers() {
        assert_eq!(Value::Int(4).as_number(), Some(4.0));
        assert_eq!(Value::Float(-0.5).as_number(), Some(-0.5));
        assert_eq!(Value::Flag(true).as_number(), None);
        assert_eq!(Value::Text("1".into()).as_number(), None);
        assert_eq!(Value::Floats(vec![1.0]).as_number(), None);
    }

    #[test]
    fn display_is_readable() {
        assert_eq!(Value::Floats(vec![1.0, 2.5]).to_string(), "[1, 2.5]");
        assert_eq!(Value::Text("a b".into()).to_string(), "\"a b\"");
        assert_eq!(Value::Flag(false).to_string(), "false");
    }
}
