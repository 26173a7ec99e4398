//! event-model's own validators: the documents piped as JSON lines through
//! `tests/documents/validate.py` in the venv `scripts/setup-epics.sh` makes (found as the EPICS
//! harness finds it: `BATON_EPICS_PYTHON`, else `.venv/bin/python` at the repository root).
//! Under `CI=true` a missing venv fails; elsewhere the test says loudly that it skipped.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

pub fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| dir.join("tests/documents/validate.py").is_file())
        .unwrap_or_else(|| {
            panic!(
                "no tests/documents/validate.py above {}",
                manifest.display()
            )
        })
        .to_path_buf()
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The venv's python, or `None` (after a banner) when there is none outside CI.
pub fn python() -> Option<PathBuf> {
    let python = std::env::var_os("BATON_EPICS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv/bin/python"));
    if python.exists() {
        return Some(python);
    }
    if in_ci() {
        panic!(
            "{} is missing, and CI=true: event-model's validators must run (scripts/setup-epics.sh makes the venv)",
            python.display()
        );
    }
    // Straight to the stderr handle: libtest captures `eprintln!`, not this.
    let _ = writeln!(
        std::io::stderr(),
        "\n================ EVENT-MODEL (PYTHON) CHECK SKIPPED ================\n\
         {} is missing, so the documents were NOT checked by event-model's\n\
         own validators. Run scripts/setup-epics.sh, or set BATON_EPICS_PYTHON.\n\
         ===================================================================\n",
        python.display()
    );
    None
}

/// Runs `tests/documents/load_jsonl.py` on the file; its stdout (one JSON summary) on success.
/// (Used by the API tests, which include this file, on the exports they fetch.)
#[allow(dead_code)]
pub fn load_jsonl(python: &PathBuf, file: &std::path::Path) -> Result<String, String> {
    let output = Command::new(python)
        .arg(repo_root().join("tests/documents/load_jsonl.py"))
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("{} does not run: {e}", python.display()));
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Pipes `lines` (`[name, doc]` JSON, one per line) through validate.py; its stdout on success.
pub fn validate(python: &PathBuf, lines: &str) -> Result<String, String> {
    let mut child = Command::new(python)
        .arg(repo_root().join("tests/documents/validate.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{} does not run: {e}", python.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
