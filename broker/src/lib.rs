//! Tributary broker: a Kafka-wire-compatible broker.
//!
//! Request path: `server` accepts, `connection` frames, `protocol` decodes,
//! `handlers` serve from `broker` state whose partitions live in `storage`.
//! Cluster metadata comes from the Raft quorum in `controller`; followers
//! copy leaders' logs in `replica`.

pub mod broker;
pub mod config;
pub mod connection;
pub mod controller;
pub mod group;
pub mod handlers;
pub mod partition;
pub mod protocol;
pub mod replica;
pub mod server;
pub mod storage;
pub mod topic_config;
pub mod txn;
