//! `incidents`: a terminal browser for cyber-incident datasets.
//!
//! The core (`model`, `load`, `query`, `stats`, `present`, `export`, `taxii`, `parallel`) knows nothing of terminals; `app` turns keys into state
//! changes, `ui` draws state, `tui` owns the terminal, `cli` the command line.

pub mod app;
pub mod cli;
pub mod export;
pub mod load;
pub mod model;
pub mod parallel;
pub mod present;
pub mod query;
pub mod stats;
pub mod taxii;
pub mod tui;
pub mod ui;
