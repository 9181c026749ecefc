//! The delivery pipeline shared by the exporters.

pub mod batcher;
