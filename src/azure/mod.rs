//! Azure Monitor / Application Insights: connection strings, envelopes, track responses.

pub mod connection_string;
pub mod envelope;
pub mod logs;
pub mod metrics;
pub mod track_response;
