//! The step journal, for any [`Backend`](super::Backend): the reads, and the checks every append
//! makes before the backend's own append
//! ([`Backend::append_journal_entries`](super::Backend::append_journal_entries): the per-step hot
//! path, which each backend writes for itself and which is called statically, without boxing).

/// Expands to a module `step_journal` implementing [`StepJournal`](crate::store::StepJournal)
/// for the store type `$store` (a [`Backend`](super::Backend) in the invoking module).
macro_rules! journal {
    ($store:ident) => {
        mod step_journal {
            use uuid::Uuid;

            use super::$store as Store;
            use $crate::store::backend::Backend;
            use $crate::store::error::{StoreError, non_negative, to_db};
            use $crate::store::journal::{
                JournalAppended, JournalEntry, JournalPage, JournalRecord,
            };
            use $crate::store::{StepJournal, rows, sql};

            impl StepJournal for Store {
                async fn append_journal(
                    &self,
                    entries: &[JournalEntry],
                ) -> Result<Vec<JournalAppended>, StoreError> {
                    for entry in entries {
                        entry.validate()?;
                    }
                    if entries.is_empty() {
                        return Ok(Vec::new());
                    }
                    self.append_journal_entries(entries).await
                }

                async fn journal(
                    &self,
                    procedure: Uuid,
                    page: JournalPage,
                ) -> Result<Vec<JournalRecord>, StoreError> {
                    page.validate()?;
                    let rows = sqlx::query(sql::JOURNAL_PAGE)
                        .bind(Store::uuid(procedure))
                        .bind(to_db(page.after, "sequence")?)
                        .bind(i64::from(page.limit))
                        .fetch_all(self.reader())
                        .await?;
                    rows.iter().map(rows::journal).collect()
                }

                async fn interrupted_step(
                    &self,
                    procedure: Uuid,
                ) -> Result<Option<JournalRecord>, StoreError> {
                    let row = sqlx::query(sql::INTERRUPTED_STEP)
                        .bind(Store::uuid(procedure))
                        .fetch_optional(self.reader())
                        .await?;
                    row.as_ref().map(rows::journal).transpose()
                }

                async fn completed_steps(&self, procedure: Uuid) -> Result<u64, StoreError> {
                    let count: i64 = sqlx::query_scalar(sql::COMPLETED_STEPS)
                        .bind(Store::uuid(procedure))
                        .fetch_one(self.reader())
                        .await?;
                    non_negative(count, "count")
                }
            }
        }
    };
}

pub(crate) use journal;
