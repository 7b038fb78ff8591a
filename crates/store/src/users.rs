//! Console users and their sessions. Passwords are kept as argon2id PHC strings (hashed by the
//! server, which owns the policy); sessions by the SHA-256 of the cookie value, so a database
//! dump holds no usable session.

use crate::db::Tx;
use crate::store::now;
use crate::{Store, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a console user may see and do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsoleRole {
    /// Every unit of its region (`*`: all regions), confidential cases included.
    Regulator,
    /// Its own unit's cases only, never a confidential one.
    UnitAdmin,
    /// The cases assigned to it.
    Investigator,
    /// Everything a regulator of its region sees, read-only.
    Auditor,
}

impl ConsoleRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsoleRole::Regulator => "regulator",
            ConsoleRole::UnitAdmin => "unit_admin",
            ConsoleRole::Investigator => "investigator",
            ConsoleRole::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<ConsoleRole> {
        Some(match s {
            "regulator" => ConsoleRole::Regulator,
            "unit_admin" => ConsoleRole::UnitAdmin,
            "investigator" => ConsoleRole::Investigator,
            "auditor" => ConsoleRole::Auditor,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: ConsoleRole,
    pub region: Option<String>,
    pub unit: Option<String>,
    #[serde(skip)]
    pub password_hash: String,
}

fn sha(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn user_from(r: &crate::db::Row) -> Result<User, StoreError> {
    let role = r.text(2)?;
    Ok(User {
        id: r.int(0)?,
        name: r.text(1)?,
        role: ConsoleRole::parse(&role).ok_or_else(|| StoreError::Corrupt {
            what: format!("user role {role:?}"),
        })?,
        region: r.opt_text(3)?,
        unit: r.opt_text(4)?,
        password_hash: r.text(5)?,
    })
}

const USER_COLS: &str = "id, name, role, region, unit, password_hash";

/// A self-inspection task: a regulator asks a unit to check itself by a deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: i64,
    pub unit: String,
    pub title: String,
    pub detail: String,
    /// Microseconds since the epoch.
    pub deadline: i64,
    pub created_by: String,
    pub created_at: i64,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<i64>,
}

impl Task {
    /// Past its deadline without an answer.
    pub fn overdue(&self, now_us: i64) -> bool {
        self.answer.is_none() && self.deadline < now_us
    }
}

fn task_from(r: &crate::db::Row) -> Result<Task, StoreError> {
    Ok(Task {
        id: r.int(0)?,
        unit: r.text(1)?,
        title: r.text(2)?,
        detail: r.text(3)?,
        deadline: r.int(4)?,
        created_by: r.text(5)?,
        created_at: r.int(6)?,
        answer: r.opt_text(7)?,
        answered_by: r.opt_text(8)?,
        answered_at: r.opt_int(9)?,
    })
}

const TASK_COLS: &str =
    "id, unit, title, detail, deadline, created_by, created_at, answer, answered_by, answered_at";

impl Store {
    /// Creates a self-inspection task for `unit` (ledger record naming who).
    pub fn create_task(
        &self,
        unit: &str,
        title: &str,
        detail: &str,
        deadline: i64,
        by: &str,
    ) -> Result<i64, StoreError> {
        for (field, v, max) in [("title", title, 512usize), ("detail", detail, 8192)] {
            let empty_title = field == "title" && v.trim().is_empty();
            if empty_title || v.len() > max || v.contains('\0') {
                return Err(StoreError::Invalid {
                    field: field.into(),
                    message: format!("1..={max} bytes, no NUL"),
                });
            }
        }
        let id = self.tx(|tx| {
            let rows = tx.query(
                "INSERT INTO tasks (unit, title, detail, deadline, created_by, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                &[
                    unit.into(),
                    title.into(),
                    detail.into(),
                    deadline.into(),
                    by.into(),
                    now().into(),
                ],
            )?;
            rows.first().ok_or(StoreError::Poisoned)?.int(0)
        })?;
        self.append_record(
            "task.create",
            &format!("task:{id}"),
            &serde_json::json!({"unit": unit, "title": title, "deadline": deadline, "by": by}),
        )?;
        Ok(id)
    }

    pub fn list_tasks(&self) -> Result<Vec<Task>, StoreError> {
        self.rtx(|tx| {
            tx.query(
                &format!("SELECT {TASK_COLS} FROM tasks ORDER BY deadline DESC LIMIT 1000"),
                &[],
            )?
            .iter()
            .map(task_from)
            .collect()
        })
    }

    pub fn task(&self, id: i64) -> Result<Option<Task>, StoreError> {
        self.rtx(|tx| {
            tx.query(
                &format!("SELECT {TASK_COLS} FROM tasks WHERE id = ?"),
                &[id.into()],
            )?
            .first()
            .map(task_from)
            .transpose()
        })
    }

    /// Records the unit's answer (ledger record naming who).
    pub fn answer_task(&self, id: i64, answer: &str, by: &str) -> Result<(), StoreError> {
        if answer.trim().is_empty() || answer.len() > 8192 || answer.contains('\0') {
            return Err(StoreError::Invalid {
                field: "answer".into(),
                message: "1..=8192 bytes, no NUL".into(),
            });
        }
        self.tx(|tx| {
            tx.execute(
                "UPDATE tasks SET answer = ?, answered_by = ?, answered_at = ? WHERE id = ?",
                &[answer.into(), by.into(), now().into(), id.into()],
            )?;
            Ok(())
        })?;
        self.append_record(
            "task.answer",
            &format!("task:{id}"),
            &serde_json::json!({"by": by, "answer": answer}),
        )?;
        Ok(())
    }

    /// Creates a console user (the password already hashed by the caller) and records it in the
    /// ledger.
    pub fn create_user(
        &self,
        name: &str,
        role: ConsoleRole,
        region: Option<&str>,
        unit: Option<&str>,
        password_hash: &str,
    ) -> Result<User, StoreError> {
        crate::check_name("user name", name)?;
        let id = self.tx(|tx| {
            let rows = tx.query(
                "INSERT INTO users (name, role, region, unit, password_hash, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                &[
                    name.into(),
                    role.as_str().into(),
                    region.map(str::to_string).into(),
                    unit.map(str::to_string).into(),
                    password_hash.into(),
                    now().into(),
                ],
            )?;
            rows.first().ok_or(StoreError::Poisoned)?.int(0)
        })?;
        self.append_record(
            "user.create",
            &format!("user:{name}"),
            &serde_json::json!({"name": name, "role": role.as_str(), "region": region, "unit": unit}),
        )?;
        Ok(User {
            id,
            name: name.into(),
            role,
            region: region.map(str::to_string),
            unit: unit.map(str::to_string),
            password_hash: password_hash.into(),
        })
    }

    pub fn count_users(&self) -> Result<i64, StoreError> {
        self.rtx(|tx| {
            let rows = tx.query("SELECT COUNT(*) FROM users", &[])?;
            rows.first().map_or(Ok(0), |r| r.int(0))
        })
    }

    pub fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError> {
        self.rtx(|tx| {
            tx.query(
                &format!("SELECT {USER_COLS} FROM users WHERE name = ? AND disabled_at IS NULL"),
                &[name.into()],
            )?
            .first()
            .map(user_from)
            .transpose()
        })
    }

    pub fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.rtx(|tx| {
            tx.query(
                &format!("SELECT {USER_COLS} FROM users ORDER BY name LIMIT 1000"),
                &[],
            )?
            .iter()
            .map(user_from)
            .collect()
        })
    }

    /// Replaces a user's password hash (and ends its sessions), with a ledger record.
    pub fn set_password(&self, name: &str, password_hash: &str) -> Result<bool, StoreError> {
        let changed = self.tx(|tx| {
            let n = tx.execute(
                "UPDATE users SET password_hash = ? WHERE name = ?",
                &[password_hash.into(), name.into()],
            )?;
            tx.execute(
                "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE name = ?)",
                &[name.into()],
            )?;
            Ok(n > 0)
        })?;
        if changed {
            self.append_record(
                "user.password",
                &format!("user:{name}"),
                &serde_json::json!({"name": name}),
            )?;
        }
        Ok(changed)
    }

    /// Stores a session for `user` under the hash of `session_id`; returns nothing secret.
    pub fn create_session(
        &self,
        session_id: &str,
        user: &User,
        csrf: &str,
        lifetime_us: i64,
    ) -> Result<(), StoreError> {
        let at = now();
        self.tx(|tx| {
            // Expired sessions go whenever a new one starts: the table stays small.
            tx.execute("DELETE FROM sessions WHERE expires_at < ?", &[at.into()])?;
            tx.execute(
                "INSERT INTO sessions (id_sha256, user_id, csrf, created_at, expires_at) \
                 VALUES (?, ?, ?, ?, ?)",
                &[
                    sha(session_id).into(),
                    user.id.into(),
                    csrf.into(),
                    at.into(),
                    at.saturating_add(lifetime_us).into(),
                ],
            )?;
            Ok(())
        })
    }

    /// The user and CSRF token of a live session.
    pub fn session(&self, session_id: &str) -> Result<Option<(User, String)>, StoreError> {
        let at = now();
        self.rtx(|tx| {
            let rows = tx.query(
                "SELECT u.id, u.name, u.role, u.region, u.unit, u.password_hash, s.csrf \
                 FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.id_sha256 = ? AND s.expires_at > ? AND u.disabled_at IS NULL",
                &[sha(session_id).into(), at.into()],
            )?;
            match rows.first() {
                Some(r) => Ok(Some((user_from(r)?, r.text(6)?))),
                None => Ok(None),
            }
        })
    }

    pub fn delete_session(&self, session_id: &str) -> Result<(), StoreError> {
        self.tx(|tx: &mut dyn Tx| {
            tx.execute(
                "DELETE FROM sessions WHERE id_sha256 = ?",
                &[sha(session_id).into()],
            )?;
            Ok(())
        })
    }

    /// Puts a unit under confidential investigation (or ends it): cases the correlator opens for
    /// it from now on start confidential. Ledger record naming who; false when no such unit.
    pub fn set_unit_confidential_watch(
        &self,
        unit: &str,
        watch: bool,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let changed = self.tx(|tx| {
            let n = tx.execute(
                "UPDATE units SET confidential_watch = ? WHERE name = ?",
                &[i64::from(watch).into(), unit.into()],
            )?;
            Ok(n > 0)
        })?;
        if changed {
            self.append_record(
                "unit.confidential-watch",
                &format!("unit:{unit}"),
                &serde_json::json!({"actor": actor, "watch": watch}),
            )?;
        }
        Ok(changed)
    }

    /// Whether new cases of `unit` start confidential.
    pub fn unit_confidential_watch(&self, unit: &str) -> Result<bool, StoreError> {
        self.rtx(|tx| {
            let rows = tx.query(
                "SELECT confidential_watch FROM units WHERE name = ?",
                &[unit.into()],
            )?;
            Ok(rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0) != 0)
        })
    }

    /// Marks a case confidential (or reveals it), with a ledger record naming who.
    pub fn set_case_confidential(
        &self,
        case_id: i64,
        confidential: bool,
        actor: &str,
    ) -> Result<(), StoreError> {
        self.tx(|tx| {
            tx.execute(
                "UPDATE cases SET confidential = ? WHERE id = ?",
                &[i64::from(confidential).into(), case_id.into()],
            )?;
            Ok(())
        })?;
        self.append_record(
            if confidential {
                "case.confidential"
            } else {
                "case.revealed"
            },
            &format!("case:{case_id}"),
            &serde_json::json!({"actor": actor, "confidential": confidential}),
        )?;
        Ok(())
    }
}
