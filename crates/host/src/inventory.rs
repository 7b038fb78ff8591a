//! What an agent's heartbeat tells the server about its host: the addresses a network sensor can
//! see it by, its MACs, its OS and uptime. Read from /proc and /sys (no command, no ioctl); each
//! parser is pure and bounded, so a strange file gives fewer entries, never an error.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// Most addresses and MACs reported (the server takes 64 of each).
pub const MAX_ENTRIES: usize = 64;
/// Bytes read from each file.
const READ_LIMIT: u64 = 1 << 20;

/// The host's inventory for a heartbeat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub addresses: Vec<IpAddr>,
    pub macs: Vec<String>,
    pub os: Option<String>,
    pub uptime_secs: Option<u64>,
}

/// Reads the inventory of the host under `root` (`/` on a live system).
pub fn read(root: &Path) -> Inventory {
    let text = |p: &str| {
        minetrace_core::io::read_head(&root.join(p), READ_LIMIT)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let routes = ipv4_connected_routes(&text("proc/net/route"));
    let mut addresses: Vec<IpAddr> = ipv4_local_addresses(&text("proc/net/fib_trie"))
        .into_iter()
        .filter(|a| match a {
            IpAddr::V4(v4) => !interface_of(*v4, &routes).is_some_and(virtual_bridge),
            IpAddr::V6(_) => true,
        })
        .collect();
    addresses.extend(ipv6_addresses(&text("proc/net/if_inet6")));
    addresses.truncate(MAX_ENTRIES);
    let mut macs = Vec::new();
    if let Ok(dir) = std::fs::read_dir(root.join("sys/class/net")) {
        let mut names: Vec<String> = dir
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "lo" && !virtual_bridge(n))
            .take(4 * MAX_ENTRIES)
            .collect();
        names.sort();
        for name in names {
            if let Some(mac) = mac(&text(&format!("sys/class/net/{name}/address"))) {
                if !macs.contains(&mac) && macs.len() < MAX_ENTRIES {
                    macs.push(mac);
                }
            }
        }
    }
    Inventory {
        addresses,
        macs,
        os: os_name(&text("etc/os-release")).or_else(|| os_name(&text("usr/lib/os-release"))),
        uptime_secs: uptime(&text("proc/uptime")),
    }
}

/// The host's own IPv4 addresses: the `/32 host LOCAL` entries of `/proc/net/fib_trie` (each
/// follows the line `|-- ADDRESS`), without loopback and link-local ones.
pub fn ipv4_local_addresses(fib_trie: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut last: Option<Ipv4Addr> = None;
    for line in fib_trie.lines() {
        let line = line.trim();
        if let Some(addr) = line.strip_prefix("|-- ") {
            last = addr.trim().parse().ok();
        } else if line.starts_with("/32 host LOCAL") {
            if let Some(a) = last.take() {
                let ip = IpAddr::V4(a);
                if !a.is_loopback() && !a.is_link_local() && !out.contains(&ip) {
                    out.push(ip);
                }
            }
        }
        if out.len() >= MAX_ENTRIES {
            break;
        }
    }
    out
}

/// Interfaces of container and VM bridges and other host-internal devices, whose addresses
/// (docker0's 172.17.0.1, libvirt's 192.168.122.1) many hosts share and whose addresses and MACs
/// no network sensor or DHCP server outside the host sees.
const VIRTUAL_BRIDGES: &[&str] = &[
    "docker", "br-", "virbr", "veth", "cni", "flannel", "cali", "vxlan", "kube-", "lxc", "lxd",
    "podman", "vnet", "tunl0", "ifb", "dummy",
];

fn virtual_bridge(interface: &str) -> bool {
    VIRTUAL_BRIDGES.iter().any(|p| interface.starts_with(p))
}

/// The directly connected IPv4 routes of `/proc/net/route` (no gateway): interface,
/// destination, mask. The kernel prints each address as the number its network-order bytes
/// make on this machine, so the native byte order gives them back.
pub fn ipv4_connected_routes(route: &str) -> Vec<(String, u32, u32)> {
    route
        .lines()
        .skip(1)
        .take(4096)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let hex = |i: usize| {
                f.get(i)
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .map(|v| u32::from_be_bytes(v.to_ne_bytes()))
            };
            if hex(2)? != 0 {
                return None; // through a gateway: not a network the host is on
            }
            Some((f.first()?.to_string(), hex(1)?, hex(7)?))
        })
        .collect()
}

/// The interface of the longest connected route that holds `addr`.
fn interface_of(addr: Ipv4Addr, routes: &[(String, u32, u32)]) -> Option<&str> {
    let a = u32::from(addr);
    routes
        .iter()
        .filter(|(_, dest, mask)| a & mask == *dest)
        .max_by_key(|(_, _, mask)| mask.count_ones())
        .map(|(name, _, _)| name.as_str())
}

/// The host's global IPv6 addresses from `/proc/net/if_inet6` (address, index, prefix length,
/// scope, flags, interface): scope 0 only, so no loopback and no link-local ones, and none of a
/// container or VM bridge.
pub fn ipv6_addresses(if_inet6: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for line in if_inet6.lines() {
        let mut fields = line.split_whitespace();
        let (Some(hex), Some(_), Some(_), Some(scope), Some(_), Some(interface)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            continue;
        };
        if scope != "00" || hex.len() != 32 || virtual_bridge(interface) {
            continue;
        }
        let Ok(bits) = u128::from_str_radix(hex, 16) else {
            continue;
        };
        let ip = IpAddr::V6(Ipv6Addr::from(bits));
        if !out.contains(&ip) {
            out.push(ip);
        }
        if out.len() >= MAX_ENTRIES {
            break;
        }
    }
    out
}

/// A MAC from `/sys/class/net/IF/address`, lower case; `None` for an all-zero or odd one.
pub fn mac(text: &str) -> Option<String> {
    let mac = text.trim().to_ascii_lowercase();
    let parts: Vec<&str> = mac.split(':').collect();
    let well_formed = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
    (well_formed && mac != "00:00:00:00:00:00").then_some(mac)
}

/// `PRETTY_NAME` from os-release (quotes removed).
pub fn os_name(os_release: &str) -> Option<String> {
    os_release.lines().find_map(|l| {
        let value = l.trim().strip_prefix("PRETTY_NAME=")?;
        let value = value.trim().trim_matches('"').trim_matches('\'');
        (!value.is_empty()).then(|| value.chars().take(128).collect())
    })
}

/// Whole seconds from `/proc/uptime`.
pub fn uptime(text: &str) -> Option<u64> {
    let first = text.split_whitespace().next()?;
    let secs: f64 = first.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then_some(secs as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIB_TRIE: &str = "Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
           |-- 127.0.0.1
              /32 host LOCAL
     +-- 10.20.0.0/16 2 0 2
           |-- 10.20.0.0
              /16 link UNICAST
           |-- 10.20.0.7
              /32 host LOCAL
        |-- 10.20.255.255
           /32 link BROADCAST
     |-- 169.254.3.4
        /32 host LOCAL
Local:
           |-- 10.20.0.7
              /32 host LOCAL
           |-- 192.0.2.2
              /32 host LOCAL
";

    #[test]
    fn ipv4_addresses_are_the_local_host_entries_without_loopback_or_link_local() {
        let got: Vec<String> = ipv4_local_addresses(FIB_TRIE)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(got, ["10.20.0.7", "192.0.2.2"]);
        // Broadcast and network entries, and garbage, are not addresses of the host.
        assert!(ipv4_local_addresses(
            "|-- 10.0.0.255\n/32 link BROADCAST\n|-- x\n/32 host LOCAL\n"
        )
        .is_empty());
    }

    #[test]
    fn ipv6_addresses_are_the_global_ones() {
        let text = "00000000000000000000000000000001 01 80 10 80       lo
fd000000000000000000000000000002 04 40 00 82     eth0
fe8000000000000000fc00fffe000001 04 40 20 80     eth0
20010db8000000000000000000000009 04 40 00 00     eth0
fd000000000000000000000000000003 05 40 00 00  docker0
zz 04 40 00 00 eth0
";
        let got: Vec<String> = ipv6_addresses(text)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(got, ["fd00::2", "2001:db8::9"]);
    }

    #[test]
    fn macs_os_and_uptime() {
        assert_eq!(
            mac("AA:BB:cc:00:00:01\n").as_deref(),
            Some("aa:bb:cc:00:00:01")
        );
        assert_eq!(mac("00:00:00:00:00:00"), None);
        assert_eq!(mac("aa:bb:cc:00:00"), None);
        assert_eq!(mac("aa:bb:cc:00:00:0g"), None);
        assert_eq!(
            os_name("NAME=Debian\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n").as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(os_name("NAME=x\n"), None);
        assert_eq!(uptime("12345.67 4000.00\n"), Some(12345));
        assert_eq!(uptime("-1 0"), None);
        assert_eq!(uptime(""), None);
    }

    #[test]
    fn a_whole_host_tree_reads_into_an_inventory() {
        let root = tempfile::tempdir().unwrap();
        let put = |p: &str, text: &str| {
            let path = root.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        put(
            "proc/net/fib_trie",
            &format!("{FIB_TRIE}           |-- 172.17.0.1\n              /32 host LOCAL\n"),
        );
        put(
            "proc/net/if_inet6",
            "20010db8000000000000000000000009 04 40 00 00     eth0\n",
        );
        put("sys/class/net/eth0/address", "aa:bb:cc:00:00:07\n");
        // docker0 holds 172.17.0.1: a bridge address every docker host has, left out.
        put(
            "proc/net/route",
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
             eth0\t00000000\t0100140A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
             eth0\t0000140A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n\
             docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n",
        );
        put("sys/class/net/lo/address", "00:00:00:00:00:00\n");
        put("sys/class/net/docker0/address", "02:42:ac:11:00:01\n");
        put("etc/os-release", "PRETTY_NAME=\"Test OS\"\n");
        put("proc/uptime", "60.5 10.0\n");
        let inv = read(root.path());
        let addrs: Vec<String> = inv.addresses.iter().map(ToString::to_string).collect();
        assert_eq!(addrs, ["10.20.0.7", "192.0.2.2", "2001:db8::9"]);
        assert_eq!(inv.macs, ["aa:bb:cc:00:00:07"]);
        assert_eq!(inv.os.as_deref(), Some("Test OS"));
        assert_eq!(inv.uptime_secs, Some(60));
        // An empty tree: an empty inventory, not an error.
        assert_eq!(read(&root.path().join("none")), Inventory::default());
    }
}
