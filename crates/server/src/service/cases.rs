//! The case workflow: detected -> investigating -> confirmed (active | passive | research |
//! false-positive) -> rectifying -> closed. A detection after closure reopens the case and raises
//! its recurrence count (see correlate.rs). Every change is a ledger record.

use super::ServiceError;
use minetrace_store::{Case, CaseEvent, Store};
use serde::{Deserialize, Serialize};

pub const STATUSES: &[&str] = &[
    "detected",
    "investigating",
    "confirmed",
    "rectifying",
    "closed",
];
pub const CONFIRMED_CLASSES: &[&str] = &["active", "passive", "research", "false-positive"];

/// A change asked for by a person.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseUpdate {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub class: Option<String>,
    #[serde(default)]
    pub assignee: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// Whether `from -> to` is a legal move.
pub fn allowed(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        ("detected", "investigating")
            | ("detected", "confirmed")
            | ("investigating", "confirmed")
            | ("confirmed", "rectifying")
            | ("confirmed", "closed")
            | ("rectifying", "closed")
            | ("rectifying", "investigating")
            | ("closed", "investigating")
            | ("detected", "closed")
            | ("investigating", "closed")
    )
}

fn bounded(field: &str, v: &str, max: usize) -> Result<(), ServiceError> {
    if v.len() > max || v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ServiceError::Invalid {
            field: field.into(),
            message: format!("at most {max} bytes, no control characters"),
        });
    }
    Ok(())
}

/// Applies an update; returns the case and its timeline entry.
pub fn update(
    store: &Store,
    id: i64,
    actor: &str,
    u: &CaseUpdate,
) -> Result<(Case, CaseEvent), ServiceError> {
    let mut case = store.case(id)?.ok_or(ServiceError::NotFound {
        what: format!("case {id}"),
    })?;
    let before = (case.status.clone(), case.class.clone());
    if let Some(a) = &u.assignee {
        bounded("assignee", a, 256)?;
        case.assignee = (!a.is_empty()).then(|| a.clone());
    }
    if let Some(n) = &u.note {
        bounded("note", n, 8192)?;
    }
    if let Some(c) = &u.class {
        if !CONFIRMED_CLASSES.contains(&c.as_str()) {
            return Err(ServiceError::Invalid {
                field: "class".into(),
                message: format!("{c:?} is not one of {}", CONFIRMED_CLASSES.join(", ")),
            });
        }
        case.class = Some(c.clone());
    }
    if let Some(s) = &u.status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(ServiceError::Invalid {
                field: "status".into(),
                message: format!("{s:?} is not one of {}", STATUSES.join(", ")),
            });
        }
        if s != &case.status {
            if !allowed(&case.status, s) {
                return Err(ServiceError::Transition {
                    from: case.status.clone(),
                    to: s.clone(),
                });
            }
            if s == "confirmed" && case.class.is_none() {
                return Err(ServiceError::Invalid {
                    field: "class".into(),
                    message: "confirming a case needs a class (active, passive, research, false-positive)".into(),
                });
            }
            if s == "closed"
                && case.status != "rectifying"
                && case.class.as_deref() != Some("false-positive")
                && case.status != "confirmed"
            {
                return Err(ServiceError::Invalid {
                    field: "status".into(),
                    message: "only a false positive closes before confirmation".into(),
                });
            }
            case.status = s.clone();
            case.closed_at = (s == "closed").then(|| minetrace_core::Timestamp::now().0);
        }
    }
    let detail = serde_json::json!({
        "from": {"status": before.0, "class": before.1},
        "to": {"status": case.status, "class": case.class},
        "assignee": case.assignee,
        "note": u.note,
    });
    let ev = store.save_case(&mut case, &[], actor, "case-updated", &detail)?;
    Ok((case, ev))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn transitions() {
        assert!(allowed("detected", "investigating"));
        assert!(allowed("confirmed", "rectifying"));
        assert!(!allowed("detected", "rectifying"));
        assert!(!allowed("closed", "confirmed"));
    }
}
