//! Ingest: request bodies are parsed strictly (unknown fields refused, naming their path),
//! bounded, checked, then stored in one transaction per batch and queued for correlation.

use super::ServiceError;
use minetrace_client::Heartbeat;
use minetrace_core::Finding;
use serde::Deserialize;

/// Most findings in one request.
pub const MAX_BATCH: usize = 5000;
/// Longest string anywhere in a finding.
pub const MAX_STRING: usize = 16 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FindingsBody {
    findings: Vec<Finding>,
}

/// Refuses NUL (PostgreSQL text cannot hold it) and oversized strings; names the JSON path.
fn check_strings(v: &serde_json::Value, path: &mut String) -> Result<(), ServiceError> {
    match v {
        serde_json::Value::String(s) => {
            if s.contains('\0') {
                return Err(ServiceError::Invalid {
                    field: path.clone(),
                    message: "contains a NUL character".into(),
                });
            }
            if s.len() > MAX_STRING {
                return Err(ServiceError::Invalid {
                    field: path.clone(),
                    message: format!("longer than {MAX_STRING} bytes"),
                });
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_strings(x, path)?;
                path.truncate(len);
            }
        }
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                if k.contains('\0') || k.len() > 256 {
                    return Err(ServiceError::Invalid {
                        field: path.clone(),
                        message: "bad key".into(),
                    });
                }
                let len = path.len();
                path.push('.');
                path.push_str(k);
                check_strings(x, path)?;
                path.truncate(len);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Small bodies get the full walk naming the offending path; large batches are parsed in one
/// pass (a NUL can only arrive as the `\u0000` escape, so the raw bytes are searched for it).
const WALK_LIMIT: usize = 64 * 1024;

fn strict<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ServiceError> {
    let mut unknown = Vec::new();
    let parsed: Result<T, serde_json::Error> = if bytes.len() <= WALK_LIMIT {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| ServiceError::Invalid {
                field: "body".into(),
                message: format!("not valid JSON: {e}"),
            })?;
        check_strings(&value, &mut String::from("$"))?;
        serde_ignored::deserialize(value, |p| unknown.push(p.to_string()))
    } else {
        if bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
            return Err(ServiceError::Invalid {
                field: "body".into(),
                message: "contains a NUL character (\\u0000)".into(),
            });
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        serde_ignored::deserialize(&mut de, |p| unknown.push(p.to_string()))
            .and_then(|v| de.end().map(|()| v))
    };
    let parsed = parsed.map_err(|e| ServiceError::Invalid {
        field: "body".into(),
        message: e.to_string(),
    })?;
    if let Some(p) = unknown.first() {
        return Err(ServiceError::Invalid {
            field: p.clone(),
            message: "unknown field".into(),
        });
    }
    Ok(parsed)
}

fn printable(field: &str, v: &str, max: usize) -> Result<(), ServiceError> {
    if v.is_empty() || v.len() > max || v.chars().any(char::is_control) {
        return Err(ServiceError::Invalid {
            field: field.into(),
            message: format!("must be 1..={max} printable characters"),
        });
    }
    Ok(())
}

/// Parses and validates a findings batch; findings without an id get their stable id.
pub fn parse_findings(bytes: &[u8]) -> Result<Vec<Finding>, ServiceError> {
    let body: FindingsBody = strict(bytes)?;
    if body.findings.is_empty() {
        return Err(ServiceError::Invalid {
            field: "findings".into(),
            message: "empty batch".into(),
        });
    }
    if body.findings.len() > MAX_BATCH {
        return Err(ServiceError::Invalid {
            field: "findings".into(),
            message: format!(
                "{} findings; at most {MAX_BATCH} per request",
                body.findings.len()
            ),
        });
    }
    let mut out = body.findings;
    for (i, f) in out.iter_mut().enumerate() {
        if f.id.is_empty() {
            f.assign_id();
        }
        if f.id.len() > 128
            || !f
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ServiceError::Invalid {
                field: format!("findings[{i}].id"),
                message: "must be 1..=128 characters [A-Za-z0-9_-]".into(),
            });
        }
        printable(&format!("findings[{i}].detector"), &f.detector, 64)?;
        if f.last_seen < f.first_seen {
            return Err(ServiceError::Invalid {
                field: format!("findings[{i}].last_seen"),
                message: "before first_seen".into(),
            });
        }
        if f.reasons.len() > 64
            || f.evidence.methods.len() > 256
            || f.evidence.files.len() > 256
            || f.evidence.extra.len() > 64
        {
            return Err(ServiceError::Invalid {
                field: format!("findings[{i}]"),
                message: "too many reasons, methods, files or extra entries".into(),
            });
        }
        if let Some(h) = &f.host {
            printable(&format!("findings[{i}].host"), h, 255)?;
        }
    }
    Ok(out)
}

/// Parses and validates a heartbeat.
pub fn parse_heartbeat(bytes: &[u8]) -> Result<Heartbeat, ServiceError> {
    let hb: Heartbeat = strict(bytes)?;
    printable("host", &hb.host, 255)?;
    if hb.addresses.len() > 64 || hb.macs.len() > 64 {
        return Err(ServiceError::Invalid {
            field: "addresses".into(),
            message: "at most 64 addresses and 64 MACs".into(),
        });
    }
    for (i, m) in hb.macs.iter().enumerate() {
        if super::netaddr::normalize_mac(m).is_none() {
            return Err(ServiceError::Invalid {
                field: format!("macs[{i}]"),
                message: format!("{m:?} is not a MAC address"),
            });
        }
    }
    Ok(hb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_named() {
        let e = parse_findings(br#"{"findings":[],"extra":1}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("extra"), "{e}");
        let mut f = Finding::new(
            "stratum",
            minetrace_core::FindingKind::Network,
            minetrace_core::Timestamp(1),
        );
        f.assign_id();
        let mut v = serde_json::to_value(&f).unwrap();
        v["evidence"]["bogus"] = 1.into();
        let body = serde_json::json!({"findings": [v]}).to_string();
        let e = parse_findings(body.as_bytes()).unwrap_err().to_string();
        assert!(
            e.contains("findings.0.evidence.bogus") || e.contains("bogus"),
            "{e}"
        );
    }

    #[test]
    fn nul_and_bad_ids_are_refused() {
        let mut f = Finding::new(
            "stratum",
            minetrace_core::FindingKind::Network,
            minetrace_core::Timestamp(1),
        );
        f.host = Some("a\0b".into());
        let body = serde_json::json!({"findings": [f]}).to_string();
        assert!(parse_findings(body.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("NUL"));
        f.host = None;
        f.id = "'; DROP TABLE findings; --".into();
        let body = serde_json::json!({"findings": [f]}).to_string();
        assert!(parse_findings(body.as_bytes()).is_err());
        assert!(parse_findings(b"{not json").is_err());
        assert!(parse_findings(br#"{"findings":[]}"#).is_err());
    }
}
