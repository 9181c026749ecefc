//! The delivery pipeline shared by the exporters.

pub mod batcher;
pub mod exporter;
pub mod retry;
