//! The store as the API and the conductor see it: every call goes to the real backend, and on
//! the way the journal's appends are timed, step latencies are read off the entries'
//! timestamps, and waiting progress streams are woken. A decorator at the store boundary, so
//! the conductor needs no metrics code of its own.
//!
//! Wake-ups are a hint, never the only signal: a stream also polls, because another host on the
//! same PostgreSQL appends without passing through this process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

use super::metrics::Metrics;
use crate::domain::StepKind;
use crate::store::{
    AnyStore, AppendRequest, Component, ComponentMeta, ComponentStore, EventStore, JournalAppended,
    JournalEntry, JournalPage, JournalRecord, NewComponent, NewToken, PinnedSteps,
    ProcedureSummary, RecordedEvent, StepJournal, StepResult, StoreError, SummaryPage,
    SummaryQuery, SummaryStore, TokenRecord, TokenStore,
};

/// The last journal entry seen per procedure: (step index, kind, time).
type LastEntry = (u32, StepKind, OffsetDateTime);

/// The observed store. Cheap to clone.
#[derive(Clone)]
pub struct ObservedStore {
    inner: AnyStore,
    metrics: Arc<Metrics>,
    last: Arc<Mutex<HashMap<Uuid, LastEntry>>>,
    /// Bumped on every append (events or journal): progress streams wait on it.
    changed: watch::Sender<u64>,
}

impl ObservedStore {
    pub fn new(inner: AnyStore, metrics: Arc<Metrics>) -> Self {
        ObservedStore {
            inner,
            metrics,
            last: Arc::default(),
            changed: watch::channel(0).0,
        }
    }

    pub fn inner(&self) -> &AnyStore {
        &self.inner
    }

    /// A receiver that sees a new value after every append through this store.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

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

impl EventStore for ObservedStore {
    async fn append(&self, request: AppendRequest<'_>) -> Result<Vec<RecordedEvent>, StoreError> {
        let result = self.inner.append(request).await;
        self.bump();
        result
    }
    async fn read_stream(&self, stream: &str) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.read_stream(stream).await
    }
    async fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        self.inner.stream_version(stream).await
    }
    async fn read_all(
        &self,
        after_position: u64,
        limit: u32,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.read_all(after_position, limit).await
    }
    async fn pinned_steps(&self, hash: &str) -> Result<Option<PinnedSteps>, StoreError> {
        self.inner.pinned_steps(hash).await
    }
}

impl StepJournal for ObservedStore {
    async fn append_journal(
        &self,
        entries: &[JournalEntry],
    ) -> Result<Vec<JournalAppended>, StoreError> {
        let started = Instant::now();
        let result = self.inner.append_journal(entries).await;
        self.metrics
            .journal_append_seconds
            .observe(started.elapsed().as_secs_f64());
        if result.is_ok() {
            self.observe_steps(entries);
        }
        self.bump();
        result
    }
    async fn journal(
        &self,
        procedure: Uuid,
        page: JournalPage,
    ) -> Result<Vec<JournalRecord>, StoreError> {
        self.inner.journal(procedure, page).await
    }
    async fn interrupted_step(&self, procedure: Uuid) -> Result<Option<JournalRecord>, StoreError> {
        self.inner.interrupted_step(procedure).await
    }
    async fn completed_steps(&self, procedure: Uuid) -> Result<u64, StoreError> {
        self.inner.completed_steps(procedure).await
    }
}

impl ComponentStore for ObservedStore {
    async fn put_component(&self, component: &NewComponent) -> Result<bool, StoreError> {
        self.inner.put_component(component).await
    }
    async fn component(&self, digest: &str) -> Result<Option<Component>, StoreError> {
        self.inner.component(digest).await
    }
    async fn list_components(&self) -> Result<Vec<ComponentMeta>, StoreError> {
        self.inner.list_components().await
    }
    async fn delete_component(&self, digest: &str) -> Result<bool, StoreError> {
        self.inner.delete_component(digest).await
    }
}

impl SummaryStore for ObservedStore {
    async fn procedure_summary(&self, id: Uuid) -> Result<Option<ProcedureSummary>, StoreError> {
        self.inner.procedure_summary(id).await
    }
    async fn list_procedures(&self, query: &SummaryQuery) -> Result<SummaryPage, StoreError> {
        self.inner.list_procedures(query).await
    }
    async fn rebuild_summaries(&self) -> Result<u64, StoreError> {
        self.inner.rebuild_summaries().await
    }
}

impl TokenStore for ObservedStore {
    async fn put_token(&self, token: &NewToken) -> Result<(), StoreError> {
        self.inner.put_token(token).await
    }
    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.inner.token_by_hash(hash).await
    }
    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.inner.list_tokens().await
    }
    async fn delete_token(&self, id: Uuid) -> Result<bool, StoreError> {
        self.inner.delete_token(id).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::store::SqliteStore;

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
