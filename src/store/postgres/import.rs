//! Filling an empty database from a SQLite state, for `migrate-store` (see
//! [`crate::store::transfer`]): one transaction over every table, refused when any table
//! already holds a row. It does not merge: ids, seen marks and outbox states are copied as they
//! are, which is only right in a database no instance has written yet.

use std::sync::Arc;

use tokio_postgres::types::ToSql;
use tokio_postgres::Transaction;

use super::PostgresStore;
use crate::store::sqlite::SqliteStore;
use crate::store::transfer::{Copied, Kind, Row, Table, Value, BATCH, TABLES};
use crate::store::StoreError;

impl PostgresStore {
    /// Copies every table of `source` into this (empty) database in one transaction.
    pub(crate) async fn import(&self, source: Arc<SqliteStore>) -> Result<Copied, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        for table in TABLES {
            let occupied: bool = transaction
                .query_one(
                    &format!("SELECT EXISTS (SELECT 1 FROM {})", table.name),
                    &[],
                )
                .await?
                .get(0);
            if occupied {
                return Err(StoreError::Transfer(format!(
                    "the PostgreSQL database already holds wirewatch state (table {} has rows); migrate-store only fills an empty database: create a new one (CREATE DATABASE …) and give its URL",
                    table.name
                )));
            }
        }
        let mut copied = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<Row>>(2);
            let reader = Arc::clone(&source);
            let export = tokio::task::spawn_blocking(move || {
                reader.export(table, BATCH, &mut |rows| sender.blocking_send(rows).is_ok())
            });
            let mut count = 0;
            let mut failed = None;
            while let Some(rows) = receiver.recv().await {
                if let Err(error) = insert(&transaction, table, &rows).await {
                    failed = Some(error);
                    break;
                }
                count += rows.len() as u64;
            }
            // a reader still blocked on a full channel sees it closed and stops
            drop(receiver);
            let exported = export.await.map_err(|error| {
                StoreError::Transfer(format!("reading table {} stopped: {error}", table.name))
            })?;
            if let Some(error) = failed {
                return Err(error);
            }
            exported?;
            copied.push((table.name, count));
        }
        // pushed bodies keep their ids: the next one must come after them
        transaction
            .batch_execute(
                "SELECT setval(pg_get_serial_sequence('websub_inbox', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM websub_inbox",
            )
            .await?;
        transaction.commit().await?;
        Ok(copied)
    }
}

/// One multi-row INSERT of a batch.
async fn insert(
    transaction: &Transaction<'_>,
    table: &Table,
    rows: &[Row],
) -> Result<(), StoreError> {
    let width = table.columns.len();
    let mut parameters: Vec<Box<dyn ToSql + Sync + Send>> = Vec::with_capacity(rows.len() * width);
    let mut groups = Vec::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        let placeholders: Vec<String> = (1..=width)
            .map(|column| format!("${}", index * width + column))
            .collect();
        groups.push(format!("({})", placeholders.join(", ")));
        for ((name, kind), value) in table.columns.iter().zip(row) {
            parameters.push(parameter(table.name, name, *kind, value)?);
        }
    }
    let names: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
    let statement = format!(
        "INSERT INTO {} ({}) VALUES {}",
        table.name,
        names.join(", "),
        groups.join(", ")
    );
    let references: Vec<&(dyn ToSql + Sync)> = parameters
        .iter()
        .map(|parameter| parameter.as_ref() as &(dyn ToSql + Sync))
        .collect();
    transaction.execute(&statement, &references).await?;
    Ok(())
}

/// A SQLite value as the PostgreSQL column's type.
fn parameter(
    table: &str,
    column: &str,
    kind: Kind,
    value: &Value,
) -> Result<Box<dyn ToSql + Sync + Send>, StoreError> {
    let wrong = || {
        StoreError::Transfer(format!(
            "{table}.{column} holds {value:?} where {kind:?} was expected; the SQLite file was not written by wirewatch, or is damaged"
        ))
    };
    Ok(match (kind, value) {
        (Kind::Text, Value::Null) => Box::new(None::<String>),
        (Kind::Text, Value::Text(text)) => Box::new(Some(text.clone())),
        (Kind::BigInt, Value::Null) => Box::new(None::<i64>),
        (Kind::BigInt, Value::Integer(integer)) => Box::new(Some(*integer)),
        (Kind::Int, Value::Null) => Box::new(None::<i32>),
        (Kind::Int, Value::Integer(integer)) => {
            Box::new(Some(i32::try_from(*integer).map_err(|_| wrong())?))
        }
        (Kind::Bool, Value::Null) => Box::new(None::<bool>),
        (Kind::Bool, Value::Integer(integer)) => Box::new(Some(*integer != 0)),
        (Kind::Bytes, Value::Null) => Box::new(None::<Vec<u8>>),
        (Kind::Bytes, Value::Blob(bytes)) => Box::new(Some(bytes.clone())),
        (Kind::Bytes, Value::Text(text)) => Box::new(Some(text.clone().into_bytes())),
        _ => return Err(wrong()),
    })
}
