//! One module per subcommand.

pub mod agent;
pub mod analyze;
pub mod demo;
pub mod detectors;
pub mod estimate;
pub mod flows;
pub mod scan;
pub mod sensor;
pub mod simulate;
pub mod cases;
pub mod config;
pub mod evidence;
pub mod server;
pub mod token;
