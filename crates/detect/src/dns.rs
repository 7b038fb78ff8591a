//! DNS queries and answers for pool domains.

use crate::{Context, Detector, Direction, FlowDetector, FlowInfo, Transport};
use minetrace_core::Dialect;

#[derive(Debug, Default)]
pub struct DnsDetector;

impl Detector for DnsDetector {
    fn name(&self) -> &'static str {
        "dns"
    }
    fn description(&self) -> &'static str {
        "DNS queries and answers for pool domains."
    }
    fn dialects(&self) -> &'static [Dialect] {
        &[Dialect::Dns]
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
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
