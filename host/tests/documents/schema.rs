//! The Rust-side check: every document against the event-model schema vendored in
//! `host/schemas/event-model/` (draft 2020-12, set explicitly: the files carry no `$schema`).

use std::path::PathBuf;

use baton_host::documents::Document;
use jsonschema::{Draft, Validator};

pub struct Schemas {
    start: Validator,
    descriptor: Validator,
    event: Validator,
    stop: Validator,
}

fn load(file: &str) -> Validator {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("schemas/event-model")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{file} does not compile as draft 2020-12: {e}"))
}

impl Schemas {
    pub fn load() -> Schemas {
        Schemas {
            start: load("run_start.json"),
            descriptor: load("event_descriptor.json"),
            event: load("event.json"),
            stop: load("run_stop.json"),
        }
    }

    /// The schema's complaints about `document`, none when it is valid.
    pub fn errors(&self, document: &Document) -> Vec<String> {
        let pair = serde_json::to_value(document).unwrap();
        self.errors_of(document.name(), &pair[1])
    }

    /// The same for a document as read back: its name and body.
    pub fn errors_of(&self, name: &str, doc: &serde_json::Value) -> Vec<String> {
        let validator = match name {
            "start" => &self.start,
            "descriptor" => &self.descriptor,
            "event" => &self.event,
            "stop" => &self.stop,
            other => return vec![format!("no schema for a {other:?} document")],
        };
        validator
            .iter_errors(doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }
}
