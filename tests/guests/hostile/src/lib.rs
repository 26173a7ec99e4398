//! A guest that misbehaves on purpose, for the sandbox's tests. Its `resolve` does what the
//! `mode` parameter says:
//!
//! | mode          | what happens                                                              |
//! |---------------|---------------------------------------------------------------------------|
//! | `ok`          | a small valid plan (2 steps)                                              |
//! | `loop`        | loops forever                                                             |
//! | `bomb`        | allocates (and touches) 1 MiB blocks until memory runs out                |
//! | `recurse`     | recurses without bound with 256-byte frames, which Rust keeps on its      |
//! |               | shadow stack in linear memory: traps with an out-of-bounds memory access  |
//! |               | when that stack runs out (what a real Rust guest does)                    |
//! | `recurse-wasm`| recurses without bound on scalars only, on the wasm call stack: the       |
//! |               | engine's stack limit stops it (`Trap::StackOverflow`)                     |
//! | `panic`       | logs "about to panic" through the host, then panics with `PANIC_MESSAGE`  |
//! | `ten-million` | returns 10 000 000 steps                                                  |
//! | `steps`       | returns `count` steps (default 10 000 000)                                |
//! | `huge-string` | returns one setpoint whose text value is `size` bytes (default 100 MiB)   |
//! | `sneaky`      | tries to read `/etc/passwd` and write a file, the clocks, randomness, env,|
//! |               | args and cwd through std; reports what it saw as text setpoints on        |
//! |               | `sneaky:*` channels (see [`SNEAKY_CHANNELS`])                             |
//! | `read`        | reads `channel` through the host and sets `target` to the value read      |
//! | `log`         | logs `count` lines through the host and prints to stdout and stderr, then `ok` |
//! | `invalid`     | refuses with `invalid-params`                                             |
//! | `failed`      | refuses with `failed`                                                     |
//!
//! An unknown mode is refused with `invalid-params` naming it.

use std::hint::black_box;

use baton_guest::prelude::*;

pub struct Hostile;

/// What `panic` mode panics with.
pub const PANIC_MESSAGE: &str = "deliberate panic: hostile guest";

/// The channels `sneaky` mode reports on, in order.
pub const SNEAKY_CHANNELS: &[&str] = &[
    "sneaky:file",
    "sneaky:write",
    "sneaky:wall_clock_ns",
    "sneaky:monotonic_elapsed_ns",
    "sneaky:random",
    "sneaky:env_vars",
    "sneaky:args",
    "sneaky:cwd",
];

/// Every mode, as the `mode` parameter names them.
pub const MODES: &[&str] = &[
    "ok",
    "loop",
    "bomb",
    "recurse",
    "recurse-wasm",
    "panic",
    "ten-million",
    "steps",
    "huge-string",
    "sneaky",
    "read",
    "log",
    "invalid",
    "failed",
];

impl Procedure for Hostile {
    fn describe() -> Info {
        Info::new(
            "guest-hostile",
            env!("CARGO_PKG_VERSION"),
            "Misbehaves on purpose according to `mode`, to test the sandbox.",
        )
        .param(ParamSpec::text("mode", "what to do (see the crate docs)").default("ok"))
        .param(ParamSpec::text("channel", "channel to read in `read` mode").default("sim:mx.rbv"))
        .param(ParamSpec::text("target", "channel to set in `read` mode").default("sim:mx"))
        .param(
            ParamSpec::int("count", "steps in `steps` mode, lines in `log` mode")
                .default(10_000_000),
        )
        .param(ParamSpec::int("size", "bytes of the text in `huge-string` mode").default(100 << 20))
    }

    fn resolve(params: &Params, host: &dyn Host) -> Result<Plan, ResolveError> {
        match params.text("mode")? {
            "ok" => Ok(ok_plan()),
            "loop" => spin(),
            "bomb" => bomb(),
            "recurse" => {
                let depth = recurse_shadow(black_box(1));
                Err(ResolveError::failed(format!("recursion ended at {depth}")))
            }
            "recurse-wasm" => {
                let depth = recurse_wasm(black_box(1));
                Err(ResolveError::failed(format!("recursion ended at {depth}")))
            }
            "panic" => {
                host.log("about to panic");
                panic!("{PANIC_MESSAGE}");
            }
            "ten-million" => Ok(many_steps(10_000_000)),
            "steps" => Ok(many_steps(params.count("count", 0..)?)),
            "huge-string" => {
                let size = params.count("size", 0..)?;
                let mut plan = Plan::new();
                plan.push(Setpoint::new("hostile:text", "x".repeat(size)));
                Ok(plan)
            }
            "sneaky" => Ok(sneaky()),
            "read" => {
                let channel = params.channel("channel")?;
                let target = params.channel("target")?;
                let value = host
                    .read(channel)
                    .map_err(|e| ResolveError::failed(format!("cannot read `{channel}`: {e}")))?;
                let mut plan = Plan::new();
                plan.push(Setpoint::new(target, value));
                Ok(plan)
            }
            "log" => {
                let count = params.count("count", 0..=1_000_000)?;
                for i in 0..count {
                    host.log(&format!("log line {i}"));
                }
                println!("hostile guest: stdout");
                eprintln!("hostile guest: stderr");
                Ok(ok_plan())
            }
            "invalid" => Err(ResolveError::invalid_params(
                "hostile guest refuses: invalid",
            )),
            "failed" => Err(ResolveError::failed("hostile guest refuses: failed")),
            other => Err(ResolveError::invalid_params(format!(
                "unknown mode {other:?}; modes: {}",
                MODES.join(", ")
            ))),
        }
    }
}

fn ok_plan() -> Plan {
    let mut plan = Plan::new();
    plan.push(
        Setpoint::new("sim:mx", 1.0)
            .readback("sim:mx.rbv")
            .tolerance(0.01),
    );
    plan.push(Action::new("sim:det", "acquire").arg("exposure_s", 0.1));
    plan
}

/// Never returns. `black_box` keeps the loop from being proven side-effect free.
fn spin() -> ! {
    let mut i: u64 = 0;
    loop {
        i = black_box(i.wrapping_add(1));
    }
}

/// Allocates until the allocator gives up (which aborts the guest). Every block is written so
/// the memory is really committed, and kept so nothing is freed.
fn bomb() -> ! {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; 1 << 20];
        block[black_box(0)] = 1;
        blocks.push(black_box(block));
    }
}

/// Unbounded, non-tail recursion on scalars only, so every frame lives on the wasm call stack
/// and nothing on Rust's shadow stack in linear memory: the engine's stack limit is what stops
/// it (a trap "call stack exhausted"). The result feeds an expression after the call, so it is
/// not a tail call, and the expression is not a plain accumulator LLVM could turn into a loop.
#[inline(never)]
fn recurse_wasm(depth: u64) -> u64 {
    if depth == u64::MAX {
        return depth;
    }
    recurse_wasm(depth + 1).rotate_left(7) ^ depth
}

/// The same with a 256-byte buffer per frame, which Rust keeps on its shadow stack in linear
/// memory: that stack runs out first, and the guest traps with an out-of-bounds memory access
/// (what a real guest with big frames does).
#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse_shadow(depth: u64) -> u64 {
    let frame = black_box([depth; 32]);
    let below = recurse_shadow(black_box(depth + 1));
    black_box(frame[(depth % 32) as usize]).wrapping_add(below)
}

/// `n` of the smallest steps, preallocated so the guest fails (if it does) at a known size
/// rather than in a doubling.
fn many_steps(n: usize) -> Plan {
    let mut plan = Plan::with_capacity(n);
    let channel = plan.name("hostile:n");
    for i in 0..n {
        plan.push(Setpoint::new(channel, i as f64));
    }
    plan
}

/// Pokes at the outside world through std and reports what it saw. In the sandbox: no file,
/// no env, no args, clocks and randomness that are the same on every run.
fn sneaky() -> Plan {
    let file = match std::fs::read_to_string("/etc/passwd") {
        Ok(s) => format!("read {} bytes", s.len()),
        Err(e) => format!("error: {e}"),
    };
    // Only inside the sandbox: natively (in `cargo test`) this would really write the file.
    let write = if cfg!(target_arch = "wasm32") {
        match std::fs::write("/tmp/baton-hostile-guest", "was here") {
            Ok(()) => "wrote /tmp/baton-hostile-guest".to_owned(),
            Err(e) => format!("error: {e}"),
        }
    } else {
        "not attempted outside wasm".to_owned()
    };
    let wall = match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_nanos().to_string(),
        Err(e) => format!("before the epoch by {:?}", e.duration()),
    };
    let start = std::time::Instant::now();
    black_box(ok_plan());
    let monotonic = start.elapsed().as_nanos().to_string();
    let random = {
        use std::hash::BuildHasher;
        // RandomState seeds itself from `wasi:random`: a fixed source gives a fixed hash.
        std::collections::hash_map::RandomState::new()
            .hash_one(42u64)
            .to_string()
    };
    let env = std::env::vars().count().to_string();
    let args = std::env::args().count().to_string();
    let cwd = match std::env::current_dir() {
        Ok(p) => p.display().to_string(),
        Err(e) => format!("error: {e}"),
    };

    let mut plan = Plan::new();
    for (channel, seen) in [
        ("sneaky:file", file),
        ("sneaky:write", write),
        ("sneaky:wall_clock_ns", wall),
        ("sneaky:monotonic_elapsed_ns", monotonic),
        ("sneaky:random", random),
        ("sneaky:env_vars", env),
        ("sneaky:args", args),
        ("sneaky:cwd", cwd),
    ] {
        plan.push(Setpoint::new(channel, seen));
    }
    plan
}

baton_guest::export_procedure!(Hostile);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use baton_guest::testing::Harness;

    // Only the modes that terminate natively are exercised here; the others are the sandbox's
    // to stop.

    #[test]
    fn ok_mode_is_a_valid_plan() {
        assert!(Hostile::describe().check().is_ok());
        let r = Harness::<Hostile>::new().resolve().unwrap();
        assert_eq!(r.steps.len(), 2);
    }

    #[test]
    fn read_mode_sets_the_target_to_the_value_read() {
        let h = Harness::<Hostile>::new()
            .param("mode", "read")
            .reading("sim:mx.rbv", 4.25);
        let r = h.resolve().unwrap();
        assert_eq!(r.floats_on("sim:mx"), [4.25]);
        assert_eq!(h.reads(), ["sim:mx.rbv"]);
    }

    #[test]
    fn steps_mode_returns_exactly_count_steps() {
        let r = Harness::<Hostile>::new()
            .param("mode", "steps")
            .param("count", 1234_i64)
            .resolve()
            .unwrap();
        assert_eq!(r.plan.len(), 1234);
        assert_eq!(r.plan.names().len(), 1);
    }

    #[test]
    fn huge_string_mode_returns_a_text_of_the_given_size() {
        let r = Harness::<Hostile>::new()
            .param("mode", "huge-string")
            .param("size", 4096_i64)
            .resolve()
            .unwrap();
        assert!(matches!(r.steps[0].setpoint_value(), Some(Value::Text(s)) if s.len() == 4096));
    }

    #[test]
    fn refusal_and_unknown_modes() {
        let e = Harness::<Hostile>::new()
            .param("mode", "invalid")
            .resolve()
            .unwrap_err();
        assert!(matches!(e, ResolveError::InvalidParams(_)));
        let e = Harness::<Hostile>::new()
            .param("mode", "failed")
            .resolve()
            .unwrap_err();
        assert!(matches!(e, ResolveError::Failed(_)));
        let e = Harness::<Hostile>::new()
            .param("mode", "dance")
            .resolve()
            .unwrap_err();
        assert!(e.message().contains("\"dance\""), "{e}");
    }

    #[test]
    fn sneaky_mode_reports_every_probe() {
        let r = Harness::<Hostile>::new()
            .param("mode", "sneaky")
            .resolve()
            .unwrap();
        let channels: Vec<&str> = r.steps.iter().map(|s| s.target()).collect();
        assert_eq!(channels, SNEAKY_CHANNELS);
        assert_eq!(
            r.steps[1].setpoint_value(),
            Some(&Value::Text("not attempted outside wasm".into()))
        );
        assert!(
            r.steps
                .iter()
                .all(|s| matches!(s.setpoint_value(), Some(Value::Text(_))))
        );
    }

    #[test]
    fn panic_mode_logs_then_panics_with_the_message() {
        let h = Harness::<Hostile>::new().param("mode", "panic");
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.resolve()));
        let payload = caught.unwrap_err();
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert_eq!(message, PANIC_MESSAGE);
        assert_eq!(h.log(), ["about to panic"]);
    }
}
