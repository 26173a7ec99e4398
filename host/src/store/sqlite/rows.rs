//! How SQLite columns read as Rust values: ids and JSON are text, times are RFC 3339 text,
//! integers are 64-bit.

use serde_json::Value as Json;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::store::error::StoreError;
use crate::store::rows::{Columns, parse_json, parse_uuid};

impl Columns for SqliteRow {
    fn text(&self, column: &str) -> Result<String, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn int(&self, column: &str) -> Result<i64, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn uuid(&self, column: &str) -> Result<Uuid, StoreError> {
        parse_uuid(&self.text(column)?, column)
    }

    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, StoreError> {
        self.opt_text(column)?
            .map(|text| parse_uuid(&text, column))
            .transpose()
    }

    fn json(&self, column: &str) -> Result<Json, StoreError> {
        parse_json(&self.text(column)?, column)
    }

    fn time(&self, column: &str) -> Result<OffsetDateTime, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError> {
        Ok(self.try_get(column)?)
    }
}
