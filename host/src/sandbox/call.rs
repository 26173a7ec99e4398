//! One guest call, start to finish: a fresh `Store` with every limit set (memory, fuel, epoch
//! deadline, host-call data), instantiate from the pre-instantiated component, call, and turn
//! whatever stopped the guest into a `ResolveError` that names the limit. The store is dropped
//! when the call returns; it is never reused, trapped or not.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use wasmtime::{Engine, Store, Trap, UpdateDeadline};

use super::bindings::ProcedurePre;
use super::bindings::baton::procedure::types as wit;
use super::error::ResolveError;
use super::limits::Limits;
use super::loader::error_chain;
use super::reader::ChannelReader;
use super::state::{HostState, ReadRequest};
use crate::domain::Value;

/// Beyond the epoch deadline, how long the outer timeout waits before dropping a call that is
/// stuck in a host call (a guest sleeping through `poll`, a slow reader): epochs only interrupt
/// running wasm.
const OUTER_GRACE: Duration = Duration::from_millis(250);

/// What a call left behind, success or not.
pub(crate) struct CallRecord<R> {
    pub(crate) result: Result<R, ResolveError>,
    pub(crate) log: String,
    pub(crate) reads: Vec<(String, Value)>,
    pub(crate) fuel_used: Option<u64>,
    pub(crate) peak_memory_bytes: u64,
}

fn new_store(
    engine: &Engine,
    limits: &Limits,
    reads_to: Option<mpsc::UnboundedSender<ReadRequest>>,
) -> Result<Store<HostState>, ResolveError> {
    let mut store = Store::new(engine, HostState::new(limits, reads_to));
    store.limiter(|s| &mut s.limiter);
    store
        .set_fuel(limits.fuel)
        .map_err(|e| ResolveError::Instantiate(error_chain(&e)))?;
    store.set_hostcall_fuel(limits.hostcall_bytes());
    let deadline = Instant::now() + limits.deadline;
    store.set_epoch_deadline(1);
    // Yield to the executor on every tick so a busy guest never starves the runtime, and stop it
    // once its wall-clock time is up.
    store.epoch_deadline_callback(move |_| {
        Ok(if Instant::now() >= deadline {
            UpdateDeadline::Interrupt
        } else {
            UpdateDeadline::Yield(1)
        })
    });
    Ok(store)
}

enum Failed {
    Instantiate(wasmtime::Error),
    Call(wasmtime::Error),
    TimedOut,
}

fn finish<R>(store: Store<HostState>, result: Result<R, Failed>, limits: &Limits) -> CallRecord<R> {
    let remaining = store.get_fuel().ok();
    let result = result.map_err(|f| match f {
        Failed::Instantiate(e) => match classify(&e, store.data(), limits) {
            // A start function can run out of fuel or trap like any other guest code.
            ResolveError::Trap { .. } => ResolveError::Instantiate(error_chain(&e)),
            other => other,
        },
        Failed::Call(e) => classify(&e, store.data(), limits),
        Failed::TimedOut => ResolveError::Deadline {
            limit_ms: limits.deadline.as_millis() as u64,
        },
    });
    let fuel_used = match &result {
        Err(ResolveError::OutOfFuel { .. }) => Some(limits.fuel),
        // After an interrupt wasmtime cannot account for the interrupted frame's fuel.
        Err(ResolveError::Deadline { .. }) => None,
        _ => remaining.map(|r| limits.fuel.saturating_sub(r)),
    };
    let state = store.into_data();
    CallRecord {
        result,
        log: state.log.contents(),
        reads: state.reads,
        fuel_used,
        peak_memory_bytes: state.limiter.peak as u64,
    }
}

/// Names the limit or fault that stopped the guest.
fn classify(err: &wasmtime::Error, state: &HostState, limits: &Limits) -> ResolveError {
    let memory_denied = state.limiter.denied;
    if let Some(trap) = err.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => ResolveError::OutOfFuel {
                budget: limits.fuel,
            },
            Trap::Interrupt => ResolveError::Deadline {
                limit_ms: limits.deadline.as_millis() as u64,
            },
            Trap::StackOverflow => ResolveError::StackOverflow,
            // A Rust guest aborts (unreachable) when an allocation fails: the limiter saw it.
            _ if memory_denied.is_some() => ResolveError::MemoryLimit {
                requested: memory_denied.unwrap_or_default(),
                limit: limits.memory_bytes,
            },
            // Rust and C guests keep their own stack in linear memory; without bound, it ends
            // below address 0 and the next frame is out of bounds.
            Trap::MemoryOutOfBounds => ResolveError::Trap {
                message: format!(
                    "{trap} (this is where a guest whose stack lives in linear memory, as Rust's \
                     and C's do, ends up when it recurses without bound)"
                ),
            },
            other => ResolveError::Trap {
                message: panic_message(&state.log.contents()).unwrap_or_else(|| other.to_string()),
            },
        };
    }
    if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return ResolveError::Trap {
            message: format!("the guest called exit({})", exit.0),
        };
    }
    let chain = error_chain(err);
    // The host-call data cap's error type is private; its message is the stable part.
    if chain.contains("too much data is being copied") {
        return ResolveError::OutputTooLarge(format!(
            "the guest tried to hand the host more than {} bytes in one call (the host-call data cap)",
            limits.hostcall_bytes()
        ));
    }
    if let Some(requested) = memory_denied {
        return ResolveError::MemoryLimit {
            requested,
            limit: limits.memory_bytes,
        };
    }
    ResolveError::Trap { message: chain }
}

/// The last Rust panic message in the guest's stderr: "panicked at FILE:LINE:COL: MESSAGE".
pub(crate) fn panic_message(log: &str) -> Option<String> {
    let start = log.rfind("panicked at ")?;
    let rest = &log[start..];
    let (location, after) = rest.split_once(":\n").unwrap_or((rest, ""));
    let message: Vec<&str> = after
        .lines()
        .take_while(|l| !l.starts_with("note: "))
        .collect();
    let message = message.join("\n");
    Some(if message.is_empty() {
        location.trim_end().to_string()
    } else {
        format!("{location}: {message}")
    })
}

/// Calls `describe` in a fresh store. Reads are refused: a description may not depend on the
/// beamline.
pub(crate) async fn describe(
    engine: &Engine,
    pre: &ProcedurePre<HostState>,
    limits: &Limits,
) -> CallRecord<wit::Info> {
    let mut store = match new_store(engine, limits, None) {
        Ok(s) => s,
        Err(e) => return failed_before_start(e),
    };
    let run = async {
        let p = pre
            .instantiate_async(&mut store)
            .await
            .map_err(Failed::Instantiate)?;
        p.call_describe(&mut store).await.map_err(Failed::Call)
    };
    let result = match tokio::time::timeout(limits.deadline + OUTER_GRACE, run).await {
        Ok(r) => r,
        Err(_) => Err(Failed::TimedOut),
    };
    finish(store, result, limits)
}

/// Calls `resolve` in a fresh store, serving the guest's reads from `reader` meanwhile.
pub(crate) async fn resolve(
    engine: &Engine,
    pre: &ProcedurePre<HostState>,
    limits: &Limits,
    params: &[(String, wit::Value)],
    reader: &dyn ChannelReader,
) -> CallRecord<Result<wit::Plan, wit::ResolveError>> {
    // The store must be 'static, the reader is borrowed: reads travel over a channel to a loop
    // that runs beside the call in this same task.
    let (reads_to, mut requests) = mpsc::unbounded_channel::<ReadRequest>();
    let mut store = match new_store(engine, limits, Some(reads_to)) {
        Ok(s) => s,
        Err(e) => return failed_before_start(e),
    };
    let run = async {
        let p = pre
            .instantiate_async(&mut store)
            .await
            .map_err(Failed::Instantiate)?;
        p.call_resolve(&mut store, params)
            .await
            .map_err(Failed::Call)
    };
    let serve = async {
        while let Some((channel, reply)) = requests.recv().await {
            // The guest may have been stopped meanwhile; then nobody waits for the answer.
            let _ = reply.send(reader.read(&channel).await);
        }
        std::future::pending::<std::convert::Infallible>().await
    };
    let guarded = async {
        tokio::select! {
            out = run => out,
            never = serve => match never {},
        }
    };
    let result = match tokio::time::timeout(limits.deadline + OUTER_GRACE, guarded).await {
        Ok(r) => r,
        Err(_) => Err(Failed::TimedOut),
    };
    finish(store, result, limits)
}

fn failed_before_start<R>(error: ResolveError) -> CallRecord<R> {
    CallRecord {
        result: Err(error),
        log: String::new(),
        reads: Vec::new(),
        fuel_used: None,
        peak_memory_bytes: 0,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn panic_message_is_cut_out_of_stderr() {
        let log = "starting\nthread '<unnamed>' (1) panicked at src/lib.rs:6:9:\ndeliberate panic: 42\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            panic_message(log).unwrap(),
            "panicked at src/lib.rs:6:9: deliberate panic: 42"
        );
        assert_eq!(panic_message("no panic here"), None);
    }
}
