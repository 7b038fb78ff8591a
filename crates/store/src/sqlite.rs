//! Embedded backend: one SQLite file in WAL mode with `synchronous=FULL`, so a committed
//! (acknowledged) transaction survives a crash or `kill -9`.

use crate::db::{Backend, BackendKind, Row, Tx, Value};
use crate::schema;
use crate::StoreError;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A first-come first-served lock: the writer connection is shared by ingest requests and the
/// correlator, and a plain mutex lets busy ingest threads starve the correlator.
struct FairLock {
    tickets: Mutex<(u64, u64)>,
    turn: std::sync::Condvar,
}

struct Turn<'a>(&'a FairLock);

impl FairLock {
    fn new() -> Self {
        FairLock {
            tickets: Mutex::new((0, 0)),
            turn: std::sync::Condvar::new(),
        }
    }
    fn wait(&self) -> Result<Turn<'_>, StoreError> {
        let mut t = self.tickets.lock().map_err(|_| StoreError::Poisoned)?;
        let mine = t.0;
        t.0 += 1;
        while t.1 != mine {
            t = self.turn.wait(t).map_err(|_| StoreError::Poisoned)?;
        }
        Ok(Turn(self))
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if let Ok(mut t) = self.0.tickets.lock() {
            t.1 += 1;
        }
        self.0.turn.notify_all();
    }
}

pub struct SqliteBackend {
    path: PathBuf,
    order: FairLock,
    conn: Mutex<Connection>,
    /// A second connection for reads: in WAL mode readers do not wait for the writer.
    reader: Mutex<Option<Connection>>,
}

impl SqliteBackend {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let err = |e: rusqlite::Error| StoreError::Open {
            target: path.display().to_string(),
            message: e.to_string(),
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err)?;
        // WAL lets readers run beside the writer; FULL syncs the WAL on every commit.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(err)?;
        Ok(SqliteBackend {
            path: path.to_path_buf(),
            order: FairLock::new(),
            conn: Mutex::new(conn),
            reader: Mutex::new(None),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Real(v) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Blob(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
        })
    }
}

fn sql_err(sql: &str, e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        if f.code == rusqlite::ErrorCode::ConstraintViolation {
            return StoreError::Conflict {
                message: e.to_string(),
            };
        }
    }
    StoreError::Sql {
        statement: sql.chars().take(80).collect(),
        message: e.to_string(),
    }
}

struct SqliteTx<'c>(&'c rusqlite::Transaction<'c>);

impl Tx for SqliteTx<'_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(|e| sql_err(sql, e))?;
        let p: Vec<Param> = params.iter().map(Param).collect();
        let n = stmt
            .execute(rusqlite::params_from_iter(p.iter()))
            .map_err(|e| sql_err(sql, e))?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(|e| sql_err(sql, e))?;
        let cols = stmt.column_count();
        let p: Vec<Param> = params.iter().map(Param).collect();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(p.iter()))
            .map_err(|e| sql_err(sql, e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| sql_err(sql, e))? {
            let mut vals = Vec::with_capacity(cols);
            for i in 0..cols {
                let v = match r.get_ref(i).map_err(|e| sql_err(sql, e))? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Real(v) => Value::Real(v),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                };
                vals.push(v);
            }
            out.push(Row(vals));
        }
        Ok(out)
    }
}

impl Backend for SqliteBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Sqlite
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut f = |tx: &mut dyn Tx| schema::apply(tx, BackendKind::Sqlite);
        self.transaction(&mut f)
    }

    fn transaction(
        &self,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let _turn = self.order.wait()?;
        let mut conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| sql_err("BEGIN", e))?;
        {
            let mut t = SqliteTx(&tx);
            f(&mut t)?;
        }
        tx.commit().map_err(|e| sql_err("COMMIT", e))
    }

    fn read(
        &self,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut slot = self.reader.lock().map_err(|_| StoreError::Poisoned)?;
        if slot.is_none() {
            // Opened after migrations ran on the writer, so it sees the schema.
            let c = Connection::open(&self.path).map_err(|e| sql_err("open reader", e))?;
            c.busy_timeout(std::time::Duration::from_secs(10))
                .map_err(|e| sql_err("busy_timeout", e))?;
            *slot = Some(c);
        }
        let conn = slot.as_mut().ok_or(StoreError::Poisoned)?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)
            .map_err(|e| sql_err("BEGIN", e))?;
        {
            let mut t = SqliteTx(&tx);
            f(&mut t)?;
        }
        tx.commit().map_err(|e| sql_err("COMMIT", e))
    }

    fn lock_ledger(&self, _tx: &mut dyn Tx) -> Result<(), StoreError> {
        // One connection behind a mutex, in an IMMEDIATE transaction: already the only writer.
        Ok(())
    }
}
