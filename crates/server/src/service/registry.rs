//! The asset registry: units (region -> unit, with a type), CIDR ranges -> unit, hosts with
//! addresses and contacts, research projects; CSV import and export.
//!
//! CSV columns (header line required, any order, unknown columns refused):
//! - units: `name,region,unit_type,contact`
//! - ranges: `cidr,unit,note`
//! - hosts: `name,unit,owner,owner_contact,admin,admin_contact,ips,macs` (ips/macs `;`-separated)
//! - projects: `name,unit,host,account,start,end,approver` (times RFC 3339 or Unix seconds)

use super::csv;
use super::logs::parse_time;
use super::netaddr::{normalize_mac, Cidr};
use minetrace_store::{Host, Project, Store, StoreError};

/// Registry tables that import and export as CSV.
pub const TABLES: &[&str] = &["units", "ranges", "hosts", "projects"];

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    #[error("{table} CSV: {message}")]
    Csv { table: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn opt(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_string())
}

/// Imports one table; returns rows written.
pub fn import_csv(store: &Store, table: &str, text: &str) -> Result<usize, RegistryError> {
    let err = |message: String| RegistryError::Csv {
        table: table.to_string(),
        message,
    };
    let cols: &[&str] = match table {
        "units" => &["name", "region", "unit_type", "contact"],
        "ranges" => &["cidr", "unit", "note"],
        "hosts" => &[
            "name",
            "unit",
            "owner",
            "owner_contact",
            "admin",
            "admin_contact",
            "ips",
            "macs",
        ],
        "projects" => &[
            "name", "unit", "host", "account", "start", "end", "approver",
        ],
        other => {
            return Err(err(format!(
                "unknown table {other:?} (one of {})",
                TABLES.join(", ")
            )))
        }
    };
    let rows = csv::records(text, cols).map_err(err)?;
    let mut n = 0;
    for (line, r) in rows {
        let get = |k: &str| {
            r.iter()
                .find(|(h, _)| h == k)
                .map(|(_, v)| v.as_str())
                .unwrap_or("")
        };
        let with_row = |e: StoreError| err(format!("row {line}: {e}"));
        match table {
            "units" => {
                if get("name").is_empty() {
                    return Err(err(format!("row {line}: name is empty")));
                }
                let region = if get("region").is_empty() {
                    "unassigned"
                } else {
                    get("region")
                };
                let kind = if get("unit_type").is_empty() {
                    "other"
                } else {
                    get("unit_type")
                };
                store
                    .upsert_unit(get("name"), region, kind, opt(get("contact")).as_deref())
                    .map_err(with_row)?;
            }
            "ranges" => {
                let c = Cidr::parse(get("cidr")).map_err(|e| err(format!("row {line}: {e}")))?;
                store
                    .add_range(&c.to_string(), get("unit"), opt(get("note")).as_deref())
                    .map_err(with_row)?;
            }
            "hosts" => {
                let mut ips = Vec::new();
                for a in get("ips")
                    .split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                {
                    let ip: std::net::IpAddr = a
                        .parse()
                        .map_err(|_| err(format!("row {line}: {a:?} is not an IP address")))?;
                    ips.push(ip.to_string());
                }
                let mut macs = Vec::new();
                for m in get("macs")
                    .split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                {
                    macs.push(
                        normalize_mac(m).ok_or_else(|| {
                            err(format!("row {line}: {m:?} is not a MAC address"))
                        })?,
                    );
                }
                store
                    .upsert_host(&Host {
                        name: get("name").to_string(),
                        unit_name: opt(get("unit")),
                        owner: opt(get("owner")),
                        owner_contact: opt(get("owner_contact")),
                        admin: opt(get("admin")),
                        admin_contact: opt(get("admin_contact")),
                        origin: "registry".into(),
                        ips,
                        macs,
                        ..Host::default()
                    })
                    .map_err(with_row)?;
            }
            _ => {
                let starts = parse_time(get("start"))
                    .ok_or_else(|| err(format!("row {line}: unreadable start")))?;
                let ends = parse_time(get("end"))
                    .ok_or_else(|| err(format!("row {line}: unreadable end")))?;
                if ends < starts {
                    return Err(err(format!("row {line}: end before start")));
                }
                if get("host").is_empty() && get("account").is_empty() {
                    return Err(err(format!(
                        "row {line}: a project names a host or an account"
                    )));
                }
                store
                    .add_project(&Project {
                        id: 0,
                        name: get("name").to_string(),
                        unit_name: opt(get("unit")),
                        host: opt(get("host")),
                        account: opt(get("account")),
                        starts,
                        ends,
                        approver: get("approver").to_string(),
                    })
                    .map_err(with_row)?;
            }
        }
        n += 1;
    }
    Ok(n)
}

fn t(us: i64) -> String {
    minetrace_core::Timestamp(us).to_rfc3339()
}

/// Exports one table as CSV (same columns as the import).
pub fn export_csv(store: &Store, table: &str) -> Result<String, RegistryError> {
    let mut out = String::new();
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    match table {
        "units" => {
            out.push_str(&csv::line(&["name", "region", "unit_type", "contact"]));
            for u in store.list_units()? {
                out.push_str(&csv::line(&[
                    &u.name,
                    &u.region,
                    &u.unit_type,
                    &o(&u.contact),
                ]));
            }
        }
        "ranges" => {
            out.push_str(&csv::line(&["cidr", "unit", "note"]));
            for r in store.list_ranges()? {
                out.push_str(&csv::line(&[&r.cidr, &r.unit_name, &o(&r.note)]));
            }
        }
        "hosts" => {
            out.push_str(&csv::line(&[
                "name",
                "unit",
                "owner",
                "owner_contact",
                "admin",
                "admin_contact",
                "ips",
                "macs",
            ]));
            for h in store.list_hosts()? {
                out.push_str(&csv::line(&[
                    &h.name,
                    &o(&h.unit_name),
                    &o(&h.owner),
                    &o(&h.owner_contact),
                    &o(&h.admin),
                    &o(&h.admin_contact),
                    &h.ips.join(";"),
                    &h.macs.join(";"),
                ]));
            }
        }
        "projects" => {
            out.push_str(&csv::line(&[
                "name", "unit", "host", "account", "start", "end", "approver",
            ]));
            for p in store.list_projects()? {
                out.push_str(&csv::line(&[
                    &p.name,
                    &o(&p.unit_name),
                    &o(&p.host),
                    &o(&p.account),
                    &t(p.starts),
                    &t(p.ends),
                    &p.approver,
                ]));
            }
        }
        other => {
            return Err(RegistryError::Csv {
                table: other.to_string(),
                message: format!("unknown table (one of {})", TABLES.join(", ")),
            })
        }
    }
    Ok(out)
}

/// The unit owning `ip` by longest-prefix match over `ranges`.
pub fn unit_for(
    ranges: &[(Cidr, i64, String)],
    ip: std::net::IpAddr,
) -> Option<(i64, String, Cidr)> {
    ranges
        .iter()
        .filter(|(c, _, _)| c.contains(ip))
        .max_by_key(|(c, _, _)| c.prefix())
        .map(|(c, id, name)| (*id, name.clone(), *c))
}
