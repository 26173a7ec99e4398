//! Data keys: channel and result names made into keys event-model accepts (no `.` or `/`; baton
//! keeps to `[A-Za-z0-9_]`, so a key is also a Python identifier-like column name), each source
//! mapped to one key for the whole procedure, and typed values turned into plain JSON with their
//! event-model dtype and shape.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{DataKey, Dtype};
use crate::domain::Value;

/// `sim:mx` → `sim_mx`, `bl.m1/x` → `bl_m1_x`: every character outside `[A-Za-z0-9_]` becomes
/// `_`; an empty name becomes `_`.
pub fn sanitise(name: &str) -> String {
    if name.is_empty() {
        return "_".to_owned();
    }
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What a data key stands for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Source {
    /// A column baton computes itself (`step_index`).
    Baton(&'static str),
    /// Where a channel settled.
    Channel(String),
    /// One named result of a device's action.
    Result { device: String, name: String },
}

/// Gives each source one key for the whole export, in first-seen order. Two sources whose
/// names sanitise alike (`a.b`, `a_b`) get `a_b` and `a_b_2`: a collision never merges columns.
#[derive(Debug, Default)]
pub(crate) struct Keys {
    by_source: BTreeMap<Source, String>,
    taken: BTreeSet<String>,
}

impl Keys {
    pub(crate) fn key(&mut self, source: Source) -> String {
        if let Some(key) = self.by_source.get(&source) {
            return key.clone();
        }
        let base = match &source {
            Source::Baton(name) => sanitise(name),
            Source::Channel(channel) => sanitise(channel),
            Source::Result { device, name } => format!("{}_{}", sanitise(device), sanitise(name)),
        };
        let key = unique(&self.taken, base);
        self.taken.insert(key.clone());
        self.by_source.insert(source, key.clone());
        key
    }
}

/// `base`, or `base_2`, `base_3`, … if taken.
pub(crate) fn unique(taken: &BTreeSet<String>, base: String) -> String {
    if !taken.contains(&base) {
        return base;
    }
    (2u64..)
        .map(|n| format!("{base}_{n}"))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or(base)
}

/// The data key describing `value` from `object_name`.
pub(crate) fn data_key(value: &Value, object_name: &str) -> DataKey {
    let (dtype, shape) = match value {
        Value::Float(_) => (Dtype::Number, vec![]),
        Value::Int(_) => (Dtype::Integer, vec![]),
        Value::Text(_) => (Dtype::String, vec![]),
        Value::Floats(xs) => (Dtype::Array, vec![xs.len() as u64]),
        Value::Flag(_) => (Dtype::Boolean, vec![]),
    };
    DataKey {
        dtype,
        shape,
        source: format!("baton:{object_name}"),
        object_name: object_name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitised_and_never_merged() {
        assert_eq!(sanitise("sim:mx"), "sim_mx");
        assert_eq!(sanitise("bl.m1/x.RBV"), "bl_m1_x_RBV");
        assert_eq!(sanitise(""), "_");
        let mut keys = Keys::default();
        assert_eq!(keys.key(Source::Channel("a.b".into())), "a_b");
        assert_eq!(keys.key(Source::Channel("a_b".into())), "a_b_2");
        assert_eq!(keys.key(Source::Channel("a.b".into())), "a_b");
        assert_eq!(
            keys.key(Source::Result {
                device: "sim:det".into(),
                name: "counts".into()
            }),
            "sim_det_counts"
        );
    }
}
