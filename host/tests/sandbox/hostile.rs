//! Hostile guests (tests/guests/hostile, tests/guests/sockets): each is stopped by the limit it
//! attacks, the error says which, and afterwards the same sandbox still resolves a good
//! component.

use baton_host::domain::{Step, Value};
use baton_host::sandbox::{
    FIXED_WALL_CLOCK, LoadError, LoadedComponent, MapReader, NoReads, Resolution, ResolveError,
    ResolveFailure,
};

use super::shared;

async fn hostile() -> LoadedComponent {
    shared()
        .load(baton_artifacts::guest_hostile_bytes())
        .await
        .unwrap()
}

fn mode(mode: &str) -> Vec<(String, Value)> {
    vec![("mode".into(), Value::Text(mode.into()))]
}

async fn run(params: &[(String, Value)]) -> Result<Resolution, ResolveFailure> {
    shared().resolve(&hostile().await, params, &NoReads).await
}

async fn fails(m: &str) -> ResolveFailure {
    let failure = run(&mode(m))
        .await
        .expect_err("the hostile guest must be stopped");
    assert_still_serves().await;
    failure
}

/// The sandbox that just stopped a hostile guest still resolves a good component.
async fn assert_still_serves() {
    let hello = shared().load(baton_artifacts::hello_bytes()).await.unwrap();
    let r = shared().resolve(&hello, &[], &NoReads).await.unwrap();
    assert!(!r.steps.is_empty());
}

#[tokio::test]
async fn an_infinite_loop_runs_out_of_fuel_or_time() {
    let f = fails("loop").await;
    assert!(
        matches!(
            f.error,
            ResolveError::OutOfFuel { .. } | ResolveError::Deadline { .. }
        ),
        "{f:?}"
    );
}

#[tokio::test]
async fn a_memory_bomb_hits_the_memory_limit() {
    let f = fails("bomb").await;
    let ResolveError::MemoryLimit { requested, limit } = f.error else {
        panic!("expected MemoryLimit, got {f:?}");
    };
    assert_eq!(limit, shared().limits().memory_bytes);
    assert!(requested > limit, "{requested} > {limit}");
    // The guest's own account of it travels with the failure.
    assert!(f.log.contains("memory allocation of"), "{}", f.log);
}

#[tokio::test]
async fn unbounded_recursion_overflows_the_stack() {
    // Recursion on the wasm stack: the engine's stack limit stops it.
    let c = shared()
        .load(&super::wat::procedure(
            "recurses",
            &super::wat::Behaviour::Recurse,
        ))
        .await
        .unwrap();
    let f = shared().resolve(&c, &[], &NoReads).await.unwrap_err();
    assert_eq!(f.error, ResolveError::StackOverflow, "{f:?}");
    assert_still_serves().await;
}

#[tokio::test]
async fn recursion_through_the_guests_own_stack_is_stopped_at_its_bounds() {
    // The Rust guest keeps a buffer per frame on its shadow stack in linear memory; that stack
    // runs out before the wasm stack and the next frame lands outside the memory.
    let f = fails("recurse").await;
    let ResolveError::Trap { message } = &f.error else {
        panic!("expected Trap, got {:?}", f.error);
    };
    assert!(message.contains("out of bounds memory access"), "{message}");
    assert!(message.contains("recurses without bound"), "{message}");
}

#[tokio::test]
async fn a_panic_is_a_trap_carrying_the_panic_text_and_the_log() {
    let f = fails("panic").await;
    let ResolveError::Trap { message } = &f.error else {
        panic!("expected Trap, got {f:?}");
    };
    assert!(
        message.contains("deliberate panic: hostile guest"),
        "{message}"
    );
    assert!(message.contains("panicked at"), "{message}");
    // Logged through `host.log` before the panic.
    assert!(f.log.contains("about to panic"), "{}", f.log);
    assert_eq!(
        f.digest,
        baton_host::sandbox::sha256_hex(baton_artifacts::guest_hostile_bytes())
    );
}

#[tokio::test]
async fn ten_million_steps_do_not_fit() {
    // 10 million steps are ~640 MB in the canonical ABI alone: the guest cannot even build them
    // inside its memory cap, so it is stopped there, long before the host copies anything.
    let f = fails("ten-million").await;
    assert_eq!(f.kind(), "memory_limit", "{f:?}");
}

#[tokio::test]
async fn one_step_over_the_step_cap_is_output_too_large() {
    let max = shared().limits().max_steps;
    let mut params = mode("steps");
    params.push(("count".into(), Value::Int(max as i64 + 1)));
    let f = run(&params).await.expect_err("over the cap");
    let ResolveError::OutputTooLarge(message) = &f.error else {
        panic!("expected OutputTooLarge, got {f:?}");
    };
    assert!(
        message.contains(&format!("{} steps; the limit is {max}", max + 1)),
        "{message}"
    );
    // Exactly at the cap is fine.
    params[1].1 = Value::Int(max as i64);
    assert_eq!(run(&params).await.unwrap().steps.len(), max);
    assert_still_serves().await;
}

#[tokio::test]
async fn a_100_mib_string_is_output_too_large() {
    let f = fails("huge-string").await;
    assert_eq!(f.kind(), "output_too_large", "{f:?}");
}

#[tokio::test]
async fn a_string_over_the_string_cap_is_output_too_large() {
    let max = shared().limits().max_string_bytes;
    let mut params = mode("huge-string");
    params.push(("size".into(), Value::Int(max as i64 + 1)));
    let f = run(&params).await.expect_err("over the cap");
    assert_eq!(f.kind(), "output_too_large", "{f:?}");
    assert!(f.to_string().contains("text value"), "{f}");
    params[1].1 = Value::Int(max as i64);
    let r = run(&params).await.unwrap();
    let Step::Setpoint(s) = &r.steps[0] else {
        panic!("{r:?}")
    };
    assert!(matches!(&s.value, Value::Text(t) if t.len() == max));
}

#[tokio::test]
async fn a_guest_importing_sockets_is_refused_at_load_naming_the_import() {
    let err = shared()
        .load(baton_artifacts::guest_sockets_bytes())
        .await
        .unwrap_err();
    let LoadError::ImportNotAllowed { imports } = &err else {
        panic!("expected ImportNotAllowed, got {err:?}");
    };
    assert!(
        imports.iter().all(|i| i.starts_with("wasi:sockets/")),
        "{imports:?}"
    );
    assert!(
        imports.iter().any(|i| i.starts_with("wasi:sockets/tcp")),
        "{imports:?}"
    );
    assert!(err.to_string().contains("wasi:sockets/"), "{err}");
    assert_still_serves().await;
}

fn seen(r: &Resolution, channel: &str) -> String {
    r.steps
        .iter()
        .find_map(|s| match s {
            Step::Setpoint(sp) if &*sp.channel == channel => match &sp.value {
                Value::Text(t) => Some(t.clone()),
                _ => None,
            },
            _ => None,
        })
        .unwrap_or_else(|| panic!("no text setpoint on {channel}: {r:?}"))
}

#[tokio::test]
async fn a_sneaky_guest_sees_no_file_no_env_a_fixed_clock_and_is_reproducible() {
    let first = run(&mode("sneaky")).await.unwrap();
    assert!(
        seen(&first, "sneaky:file").starts_with("error:"),
        "{first:?}"
    );
    assert_eq!(
        seen(&first, "sneaky:wall_clock_ns"),
        FIXED_WALL_CLOCK.as_nanos().to_string()
    );
    assert_eq!(seen(&first, "sneaky:monotonic_elapsed_ns"), "0");
    assert_eq!(seen(&first, "sneaky:env_vars"), "0");
    assert_eq!(seen(&first, "sneaky:args"), "0");
    // Same parameters, same steps: clocks and random are fixed, not just the file refused.
    let second = run(&mode("sneaky")).await.unwrap();
    assert_eq!(first.steps, second.steps);
    assert_eq!(first.fuel_used, second.fuel_used);
}

#[tokio::test]
async fn reads_are_answered_by_the_reader_and_recorded() {
    let c = hostile().await;
    let mut params = mode("read");
    params.push(("channel".into(), Value::Text("sim:mx.rbv".into())));
    let reader = MapReader::new([("sim:mx.rbv".to_string(), Value::Float(4.25))]);
    let r = shared().resolve(&c, &params, &reader).await.unwrap();
    assert_eq!(
        r.reads,
        vec![("sim:mx.rbv".to_string(), Value::Float(4.25))]
    );
    let Step::Setpoint(s) = &r.steps[0] else {
        panic!("{r:?}")
    };
    assert_eq!(s.value, Value::Float(4.25));

    // Refused reads reach the guest as errors, and nothing is recorded.
    let f = shared().resolve(&c, &params, &NoReads).await.unwrap_err();
    assert_eq!(f.kind(), "failed", "{f:?}");
    assert!(f.to_string().contains("sim:mx.rbv"), "{f}");
    assert!(f.reads.is_empty());
}

#[tokio::test]
async fn stdout_stderr_and_log_lines_are_captured_and_bounded() {
    let mut params = mode("log");
    params.push(("count".into(), Value::Int(3)));
    let r = run(&params).await.unwrap();
    assert!(
        r.log.contains("log line 0\nlog line 1\nlog line 2\n"),
        "{}",
        r.log
    );
    assert!(r.log.contains("hostile guest: stdout"), "{}", r.log);
    assert!(r.log.contains("hostile guest: stderr"), "{}", r.log);

    // A chatty guest is truncated, not failed.
    params[1].1 = Value::Int(10_000);
    let r = match run(&params).await {
        Ok(r) => r,
        Err(f) => panic!("{} (log of {} bytes)", f.error, f.log.len()),
    };
    let cap = shared().limits().max_log_bytes;
    assert!(r.log.len() < cap + 200, "{}", r.log.len());
    assert!(
        r.log.contains("[log truncated:"),
        "{}",
        &r.log[r.log.len() - 200..]
    );
}

#[tokio::test]
async fn the_guests_own_refusals_are_typed() {
    let f = fails("invalid").await;
    assert_eq!(
        f.error,
        ResolveError::InvalidParams("hostile guest refuses: invalid".into())
    );
    let f = fails("failed").await;
    assert_eq!(
        f.error,
        ResolveError::Failed("hostile guest refuses: failed".into())
    );
    let f = run(&[("mode".into(), Value::Int(3))]).await.unwrap_err();
    assert_eq!(f.kind(), "invalid_params", "{f:?}");
}
