//! A small async Kafka client over the `kafka-protocol` crate and tokio, with
//! just what Tributary's schema registry and Connect worker need: bootstrap
//! and version negotiation, Metadata, CreateTopics, Produce (acks=all),
//! Fetch (long poll), ListOffsets, classic group membership with opaque
//! protocol types, and OffsetCommit/OffsetFetch.
//!
//! Layout: [`versions`] and [`records`] are pure (negotiation, batch
//! encode/decode); [`connection`] owns one socket; [`client`] pools
//! connections, caches metadata and retries; [`group`] drives a group member.
//! Kafka error codes become [`Error::Kafka`] in one place ([`error`]).
//!
//! Why not rdkafka: it needs a C build, and the registry/Connect need group
//! membership with custom protocol types ("sr", "connect"), which librdkafka's
//! consumer API does not expose.

pub mod client;
pub mod connection;
pub mod error;
pub mod group;
pub mod records;
pub mod versions;

pub use client::{
    Client, ClientConfig, ClusterMetadata, CommittedOffset, FetchOptions, Fetched, GroupGeneration,
    NewTopic, OffsetSpec, PartitionMetadata, TopicCreation, TopicMetadata,
};
pub use connection::ConnectionConfig;
pub use error::{Error, Result};
pub use group::{needs_rejoin, GroupConfig, GroupMember, JoinedGroup, MemberMetadata};
pub use kafka_protocol::ResponseError;
pub use records::{ConsumedRecord, ProduceRecord};
