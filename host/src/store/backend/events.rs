//! Event streams and their pins, for any [`Backend`](super::Backend): an append checks the
//! expected version, writes the pins, then the events, and refolds the projection the stream
//! feeds, all in one [`Backend::begin_events`](super::Backend::begin_events) transaction (so
//! commit order is position order on both backends).

/// Expands to a module `events` implementing [`EventStore`](crate::store::EventStore) for the
/// store type `$store` (a [`Backend`](super::Backend) in the invoking module).
macro_rules! events {
    ($store:ident) => {
        mod events {
            use sqlx::Transaction;
            use time::OffsetDateTime;

            use super::$store as Store;
            use $crate::store::backend::Backend;
            use $crate::store::error::{StoreError, non_negative, to_db};
            use $crate::store::event::{AppendRequest, PinnedSteps, RecordedEvent, now};
            use $crate::store::{EventStore, check_read_all_limit, rows, sql};

            type Tx = Transaction<'static, <Store as Backend>::Db>;

            impl EventStore for Store {
                async fn append(
                    &self,
                    request: AppendRequest<'_>,
                ) -> Result<Vec<RecordedEvent>, StoreError> {
                    request.validate()?;
                    let mut tx = self.begin_events().await?;
                    let recorded = append_in(&mut tx, &request).await?;
                    super::summary::project(&mut tx, &recorded).await?;
                    tx.commit().await?;
                    Ok(recorded)
                }

                async fn read_stream(
                    &self,
                    stream: &str,
                ) -> Result<Vec<RecordedEvent>, StoreError> {
                    let rows = sqlx::query(sql::READ_STREAM)
                        .bind(stream)
                        .fetch_all(self.reader())
                        .await?;
                    rows.iter().map(rows::event).collect()
                }

                async fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
                    let version: i64 = sqlx::query_scalar(sql::STREAM_VERSION)
                        .bind(stream)
                        .fetch_one(self.reader())
                        .await?;
                    non_negative(version, "stream version")
                }

                async fn read_all(
                    &self,
                    after_position: u64,
                    limit: u32,
                ) -> Result<Vec<RecordedEvent>, StoreError> {
                    check_read_all_limit(limit)?;
                    let rows = sqlx::query(sql::READ_ALL)
                        .bind(to_db(after_position, "position")?)
                        .bind(i64::from(limit))
                        .fetch_all(self.reader())
                        .await?;
                    rows.iter().map(rows::event).collect()
                }

                async fn pinned_steps(
                    &self,
                    hash: &str,
                ) -> Result<Option<PinnedSteps>, StoreError> {
                    let json: Option<String> = sqlx::query_scalar(Store::READ_PIN)
                        .bind(hash)
                        .fetch_optional(self.reader())
                        .await?;
                    json.map(|json| PinnedSteps::from_stored(hash, json))
                        .transpose()
                }
            }

            /// Appends within `tx` (which serializes appends): checks the expected version,
            /// writes the pins, then the events.
            async fn append_in(
                tx: &mut Tx,
                request: &AppendRequest<'_>,
            ) -> Result<Vec<RecordedEvent>, StoreError> {
                let actual: i64 = sqlx::query_scalar(sql::STREAM_VERSION)
                    .bind(request.stream)
                    .fetch_one(&mut **tx)
                    .await?;
                let actual = request.check_version(non_negative(actual, "stream version")?)?;
                let recorded_at = now();
                for pin in request.pins {
                    write_pin(tx, pin, recorded_at).await?;
                }
                let mut recorded = Vec::with_capacity(request.events.len());
                for (offset, event) in request.events.iter().enumerate() {
                    let version = actual + 1 + offset as u64;
                    let position: i64 = sqlx::query_scalar(sql::INSERT_EVENT)
                        .bind(Store::uuid(event.id))
                        .bind(request.stream)
                        .bind(to_db(version, "version")?)
                        .bind(&event.event_type)
                        .bind(Store::json(&event.payload, "payload")?)
                        .bind(recorded_at)
                        .fetch_one(&mut **tx)
                        .await?;
                    recorded.push(request.recorded(
                        event,
                        version,
                        non_negative(position, "position")?,
                        recorded_at,
                    ));
                }
                Ok(recorded)
            }

            /// Writes a pin unless its hash is already there (pins are append-only and
            /// content-addressed).
            async fn write_pin(
                tx: &mut Tx,
                pin: &PinnedSteps,
                pinned_at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                let steps = Store::int4(pin.len() as u64).ok_or_else(|| {
                    StoreError::InvalidQuery(format!("{} steps is too many to pin", pin.len()))
                })?;
                sqlx::query(Store::INSERT_PIN)
                    .bind(pin.hash())
                    .bind(steps)
                    .bind(pin.json())
                    .bind(pinned_at)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            /// The events of one stream, read inside a write transaction (a projection
            /// refolds it).
            pub(super) async fn stream_in(
                tx: &mut Tx,
                stream: &str,
            ) -> Result<Vec<RecordedEvent>, StoreError> {
                let rows = sqlx::query(sql::READ_STREAM)
                    .bind(stream)
                    .fetch_all(&mut **tx)
                    .await?;
                rows.iter().map(rows::event).collect()
            }
        }
    };
}

pub(crate) use events;
