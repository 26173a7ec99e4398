//! The on-disk cache of precompiled components. An artifact lives under
//! `<cache dir>/<engine compatibility key>/<wasm sha256>.cwasm`, with the sha256 of the artifact
//! itself in `<...>.cwasm.sha256` beside it. Only artifacts this process family wrote are ever
//! deserialized, and only after their checksum matches: deserializing is trusting the bytes as
//! machine code, so a tampered or truncated artifact is discarded and the component recompiled.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest as _, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::error::SandboxError;
use super::loader::error_chain;

/// sha256 of bytes, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub(crate) struct DiskCache {
    dir: PathBuf,
}

/// What a lookup found.
pub(crate) enum DiskLookup {
    Miss,
    Hit(Component),
    /// An artifact was there but is not usable (checksum mismatch, unreadable, or from an
    /// incompatible engine); the reason is logged and the component recompiled.
    Rejected(String),
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl DiskCache {
    pub(crate) fn open(base: &Path, compatibility_key: &str) -> Result<DiskCache, SandboxError> {
        let dir = base.join(compatibility_key);
        std::fs::create_dir_all(&dir).map_err(|source| SandboxError::CacheDir {
            path: dir.clone(),
            source,
        })?;
        Ok(DiskCache { dir })
    }

    pub(crate) fn artifact_path(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}.cwasm"))
    }

    fn checksum_path(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}.cwasm.sha256"))
    }

    pub(crate) fn load(&self, engine: &Engine, digest: &str) -> DiskLookup {
        let artifact = match std::fs::read(self.artifact_path(digest)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return DiskLookup::Miss,
            Err(e) => return DiskLookup::Rejected(format!("cannot read the artifact: {e}")),
        };
        let recorded = match std::fs::read_to_string(self.checksum_path(digest)) {
            Ok(s) => s.trim().to_string(),
            Err(e) => {
                return DiskLookup::Rejected(format!("cannot read the artifact's checksum: {e}"));
            }
        };
        let actual = sha256_hex(&artifact);
        if actual != recorded {
            return DiskLookup::Rejected(format!(
                "artifact checksum mismatch (recorded {recorded}, found {actual})"
            ));
        }
        #[allow(unsafe_code)]
        // SAFETY: the file was produced by `Component::serialize` of an engine with the same
        // compatibility key (it names the directory) and its bytes match the checksum recorded
        // when it was written. The cache directory is trusted storage: user-supplied bytes never
        // reach it (`check_bytes` refuses precompiled uploads; only `store` writes here), and
        // `store` replaces files by rename, never in place, so a mapped file does not change.
        let component = unsafe { Component::deserialize_file(engine, self.artifact_path(digest)) };
        match component {
            Ok(c) => DiskLookup::Hit(c),
            Err(e) => DiskLookup::Rejected(format!("cannot deserialize: {}", error_chain(&e))),
        }
    }

    /// Writes the artifact and its checksum, each atomically (temp file, then rename).
    pub(crate) fn store(&self, digest: &str, component: &Component) -> Result<(), String> {
        let artifact = component.serialize().map_err(|e| error_chain(&e))?;
        let checksum = sha256_hex(&artifact);
        self.write_atomic(&self.artifact_path(digest), &artifact)
            .map_err(|e| format!("cannot write the artifact: {e}"))?;
        self.write_atomic(&self.checksum_path(digest), checksum.as_bytes())
            .map_err(|e| format!("cannot write the checksum: {e}"))
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp.{}.{n}", std::process::id()));
        let result = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}
