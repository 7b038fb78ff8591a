//! Scale-out backend: PostgreSQL through the synchronous `postgres` client. Placeholders `?`
//! become `$1..$n`; a transaction-scoped advisory lock serialises ledger appends between replicas.

use crate::db::{Backend, BackendKind, Row, Tx, Value};
use crate::schema;
use crate::StoreError;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::{Client, NoTls};
use std::error::Error as StdError;
use std::sync::Mutex;

pub struct PostgresBackend {
    /// Kept to open the correlator's own connection (never printed: `url_redacted` is).
    url: String,
    url_redacted: String,
    pool: Vec<Mutex<Client>>,
    next: std::sync::atomic::AtomicUsize,
    /// The connection that holds (or keeps asking for) the correlator's lock.
    correlator: Mutex<Option<CorrelatorLock>>,
}

/// The correlator's session-level advisory lock: held while its connection lives, so a replica
/// that dies (or loses the database) gives it up at once and another takes it.
struct CorrelatorLock {
    client: Client,
    held: bool,
}

/// Asks for the correlator's lock, one per schema (tenants and test runs share a database):
/// `true` when this session holds it now.
fn try_correlator_lock(client: &mut Client) -> Result<bool, postgres::Error> {
    client
        .query_one(
            "SELECT pg_try_advisory_lock(7219003, hashtext(current_schema()))",
            &[],
        )?
        .try_get(0)
}

/// Hides the password of a connection URL in messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..s + 3], user, &url[at..])
        }
        _ => url.to_string(),
    }
}

impl PostgresBackend {
    pub fn connect(url: &str, connections: usize) -> Result<Self, StoreError> {
        let mut pool = Vec::new();
        for _ in 0..connections.max(1) {
            let c = Client::connect(url, NoTls).map_err(|e| StoreError::Open {
                target: redact(url),
                message: e.to_string(),
            })?;
            pool.push(Mutex::new(c));
        }
        Ok(PostgresBackend {
            url: url.to_string(),
            url_redacted: redact(url),
            pool,
            next: std::sync::atomic::AtomicUsize::new(0),
            correlator: Mutex::new(None),
        })
    }

    pub fn target(&self) -> &str {
        &self.url_redacted
    }
}

/// `?` -> `$n` (our SQL never has `?` inside string literals).
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

#[derive(Debug)]
struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::FLOAT8 => (*v as f64).to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Value::Real(v) => v.to_sql(ty, out),
            Value::Text(v) => v.as_str().to_sql(ty, out),
            Value::Blob(v) => v.as_slice().to_sql(ty, out),
        }
    }
    fn accepts(_ty: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

fn pg_err(sql: &str, e: postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        if db.code().code().starts_with("23") {
            return StoreError::Conflict {
                message: db.message().to_string(),
            };
        }
        return StoreError::Sql {
            statement: sql.chars().take(80).collect(),
            message: db.message().to_string(),
        };
    }
    StoreError::Sql {
        statement: sql.chars().take(80).collect(),
        message: e.to_string(),
    }
}

fn column(row: &postgres::Row, i: usize) -> Result<Value, postgres::Error> {
    let ty = row.columns()[i].type_().clone();
    Ok(match ty {
        Type::INT8 => row
            .try_get::<_, Option<i64>>(i)?
            .map_or(Value::Null, Value::Int),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)?
            .map_or(Value::Null, |v| Value::Int(i64::from(v))),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)?
            .map_or(Value::Null, |v| Value::Int(i64::from(v))),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)?
            .map_or(Value::Null, |v| Value::Int(i64::from(v))),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(i)?
            .map_or(Value::Null, Value::Real),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(i)?
            .map_or(Value::Null, |v| Value::Real(f64::from(v))),
        Type::BYTEA => row
            .try_get::<_, Option<Vec<u8>>>(i)?
            .map_or(Value::Null, Value::Blob),
        // Text-like types; anything else (void, json...) reads as NULL rather than failing.
        _ => row
            .try_get::<_, Option<String>>(i)
            .ok()
            .flatten()
            .map_or(Value::Null, Value::Text),
    })
}

struct PgTx<'a, 'c>(&'a mut postgres::Transaction<'c>);

impl Tx for PgTx<'_, '_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let q = numbered(sql);
        let p: Vec<Param> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = p.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.0
            .execute(q.as_str(), &refs)
            .map_err(|e| pg_err(sql, e))
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let q = numbered(sql);
        let p: Vec<Param> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = p.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = self
            .0
            .query(q.as_str(), &refs)
            .map_err(|e| pg_err(sql, e))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut vals = Vec::with_capacity(r.len());
            for i in 0..r.len() {
                vals.push(column(r, i).map_err(|e| pg_err(sql, e))?);
            }
            out.push(Row(vals));
        }
        Ok(out)
    }
}

impl Backend for PostgresBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Postgres
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut f = |tx: &mut dyn Tx| {
            // Replicas starting together: one migrates, the others wait for it.
            tx.execute("SELECT pg_advisory_xact_lock(7219001)", &[])?;
            schema::apply(tx, BackendKind::Postgres)
        };
        self.transaction(&mut f)
    }

    fn transaction(
        &self,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.pool.len();
        let slot = self.pool.get(i).ok_or(StoreError::Poisoned)?;
        let mut client = slot.lock().map_err(|_| StoreError::Poisoned)?;
        let mut tx = client.transaction().map_err(|e| pg_err("BEGIN", e))?;
        {
            let mut t = PgTx(&mut tx);
            f(&mut t)?;
        }
        tx.commit().map_err(|e| pg_err("COMMIT", e))
    }

    fn lock_ledger(&self, tx: &mut dyn Tx) -> Result<(), StoreError> {
        tx.execute("SELECT pg_advisory_xact_lock(7219002)", &[])?;
        Ok(())
    }

    fn correlator_turn(&self) -> Result<bool, StoreError> {
        let mut slot = self.correlator.lock().map_err(|_| StoreError::Poisoned)?;
        if let Some(lock) = slot.as_mut() {
            // A session lock lasts as long as its connection: a live connection still holds it.
            let alive = if lock.held {
                lock.client.simple_query("SELECT 1").is_ok()
            } else {
                match try_correlator_lock(&mut lock.client) {
                    Ok(held) => {
                        lock.held = held;
                        true
                    }
                    Err(_) => false,
                }
            };
            if alive {
                return Ok(lock.held);
            }
            // Lost with its connection (the database restarted, or the session was ended).
            *slot = None;
        }
        let mut client = Client::connect(&self.url, NoTls).map_err(|e| StoreError::Open {
            target: self.url_redacted.clone(),
            message: e.to_string(),
        })?;
        let held = try_correlator_lock(&mut client)
            .map_err(|e| pg_err("SELECT pg_try_advisory_lock", e))?;
        *slot = Some(CorrelatorLock { client, held });
        Ok(held)
    }
}

/// Creates a new empty schema and returns `url` pointed at it (tests and isolated tenants).
pub fn fresh_schema_url(url: &str, prefix: &str) -> Result<String, StoreError> {
    let mut raw = [0u8; 6];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
    let clean: String = prefix
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(30)
        .collect();
    let schema = format!("{}_{}", clean.to_ascii_lowercase(), hex::encode(raw));
    let mut c = Client::connect(url, NoTls).map_err(|e| StoreError::Open {
        target: redact(url),
        message: e.to_string(),
    })?;
    // The name is built from [a-z0-9_] only, so it is safe to splice as an identifier.
    c.batch_execute(&format!("CREATE SCHEMA {schema}"))
        .map_err(|e| pg_err("CREATE SCHEMA", e))?;
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}options=-c%20search_path%3D{schema}"))
}
