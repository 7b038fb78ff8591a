//! JSON mining dialects: Stratum V1, Equihash, EthereumStratum, EthProxy, KawPow, CryptoNote, Grin, Beam, Kaspa.

use crate::{Context, Detector, Direction, FlowDetector, FlowInfo, Transport};
use minetrace_core::Dialect;

#[derive(Debug, Default)]
pub struct StratumDetector;

impl Detector for StratumDetector {
    fn name(&self) -> &'static str {
        "stratum"
    }
    fn description(&self) -> &'static str {
        "JSON mining dialects: Stratum V1, Equihash, EthereumStratum, EthProxy, KawPow, CryptoNote, Grin, Beam, Kaspa."
    }
    fn dialects(&self) -> &'static [Dialect] {
        &[Dialect::StratumV1]
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
