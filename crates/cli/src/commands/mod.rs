//! One module per subcommand.

pub mod agent;
pub mod analyze;
pub mod cases;
pub mod config;
pub mod demo;
pub mod detectors;
pub mod estimate;
pub mod evidence;
pub mod flows;
pub mod scan;
pub mod sensor;
pub mod server;
pub mod simulate;
pub mod token;
pub mod user;
