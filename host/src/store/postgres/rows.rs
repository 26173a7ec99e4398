//! How PostgreSQL columns read as Rust values: native `uuid`, `jsonb` and `timestamptz`;
//! `integer` and `bigint` both widen to `i64`.

use serde_json::Value as Json;
use sqlx::postgres::PgRow;
use sqlx::types::Json as SqlJson;
use sqlx::{Column, Row, TypeInfo};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::store::error::StoreError;
use crate::store::rows::Columns;

impl Columns for PgRow {
    fn text(&self, column: &str) -> Result<String, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn int(&self, column: &str) -> Result<i64, StoreError> {
        let narrow = self
            .columns()
            .iter()
            .find(|c| c.name() == column)
            .is_some_and(|c| c.type_info().name() == "INT4");
        if narrow {
            Ok(i64::from(self.try_get::<i32, _>(column)?))
        } else {
            Ok(self.try_get(column)?)
        }
    }

    fn uuid(&self, column: &str) -> Result<Uuid, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn json(&self, column: &str) -> Result<Json, StoreError> {
        Ok(self.try_get::<SqlJson<Json>, _>(column)?.0)
    }

    fn time(&self, column: &str) -> Result<OffsetDateTime, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError> {
        Ok(self.try_get(column)?)
    }
}
