//! What the built components are: real components, exporting the world's functions, importing
//! only what they should. This is the contract the host's load-time checks rely on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use baton_artifacts::{ALL, EXAMPLES, Example};
use wasmparser::{Encoding, Parser, Payload};

/// The top-level imports and exports of a component, by name.
fn interface(bytes: &[u8]) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut imports, mut exports) = (BTreeSet::new(), BTreeSet::new());
    let mut depth = 0;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.unwrap() {
            Payload::Version { encoding, .. } => {
                if depth == 0 {
                    assert_eq!(encoding, Encoding::Component, "not a component");
                }
                depth += 1;
            }
            Payload::End(_) => depth -= 1,
            Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    imports.insert(import.unwrap().name.name.to_owned());
                }
            }
            Payload::ComponentExportSection(reader) if depth == 1 => {
                for export in reader {
                    exports.insert(export.unwrap().name.name.to_owned());
                }
            }
            _ => {}
        }
    }
    (imports, exports)
}

fn package(import: &str) -> &str {
    import.split('/').next().unwrap()
}

#[test]
fn every_component_exports_describe_and_resolve() {
    assert_eq!(ALL.len(), 8);
    for c in ALL {
        let (_, exports) = interface(c.bytes);
        assert!(exports.contains("describe"), "{}: {exports:?}", c.name);
        assert!(exports.contains("resolve"), "{}: {exports:?}", c.name);
        assert_eq!(std::fs::read(c.path).unwrap(), c.bytes, "{}", c.name);
    }
}

#[test]
fn examples_import_only_the_procedure_world_and_wasi_io_and_cli() {
    // No wasi:random (the SDK uses BTreeMap, not HashMap), no clocks, no filesystem, no sockets.
    let allowed = ["baton:procedure", "wasi:io", "wasi:cli"];
    for e in EXAMPLES {
        let (imports, _) = interface(e.bytes);
        // Plain names (`info`, `plan`, ...) are the types the world `use`s, not interfaces.
        for import in imports.iter().filter(|i| i.contains(':')) {
            assert!(
                allowed.contains(&package(import)),
                "{} imports {import}",
                e.name
            );
        }
        assert!(
            imports
                .iter()
                .any(|i| i.starts_with("baton:procedure/types@0.1.0")),
            "{}: {imports:?}",
            e.name
        );
    }
}

#[test]
fn every_example_imports_the_host_interface() {
    // wit-component drops imports a guest never calls; every example logs, so every one must
    // import `host` (and `align` also reads through it).
    for e in EXAMPLES {
        let (imports, _) = interface(e.bytes);
        assert!(
            imports.contains("baton:procedure/host@0.1.0"),
            "{} does not import host: {imports:?}",
            e.name
        );
    }
}

#[test]
fn the_sockets_guest_imports_wasi_sockets() {
    let (imports, _) = interface(baton_artifacts::guest_sockets_bytes());
    assert!(
        imports.iter().any(|i| i.starts_with("wasi:sockets/")),
        "{imports:?}"
    );
}

#[test]
fn the_hostile_guest_imports_clocks_random_and_filesystem_but_not_sockets() {
    let (imports, _) = interface(baton_artifacts::guest_hostile_bytes());
    for wanted in ["wasi:clocks", "wasi:random", "wasi:filesystem"] {
        assert!(
            imports.iter().any(|i| package(i) == wanted),
            "no {wanted}: {imports:?}"
        );
    }
    assert!(
        !imports.iter().any(|i| package(i) == "wasi:sockets"),
        "{imports:?}"
    );
}

#[test]
fn examples_are_the_five_procedures_with_object_params() {
    let names: Vec<&str> = EXAMPLES.iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [
            "hello",
            "grid-scan",
            "energy-scan",
            "temperature-ramp",
            "align"
        ]
    );
    for e in EXAMPLES {
        let params: serde_json::Value = serde_json::from_str(e.params_json).unwrap();
        assert!(
            params.is_object(),
            "{}: params.json is not an object",
            e.name
        );
        assert!(
            std::path::Path::new(e.dir).join("README.md").is_file(),
            "{} has no README",
            e.name
        );
    }
    assert_eq!(Example::named("align").map(|e| e.name), Some("align"));
    assert!(Example::named("nope").is_none());
}
