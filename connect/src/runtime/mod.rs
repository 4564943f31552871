//! The worker runtime: configuration, the task loops, offsets and status
//! storage, the herder, and distributed-mode group membership.

pub mod assignor;
pub mod connector_config;
pub mod distributed;
pub mod errors;
pub mod group_admin;
pub mod herder;
pub mod kafka;
pub mod offsets;
pub mod protocol;
pub mod status;
pub mod task;
pub mod worker;
pub mod worker_config;
