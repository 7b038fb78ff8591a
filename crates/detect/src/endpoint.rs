//! Connections to pool addresses learned from DNS answers in the same input.

use crate::{Context, Detector, Direction, FlowDetector, FlowInfo, Transport};
use minetrace_core::Dialect;

#[derive(Debug, Default)]
pub struct EndpointDetector;

impl Detector for EndpointDetector {
    fn name(&self) -> &'static str {
        "pool-endpoint"
    }
    fn description(&self) -> &'static str {
        "Connections to pool addresses learned from DNS answers in the same input."
    }
    fn dialects(&self) -> &'static [Dialect] {
        &[Dialect::PoolEndpoint]
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
