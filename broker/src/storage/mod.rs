//! Durable storage: per-partition logs of segments holding record batches as
//! received. See docs/ARCHITECTURE.md for what is on disk and when it is fsynced.

pub mod batch;
pub mod cleaner;
pub mod log;
pub mod producer_state;
pub mod segment;
