//! Output sinks: terminal table, JSON Lines, Suricata EVE.
