//! The Channel Access client behind the port: one CA context, a cache of connected channels, and
//! get / put-with-completion with a deadline around every wait (epics-ca has none: a PV nobody
//! serves stays pending forever).
//!
//! Channels are cached per PV and per use: reads and writes of one PV go through different
//! channels, because an epics-ca channel serves one operation at a time, and a read of a motor's
//! setpoint must not queue behind the put-callback of a minute-long move. A slot's async mutex
//! serialises operations on its channel.
//!
//! A channel is taken out of its slot for the operation and put back only when the operation
//! ended cleanly (or with a refusal that leaves the channel sound). A timeout, a disconnect or a
//! cancelled operation therefore drops the channel (`ca_clear_channel`, which also cancels a
//! pending put-callback's notification), and the next operation creates a fresh one. That is also
//! how an IOC restart is handled: libca's own reconnection of an old channel waits for its search
//! back-off (9 s measured with no caRepeater), a fresh channel searches at once.

use std::collections::HashMap;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use epics_ca::{Channel, Context};
use tokio::time::timeout;

use super::dbr::{self, Shape};
use super::errors::ca_error;
use crate::domain::{FailureClass, Value};
use crate::ports::{PortError, PortResult, Reading};

/// One PV's cached channel for one use.
struct Slot {
    channel: tokio::sync::Mutex<Option<Channel>>,
    /// Whether this PV ever connected: a connect that then times out means its server went
    /// away (`Disconnected`), not that nobody serves the name (`Timeout`).
    ever_connected: AtomicBool,
}

type Slots = Mutex<HashMap<Box<str>, Arc<Slot>>>;

#[derive(Clone, Copy)]
enum Use {
    Read,
    Write,
}

/// A CA context and its channel cache.
pub struct Client {
    // `Context` is `Send` but not `Sync`; it is only cloned out (an `Arc` clone) under the lock.
    context: Mutex<Context>,
    reads: Slots,
    writes: Slots,
    connect_timeout: Duration,
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// Whether a channel that failed this way can serve the next operation.
fn channel_survives(error: &PortError) -> bool {
    !matches!(
        error.class,
        FailureClass::Timeout | FailureClass::Disconnected
    )
}

impl Client {
    pub fn new(connect_timeout: Duration) -> Result<Client, epics_ca::Error> {
        Ok(Client {
            context: Mutex::new(Context::new()?),
            reads: Mutex::default(),
            writes: Mutex::default(),
            connect_timeout,
        })
    }

    fn context(&self) -> Context {
        self.context
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn slot(&self, use_: Use, pv: &str) -> Arc<Slot> {
        let slots = match use_ {
            Use::Read => &self.reads,
            Use::Write => &self.writes,
        };
        let mut slots = slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.get(pv) {
            return Arc::clone(slot);
        }
        let slot = Arc::new(Slot {
            channel: tokio::sync::Mutex::new(None),
            ever_connected: AtomicBool::new(false),
        });
        slots.insert(pv.into(), Arc::clone(&slot));
        slot
    }

    /// The slot's channel if it is still connected, else a fresh one, connected within the
    /// connect timeout.
    async fn connect(&self, slot: &Slot, cached: Option<Channel>, pv: &str) -> PortResult<Channel> {
        let lost = match cached {
            Some(channel) if channel.field_type().is_ok() => return Ok(channel),
            // Dropping the stale channel clears it.
            Some(_) => true,
            None => false,
        };
        let name = CString::new(pv)
            .map_err(|_| PortError::unrouted(format!("EPICS PV name {pv:?} contains NUL")))?;
        let mut channel =
            Channel::new(&self.context(), &name).map_err(|e| ca_error("connect", pv, e))?;
        match timeout(self.connect_timeout, channel.connected()).await {
            Ok(()) => {
                slot.ever_connected.store(true, Ordering::Relaxed);
                Ok(channel)
            }
            Err(_) if lost || slot.ever_connected.load(Ordering::Relaxed) => {
                Err(PortError::disconnected(format!(
                    "EPICS PV {pv} lost its server and did not reconnect within {} ms",
                    ms(self.connect_timeout)
                )))
            }
            Err(_) => Err(PortError::timeout(format!(
                "EPICS PV {pv} did not connect within {} ms (no server answered the search)",
                ms(self.connect_timeout)
            ))),
        }
    }

    /// The channel's current shape; a channel that lost its server has none.
    fn shape(channel: &Channel, pv: &str) -> PortResult<Shape> {
        let field = channel.field_type().map_err(|e| ca_error("get", pv, e))?;
        let count = channel
            .element_count()
            .map_err(|e| ca_error("get", pv, e))?;
        Ok(dbr::shape(field, count))
    }

    /// Waits for the slot, bounded like the operation itself: another operation on the same
    /// channel (a long move) may hold it.
    async fn lock<'s>(
        slot: &'s Slot,
        pv: &str,
        limit: Duration,
    ) -> PortResult<tokio::sync::MutexGuard<'s, Option<Channel>>> {
        timeout(limit, slot.channel.lock()).await.map_err(|_| {
            PortError::timeout(format!(
                "EPICS PV {pv}: another operation on it did not finish within {} ms",
                ms(limit)
            ))
        })
    }

    /// Reads the PV's value and alarm severity (DBR_STS_*), within `limit` once connected.
    pub async fn get(&self, pv: &str, limit: Duration) -> PortResult<Reading> {
        let slot = self.slot(Use::Read, pv);
        let mut held = Self::lock(&slot, pv, limit).await?;
        let mut channel = self.connect(&slot, held.take(), pv).await?;
        let result = Self::get_on(&mut channel, pv, limit).await;
        if result.as_ref().err().is_none_or(channel_survives) {
            *held = Some(channel);
        }
        result
    }

    async fn get_on(channel: &mut Channel, pv: &str, limit: Duration) -> PortResult<Reading> {
        let shape = Self::shape(channel, pv)?;
        let Some(read) = timeout(limit, dbr::read(channel, shape)).await.transpose() else {
            return Err(PortError::out_of_limits(format!(
                "EPICS get of {pv}: {} has no baton value",
                shape.describe()
            )));
        };
        match read {
            Ok(Ok((value, severity))) => Ok(Reading {
                value,
                quality: dbr::quality(severity),
            }),
            Ok(Err(e)) => Err(ca_error("get", pv, e)),
            Err(_) => Err(PortError::timeout(format!(
                "EPICS get of {pv} did not answer within {} ms",
                ms(limit)
            ))),
        }
    }

    /// Writes `value` with a put-callback and waits, within `limit`, for the server to report
    /// the put complete (the record finished processing: the motor arrived, the frame is done).
    pub async fn put(&self, pv: &str, value: &Value, limit: Duration) -> PortResult<()> {
        let slot = self.slot(Use::Write, pv);
        let mut held = Self::lock(&slot, pv, limit).await?;
        let mut channel = self.connect(&slot, held.take(), pv).await?;
        let result = Self::put_on(&mut channel, pv, value, limit).await;
        if result.as_ref().err().is_none_or(channel_survives) {
            *held = Some(channel);
        }
        result
    }

    async fn put_on(
        channel: &mut Channel,
        pv: &str,
        value: &Value,
        limit: Duration,
    ) -> PortResult<()> {
        let shape = Self::shape(channel, pv)?;
        let request = dbr::encode(shape, value)
            .map_err(|why| PortError::out_of_limits(format!("EPICS put of {pv}: {why}")))?;
        let completion = dbr::put(channel, &request).map_err(|e| ca_error("put", pv, e))?;
        match timeout(limit, completion).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ca_error("put", pv, e)),
            // The write itself may still complete on the IOC: a put cannot be recalled.
            Err(_) => Err(PortError::timeout(format!(
                "EPICS put of {pv} was not reported complete within {} ms",
                ms(limit)
            ))),
        }
    }
}
