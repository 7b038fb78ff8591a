//! getwork/getblocktemplate and eth_* mining calls over HTTP, miner user agents, X-Mining headers.

use crate::{Context, Detector, Direction, FlowDetector, FlowInfo, Transport};
use minetrace_core::Dialect;

#[derive(Debug, Default)]
pub struct HttpGetworkDetector;

impl Detector for HttpGetworkDetector {
    fn name(&self) -> &'static str {
        "http-getwork"
    }
    fn description(&self) -> &'static str {
        "getwork/getblocktemplate and eth_* mining calls over HTTP, miner user agents, X-Mining headers."
    }
    fn dialects(&self) -> &'static [Dialect] {
        &[Dialect::HttpGetwork]
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
