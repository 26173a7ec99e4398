//! Loading: what is refused, with which error and message.

use baton_host::sandbox::{InvalidComponent, LoadError};

use super::shared;
use super::wat;

async fn refused(bytes: &[u8]) -> LoadError {
    shared()
        .load(bytes)
        .await
        .expect_err("the load must be refused")
}

#[tokio::test]
async fn an_empty_file_is_not_a_component() {
    let err = refused(b"").await;
    assert!(
        matches!(err, LoadError::InvalidComponent(InvalidComponent::Empty)),
        "{err:?}"
    );
    assert_eq!(err.kind(), "invalid_component");
}

#[tokio::test]
async fn random_bytes_are_not_a_component() {
    let err = refused(&wat::noise(4096)).await;
    assert!(
        matches!(
            err,
            LoadError::InvalidComponent(InvalidComponent::NotWasm { .. })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("not WebAssembly"), "{err}");
}

#[tokio::test]
async fn a_component_header_followed_by_noise_is_malformed() {
    let mut bytes = b"\0asm\x0d\0\x01\0".to_vec();
    bytes.extend(wat::noise(512));
    let err = refused(&bytes).await;
    assert!(
        matches!(
            err,
            LoadError::InvalidComponent(InvalidComponent::Malformed(_))
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_core_module_is_not_a_component() {
    let err = refused(&wat::core_module()).await;
    assert!(
        matches!(
            err,
            LoadError::InvalidComponent(InvalidComponent::CoreModule)
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("core WebAssembly module"), "{err}");
}

#[tokio::test]
async fn a_precompiled_artifact_is_refused_and_never_deserialized() {
    // Compiled by some other wasmtime engine: exactly what a user must not be able to upload.
    let engine = wasmtime::Engine::default();
    let wasm = wat::procedure("precompiled", &wat::Behaviour::Trap);
    let artifact = engine.precompile_component(&wasm).unwrap();
    let err = refused(&artifact).await;
    assert!(
        matches!(
            err,
            LoadError::InvalidComponent(InvalidComponent::Precompiled)
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("precompiled"), "{err}");
}

#[tokio::test]
async fn a_wasi_http_import_is_refused_by_name() {
    let err = refused(&wat::importing("wasi:http/outgoing-handler@0.2.0")).await;
    let LoadError::ImportNotAllowed { imports } = &err else {
        panic!("expected ImportNotAllowed, got {err:?}");
    };
    assert_eq!(imports, &["wasi:http/outgoing-handler@0.2.0"]);
    assert!(
        err.to_string().contains("wasi:http/outgoing-handler@0.2.0"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unknown_package_is_refused_by_name() {
    let err = refused(&wat::importing("acme:telemetry/upload@1.0.0")).await;
    assert_eq!(err.kind(), "import_not_allowed");
    assert!(
        err.to_string().contains("acme:telemetry/upload@1.0.0"),
        "{err}"
    );
}

#[tokio::test]
async fn another_contract_version_is_a_world_mismatch_naming_it() {
    let err = refused(&wat::importing("baton:procedure/host@0.2.0")).await;
    assert!(matches!(err, LoadError::WorldMismatch(_)), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("baton:procedure@0.2.0"), "{message}");
    assert!(message.contains("baton:procedure@0.1.0"), "{message}");
}

#[tokio::test]
async fn a_missing_export_is_a_world_mismatch_naming_it() {
    let err = refused(&wat::empty_component()).await;
    assert!(matches!(err, LoadError::WorldMismatch(_)), "{err:?}");
    assert!(err.to_string().contains("describe"), "{err}");
}

#[tokio::test]
async fn a_mistyped_export_is_a_world_mismatch_naming_it() {
    let err = refused(&wat::mistyped_exports()).await;
    assert!(matches!(err, LoadError::WorldMismatch(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("type-checking export func `describe`"),
        "{err}"
    );
}

#[tokio::test]
async fn a_component_over_the_size_limit_is_refused_before_parsing() {
    let bytes = vec![0u8; shared().limits().max_component_bytes + 1];
    let err = refused(&bytes).await;
    assert!(
        matches!(
            err,
            LoadError::InvalidComponent(InvalidComponent::TooLarge { .. })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_good_component_loads_with_its_digest_and_description() {
    let wasm = wat::procedure(
        "loads-fine",
        &wat::Behaviour::Failed("nothing to do".into()),
    );
    let c = shared().load(&wasm).await.unwrap();
    assert_eq!(c.digest(), baton_host::sandbox::sha256_hex(&wasm));
    assert_eq!(c.digest().len(), 64);
    assert!(
        c.digest()
            .chars()
            .all(|ch| ch.is_ascii_hexdigit() && !ch.is_ascii_uppercase())
    );
    assert_eq!(c.info().name, "loads-fine");
    assert_eq!(c.info().version, "0.0.1");
    // Loading the same bytes again answers from memory.
    let again = shared().load(&wasm).await.unwrap();
    assert_eq!(again.source(), baton_host::sandbox::LoadSource::Memory);
    assert_eq!(shared().get(c.digest()).unwrap().digest(), c.digest());
}

#[tokio::test]
async fn an_evicted_component_is_loaded_again_and_old_handles_keep_working() {
    let dir = super::cache::TempDir::new("evict");
    let sandbox = baton_host::sandbox::Sandbox::new(baton_host::sandbox::SandboxConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        limits: baton_host::sandbox::Limits {
            max_instances: 2,
            ..Default::default()
        },
    })
    .unwrap();
    let wasm = wat::procedure("evicted", &wat::Behaviour::Failed("no".into()));
    let first = sandbox.load(&wasm).await.unwrap();
    sandbox.instantiate(&first).await.unwrap();
    assert!(sandbox.evict(first.digest()));
    assert!(!sandbox.evict(first.digest()));
    assert!(sandbox.get(first.digest()).is_none());
    // The handle from before still instantiates; a new load comes from the disk cache.
    sandbox.instantiate(&first).await.unwrap();
    let again = sandbox.load(&wasm).await.unwrap();
    assert_eq!(again.source(), baton_host::sandbox::LoadSource::DiskCache);
    assert_eq!(sandbox.stats().compiled, 1);
}
