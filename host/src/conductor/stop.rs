//! Cooperative hold and abort. An operator's request while a conduct runs is left here and taken
//! by the conduct at its next step boundary, so a write in progress always finishes first. One
//! entry per procedure conducted by this process; the entry also refuses a second local conduct
//! of the same procedure.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use uuid::Uuid;

/// What the operator asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopRequest {
    Hold {
        reason: String,
    },
    Abort {
        reason: String,
    },
    /// The host is shutting down: hold with cause `host-restart`.
    Shutdown {
        reason: String,
    },
}

/// The live state of one running conduct, shared with whoever wants to stop or watch it.
#[derive(Debug, Default)]
pub struct ConductHandle {
    requested: AtomicBool,
    request: Mutex<Option<StopRequest>>,
    /// Steps that ran to `ok` in the current verb.
    pub completed: AtomicU64,
}

impl ConductHandle {
    /// Leaves a request; the first one wins, later ones are ignored (false).
    pub fn request(&self, stop: StopRequest) -> bool {
        let Ok(mut slot) = self.request.lock() else {
            return false;
        };
        if slot.is_some() {
            return false;
        }
        *slot = Some(stop);
        self.requested.store(true, Ordering::Release);
        true
    }

    /// Takes the pending request, if any. Cheap when there is none: one atomic load per step.
    pub fn take(&self) -> Option<StopRequest> {
        if !self.requested.load(Ordering::Acquire) {
            return None;
        }
        self.request.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// The conducts this process runs, by procedure.
#[derive(Debug, Default, Clone)]
pub struct Conducts {
    inner: Arc<Mutex<HashMap<Uuid, Arc<ConductHandle>>>>,
}

/// Removes the procedure's entry when the conduct ends, however it ends (a dropped future too).
#[derive(Debug)]
pub struct ConductGuard {
    conducts: Conducts,
    id: Uuid,
    pub handle: Arc<ConductHandle>,
}

impl Drop for ConductGuard {
    fn drop(&mut self) {
        if let Ok(mut map) = self.conducts.inner.lock() {
            map.remove(&self.id);
        }
    }
}

impl ConductGuard {
    /// The procedure this guard keeps claimed.
    pub fn id(&self) -> Uuid {
        self.id
    }
}

impl Conducts {
    /// Registers a conduct of `id`; `None` if this process already conducts it.
    pub fn begin(&self, id: Uuid) -> Option<ConductGuard> {
        let mut map = self.inner.lock().ok()?;
        if map.contains_key(&id) {
            return None;
        }
        let handle = Arc::new(ConductHandle::default());
        map.insert(id, handle.clone());
        Some(ConductGuard {
            conducts: self.clone(),
            id,
            handle,
        })
    }

    /// The running conduct of `id`, if this process runs one.
    pub fn get(&self, id: Uuid) -> Option<Arc<ConductHandle>> {
        self.inner.lock().ok()?.get(&id).cloned()
    }

    /// The procedures this process is conducting now.
    pub fn running(&self) -> Vec<Uuid> {
        self.inner
            .lock()
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default()
    }
}
