//! Traffic simulator.
