//! Loading, step by step: check the bytes (empty, too large, precompiled, not wasm, a core
//! module), compile them as a component, check the imports against the allow-list and the
//! resources against the pool, and link against the world (which checks the exports). Each step
//! refuses with a message that names the problem.

use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use super::bindings::ProcedurePre;
use super::error::{InvalidComponent, LoadError};
use super::imports::check_imports;
use super::limits::Limits;
use super::state::HostState;

const WASM_MAGIC: &[u8; 4] = b"\0asm";
/// Version and layer of a core module (`01 00 00 00`); components use `0d 00 01 00`.
const CORE_MODULE_VERSION: [u8; 4] = [1, 0, 0, 0];

/// The cheap checks, before anything is parsed.
pub(crate) fn check_bytes(bytes: &[u8], limits: &Limits) -> Result<(), InvalidComponent> {
    if bytes.is_empty() {
        return Err(InvalidComponent::Empty);
    }
    if bytes.len() > limits.max_component_bytes {
        return Err(InvalidComponent::TooLarge {
            size: bytes.len(),
            limit: limits.max_component_bytes,
        });
    }
    // Never hand a user's precompiled artifact to `deserialize`: it would be trusted as code.
    if Engine::detect_precompiled(bytes).is_some() {
        return Err(InvalidComponent::Precompiled);
    }
    if !bytes.starts_with(WASM_MAGIC) {
        return Err(InvalidComponent::NotWasm {
            head: describe_head(bytes),
        });
    }
    if bytes.get(4..8) == Some(&CORE_MODULE_VERSION[..]) {
        return Err(InvalidComponent::CoreModule);
    }
    Ok(())
}

/// The first bytes of a file, readable: text if they are printable, hex otherwise.
fn describe_head(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(8)];
    if head.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("\"{}\"", String::from_utf8_lossy(head))
    } else {
        head.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Validates and compiles user bytes. Binary only: a user never gets the text parser.
pub(crate) fn compile(engine: &Engine, bytes: &[u8]) -> Result<Component, InvalidComponent> {
    Component::from_binary(engine, bytes).map_err(|e| InvalidComponent::Malformed(error_chain(&e)))
}

/// Checks imports against the allow-list and resources against the pool.
pub(crate) fn check_component(
    engine: &Engine,
    component: &Component,
    limits: &Limits,
) -> Result<(), LoadError> {
    let ty = component.component_type();
    check_imports(ty.imports(engine).map(|(name, _)| name))?;
    if let Some(needs) = component.resources_required() {
        if needs.num_memories > 1 {
            return Err(InvalidComponent::Resources(format!(
                "the component defines {} linear memories; a procedure may have 1",
                needs.num_memories
            ))
            .into());
        }
        if let Some(initial) = needs.max_initial_memory_size
            && initial > limits.memory_bytes as u64
        {
            return Err(InvalidComponent::Resources(format!(
                "the component's initial memory is {initial} bytes; the cap is {}",
                limits.memory_bytes
            ))
            .into());
        }
    }
    Ok(())
}

/// Links the component against the host's world; a missing or mistyped import or export is a
/// world mismatch, named by wasmtime's type checker.
pub(crate) fn link(
    linker: &Linker<HostState>,
    component: &Component,
) -> Result<ProcedurePre<HostState>, LoadError> {
    let pre = linker
        .instantiate_pre(component)
        .map_err(|e| LoadError::WorldMismatch(error_chain(&e)))?;
    ProcedurePre::new(pre).map_err(|e| LoadError::WorldMismatch(error_chain(&e)))
}

/// An error and its causes on one line.
pub(crate) fn error_chain(e: &wasmtime::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn bytes_are_named_for_what_they_are() {
        let limits = Limits::default();
        assert_eq!(check_bytes(b"", &limits), Err(InvalidComponent::Empty));
        assert_eq!(
            check_bytes(b"\0asm\x01\0\0\0", &limits),
            Err(InvalidComponent::CoreModule)
        );
        assert_eq!(
            check_bytes(b"hello world", &limits),
            Err(InvalidComponent::NotWasm {
                head: "\"hello wo\"".into()
            })
        );
        assert_eq!(
            check_bytes(&[0xde, 0xad, 0xbe, 0xef], &limits),
            Err(InvalidComponent::NotWasm {
                head: "de ad be ef".into()
            })
        );
        assert!(check_bytes(b"\0asm\x0d\0\x01\0", &limits).is_ok());
        let small = Limits {
            max_component_bytes: 4,
            ..Limits::default()
        };
        assert_eq!(
            check_bytes(b"\0asm\x0d\0\x01\0", &small),
            Err(InvalidComponent::TooLarge { size: 8, limit: 4 })
        );
    }
}
