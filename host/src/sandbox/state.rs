//! What one `Store` holds for the length of one call: the deny-all WASI context, the memory
//! limiter that records its peak and any refusal, the bounded log, and the reads the guest made.
//! A store never outlives its call.

use tokio::sync::{mpsc, oneshot};
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::Value as WitValue;
use super::bindings::baton::procedure::{host, types};
use super::convert::value_to_wit;
use super::limits::Limits;
use super::wasi::{LogPipe, deny_all_ctx};
use crate::domain::Value;

/// A read the guest asked for, sent to whoever serves reads for this call.
pub(crate) type ReadRequest = (String, oneshot::Sender<Result<Value, String>>);

/// Records how much linear memory the guest reached and whether growth was refused, so a guest
/// that aborts on a failed allocation is reported as hitting the memory limit, not as a bare trap.
pub(crate) struct MemoryLimiter {
    inner: StoreLimits,
    pub(crate) peak: usize,
    pub(crate) denied: Option<usize>,
}

impl MemoryLimiter {
    fn new(cap: usize) -> MemoryLimiter {
        MemoryLimiter {
            inner: StoreLimitsBuilder::new()
                .memory_size(cap)
                .instances(32)
                .tables(32)
                .memories(1)
                .table_elements(100_000)
                .trap_on_grow_failure(false)
                .build(),
            peak: 0,
            denied: None,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum)?;
        if allowed {
            self.peak = self.peak.max(desired);
        } else {
            self.denied = Some(self.denied.unwrap_or(0).max(desired));
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }
    fn tables(&self) -> usize {
        self.inner.tables()
    }
    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// The data of one call's `Store`.
pub(crate) struct HostState {
    /// Built on the first WASI call: most resolutions never make one, and building the context
    /// is a noticeable share of a small call.
    wasi: Option<WasiCtx>,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) log: LogPipe,
    /// Where reads go; `None` during `describe`, which must not depend on the beamline.
    reads_to: Option<mpsc::UnboundedSender<ReadRequest>>,
    pub(crate) reads: Vec<(String, Value)>,
    max_reads: usize,
    max_channel_bytes: usize,
    attempted_reads: usize,
}

impl HostState {
    pub(crate) fn new(
        limits: &Limits,
        reads_to: Option<mpsc::UnboundedSender<ReadRequest>>,
    ) -> HostState {
        let log = LogPipe::new(limits.max_log_bytes);
        HostState {
            wasi: None,
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(limits.memory_bytes),
            log,
            reads_to,
            reads: Vec::new(),
            max_reads: limits.max_reads,
            max_channel_bytes: limits.max_string_bytes,
            attempted_reads: 0,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let log = &self.log;
        WasiCtxView {
            ctx: self.wasi.get_or_insert_with(|| deny_all_ctx(log)),
            table: &mut self.table,
        }
    }
}

impl types::Host for HostState {}

impl host::Host for HostState {
    async fn read(&mut self, channel: String) -> Result<WitValue, String> {
        self.attempted_reads += 1;
        if self.attempted_reads > self.max_reads {
            return Err(format!(
                "read limit reached: a resolution may read at most {} times",
                self.max_reads
            ));
        }
        if channel.len() > self.max_channel_bytes {
            return Err(format!(
                "channel name is {} bytes; the limit is {}",
                channel.len(),
                self.max_channel_bytes
            ));
        }
        let Some(to) = &self.reads_to else {
            return Err(format!(
                "reads are not available during describe (channel `{channel}`)"
            ));
        };
        let (reply, answer) = oneshot::channel();
        to.send((channel.clone(), reply))
            .map_err(|_| "the host stopped serving reads".to_string())?;
        let value = answer
            .await
            .map_err(|_| "the host stopped serving reads".to_string())??;
        let wit = value_to_wit(&value);
        self.reads.push((channel, value));
        Ok(wit)
    }

    async fn log(&mut self, message: String) {
        self.log.line(&message);
    }
}
