//! The narrow interface a SQL backend implements: run a statement, run a query, in a transaction.
//!
//! Every domain operation in [`crate::Store`] is written once against [`Tx`], with `?` placeholders
//! and bound parameters only; each backend translates placeholders and types.

use crate::StoreError;

/// A bound SQL parameter or a column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<u16> for Value {
    fn from(v: u16) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        match v {
            Some(v) => v.into(),
            None => Value::Null,
        }
    }
}

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn get(&self, i: usize) -> Result<&Value, StoreError> {
        self.0.get(i).ok_or(StoreError::Column {
            index: i,
            expected: "a column",
        })
    }
    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        match self.get(i)? {
            Value::Int(v) => Ok(*v),
            Value::Real(v) => Ok(*v as i64),
            _ => Err(StoreError::Column {
                index: i,
                expected: "an integer",
            }),
        }
    }
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.get(i)? {
            Value::Null => Ok(None),
            _ => self.int(i).map(Some),
        }
    }
    pub fn real(&self, i: usize) -> Result<f64, StoreError> {
        match self.get(i)? {
            Value::Real(v) => Ok(*v),
            Value::Int(v) => Ok(*v as f64),
            _ => Err(StoreError::Column {
                index: i,
                expected: "a number",
            }),
        }
    }
    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        match self.get(i)? {
            Value::Text(v) => Ok(v.clone()),
            _ => Err(StoreError::Column {
                index: i,
                expected: "text",
            }),
        }
    }
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.get(i)? {
            Value::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }
    pub fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        match self.get(i)? {
            Value::Blob(v) => Ok(v.clone()),
            Value::Text(v) => Ok(v.as_bytes().to_vec()),
            _ => Err(StoreError::Column {
                index: i,
                expected: "bytes",
            }),
        }
    }
}

/// Statements inside one transaction.
pub trait Tx {
    /// Runs a statement; returns the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError>;
    /// Runs a query and collects its rows (callers bound the result with LIMIT).
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError>;
}

/// Which SQL backend a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

/// A SQL backend: SQLite (embedded) or PostgreSQL (scale-out).
pub trait Backend: Send + Sync {
    fn kind(&self) -> BackendKind;
    /// Applies the migrations this backend has not seen yet.
    fn migrate(&self) -> Result<(), StoreError>;
    /// Runs `f` in one transaction: committed when it returns `Ok`, rolled back otherwise.
    fn transaction(
        &self,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// Runs read-only work; backends may use a separate connection so reads never wait for the
    /// writer. The default is an ordinary transaction.
    fn read(
        &self,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.transaction(f)
    }
    /// Serialises ledger appends across writers for the rest of the transaction.
    fn lock_ledger(&self, tx: &mut dyn Tx) -> Result<(), StoreError>;
    /// Takes, or keeps, the right to correlate: `false` while another replica on the same
    /// database holds it. Correlation reads and updates cases in several transactions, so two
    /// correlators at once would count findings twice. The embedded database has one server.
    fn correlator_turn(&self) -> Result<bool, StoreError> {
        Ok(true)
    }
}
