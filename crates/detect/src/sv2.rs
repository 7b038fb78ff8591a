//! Stratum V2 binary frames and the encrypted Noise handshake shape.

use crate::{Context, Detector, Direction, FlowDetector, FlowInfo, Transport};
use minetrace_core::Dialect;

#[derive(Debug, Default)]
pub struct StratumV2Detector;

impl Detector for StratumV2Detector {
    fn name(&self) -> &'static str {
        "stratum-v2"
    }
    fn description(&self) -> &'static str {
        "Stratum V2 binary frames and the encrypted Noise handshake shape."
    }
    fn dialects(&self) -> &'static [Dialect] {
        &[Dialect::StratumV2]
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
