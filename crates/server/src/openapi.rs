//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`.

use serde_json::{json, Value};

fn op(summary: &str, role: &str, body: Option<&str>) -> Value {
    let mut o = json!({
        "summary": summary,
        "description": format!("Role: {role}."),
        "responses": {
            "200": {"description": "OK"},
            "400": {"description": "Malformed body, unknown field or invalid value", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "401": {"description": "Missing, unknown or revoked token"},
            "403": {"description": "Role not allowed"},
        },
    });
    if role == "public" {
        o["security"] = json!([]);
    }
    if let Some(b) = body {
        o["requestBody"] =
            json!({"required": true, "content": {b: {"schema": {"type": "object"}}}});
    }
    o
}

pub fn document() -> Value {
    let mut ingest = op(
        "Submit findings (batch of 1..=5000; idempotent by finding id)",
        "sensor or agent",
        Some("application/json"),
    );
    ingest["requestBody"]["content"]["application/json"]["schema"] =
        json!({"$ref": "#/components/schemas/FindingsBatch"});
    ingest["responses"]["409"] =
        json!({"description": "Replayed batch: every finding already stored; nothing stored"});
    ingest["responses"]["413"] = json!({"description": "Body larger than the limit"});
    ingest["responses"]["503"] = json!({"description": "Backpressure: correlation queue full; retry after Retry-After seconds"});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "minetrace server API", "version": "1", "description": "Ingest, asset registry, cases and the evidence ledger. Authenticate with `Authorization: Bearer <token>` (see `minetrace token create`)."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "properties": {"error": {"type": "string"}, "code": {"type": "string"}}},
                "FindingsBatch": {"type": "object", "additionalProperties": false, "required": ["findings"],
                    "properties": {"findings": {"type": "array", "maxItems": 5000, "items": {"$ref": "#/components/schemas/Finding"}}}},
                "Finding": {"type": "object", "description": "minetrace_core::Finding (crates/core/src/finding.rs); unknown fields are refused",
                    "required": ["id", "detector", "kind", "source", "first_seen", "last_seen", "confidence"]},
                "Heartbeat": {"type": "object", "additionalProperties": false, "required": ["host"],
                    "properties": {"host": {"type": "string"}, "agent": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
                        "addresses": {"type": "array", "items": {"type": "string"}}, "macs": {"type": "array", "items": {"type": "string"}},
                        "os": {"type": "string"}, "uptime_secs": {"type": "integer"}, "scans": {"type": "integer"}, "findings": {"type": "integer"}}},
                "CaseUpdate": {"type": "object", "additionalProperties": false,
                    "properties": {"status": {"enum": ["detected", "investigating", "confirmed", "rectifying", "closed"]},
                        "class": {"enum": ["active", "passive", "research", "false-positive"]}, "assignee": {"type": "string"}, "note": {"type": "string"}}}
            }
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/ingest/findings": {"post": ingest},
            "/api/v1/ingest/heartbeat": {"post": op("Agent heartbeat with inventory (addresses, MACs)", "agent", Some("application/json"))},
            "/api/v1/ingest/attachments": {"post": op("Attachment bytes (query: name, finding, media_type); stored by SHA-256", "sensor or agent", Some("application/octet-stream"))},
            "/api/v1/sources": {"get": op("List enrolled sources", "admin", None), "post": op("Enrol a source: {name, role} -> token", "admin", Some("application/json"))},
            "/api/v1/sources/{name}": {"delete": op("Revoke a source", "admin", None)},
            "/api/v1/units": {"get": op("List units", "admin", None), "post": op("Create or update a unit {name, region, unit_type, contact}", "admin", Some("application/json"))},
            "/api/v1/ranges": {"get": op("List CIDR ranges", "admin", None), "post": op("Map a CIDR range to a unit {cidr, unit, note}", "admin", Some("application/json"))},
            "/api/v1/hosts": {"get": op("List hosts", "admin", None), "post": op("Create or update a host", "admin", Some("application/json"))},
            "/api/v1/projects": {"get": op("List research projects", "admin", None), "post": op("Register a research project", "admin", Some("application/json"))},
            "/api/v1/registry/{table}/csv": {"get": op("Export units|ranges|hosts|projects as CSV", "admin", None), "post": op("Import units|ranges|hosts|projects CSV", "admin", Some("text/csv"))},
            "/api/v1/registry/nat": {"post": op("Import NAT log (query format=conntrack|csv)", "admin", Some("text/plain"))},
            "/api/v1/registry/dhcp": {"post": op("Import DHCP leases (query format=isc|dnsmasq|csv)", "admin", Some("text/plain"))},
            "/api/v1/cases": {"get": op("List cases (query status, unit, campaign, limit, offset)", "admin", None)},
            "/api/v1/cases/{id}": {"get": op("Case with timeline, attribution, class, reasons, estimates", "admin", None),
                "patch": op("Workflow change (CaseUpdate)", "admin", Some("application/json"))},
            "/api/v1/cases/{id}/evidence": {"get": op("Evidence bundle (JSON Lines) for offline verification", "admin", None)},
            "/api/v1/campaigns": {"get": op("Wallets with their cases and machines", "admin", None)},
            "/api/v1/ledger": {"get": op("Ledger length and public key", "public", None)},
            "/api/v1/ledger/verify": {"get": op("Verify the whole chain", "admin", None)},
            "/metrics": {"get": op("Prometheus metrics", "public", None)},
            "/healthz": {"get": op("Liveness", "public", None)},
            "/api/v1/openapi.json": {"get": op("This document", "public", None)}
        }
    })
}
