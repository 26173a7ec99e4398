//! Every example procedure validates and resolves to its golden steps
//! (`procedures/<name>/golden.json`). Run with `BATON_BLESS=1` to write the golden files from
//! the current resolutions; review the diff before committing them.

use std::path::{Path, PathBuf};

use baton_host::cli::validate::golden_diff;
use baton_host::domain::{Step, Value};
use baton_host::sandbox::MapReader;

use super::shared;

/// What the examples read through the host (only `align` reads): the motor sits at 0.25 mm.
pub const READS_JSON: &str = r#"{ "sim:mx.rbv": 0.25 }"#;

fn reads() -> MapReader {
    MapReader::new([("sim:mx.rbv".to_string(), Value::Float(0.25))])
}

pub fn golden_path(example: &baton_artifacts::Example) -> PathBuf {
    Path::new(example.dir).join("golden.json")
}

fn blessing() -> bool {
    std::env::var_os("BATON_BLESS").is_some_and(|v| v != "0")
}

#[tokio::test]
async fn every_example_resolves_to_its_golden_steps() {
    assert!(baton_artifacts::EXAMPLES.len() >= 5);
    for example in baton_artifacts::EXAMPLES {
        let c = shared()
            .load(example.bytes)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", example.name));
        assert_eq!(c.info().name, example.name);
        let json: serde_json::Value = serde_json::from_str(example.params_json).unwrap();
        let given = c.info().params_from_json(&json).unwrap();
        let params = c.info().with_defaults(&given);
        let r = shared()
            .resolve(&c, &params, &reads())
            .await
            .unwrap_or_else(|f| panic!("{}: {f} (log: {})", example.name, f.log));
        assert!(!r.steps.is_empty(), "{}", example.name);
        if example.name == "align" {
            assert_eq!(
                r.reads,
                vec![("sim:mx.rbv".to_string(), Value::Float(0.25))]
            );
        } else {
            assert!(r.reads.is_empty(), "{}: {:?}", example.name, r.reads);
        }

        let path = golden_path(example);
        if blessing() {
            let mut text = serde_json::to_string_pretty(&r.steps).unwrap();
            text.push('\n');
            std::fs::write(&path, text).unwrap();
            continue;
        }
        let golden = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: cannot read {} ({e}); run with BATON_BLESS=1 to write it",
                example.name,
                path.display()
            )
        });
        let golden: Vec<Step> = serde_json::from_slice(&golden).unwrap();
        if let Some(diff) = golden_diff(&golden, &r.steps, 5) {
            panic!(
                "{}: resolved steps differ from {}:\n{diff}",
                example.name,
                path.display()
            );
        }

        // And again: the same parameters give the same steps.
        let again = shared().resolve(&c, &params, &reads()).await.unwrap();
        assert_eq!(again.steps, r.steps, "{}", example.name);
    }
}

#[test]
fn every_example_passes_baton_validate_with_its_golden_file() {
    if blessing() {
        return;
    }
    let dir = super::cache::TempDir::new("examples");
    let reads = dir.path().join("reads.json");
    std::fs::write(&reads, READS_JSON).unwrap();
    for example in baton_artifacts::EXAMPLES {
        let params = Path::new(example.dir).join("params.json");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
            .arg("validate")
            .arg(example.path)
            .arg("--params")
            .arg(&params)
            .arg("--golden")
            .arg(golden_path(example))
            .arg("--reads")
            .arg(&reads)
            .arg("--json")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{}: {stdout}", example.name);
        let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(report["valid"], true, "{}", example.name);
        assert_eq!(report["golden"]["matched"], true, "{}", example.name);
        assert_eq!(report["info"]["name"], example.name);
    }
}
