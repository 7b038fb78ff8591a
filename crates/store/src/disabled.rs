//! Stand-in when the `postgres` feature is off: opening a PostgreSQL URL says so clearly.

use crate::StoreError;

pub fn redact(url: &str) -> String {
    match url.rfind('@') {
        Some(at) => format!("postgres://***{}", &url[at..]),
        None => url.to_string(),
    }
}

pub struct PostgresBackend;

impl PostgresBackend {
    pub fn connect(
        url: &str,
        _connections: usize,
    ) -> Result<crate::sqlite::SqliteBackend, StoreError> {
        Err(StoreError::Open {
            target: redact(url),
            message: "this minetrace was built without the `postgres` feature".into(),
        })
    }
}

pub fn fresh_schema_url(url: &str, _prefix: &str) -> Result<String, StoreError> {
    PostgresBackend::connect(url, 1).map(|_| String::new())
}
