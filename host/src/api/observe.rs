//! The store as the API and the conductor see it: every call goes to the real backend, and on
//! the way the journal's appends are timed, step latencies are read off the entries'
//! timestamps, and waiting progress streams are woken. The store's generic [`Observed`] wrapper
//! with this module's [`MetricsObserver`]: a decorator at the store boundary, so the conductor
//! needs no metrics code of its own.
//!
//! Wake-ups are a hint, never the only signal: a stream also polls, because another host on the
//! same PostgreSQL appends without passing through this process.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

use super::metrics::Metrics;
use crate::domain::StepKind;
use crate::store::{
    AnyStore, JournalAppended, JournalEntry, Observed, RecordedEvent, StepResult, StoreError,
    StoreObserver,
};

/// The last journal entry seen per procedure: (step index, kind, time).
type LastEntry = (u32, StepKind, OffsetDateTime);

/// The observed store: the backend behind a [`MetricsObserver`]. Cheap to clone.
pub type ObservedStore = Observed<AnyStore, MetricsObserver>;

impl ObservedStore {
    pub fn new(inner: AnyStore, metrics: Arc<Metrics>) -> Self {
        Observed::with_observer(
            inner,
            MetricsObserver {
                metrics,
                last: Mutex::default(),
                changed: watch::channel(0).0,
            },
        )
    }

    /// A receiver that sees a new value after every append through this store.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.observer().changed.subscribe()
    }
}

/// Times journal appends, reads step latencies off the entries' timestamps, and wakes waiting
/// progress streams after every append.
pub struct MetricsObserver {
    metrics: Arc<Metrics>,
    last: Mutex<HashMap<Uuid, LastEntry>>,
    /// Bumped on every append (events or journal): progress streams wait on it.
    changed: watch::Sender<u64>,
}

impl fmt::Debug for MetricsObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsObserver").finish_non_exhaustive()
    }
}

impl StoreObserver for MetricsObserver {
    fn appended(&self, _result: Result<&[RecordedEvent], &StoreError>) {
        self.bump();
    }

    fn journal_appended(
        &self,
        entries: &[JournalEntry],
        result: Result<&[JournalAppended], &StoreError>,
        elapsed: Duration,
    ) {
        self.metrics
            .journal_append_seconds
            .observe(elapsed.as_secs_f64());
        if result.is_ok() {
            self.observe_steps(entries);
        }
        self.bump();
    }
}

impl MetricsObserver {
    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Step latency: an outcome's time minus its own `in_flight` marker's, or for a check (no
    /// marker) minus the previous step's outcome. Other pairs (a first check of a reconduct,
    /// entries of another host) are not measured rather than measured wrong.
    fn observe_steps(&self, entries: &[JournalEntry]) {
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        for entry in entries {
            let previous = last.insert(
                entry.procedure_id,
                (entry.step_index, entry.step_kind, entry.at),
            );
            if entry.result == StepResult::InFlight {
                continue;
            }
            let start = match previous {
                Some((index, _, at))
                    if index == entry.step_index && entry.step_kind != StepKind::Check =>
                {
                    Some(at)
                }
                Some((index, _, at))
                    if entry.step_kind == StepKind::Check && index + 1 == entry.step_index =>
                {
                    Some(at)
                }
                _ => None,
            };
            if let Some(start) = start {
                let seconds = (entry.at - start).as_seconds_f64();
                if seconds >= 0.0 {
                    self.metrics
                        .step_seconds
                        .with_label_values(&[entry.step_kind.as_str()])
                        .observe(seconds);
                }
            }
        }
        // Finished procedures must not pile up: the map only needs procedures in progress.
        if last.len() > 10_000 {
            last.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::store::{SqliteStore, StepJournal};

    #[tokio::test]
    async fn journal_appends_are_timed_and_step_latency_read_from_timestamps() {
        let metrics = Arc::new(Metrics::new().unwrap());
        let store = ObservedStore::new(
            AnyStore::Sqlite(SqliteStore::memory().await.unwrap()),
            metrics.clone(),
        );
        let mut changes = store.changes();
        let id = Uuid::new_v4();
        let t0 = OffsetDateTime::now_utc();
        let ms = |n: i64| t0 + time::Duration::milliseconds(n);
        let entry = |index, kind, result, at| JournalEntry::new(id, index, kind, result, at);
        store
            .append_journal(&[entry(0, StepKind::Setpoint, StepResult::InFlight, ms(0))])
            .await
            .unwrap();
        assert!(changes.has_changed().unwrap());
        changes.mark_unchanged();
        store
            .append_journal(&[
                entry(0, StepKind::Setpoint, StepResult::Ok, ms(250)),
                entry(1, StepKind::Action, StepResult::InFlight, ms(250)),
            ])
            .await
            .unwrap();
        store
            .append_journal(&[entry(1, StepKind::Action, StepResult::Ok, ms(1250))])
            .await
            .unwrap();
        store
            .append_journal(&[entry(2, StepKind::Check, StepResult::Ok, ms(1300))])
            .await
            .unwrap();
        let setpoint = metrics.step_seconds.with_label_values(&["setpoint"]);
        assert_eq!(setpoint.get_sample_count(), 1);
        assert!((setpoint.get_sample_sum() - 0.25).abs() < 1e-9);
        let action = metrics.step_seconds.with_label_values(&["action"]);
        assert!((action.get_sample_sum() - 1.0).abs() < 1e-9);
        let check = metrics.step_seconds.with_label_values(&["check"]);
        assert!((check.get_sample_sum() - 0.05).abs() < 1e-9);
        let appends = &metrics.journal_append_seconds;
        assert_eq!(appends.get_sample_count(), 4);
        assert!(changes.has_changed().unwrap());
    }
}
