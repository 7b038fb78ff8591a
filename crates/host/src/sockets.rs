//! TCP sockets from `/proc/net/tcp` and `/proc/net/tcp6`, keyed by inode so they can be tied to
//! the processes whose file descriptors point at them.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

/// Largest socket table read (a busy server has many connections; the head is kept).
const MAX_TABLE_BYTES: u64 = 32 * 1024 * 1024;

/// One TCP socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSocket {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// Kernel TCP state (1 established, 2 syn-sent, 10 listen...).
    pub state: u8,
    pub uid: u32,
    pub inode: u64,
}

impl TcpSocket {
    pub fn is_connected(&self) -> bool {
        matches!(self.state, 1 | 2)
    }
    pub fn state_name(&self) -> &'static str {
        match self.state {
            1 => "established",
            2 => "syn-sent",
            3 => "syn-recv",
            4 => "fin-wait1",
            5 => "fin-wait2",
            6 => "time-wait",
            7 => "close",
            8 => "close-wait",
            9 => "last-ack",
            10 => "listen",
            11 => "closing",
            _ => "unknown",
        }
    }
}

/// Parses one table (`tcp` or `tcp6` format). Malformed lines are skipped and counted.
pub fn parse_table(text: &str) -> (Vec<TcpSocket>, usize) {
    let mut out = Vec::new();
    let mut bad = 0;
    for line in text.lines().skip(1) {
        match parse_line(line) {
            Some(s) => out.push(s),
            None if line.trim().is_empty() => {}
            None => bad += 1,
        }
    }
    (out, bad)
}

fn parse_line(line: &str) -> Option<TcpSocket> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 10 {
        return None;
    }
    let local = parse_addr(f.get(1)?)?;
    let remote = parse_addr(f.get(2)?)?;
    let state = u8::from_str_radix(f.get(3)?, 16).ok()?;
    let uid = f.get(7)?.parse().ok()?;
    let inode = f.get(9)?.parse().ok()?;
    Some(TcpSocket {
        local,
        remote,
        state,
        uid,
        inode,
    })
}

/// `0100007F:0CEA` (IPv4, host byte order words) or 32 hex digits (IPv6, four host-order words).
fn parse_addr(s: &str) -> Option<SocketAddr> {
    let (ip_hex, port_hex) = s.split_once(':')?;
    let port = u16::from_str_radix(port_hex, 16).ok()?;
    let ip = match ip_hex.len() {
        8 => {
            let v = u32::from_str_radix(ip_hex, 16).ok()?;
            IpAddr::V4(Ipv4Addr::from(v.swap_bytes().to_be_bytes()))
        }
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                let word = u32::from_str_radix(ip_hex.get(i * 8..i * 8 + 8)?, 16).ok()?;
                chunk.copy_from_slice(&word.swap_bytes().to_be_bytes());
            }
            let v6 = Ipv6Addr::from(bytes);
            match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(v6),
            }
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Reads `<dir>/tcp` and `<dir>/tcp6` (dir is `/proc/net` or `/proc/<pid>/net`) into a map by inode.
pub fn read_tables(dir: &Path, notes: &mut Vec<String>) -> HashMap<u64, TcpSocket> {
    let mut map = HashMap::new();
    for name in ["tcp", "tcp6"] {
        let path = dir.join(name);
        match minetrace_core::io::read_head(&path, MAX_TABLE_BYTES) {
            Ok(bytes) => {
                if bytes.len() as u64 >= MAX_TABLE_BYTES {
                    notes.push(format!(
                        "{}: larger than {MAX_TABLE_BYTES} bytes, the rest is not read",
                        path.display()
                    ));
                }
                let (sockets, bad) = parse_table(&String::from_utf8_lossy(&bytes));
                if bad > 0 {
                    notes.push(format!("{}: {bad} malformed lines skipped", path.display()));
                }
                for s in sockets {
                    if s.inode != 0 {
                        map.insert(s.inode, s);
                    }
                }
            }
            Err(e) => {
                if name == "tcp" {
                    notes.push(format!("socket table unreadable: {e}"));
                }
            }
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ipv4_and_ipv6_lines() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
           0: 0100007F:0CEA 0100007F:A2C4 01 00000000:00000000 00:00000000 00000000  1000        0 123456 1 0000000000000000 20 4 30 10 -1\n\
           1: garbage\n";
        let (s, bad) = parse_table(v4);
        assert_eq!(bad, 1);
        assert_eq!(s[0].local, "127.0.0.1:3306".parse().unwrap());
        assert_eq!(s[0].remote.port(), 0xA2C4);
        assert_eq!(s[0].uid, 1000);
        assert_eq!(s[0].inode, 123456);
        assert!(s[0].is_connected());
        let v6 = "header\n   0: 00000000000000000000000001000000:0D05 0000000000000000FFFF00000100007F:0050 01 00000000:00000000 00:00000000 00000000     0        0 99 1\n";
        let (s, _) = parse_table(v6);
        assert_eq!(s[0].local, "[::1]:3333".parse().unwrap());
        assert_eq!(s[0].remote, "127.0.0.1:80".parse().unwrap());
    }
}
