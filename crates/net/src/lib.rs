//! Capture engine.
