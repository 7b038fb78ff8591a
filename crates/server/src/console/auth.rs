//! Console logins: argon2id password hashes, random session ids and CSRF tokens, a login rate
//! limit per client address and user name, and the first-run administrator.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use minetrace_store::{ConsoleRole, Store, StoreError, User};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins allowed per (address, user) inside [`LOGIN_WINDOW`].
pub const MAX_FAILED_LOGINS: u32 = 5;
pub const LOGIN_WINDOW: Duration = Duration::from_secs(300);
/// Entries the limiter keeps (oldest windows are dropped beyond it).
const MAX_LIMITER_ENTRIES: usize = 100_000;
/// Session lifetime.
pub const SESSION_LIFETIME_US: i64 = 8 * 3600 * 1_000_000;

/// 32 random bytes as hex (session ids, CSRF tokens, generated passwords).
pub fn random_token() -> String {
    let mut raw = [0u8; 32];
    OsRng.fill_bytes(&mut raw);
    hex::encode(raw)
}

/// A password people can type: 20 characters from an unambiguous alphabet (~100 bits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut raw = [0u8; 20];
    OsRng.fill_bytes(&mut raw);
    raw.iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Creates a console user with `password` (hashed here).
pub fn create_user(
    store: &Store,
    name: &str,
    role: ConsoleRole,
    region: Option<&str>,
    unit: Option<&str>,
    password: &str,
) -> Result<User, StoreError> {
    if password.chars().count() < 12 {
        return Err(StoreError::Invalid {
            field: "password".into(),
            message: "at least 12 characters".into(),
        });
    }
    let hash = hash_password(password).map_err(|message| StoreError::Invalid {
        field: "password".into(),
        message,
    })?;
    store.create_user(name, role, region, unit, &hash)
}

/// On a store without users: creates `admin`, a regulator over every region, and returns its
/// generated password (to be shown once on the console that started the server). Replicas of a
/// scale-out deployment may start together on a fresh database: the one whose insert loses the
/// race returns `None` (the winner shows the password that works) instead of failing its start.
pub fn bootstrap_admin(store: &Store) -> Result<Option<String>, StoreError> {
    if store.count_users()? > 0 {
        return Ok(None);
    }
    let password = generate_password();
    match create_user(
        store,
        "admin",
        ConsoleRole::Regulator,
        Some("*"),
        None,
        &password,
    ) {
        Ok(_) => Ok(Some(password)),
        Err(StoreError::Conflict { .. }) if store.count_users()? > 0 => Ok(None),
        Err(e) => Err(e),
    }
}

/// Counts failed logins per (client address, user name) in a sliding window.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    fn key(addr: &str, user: &str) -> String {
        format!("{addr}\u{0}{}", user.chars().take(128).collect::<String>())
    }

    /// False when this address has failed too often for this user lately.
    pub fn allowed(&self, addr: &str, user: &str) -> bool {
        let Ok(m) = self.failures.lock() else {
            return false;
        };
        match m.get(&Self::key(addr, user)) {
            Some((n, since)) => since.elapsed() > LOGIN_WINDOW || *n < MAX_FAILED_LOGINS,
            None => true,
        }
    }

    pub fn failed(&self, addr: &str, user: &str) {
        let Ok(mut m) = self.failures.lock() else {
            return;
        };
        if m.len() >= MAX_LIMITER_ENTRIES {
            m.retain(|_, (_, since)| since.elapsed() <= LOGIN_WINDOW);
            if m.len() >= MAX_LIMITER_ENTRIES {
                m.clear();
            }
        }
        let e = m
            .entry(Self::key(addr, user))
            .or_insert((0, Instant::now()));
        if e.1.elapsed() > LOGIN_WINDOW {
            *e = (0, Instant::now());
        }
        e.0 = e.0.saturating_add(1);
    }

    pub fn succeeded(&self, addr: &str, user: &str) {
        if let Ok(mut m) = self.failures.lock() {
            m.remove(&Self::key(addr, user));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("x", "not a hash"));
        assert_eq!(generate_password().len(), 20);
        assert_ne!(random_token(), random_token());
    }

    /// Replicas starting together on one fresh database: exactly one creates `admin` and shows a
    /// password, none fails. Hashing the password takes long enough between the count and the
    /// insert that every thread sees no users, so the losing inserts really happen.
    fn bootstrap_races(store: &Store) {
        let barrier = std::sync::Barrier::new(6);
        let outcomes: Vec<Result<Option<String>, StoreError>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..6)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        bootstrap_admin(store)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let shown: Vec<&String> = outcomes
            .iter()
            .flat_map(|o| o.as_ref().expect("a replica failed its start"))
            .collect();
        assert_eq!(shown.len(), 1, "one password shown");
        assert_eq!(store.count_users().unwrap(), 1);
        let admin = store.user_by_name("admin").unwrap().expect("admin created");
        assert!(verify_password(shown[0], &admin.password_hash));
    }

    #[test]
    fn concurrent_first_starts_create_one_admin_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        bootstrap_races(&Store::open(dir.path(), None).unwrap());
    }

    #[test]
    fn concurrent_first_starts_create_one_admin_on_postgres() {
        let Ok(pg) = std::env::var("MINETRACE_TEST_POSTGRES") else {
            println!("skipped: MINETRACE_TEST_POSTGRES not set");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let url = minetrace_store::fresh_schema_url(&pg, "bootstrap_admin").unwrap();
        bootstrap_races(&Store::open(dir.path(), Some(&url)).unwrap());
    }

    #[test]
    fn limiter_blocks_after_repeated_failures() {
        let l = LoginLimiter::default();
        for _ in 0..MAX_FAILED_LOGINS {
            assert!(l.allowed("1.2.3.4", "admin"));
            l.failed("1.2.3.4", "admin");
        }
        assert!(!l.allowed("1.2.3.4", "admin"));
        assert!(l.allowed("1.2.3.5", "admin"));
        l.succeeded("1.2.3.4", "admin");
        assert!(l.allowed("1.2.3.4", "admin"));
    }
}
