//! The caches: a second sandbox on the same cache directory (a restart) loads without
//! compiling, and an artifact that was tampered with on disk is never deserialized.

use std::path::{Path, PathBuf};

use baton_host::sandbox::{Limits, LoadSource, NoReads, Sandbox, SandboxConfig, SandboxStats};

use super::wat::{self, Behaviour, RawStep, RawValue};

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "baton-sandbox-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sandbox_on(dir: &Path) -> Sandbox {
    Sandbox::new(SandboxConfig {
        cache_dir: Some(dir.to_path_buf()),
        limits: Limits {
            max_instances: 4,
            ..Limits::default()
        },
    })
    .unwrap()
}

fn one_step() -> Vec<u8> {
    wat::procedure(
        "cached",
        &Behaviour::Plan {
            names: vec!["sim:mx".into()],
            steps: vec![RawStep::Setpoint {
                channel: 0,
                value: RawValue::Float(4.0),
                readback: None,
                tolerance: None,
                settle_ms: None,
            }],
        },
    )
}

fn artifact(dir: &Path, sandbox: &Sandbox, digest: &str) -> PathBuf {
    dir.join(sandbox.compatibility_key())
        .join(format!("{digest}.cwasm"))
}

#[tokio::test]
async fn a_restart_loads_from_disk_without_compiling() {
    let dir = TempDir::new("restart");
    let wasm = one_step();

    let first = sandbox_on(dir.path());
    let c = first.load(&wasm).await.unwrap();
    assert_eq!(c.source(), LoadSource::Compiled);
    assert_eq!(
        first.stats(),
        SandboxStats {
            compiled: 1,
            ..SandboxStats::default()
        }
    );
    let path = artifact(dir.path(), &first, c.digest());
    assert!(path.exists(), "artifact at {}", path.display());
    drop(first);

    let second = sandbox_on(dir.path());
    let c2 = second.load(&wasm).await.unwrap();
    assert_eq!(c2.source(), LoadSource::DiskCache);
    assert_eq!(
        second.stats(),
        SandboxStats {
            from_disk: 1,
            ..SandboxStats::default()
        }
    );
    assert_eq!(c2.digest(), c.digest());
    assert_eq!(c2.info(), c.info());
    let r = second.resolve(&c2, &[], &NoReads).await.unwrap();
    assert_eq!(r.steps.len(), 1);
    assert_eq!(r.steps[0].target(), "sim:mx");
}

#[tokio::test]
async fn a_tampered_artifact_is_recompiled_not_deserialized() {
    let dir = TempDir::new("tamper");
    let wasm = one_step();
    let first = sandbox_on(dir.path());
    let digest = first.load(&wasm).await.unwrap().digest().to_string();
    let path = artifact(dir.path(), &first, &digest);
    drop(first);

    // Flip one byte in the code: the recorded checksum no longer matches.
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();

    let second = sandbox_on(dir.path());
    let c = second.load(&wasm).await.unwrap();
    assert_eq!(c.source(), LoadSource::Compiled);
    assert_eq!(
        second.stats(),
        SandboxStats {
            compiled: 1,
            disk_rejected: 1,
            ..SandboxStats::default()
        }
    );
    assert_eq!(
        second.resolve(&c, &[], &NoReads).await.unwrap().steps.len(),
        1
    );
    // The recompiled artifact replaced the tampered one.
    assert_ne!(std::fs::read(&path).unwrap(), bytes);
    drop(second);
    let third = sandbox_on(dir.path());
    assert_eq!(
        third.load(&wasm).await.unwrap().source(),
        LoadSource::DiskCache
    );
}

#[tokio::test]
async fn an_artifact_without_its_checksum_is_not_trusted() {
    let dir = TempDir::new("nosum");
    let wasm = one_step();
    let first = sandbox_on(dir.path());
    let digest = first.load(&wasm).await.unwrap().digest().to_string();
    let path = artifact(dir.path(), &first, &digest);
    drop(first);
    std::fs::remove_file(path.with_extension("cwasm.sha256")).unwrap();

    let second = sandbox_on(dir.path());
    assert_eq!(
        second.load(&wasm).await.unwrap().source(),
        LoadSource::Compiled
    );
    assert_eq!(second.stats().disk_rejected, 1);
}

#[tokio::test]
async fn refused_components_are_not_cached_on_disk() {
    let dir = TempDir::new("refused");
    let sandbox = sandbox_on(dir.path());
    let wasm = wat::importing("wasi:http/outgoing-handler@0.2.0");
    assert!(sandbox.load(&wasm).await.is_err());
    let entries: Vec<_> = std::fs::read_dir(dir.path().join(sandbox.compatibility_key()))
        .unwrap()
        .collect();
    assert!(entries.is_empty(), "{entries:?}");
}

#[tokio::test]
async fn a_component_from_another_sandbox_is_not_run_here() {
    let dir = TempDir::new("other");
    let other = sandbox_on(dir.path());
    let c = other.load(&one_step()).await.unwrap();
    let err = super::shared()
        .resolve(&c, &[], &NoReads)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "not_loaded");
    let err = super::shared()
        .resolve_digest(&"0".repeat(64), &[], &NoReads)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "not_loaded");
}
