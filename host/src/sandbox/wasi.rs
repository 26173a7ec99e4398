//! The WASI a guest sees: a context that grants nothing. No preopened directories (so the
//! filesystem interfaces find nothing to open), no environment, no arguments, no network, stdin
//! closed, stdout and stderr captured into the bounded log, and fixed clocks and random, so the
//! same parameters always resolve to the same steps.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{Deterministic, HostMonotonicClock, HostWallClock, WasiCtx};

/// The wall-clock time every guest sees: 2000-01-01T00:00:00Z.
pub const FIXED_WALL_CLOCK: Duration = Duration::from_secs(946_684_800);

/// The bytes the guest's random sources cycle through (secure and insecure alike: a procedure
/// has no secrets, and reproducibility matters more).
const RANDOM_CYCLE: &[u8] = b"baton: deterministic by design.";
const INSECURE_SEED: u128 = 0x6261_746f_6e5f_7365_6564_5f30_3030_3031;

/// A wall clock stuck at `FIXED_WALL_CLOCK`.
struct FixedWallClock;

impl HostWallClock for FixedWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        FIXED_WALL_CLOCK
    }
}

/// A monotonic clock that never advances.
struct FixedMonotonicClock;

impl HostMonotonicClock for FixedMonotonicClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// The deny-all WASI context of one call; stdout and stderr go to `log`.
pub(crate) fn deny_all_ctx(log: &LogPipe) -> WasiCtx {
    WasiCtx::builder()
        .stdout(log.clone())
        .stderr(log.clone())
        .wall_clock(FixedWallClock)
        .monotonic_clock(FixedMonotonicClock)
        .secure_random(Deterministic::new(RANDOM_CYCLE.to_vec()))
        .insecure_random(Deterministic::new(RANDOM_CYCLE.to_vec()))
        .insecure_random_seed(INSECURE_SEED)
        .max_random_size(64 << 10)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build()
}

/// The guest's log: stdout, stderr and `host.log` lines, in the order they were written, bounded.
/// Past the cap further output is dropped (and the log says so) rather than failing the guest's
/// write: a chatty guest must not turn into a trapped one.
#[derive(Clone)]
pub(crate) struct LogPipe {
    inner: Arc<Mutex<LogBuf>>,
}

struct LogBuf {
    bytes: Vec<u8>,
    cap: usize,
    dropped: usize,
}

impl LogPipe {
    pub(crate) fn new(cap: usize) -> LogPipe {
        LogPipe {
            inner: Arc::new(Mutex::new(LogBuf {
                bytes: Vec::new(),
                cap,
                dropped: 0,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, LogBuf> {
        // A panic while holding this lock cannot leave the buffer inconsistent (appends only).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn append(&self, data: &[u8]) {
        let mut buf = self.lock();
        let room = buf.cap.saturating_sub(buf.bytes.len());
        let take = room.min(data.len());
        buf.bytes.extend_from_slice(&data[..take]);
        buf.dropped += data.len() - take;
    }

    /// Appends one `host.log` line.
    pub(crate) fn line(&self, message: &str) {
        let mut line = Vec::with_capacity(message.len() + 1);
        line.extend_from_slice(message.as_bytes());
        line.push(b'\n');
        self.append(&line);
    }

    /// The log as text (invalid UTF-8 replaced), with a note if anything was dropped.
    pub(crate) fn contents(&self) -> String {
        let buf = self.lock();
        let mut text = String::from_utf8_lossy(&buf.bytes).into_owned();
        if buf.dropped > 0 {
            if !text.ends_with('\n') && !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&format!(
                "[log truncated: {} more bytes dropped at the {}-byte cap]\n",
                buf.dropped, buf.cap
            ));
        }
        text
    }
}

impl IsTerminal for LogPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

/// How much a guest may write at once; any amount is accepted (and truncated at the cap).
const WRITE_BUDGET: usize = 64 << 10;

impl OutputStream for LogPipe {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_BUDGET)
    }
}

#[async_trait::async_trait]
impl Pollable for LogPipe {
    async fn ready(&mut self) {}
}

impl AsyncWrite for LogPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn log_keeps_order_and_truncates_at_the_cap() {
        let log = LogPipe::new(10);
        log.append(b"abc");
        log.line("defg");
        log.append(b"0123456789");
        let text = log.contents();
        assert!(text.starts_with("abcdefg\n01"), "{text}");
        assert!(
            text.contains("8 more bytes dropped at the 10-byte cap"),
            "{text}"
        );
    }

    #[test]
    fn clocks_are_fixed() {
        assert_eq!(FixedWallClock.now(), FIXED_WALL_CLOCK);
        assert_eq!(FixedMonotonicClock.now(), FixedMonotonicClock.now());
    }
}
