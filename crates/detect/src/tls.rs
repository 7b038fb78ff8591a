//! TLS ClientHello with a pool SNI; records JA3 and JA4.

use crate::{Context, Detector, Direction, FlowDetector, FlowInfo, Transport};
use minetrace_core::Dialect;

#[derive(Debug, Default)]
pub struct TlsDetector;

impl Detector for TlsDetector {
    fn name(&self) -> &'static str {
        "tls"
    }
    fn description(&self) -> &'static str {
        "TLS ClientHello with a pool SNI; records JA3 and JA4."
    }
    fn dialects(&self) -> &'static [Dialect] {
        &[Dialect::Tls]
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn open(
        &self,
        _flow: &FlowInfo,
        _dir: Direction,
        _payload: &[u8],
        _ctx: &Context,
    ) -> Option<Box<dyn FlowDetector>> {
        None
    }
}
