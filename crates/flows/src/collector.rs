//! A NetFlow v5/v9 and IPFIX collector on UDP.

use crate::error::DecodeError;
use crate::export::{decode_datagram, TemplateCache};
use crate::record::FlowRecord;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Counters of a collector run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CollectorStats {
    pub datagrams: u64,
    pub records: u64,
    pub malformed: u64,
    pub templates: u64,
}

/// Receives export datagrams on one UDP socket and decodes them with templates kept per
/// (exporter, observation domain / source id).
pub struct Collector {
    socket: UdpSocket,
    cache: TemplateCache,
    stats: CollectorStats,
    record: u64,
}

impl Collector {
    /// Binds `addr` (e.g. `127.0.0.1:2055`).
    pub fn bind(addr: SocketAddr) -> std::io::Result<Collector> {
        let socket = UdpSocket::bind(addr)?;
        // Wake up regularly so a stop request is seen.
        socket.set_read_timeout(Some(Duration::from_millis(200)))?;
        Ok(Collector {
            socket,
            cache: TemplateCache::default(),
            stats: CollectorStats::default(),
            record: 0,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    pub fn stats(&self) -> CollectorStats {
        self.stats
    }

    /// Receives until `stop` is set or `deadline` passes. Each decoded record (numbered from 1
    /// over the run) goes to `on_record` with its exporter; each malformed datagram to
    /// `on_error` (the records decoded before the fault are still delivered).
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        deadline: Option<Instant>,
        on_record: &mut dyn FnMut(SocketAddr, FlowRecord),
        on_error: &mut dyn FnMut(SocketAddr, DecodeError),
    ) -> std::io::Result<CollectorStats> {
        self.run_with_tick(stop, deadline, on_record, on_error, &mut || {})
    }

    /// [`Collector::run`], calling `tick` after every datagram and at least every 200 ms while
    /// none arrives (to send what waits, or to notice a signal).
    pub fn run_with_tick(
        &mut self,
        stop: &AtomicBool,
        deadline: Option<Instant>,
        on_record: &mut dyn FnMut(SocketAddr, FlowRecord),
        on_error: &mut dyn FnMut(SocketAddr, DecodeError),
        tick: &mut dyn FnMut(),
    ) -> std::io::Result<CollectorStats> {
        let mut buf = vec![0u8; 65_536];
        let mut out = Vec::new();
        while !stop.load(Ordering::Relaxed) && deadline.is_none_or(|d| Instant::now() < d) {
            tick();
            let (n, from) = match self.socket.recv_from(&mut buf) {
                Ok(x) => x,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(e),
            };
            self.stats.datagrams += 1;
            out.clear();
            let result = decode_datagram(
                buf.get(..n).unwrap_or(&[]),
                Some(from),
                &mut self.cache,
                &mut out,
            );
            self.stats.templates = self.cache.len() as u64;
            for mut r in out.drain(..) {
                self.record += 1;
                self.stats.records += 1;
                r.record = self.record;
                on_record(from, r);
            }
            if let Err(e) = result {
                self.stats.malformed += 1;
                on_error(from, e);
            }
        }
        Ok(self.stats)
    }
}
