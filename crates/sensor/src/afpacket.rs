//! AF_PACKET receive ring (TPACKET_V3) with optional PACKET_FANOUT, without libpcap.
//!
//! The only unsafe code of the sensor lives here: the socket calls and reading the ring the kernel
//! shares with us. Every offset the kernel hands over is checked against the block before use.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

const ETH_P_ALL: u16 = 0x0003;
const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
const PACKET_MR_PROMISC: libc::c_ushort = 1;
const PACKET_RX_RING: libc::c_int = 5;
const PACKET_STATISTICS: libc::c_int = 6;
const PACKET_VERSION: libc::c_int = 10;
const PACKET_FANOUT: libc::c_int = 18;
const TPACKET_V3: libc::c_int = 2;
const PACKET_FANOUT_HASH: u32 = 0;
const PACKET_FANOUT_FLAG_DEFRAG: u32 = 0x8000;
const TP_STATUS_KERNEL: u32 = 0;
const TP_STATUS_USER: u32 = 1;

#[repr(C)]
struct TpacketReq3 {
    block_size: u32,
    block_nr: u32,
    frame_size: u32,
    frame_nr: u32,
    retire_blk_tov: u32,
    sizeof_priv: u32,
    feature_req_word: u32,
}

#[repr(C)]
#[derive(Default)]
struct TpacketStatsV3 {
    packets: u32,
    drops: u32,
    freeze_q_cnt: u32,
}

#[repr(C)]
struct PacketMreq {
    ifindex: libc::c_int,
    kind: libc::c_ushort,
    alen: libc::c_ushort,
    address: [u8; 8],
}

/// One classic BPF instruction (as printed by `tcpdump -ddd`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BpfInstruction {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

#[repr(C)]
struct SockFprog {
    len: libc::c_ushort,
    filter: *const BpfInstruction,
}

/// Ring geometry and socket options.
#[derive(Debug, Clone)]
pub struct RingOptions {
    pub block_size: u32,
    pub block_count: u32,
    /// Milliseconds after which the kernel hands over a partly filled block.
    pub block_timeout_ms: u32,
    /// Join this fanout group (flow-hash balancing across sockets), if set.
    pub fanout_group: Option<u16>,
    pub promiscuous: bool,
    pub filter: Option<Vec<BpfInstruction>>,
}

impl Default for RingOptions {
    fn default() -> Self {
        RingOptions {
            block_size: 1 << 20,
            block_count: 64,
            block_timeout_ms: 50,
            fanout_group: None,
            promiscuous: true,
            filter: None,
        }
    }
}

/// Kernel counters since the last read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingStats {
    pub packets: u64,
    pub drops: u64,
}

/// One packet in the ring.
pub struct RingPacket<'a> {
    pub sec: u32,
    pub nsec: u32,
    pub data: &'a [u8],
    pub wire_len: u32,
}

pub struct RxRing {
    fd: libc::c_int,
    map: *mut u8,
    map_len: usize,
    block_size: usize,
    block_count: usize,
    current: usize,
}

// The ring is owned by one thread at a time; the raw pointer is only dereferenced through &mut self.
unsafe impl Send for RxRing {}

fn last_error(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

impl RxRing {
    /// Opens a TPACKET_V3 ring on `interface`. Needs CAP_NET_RAW.
    pub fn open(interface: &str, opts: &RingOptions) -> io::Result<RxRing> {
        let name = std::ffi::CString::new(interface)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name has a NUL"))?;
        // SAFETY: plain libc calls with valid arguments; every result is checked.
        unsafe {
            let ifindex = libc::if_nametoindex(name.as_ptr());
            if ifindex == 0 {
                return Err(last_error(&format!("interface {interface}")));
            }
            let fd = libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                i32::from(ETH_P_ALL.to_be()),
            );
            if fd < 0 {
                return Err(last_error("socket(AF_PACKET)"));
            }
            let mut ring = RxRing {
                fd,
                map: std::ptr::null_mut(),
                map_len: 0,
                block_size: opts.block_size as usize,
                block_count: opts.block_count as usize,
                current: 0,
            };
            ring.setopt(PACKET_VERSION, &TPACKET_V3, "PACKET_VERSION")?;
            if let Some(filter) = &opts.filter {
                let prog = SockFprog {
                    len: filter.len() as libc::c_ushort,
                    filter: filter.as_ptr(),
                };
                if libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_ATTACH_FILTER,
                    &prog as *const SockFprog as *const libc::c_void,
                    std::mem::size_of::<SockFprog>() as libc::socklen_t,
                ) != 0
                {
                    return Err(last_error("SO_ATTACH_FILTER"));
                }
            }
            let req = TpacketReq3 {
                block_size: opts.block_size,
                block_nr: opts.block_count,
                frame_size: 2048,
                frame_nr: opts.block_size / 2048 * opts.block_count,
                retire_blk_tov: opts.block_timeout_ms,
                sizeof_priv: 0,
                feature_req_word: 0,
            };
            ring.setopt(PACKET_RX_RING, &req, "PACKET_RX_RING")?;
            ring.map_len = ring.block_size * ring.block_count;
            let map = libc::mmap(
                std::ptr::null_mut(),
                ring.map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_LOCKED,
                fd,
                0,
            );
            let map = if map == libc::MAP_FAILED {
                // MAP_LOCKED needs RLIMIT_MEMLOCK; fall back to an unlocked mapping.
                libc::mmap(
                    std::ptr::null_mut(),
                    ring.map_len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    fd,
                    0,
                )
            } else {
                map
            };
            if map == libc::MAP_FAILED {
                ring.map_len = 0;
                return Err(last_error("mmap of the packet ring"));
            }
            ring.map = map as *mut u8;
            let mut addr: libc::sockaddr_ll = std::mem::zeroed();
            addr.sll_family = libc::AF_PACKET as u16;
            addr.sll_protocol = ETH_P_ALL.to_be();
            addr.sll_ifindex = ifindex as i32;
            if libc::bind(
                fd,
                &addr as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            ) != 0
            {
                return Err(last_error(&format!("bind to {interface}")));
            }
            if opts.promiscuous {
                let mreq = PacketMreq {
                    ifindex: ifindex as i32,
                    kind: PACKET_MR_PROMISC,
                    alen: 0,
                    address: [0; 8],
                };
                ring.setopt(PACKET_ADD_MEMBERSHIP, &mreq, "PACKET_ADD_MEMBERSHIP")?;
            }
            if let Some(group) = opts.fanout_group {
                let val: u32 =
                    u32::from(group) | ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);
                ring.setopt(PACKET_FANOUT, &val, "PACKET_FANOUT")?;
            }
            Ok(ring)
        }
    }

    fn setopt<T>(&self, opt: libc::c_int, val: &T, what: &str) -> io::Result<()> {
        // SAFETY: `val` points to a live value of the size passed.
        let r = unsafe {
            libc::setsockopt(
                self.fd,
                libc::SOL_PACKET,
                opt,
                val as *const T as *const libc::c_void,
                std::mem::size_of::<T>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(last_error(what));
        }
        Ok(())
    }

    /// Packets received and dropped by the kernel since the last call.
    pub fn stats(&self) -> io::Result<RingStats> {
        let mut s = TpacketStatsV3::default();
        let mut len = std::mem::size_of::<TpacketStatsV3>() as libc::socklen_t;
        // SAFETY: `s` is a writable buffer of `len` bytes.
        let r = unsafe {
            libc::getsockopt(
                self.fd,
                libc::SOL_PACKET,
                PACKET_STATISTICS,
                &mut s as *mut TpacketStatsV3 as *mut libc::c_void,
                &mut len,
            )
        };
        if r != 0 {
            return Err(last_error("PACKET_STATISTICS"));
        }
        Ok(RingStats {
            packets: u64::from(s.packets),
            drops: u64::from(s.drops),
        })
    }

    fn block_status(&self, block: usize) -> &AtomicU32 {
        // SAFETY: block < block_count, so the block header lies inside the mapping; the status
        // word is 4-byte aligned at offset 8 of a page-aligned block.
        unsafe { &*(self.map.add(block * self.block_size + 8) as *const AtomicU32) }
    }

    /// Waits up to `timeout_ms` for a filled block, hands each of its packets to `f`, returns the
    /// block to the kernel and answers how many packets it held (0 on timeout).
    pub fn next_block(
        &mut self,
        timeout_ms: i32,
        f: &mut dyn FnMut(RingPacket<'_>),
    ) -> io::Result<usize> {
        let block = self.current;
        if self.block_status(block).load(Ordering::Acquire) & TP_STATUS_USER == 0 {
            let mut pfd = libc::pollfd {
                fd: self.fd,
                events: libc::POLLIN | libc::POLLERR,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let r = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    return Ok(0);
                }
                return Err(e);
            }
            if self.block_status(block).load(Ordering::Acquire) & TP_STATUS_USER == 0 {
                return Ok(0);
            }
        }
        // SAFETY: the kernel gave this block to user space (TP_STATUS_USER); it stays ours until
        // the status is written back below. All offsets are checked against the block size.
        let bs = self.block_size;
        let base = unsafe { std::slice::from_raw_parts(self.map.add(block * bs), bs) };
        let num = read_u32(base, 12).unwrap_or(0) as usize;
        let mut off = read_u32(base, 16).unwrap_or(0) as usize;
        let mut count = 0;
        for _ in 0..num {
            let Some(hdr) = base.get(off..off + 32) else {
                break;
            };
            let next = read_u32(hdr, 0).unwrap_or(0) as usize;
            let sec = read_u32(hdr, 4).unwrap_or(0);
            let nsec = read_u32(hdr, 8).unwrap_or(0);
            let snap = read_u32(hdr, 12).unwrap_or(0) as usize;
            let wire = read_u32(hdr, 16).unwrap_or(0);
            let mac = u16::from_ne_bytes([hdr[24], hdr[25]]) as usize;
            if let Some(data) = base.get(off + mac..off + mac + snap) {
                f(RingPacket {
                    sec,
                    nsec,
                    data,
                    wire_len: wire,
                });
                count += 1;
            }
            if next == 0 {
                break;
            }
            off += next;
        }
        self.block_status(block)
            .store(TP_STATUS_KERNEL, Ordering::Release);
        self.current = (block + 1) % self.block_count;
        Ok(count)
    }
}

fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

impl Drop for RxRing {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping and closing our own descriptor, once.
        unsafe {
            if !self.map.is_null() && self.map_len > 0 {
                libc::munmap(self.map as *mut libc::c_void, self.map_len);
            }
            libc::close(self.fd);
        }
    }
}

/// Parses a classic BPF program in `tcpdump -ddd` form: a count line, then one
/// `code jt jf k` line per instruction. Lets users filter without linking libpcap.
pub fn parse_bpf(text: &str) -> Result<Vec<BpfInstruction>, String> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let count: usize = lines
        .next()
        .ok_or("empty filter")?
        .parse()
        .map_err(|_| "line 1: expected the instruction count".to_string())?;
    if count == 0 || count > 4096 {
        return Err(format!("line 1: {count} instructions (1..=4096 allowed)"));
    }
    let mut prog = Vec::with_capacity(count);
    for (i, line) in lines.enumerate() {
        let n: Vec<&str> = line.split_whitespace().collect();
        let parse = |s: &str| {
            s.parse::<u64>()
                .map_err(|_| format!("line {}: {line:?}", i + 2))
        };
        if n.len() != 4 {
            return Err(format!("line {}: expected `code jt jf k`", i + 2));
        }
        let (code, jt, jf, k) = (parse(n[0])?, parse(n[1])?, parse(n[2])?, parse(n[3])?);
        if code > 0xffff || jt > 0xff || jf > 0xff || k > 0xffff_ffff {
            return Err(format!("line {}: value out of range", i + 2));
        }
        prog.push(BpfInstruction {
            code: code as u16,
            jt: jt as u8,
            jf: jf as u8,
            k: k as u32,
        });
    }
    if prog.len() != count {
        return Err(format!(
            "the count says {count} instructions, the file has {}",
            prog.len()
        ));
    }
    Ok(prog)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tcpdump_ddd_output() {
        // `tcpdump -ddd tcp` on Ethernet.
        let text = "4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n";
        let p = parse_bpf(text).unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!(
            p[1],
            BpfInstruction {
                code: 21,
                jt: 0,
                jf: 1,
                k: 2048
            }
        );
        assert!(parse_bpf("2\n40 0 0 12\n")
            .unwrap_err()
            .contains("count says 2"));
        assert!(parse_bpf("1\n40 0 0\n").is_err());
        assert!(parse_bpf("1\n99999 0 0 0\n").is_err());
        assert!(parse_bpf("").is_err());
    }
}
