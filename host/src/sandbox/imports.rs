//! The import allow-list (docs/contract.md#imports), checked at load so a scientist gets a message naming the
//! offending import instead of a linker error: `baton:procedure/*` at exactly the contract's
//! version, and the WASI interfaces a Rust guest's std pulls in (`wasi:io`, `wasi:cli`,
//! `wasi:clocks`, `wasi:random`, and `wasi:filesystem`, harmless without preopens). Anything else
//! (`wasi:sockets`, `wasi:http`, unknown packages) is refused.

use super::error::LoadError;

/// The contract the host implements.
pub const CONTRACT_PACKAGE: &str = "baton:procedure";
pub const CONTRACT_VERSION: &str = "0.1.0";

const ALLOWED_WASI: [&str; 5] = [
    "wasi:io/",
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
];

/// Checks a component's import names against the allow-list.
pub(crate) fn check_imports<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<(), LoadError> {
    let mut refused = Vec::new();
    for name in names {
        if let Some(rest) = name
            .strip_prefix(CONTRACT_PACKAGE)
            .and_then(|r| r.strip_prefix('/'))
        {
            match rest.split_once('@') {
                Some((_, CONTRACT_VERSION)) => {}
                Some((_, version)) => {
                    return Err(LoadError::WorldMismatch(format!(
                        "the component was built against {CONTRACT_PACKAGE}@{version} (import \
                         `{name}`); this host implements {CONTRACT_PACKAGE}@{CONTRACT_VERSION}"
                    )));
                }
                None => {
                    return Err(LoadError::WorldMismatch(format!(
                        "import `{name}` has no version; this host implements \
                         {CONTRACT_PACKAGE}@{CONTRACT_VERSION}"
                    )));
                }
            }
        } else if !ALLOWED_WASI.iter().any(|p| name.starts_with(p)) {
            refused.push(name.to_string());
        }
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(LoadError::ImportNotAllowed { imports: refused })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_rust_guest_imports_are_allowed() {
        check_imports([
            "baton:procedure/types@0.1.0",
            "baton:procedure/host@0.1.0",
            "wasi:io/streams@0.2.6",
            "wasi:cli/stderr@0.2.6",
            "wasi:clocks/wall-clock@0.2.6",
            "wasi:random/insecure-seed@0.2.6",
            "wasi:filesystem/preopens@0.2.6",
        ])
        .unwrap();
    }

    #[test]
    fn sockets_http_and_unknown_packages_are_named() {
        let err = check_imports([
            "wasi:io/streams@0.2.6",
            "wasi:sockets/tcp@0.2.6",
            "wasi:http/outgoing-handler@0.2.0",
            "acme:spy/phone-home",
        ])
        .unwrap_err();
        let LoadError::ImportNotAllowed { imports } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(
            imports,
            &[
                "wasi:sockets/tcp@0.2.6",
                "wasi:http/outgoing-handler@0.2.0",
                "acme:spy/phone-home"
            ]
        );
        assert!(err.to_string().contains("wasi:sockets/tcp@0.2.6"));
    }

    #[test]
    fn another_contract_version_is_a_world_mismatch() {
        let err = check_imports(["baton:procedure/host@0.2.0"]).unwrap_err();
        assert_eq!(err.kind(), "world_mismatch");
        assert!(err.to_string().contains("baton:procedure@0.2.0"), "{err}");
        // A look-alike package is not the contract.
        let err = check_imports(["baton:procedures/host@0.1.0"]).unwrap_err();
        assert_eq!(err.kind(), "import_not_allowed");
    }
}
