//! Tributary Connect: a Kafka Connect-compatible worker. See docs/connect.md.

// Tests may unwrap: a panic there is a failed test.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod config;
pub mod connectors;
pub mod converters;
pub mod data;
pub mod record;
pub mod transforms;

/// The Kafka Connect version this worker follows (reported by `GET /`).
pub const KAFKA_VERSION: &str = "4.3.0";
pub mod rest;
pub mod runtime;
