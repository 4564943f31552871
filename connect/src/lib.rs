//! Tributary Connect: a Kafka Connect-compatible worker. See docs/connect.md.

pub mod config;
pub mod converters;
pub mod data;
pub mod record;
pub mod transforms;
