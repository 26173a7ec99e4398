//! Observation of a store, written once for every store and every observer: [`Observed`]
//! forwards each call to the store it wraps and tells a [`StoreObserver`] about the writes
//! (event appends, journal appends, with how long a journal append took). What an observer does
//! with that (metrics, waking progress streams) is its own business; the store layer only
//! promises to call it after every such write, failed ones included.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::{
    AppendRequest, Component, ComponentMeta, ComponentStore, EventStore, JournalAppended,
    JournalEntry, JournalPage, JournalRecord, NewComponent, NewToken, PinnedSteps,
    ProcedureSummary, RecordedEvent, RunPage, RunQuery, RunSummary, StepJournal, StoreError,
    SummaryPage, SummaryQuery, SummaryStore, TokenRecord, TokenStore,
};

/// Told about every write through an [`Observed`] store. Both hooks run on the writer's task
/// after the write returned, so they must be quick and must not block.
pub trait StoreObserver: Send + Sync + 'static {
    /// After an event append, with what it returned.
    fn appended(&self, _result: Result<&[RecordedEvent], &StoreError>) {}

    /// After a journal append of `entries`, with what it returned and how long it took.
    fn journal_appended(
        &self,
        _entries: &[JournalEntry],
        _result: Result<&[JournalAppended], &StoreError>,
        _elapsed: Duration,
    ) {
    }
}

/// A store whose writes are reported to an observer. Cheap to clone if the store is.
pub struct Observed<S, O> {
    inner: S,
    observer: Arc<O>,
}

impl<S, O> Observed<S, O> {
    pub fn with_observer(inner: S, observer: O) -> Self {
        Observed {
            inner,
            observer: Arc::new(observer),
        }
    }

    /// The store underneath (its calls are not observed).
    pub fn inner(&self) -> &S {
        &self.inner
    }

    pub fn observer(&self) -> &O {
        &self.observer
    }
}

impl<S: Clone, O> Clone for Observed<S, O> {
    fn clone(&self) -> Self {
        Observed {
            inner: self.inner.clone(),
            observer: self.observer.clone(),
        }
    }
}

impl<S: fmt::Debug, O> fmt::Debug for Observed<S, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Observed")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S: EventStore, O: StoreObserver> EventStore for Observed<S, O> {
    async fn append(&self, request: AppendRequest<'_>) -> Result<Vec<RecordedEvent>, StoreError> {
        let result = self.inner.append(request).await;
        self.observer.appended(result.as_deref());
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

impl<S: StepJournal, O: StoreObserver> StepJournal for Observed<S, O> {
    async fn append_journal(
        &self,
        entries: &[JournalEntry],
    ) -> Result<Vec<JournalAppended>, StoreError> {
        let started = Instant::now();
        let result = self.inner.append_journal(entries).await;
        self.observer
            .journal_appended(entries, result.as_deref(), started.elapsed());
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

impl<S: ComponentStore, O: StoreObserver> ComponentStore for Observed<S, O> {
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

impl<S: SummaryStore, O: StoreObserver> SummaryStore for Observed<S, O> {
    async fn procedure_summary(&self, id: Uuid) -> Result<Option<ProcedureSummary>, StoreError> {
        self.inner.procedure_summary(id).await
    }
    async fn list_procedures(&self, query: &SummaryQuery) -> Result<SummaryPage, StoreError> {
        self.inner.list_procedures(query).await
    }
    async fn rebuild_summaries(&self) -> Result<u64, StoreError> {
        self.inner.rebuild_summaries().await
    }
    async fn run_summary(&self, id: Uuid) -> Result<Option<RunSummary>, StoreError> {
        self.inner.run_summary(id).await
    }
    async fn list_runs(&self, query: &RunQuery) -> Result<RunPage, StoreError> {
        self.inner.list_runs(query).await
    }
    async fn rebuild_run_summaries(&self) -> Result<u64, StoreError> {
        self.inner.rebuild_run_summaries().await
    }
}

impl<S: TokenStore, O: StoreObserver> TokenStore for Observed<S, O> {
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
