//! The procedure and run projections' SQL, for any [`Backend`](super::Backend): the upsert an
//! append runs in its own transaction, the reads, the listings and the rebuilds. Folding is in
//! [`crate::store::summary`].

/// Expands to a module `summary` implementing [`SummaryStore`](crate::store::SummaryStore) for
/// the store type `$store` (a [`Backend`](super::Backend) in the invoking module).
macro_rules! summary {
    ($store:ident) => {
        mod summary {
            use sqlx::Transaction;
            use uuid::Uuid;

            use super::$store as Store;
            use $crate::store::backend::Backend;
            use $crate::store::error::{StoreError, to_db};
            use $crate::store::event::RecordedEvent;
            use $crate::store::rows::{self, causes_json, db_name, format_time};
            use $crate::store::summary::{
                ProcedureSummary, Projection, Row, RunPage, RunQuery, RunSummary, SummaryPage,
                SummaryQuery,
            };
            use $crate::store::{SummaryStore, sql};

            type Tx = Transaction<'static, <Store as Backend>::Db>;

            impl SummaryStore for Store {
                async fn procedure_summary(
                    &self,
                    id: Uuid,
                ) -> Result<Option<ProcedureSummary>, StoreError> {
                    let row = sqlx::query(sql::PROCEDURE_SUMMARY)
                        .bind(Store::uuid(id))
                        .fetch_optional(self.reader())
                        .await?;
                    row.as_ref().map(rows::procedure_summary).transpose()
                }

                async fn list_procedures(
                    &self,
                    query: &SummaryQuery,
                ) -> Result<SummaryPage, StoreError> {
                    query.validate()?;
                    let rows = sqlx::query(Store::LIST_PROCEDURES)
                        .bind(query.status.map(|s| db_name(s.as_str())))
                        .bind(query.parent_run.map(Store::uuid))
                        .bind(
                            query
                                .after
                                .map(|c| to_db(c.position(), "cursor"))
                                .transpose()?,
                        )
                        .bind(i64::from(query.limit))
                        .fetch_all(self.reader())
                        .await?;
                    let items = rows
                        .iter()
                        .map(rows::procedure_summary)
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(SummaryPage::from_rows(items, query.limit))
                }

                async fn rebuild_summaries(&self) -> Result<u64, StoreError> {
                    rebuild(self, Projection::Procedures).await
                }

                async fn run_summary(&self, id: Uuid) -> Result<Option<RunSummary>, StoreError> {
                    let row = sqlx::query(sql::RUN_SUMMARY)
                        .bind(Store::uuid(id))
                        .fetch_optional(self.reader())
                        .await?;
                    row.as_ref().map(rows::run_summary).transpose()
                }

                async fn list_runs(&self, query: &RunQuery) -> Result<RunPage, StoreError> {
                    query.validate()?;
                    let rows = sqlx::query(Store::LIST_RUNS)
                        .bind(query.status.map(|s| db_name(s.as_str())))
                        .bind(to_db(query.after, "cursor")?)
                        .bind(i64::from(query.limit))
                        .fetch_all(self.reader())
                        .await?;
                    let items = rows
                        .iter()
                        .map(rows::run_summary)
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(RunPage::from_rows(items, query.limit))
                }

                async fn rebuild_run_summaries(&self) -> Result<u64, StoreError> {
                    rebuild_runs(self).await
                }
            }

            async fn rebuild_runs(store: &Store) -> Result<u64, StoreError> {
                rebuild(store, Projection::Runs).await
            }

            /// Fills the run projection of a database that predates it (see
            /// [`sql::RUN_SUMMARY_MISSING`]); the store runs it on open. Several hosts opening
            /// one PostgreSQL database at once each rebuild, one after the other (the rebuild
            /// serializes on `begin_events`), to the same rows.
            pub(super) async fn backfill(store: &Store) -> Result<(), StoreError> {
                let missing: bool = sqlx::query_scalar(sql::RUN_SUMMARY_MISSING)
                    .fetch_one(store.writer())
                    .await?;
                if missing {
                    rebuild_runs(store).await?;
                }
                Ok(())
            }

            /// Refolds the stream `recorded` was appended to, if a projection reads it.
            pub(super) async fn project(
                tx: &mut Tx,
                recorded: &[RecordedEvent],
            ) -> Result<(), StoreError> {
                let Some(first) = recorded.first() else {
                    return Ok(());
                };
                let Some(projection) = Projection::of(&first.stream) else {
                    return Ok(());
                };
                let events = super::events::stream_in(tx, &first.stream).await?;
                if let Some(row) = projection.summarize(events)? {
                    upsert(tx, &row).await?;
                }
                Ok(())
            }

            /// Replaces every row of `projection` with a fresh fold of its streams, in one
            /// transaction (which serializes with appends, so no append's projection update
            /// interleaves).
            async fn rebuild(store: &Store, projection: Projection) -> Result<u64, StoreError> {
                let mut tx = store.begin_events().await?;
                sqlx::query(projection.clear()).execute(&mut *tx).await?;
                let prefix = projection.stream_prefix();
                let prefix_len = Store::int4(prefix.len() as u64).ok_or_else(|| {
                    StoreError::InvalidQuery(format!("stream prefix {prefix:?} too long"))
                })?;
                let events = sqlx::query(sql::READ_CATEGORY)
                    .bind(prefix)
                    .bind(prefix_len)
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(rows::event)
                    .collect::<Result<Vec<_>, _>>()?;
                let rows = projection.rebuild_rows(events)?;
                for row in &rows {
                    upsert(&mut tx, row).await?;
                }
                tx.commit().await?;
                Ok(rows.len() as u64)
            }

            async fn upsert(tx: &mut Tx, row: &Row) -> Result<(), StoreError> {
                match row {
                    Row::Procedure(s) => {
                        let causes = causes_json(&s.hold_causes);
                        let iterations =
                            Store::int4(u64::from(s.iteration_count)).ok_or_else(|| {
                                StoreError::Corrupt(format!(
                                    "iteration count {} too large",
                                    s.iteration_count
                                ))
                            })?;
                        sqlx::query(sql::UPSERT_PROCEDURE_SUMMARY)
                            .bind(Store::uuid(s.id))
                            .bind(&s.name)
                            .bind(&s.component_digest)
                            .bind(db_name(s.status.as_str()))
                            .bind(s.status_reason.as_deref())
                            .bind(Store::json(&causes, "hold causes")?)
                            .bind(s.parent_run.map(Store::uuid))
                            .bind(iterations)
                            .bind(s.actuation_kind.as_str())
                            .bind(to_db(s.version, "version")?)
                            .bind(to_db(s.defined_position, "position")?)
                            .bind(s.defined_at)
                            .bind(s.last_changed_at)
                            .execute(&mut **tx)
                            .await?
                    }
                    Row::Run(r) => {
                        sqlx::query(sql::UPSERT_RUN_SUMMARY)
                            .bind(Store::uuid(r.id))
                            .bind(&r.name)
                            .bind(db_name(r.status.as_str()))
                            .bind(r.status_reason.as_deref())
                            .bind(r.actuation_kind.as_str())
                            .bind(to_db(r.version, "version")?)
                            .bind(to_db(r.started_position, "position")?)
                            .bind(format_time(r.started_at)?)
                            .bind(format_time(r.last_changed_at)?)
                            .execute(&mut **tx)
                            .await?
                    }
                };
                Ok(())
            }
        }
    };
}

pub(crate) use summary;
