//! Per-host summary of findings ("mining hosts").
