//! Tributary Connect: a Kafka Connect-compatible worker. See docs/connect.md.

pub mod config;
pub mod converters;
pub mod data;
pub mod record;
pub mod transforms;
pub mod connectors;

/// The Kafka Connect version this worker follows (reported by `GET /`).
pub const KAFKA_VERSION: &str = "4.3.0";
pub mod rest;
pub mod runtime;
