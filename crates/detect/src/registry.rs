//! The one list of built-in detectors. Add a detector here and nowhere else.

use crate::Detector;

/// Every built-in packet/stream detector, in the order they are offered a flow.
pub fn builtin() -> Vec<Box<dyn Detector>> {
    vec![
        Box::new(crate::stratum::StratumDetector::default()),
        Box::new(crate::http::HttpGetworkDetector),
        Box::new(crate::sv2::StratumV2Detector),
        Box::new(crate::dns::DnsDetector),
        Box::new(crate::tls::TlsDetector),
        Box::new(crate::endpoint::EndpointDetector),
        Box::new(crate::behaviour::BehaviourDetector::default()),
    ]
}
