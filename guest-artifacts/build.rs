//! Builds the guest components for `wasm32-wasip2` and writes `gen.rs` (see `src/lib.rs`).
//!
//! The pattern is wasmtime's test-programs-artifacts: a nested `cargo build` of the guest crates
//! of this same workspace, with its own target directory beside `OUT_DIR` (see
//! [`guest_target_dir`]) so it never waits on the lock of the build that runs this script, and
//! so everything stays inside the one target directory. The guests use `[profile.guest]` from
//! the root `Cargo.toml`.

use std::env;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "guest";

/// A guest crate: package name, directory relative to the workspace root, and whether it is an
/// example procedure (listed in `EXAMPLES`, with a `params.json`).
struct Guest {
    package: &'static str,
    dir: &'static str,
    example: bool,
}

const GUESTS: &[Guest] = &[
    Guest {
        package: "hello",
        dir: "procedures/hello",
        example: true,
    },
    Guest {
        package: "grid-scan",
        dir: "procedures/grid-scan",
        example: true,
    },
    Guest {
        package: "energy-scan",
        dir: "procedures/energy-scan",
        example: true,
    },
    Guest {
        package: "temperature-ramp",
        dir: "procedures/temperature-ramp",
        example: true,
    },
    Guest {
        package: "align",
        dir: "procedures/align",
        example: true,
    },
    Guest {
        package: "guest-hostile",
        dir: "tests/guests/hostile",
        example: false,
    },
    Guest {
        package: "guest-sockets",
        dir: "tests/guests/sockets",
        example: false,
    },
    Guest {
        package: "guest-script",
        dir: "tests/guests/script",
        example: false,
    },
];

fn main() {
    if let Err(message) = run() {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(var("CARGO_MANIFEST_DIR")?);
    let root = manifest_dir
        .parent()
        .ok_or("guest-artifacts has no parent directory")?
        .to_path_buf();
    let out_dir = PathBuf::from(var("OUT_DIR")?);
    let target_dir = guest_target_dir(&out_dir);

    rerun_if_changed(&root);
    check_target_installed()?;
    build_guests(&root, &target_dir)?;

    let wasm_dir = target_dir.join(TARGET).join(PROFILE);
    let code = generate(&root, &wasm_dir)?;
    let gen_path = out_dir.join("gen.rs");
    std::fs::write(&gen_path, code).map_err(|e| format!("writing {}: {e}", gen_path.display()))
}

/// Where the nested build puts its output: next to this crate's `OUT_DIR`s, in
/// `<target>/<profile>/build/baton-artifacts-guests`, so still inside the one target directory.
///
/// Not in `OUT_DIR` itself: `cargo clippy` runs this script in a different `OUT_DIR` than
/// `cargo build`/`cargo test` do, and a CI that runs both would build every guest twice. The
/// outer builds that share this directory hold the same profile's build lock, so they never
/// run this script concurrently; and the nested build locks only its own directory, so it never
/// waits on the outer build.
fn guest_target_dir(out_dir: &Path) -> PathBuf {
    match out_dir.parent().and_then(Path::parent) {
        Some(build) if build.file_name().is_some_and(|n| n == "build") => {
            build.join("baton-artifacts-guests")
        }
        _ => out_dir.join("guests"),
    }
}

fn var(name: &str) -> Result<String, String> {
    env::var(name).map_err(|_| format!("cargo did not set {name}"))
}

/// Editing a guest, the SDK, the WIT or the lock file rebuilds the components. Directories are
/// scanned recursively by cargo.
fn rerun_if_changed(root: &Path) {
    let mut paths = vec![
        root.join("wit"),
        root.join("guest-sdk"),
        root.join("Cargo.lock"),
        // `[profile.guest]` and the workspace dependencies live here.
        root.join("Cargo.toml"),
    ];
    for guest in GUESTS {
        let dir = root.join(guest.dir);
        paths.push(dir.join("src"));
        paths.push(dir.join("Cargo.toml"));
        if guest.example {
            paths.push(dir.join("params.json"));
        }
    }
    for path in paths {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS");
}

fn rustc() -> OsString {
    env::var_os("RUSTC").unwrap_or_else(|| "rustc".into())
}

/// Fails early, with the fix, when the standard library for the target is missing; otherwise
/// the nested build would bury the cause in a "can't find crate for `std`" error.
fn check_target_installed() -> Result<(), String> {
    let output = Command::new(rustc())
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("running `rustc --print sysroot`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`rustc --print sysroot` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let target_lib = sysroot.join("lib").join("rustlib").join(TARGET);
    if target_lib.is_dir() {
        Ok(())
    } else {
        Err(format!(
            "the `{TARGET}` target is not installed (no {}), and baton's guest components need \
             it: run `rustup target add {TARGET}`",
            target_lib.display()
        ))
    }
}

/// True when the outer build treats warnings as errors; the guests then do too.
fn outer_denies_warnings() -> bool {
    let encoded = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let flags: Vec<&str> = encoded.split('\x1f').collect();
    flags.contains(&"-Dwarnings")
        || flags.contains(&"--deny=warnings")
        || flags.windows(2).any(|w| w == ["-D", "warnings"])
}

fn build_guests(root: &Path, target_dir: &Path) -> Result<(), String> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .args(["--target", TARGET, "--profile", PROFILE]);
    for guest in GUESTS {
        cmd.args(["-p", guest.package]);
    }

    // Flags meant for the host build (and clippy, when the outer command is `cargo clippy`)
    // must not leak into the wasm build.
    for (key, _) in env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if matches!(
            key,
            "CARGO_ENCODED_RUSTFLAGS"
                | "RUSTFLAGS"
                | "CARGO_BUILD_RUSTFLAGS"
                | "RUSTC_WORKSPACE_WRAPPER"
                | "CLIPPY_ARGS"
                | "CARGO_BUILD_TARGET"
                | "CARGO_BUILD_TARGET_DIR"
        ) || key.starts_with("__CARGO")
        {
            cmd.env_remove(key);
        }
    }
    if outer_denies_warnings() {
        cmd.env("RUSTFLAGS", "-Dwarnings");
    }
    cmd.env("CARGO_TARGET_DIR", target_dir);
    // Cargo parses this script's stdout for directives: keep the nested build's output on
    // stderr, where cargo shows it if the build fails.
    cmd.stdout(Stdio::from(std::io::stderr()));
    cmd.stderr(Stdio::inherit());

    let status = cmd
        .status()
        .map_err(|e| format!("running {}: {e}", Path::new(&cargo).display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "building the guest components failed ({status}); the cargo output above says \
             why. To reproduce: cargo build --target {TARGET} --profile {PROFILE} -p <guest>"
        ))
    }
}

fn generate(root: &Path, wasm_dir: &Path) -> Result<String, String> {
    let mut code = String::from("// @generated by guest-artifacts/build.rs\n\n");
    let mut all = String::new();
    let mut examples = String::new();
    for guest in GUESTS {
        let file = format!("{}.wasm", guest.package.replace('-', "_"));
        let wasm = wasm_dir.join(&file);
        if !wasm.is_file() {
            return Err(format!(
                "the nested build succeeded but {} is missing",
                wasm.display()
            ));
        }
        let wasm = wasm.display().to_string();
        let upper = guest.package.replace('-', "_").to_uppercase();
        let lower = guest.package.replace('-', "_");
        let dir = root.join(guest.dir).display().to_string();
        // Formatting into a String cannot fail.
        let _ = write!(
            code,
            "/// Path of the `{pkg}` component.\n\
             pub const {upper}: &str = {wasm:?};\n\
             const {upper}_BYTES: &[u8] = include_bytes!({wasm:?});\n\
             /// The bytes of the `{pkg}` component.\n\
             pub const fn {lower}_bytes() -> &'static [u8] {{\n    {upper}_BYTES\n}}\n\n",
            pkg = guest.package,
        );
        let _ = writeln!(
            all,
            "    Component {{ name: {pkg:?}, path: {upper}, bytes: {upper}_BYTES }},",
            pkg = guest.package,
        );
        if guest.example {
            let params = root.join(guest.dir).join("params.json");
            if !params.is_file() {
                return Err(format!(
                    "example `{}` has no {}",
                    guest.package,
                    params.display()
                ));
            }
            let _ = writeln!(
                examples,
                "    Example {{ name: {pkg:?}, path: {upper}, bytes: {upper}_BYTES, \
                 params_json: include_str!({params:?}), dir: {dir:?} }},",
                pkg = guest.package,
                params = params.display().to_string(),
            );
        }
    }
    let _ = write!(
        code,
        "/// Every component this crate builds, example procedures and test guests alike.\n\
         pub const ALL: &[Component] = &[\n{all}];\n\n\
         /// The example procedures, to register or to check against their golden files.\n\
         pub const EXAMPLES: &[Example] = &[\n{examples}];\n"
    );
    Ok(code)
}
