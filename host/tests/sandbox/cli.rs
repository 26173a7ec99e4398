//! `baton validate` through the built binary: exit codes, the text and `--json` reports, and
//! `--golden` / `--bless`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::cache::TempDir;
use super::wat::{self, Behaviour, RawStep, RawValue};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn baton(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().expect("exited normally"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn scan() -> Vec<u8> {
    wat::procedure(
        "cli-scan",
        &Behaviour::Plan {
            names: vec!["sim:mx".into(), "sim:det".into(), "acquire".into()],
            steps: vec![
                RawStep::Setpoint {
                    channel: 0,
                    value: RawValue::Float(1.0),
                    readback: None,
                    tolerance: None,
                    settle_ms: None,
                },
                RawStep::Action {
                    device: 1,
                    command: 2,
                    args: vec![],
                    timeout_ms: None,
                },
                RawStep::Setpoint {
                    channel: 0,
                    value: RawValue::Float(2.0),
                    readback: None,
                    tolerance: None,
                    settle_ms: None,
                },
            ],
        },
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_valid_component_exits_0_with_a_report() {
    let dir = TempDir::new("cli-valid");
    let wasm = write(dir.path(), "scan.wasm", &scan());
    let run = baton(&["validate", s(&wasm)]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("procedure  cli-scan 0.0.1"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("resolved   3 steps (2 setpoints, 0 checks, 1 actions)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("fuel       "), "{}", run.stdout);
    assert!(run.stdout.contains("MiB peak"), "{}", run.stdout);
    assert!(run.stdout.trim_end().ends_with("valid"), "{}", run.stdout);
}

#[test]
fn json_reports_carry_valid_error_info_steps_and_fuel() {
    let dir = TempDir::new("cli-json");
    let wasm = write(dir.path(), "scan.wasm", &scan());
    let run = baton(&["validate", s(&wasm), "--json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["valid"], true);
    assert!(report["error"].is_null());
    assert_eq!(report["info"]["name"], "cli-scan");
    assert_eq!(report["steps"].as_array().unwrap().len(), 3);
    assert_eq!(report["steps"][1]["kind"], "action");
    assert!(report["fuel"].as_u64().unwrap() > 0);

    let bad = write(
        dir.path(),
        "http.wasm",
        &wat::importing("wasi:http/outgoing-handler@0.2.0"),
    );
    let run = baton(&["validate", s(&bad), "--json"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["error"]["kind"], "import_not_allowed");
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("wasi:http/outgoing-handler@0.2.0")
    );
}

#[test]
fn invalid_components_exit_1_naming_the_reason() {
    let dir = TempDir::new("cli-invalid");
    let core = write(dir.path(), "core.wasm", &wat::core_module());
    let run = baton(&["validate", s(&core)]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("invalid (invalid_component)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("core WebAssembly module"),
        "{}",
        run.stdout
    );

    let refuses = write(
        dir.path(),
        "refuses.wasm",
        &wat::procedure("refuses", &Behaviour::InvalidParams("x is missing".into())),
    );
    let run = baton(&["validate", s(&refuses), "--json"]);
    assert_eq!(run.code, 1);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["error"]["kind"], "invalid_params");
    assert_eq!(report["info"]["name"], "refuses");
}

#[test]
fn usage_errors_exit_2() {
    let dir = TempDir::new("cli-usage");
    // No component argument: clap's own usage error.
    assert_eq!(baton(&["validate"]).code, 2);
    let missing = dir.path().join("missing.wasm");
    let run = baton(&["validate", s(&missing)]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("cannot read component"),
        "{}",
        run.stdout
    );

    let wasm = write(dir.path(), "scan.wasm", &scan());
    let params = write(dir.path(), "params.json", b"{ not json");
    let run = baton(&["validate", s(&wasm), "--params", s(&params), "--json"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["error"]["kind"], "usage");
    // --bless only makes sense with --golden.
    assert_eq!(baton(&["validate", s(&wasm), "--bless"]).code, 2);
}

#[test]
fn golden_files_are_blessed_compared_and_diffed() {
    let dir = TempDir::new("cli-golden");
    let wasm = write(dir.path(), "scan.wasm", &scan());
    let golden = dir.path().join("golden.json");
    let run = baton(&["validate", s(&wasm), "--golden", s(&golden), "--bless"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("golden     written to"),
        "{}",
        run.stdout
    );

    let run = baton(&["validate", s(&wasm), "--golden", s(&golden)]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("golden     matches"), "{}", run.stdout);

    // Change the last step's value in the golden file: the diff names step 2 and both values.
    let mut steps: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&golden).unwrap()).unwrap();
    steps[2]["value"]["value"] = serde_json::json!(2.5);
    std::fs::write(&golden, serde_json::to_vec_pretty(&steps).unwrap()).unwrap();
    let run = baton(&["validate", s(&wasm), "--golden", s(&golden)]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("invalid (golden_mismatch)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("1 of 3 steps differ (first at step 2)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("\"value\":2.5"), "{}", run.stdout);

    let run = baton(&["validate", s(&wasm), "--golden", s(&golden), "--json"]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["golden"]["matched"], false);
    assert!(
        report["golden"]["diff"]
            .as_str()
            .unwrap()
            .contains("step 2")
    );

    // A golden file that is not a list of steps is a usage error.
    let junk = write(dir.path(), "junk.json", b"{\"steps\": 3}");
    assert_eq!(baton(&["validate", s(&wasm), "--golden", s(&junk)]).code, 2);
}
