//! Reading the whole state out, table by table, for `migrate-store` (see
//! [`crate::store::transfer`]): rows in batches handed to a callback, as SQLite holds them. It
//! does not interpret a row; the importing side knows the column types.

use rusqlite::types::ValueRef;

use super::SqliteStore;
use crate::store::transfer::{Row, Table, Value};
use crate::store::StoreError;

impl SqliteStore {
    /// The tables of this database that `known` does not name (SQLite's own excepted).
    pub(crate) fn tables_not_in(&self, known: &[Table]) -> Result<Vec<String>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )?;
        let names = statement
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(names
            .into_iter()
            .filter(|name| !known.iter().any(|table| table.name == name))
            .collect())
    }

    /// The column names of `table`, in their order.
    #[cfg(test)]
    pub(crate) fn columns(&self, table: &str) -> Result<Vec<String>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare(&format!("PRAGMA table_info({table})"))?;
        let names = statement
            .query_map([], |row| row.get::<_, String>(1))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(names)
    }

    /// Reads every row of `table` (its listed columns), handing them to `send` `batch` at a
    /// time; stops early when `send` returns false (the reader went away). The rows read.
    pub(crate) fn export(
        &self,
        table: &Table,
        batch: usize,
        send: &mut dyn FnMut(Vec<Row>) -> bool,
    ) -> Result<u64, StoreError> {
        let connection = self.lock()?;
        let columns: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
        let mut statement = connection.prepare(&format!(
            "SELECT {} FROM {}",
            columns.join(", "),
            table.name
        ))?;
        let mut rows = statement.query([])?;
        let mut pending = Vec::with_capacity(batch);
        let mut count = 0;
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(columns.len());
            for index in 0..columns.len() {
                values.push(match row.get_ref(index)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(integer) => Value::Integer(integer),
                    ValueRef::Real(real) => Value::Real(real),
                    ValueRef::Text(text) => Value::Text(String::from_utf8_lossy(text).into_owned()),
                    ValueRef::Blob(blob) => Value::Blob(blob.to_vec()),
                });
            }
            pending.push(values);
            count += 1;
            if pending.len() == batch && !send(std::mem::take(&mut pending)) {
                return Ok(count);
            }
        }
        if !pending.is_empty() {
            send(pending);
        }
        Ok(count)
    }
}
