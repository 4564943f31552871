//! Request handlers, one file per API, and THE list of supported APIs.
//!
//! `SUPPORTED` drives both dispatch (a version outside it is never handed to
//! a handler) and the ApiVersions response, so what we advertise is exactly
//! what we serve. Handlers put per-partition errors in the response; they only
//! return `Err` for conditions that must close the connection.

mod admin;
mod api_versions;
mod configs;
mod fetch;
mod groups;
mod list_offsets;
mod metadata;
mod produce;
mod producer_id;
mod txn;

use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};
use kafka_protocol::ResponseError;

use crate::broker::Broker;
use crate::protocol::Request;

pub use api_versions::api_versions_fallback;

/// (API, min version, max version) we serve. Versions are Apache Kafka 4.1's
/// as generated in the kafka-protocol crate.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    // Produce v0-2 are advertised but answered UNSUPPORTED_VERSION (KAFKA-18659).
    (ApiKey::Produce, 0, 13),
    (ApiKey::Fetch, 4, 18),
    (ApiKey::ListOffsets, 1, 10),
    (ApiKey::Metadata, 0, 13),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::InitProducerId, 0, 5),
    (ApiKey::OffsetForLeaderEpoch, 2, 4),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::DescribeCluster, 0, 2),
    (ApiKey::DescribeTopicPartitions, 0, 0),
    (ApiKey::OffsetCommit, 2, 9),
    (ApiKey::OffsetFetch, 1, 9),
    (ApiKey::FindCoordinator, 0, 6),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 6),
    (ApiKey::ListGroups, 0, 5),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::OffsetDelete, 0, 0),
    (ApiKey::ConsumerGroupHeartbeat, 0, 1),
    (ApiKey::ConsumerGroupDescribe, 0, 1),
    (ApiKey::AddPartitionsToTxn, 0, 5),
    (ApiKey::AddOffsetsToTxn, 0, 4),
    (ApiKey::EndTxn, 0, 5),
    (ApiKey::TxnOffsetCommit, 0, 5),
    (ApiKey::DescribeTransactions, 0, 0),
    (ApiKey::ListTransactions, 0, 2),
    (ApiKey::DescribeProducers, 0, 0),
    (ApiKey::ElectLeaders, 0, 2),
    (ApiKey::WriteTxnMarkers, 1, 1),
];

/// The first version the crate (and so this broker) can decode for `api`.
/// Produce 0-2 are listed but not decodable; see `protocol::produce_v0_2_unsupported`.
pub fn decodable_min(api: ApiKey) -> i16 {
    match api {
        ApiKey::Produce => 3,
        _ => supported_range(api).map_or(0, |r| r.0),
    }
}

pub fn supported_range(api: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED.iter().find(|(k, _, _)| *k == api).map(|(_, lo, hi)| (*lo, *hi))
}

pub fn code(e: ResponseError) -> i16 {
    e.code()
}

/// Everything a handler gets besides the request body.
pub struct Ctx {
    pub broker: Arc<Broker>,
    pub version: i16,
    pub client_id: String,
    /// The peer as Kafka reports it in group descriptions: "/127.0.0.1".
    pub client_host: String,
}

/// Runs one decoded request. `Ok(None)` means no response is sent (acks=0).
pub async fn dispatch(broker: &Arc<Broker>, req: Request, peer: Option<std::net::IpAddr>) -> anyhow::Result<Option<ResponseKind>> {
    let ctx = Ctx {
        broker: broker.clone(),
        version: req.version,
        client_id: req.header.client_id.as_ref().map(|s| s.to_string()).unwrap_or_default(),
        client_host: peer.map(|p| format!("/{p}")).unwrap_or_else(|| "/127.0.0.1".to_string()),
    };
    let resp = match req.body {
        RequestKind::ApiVersions(r) => Some(ResponseKind::ApiVersions(api_versions::handle(&ctx, r))),
        RequestKind::Metadata(r) => Some(ResponseKind::Metadata(metadata::handle(&ctx, r))),
        RequestKind::Produce(r) => produce::handle(&ctx, r).await.map(ResponseKind::Produce),
        RequestKind::Fetch(r) => Some(ResponseKind::Fetch(fetch::handle(&ctx, r).await)),
        RequestKind::ListOffsets(r) => Some(ResponseKind::ListOffsets(list_offsets::handle(&ctx, r))),
        RequestKind::OffsetForLeaderEpoch(r) => {
            Some(ResponseKind::OffsetForLeaderEpoch(list_offsets::offset_for_leader_epoch(&ctx, r)))
        }
        RequestKind::InitProducerId(r) => Some(ResponseKind::InitProducerId(producer_id::handle(&ctx, r))),
        RequestKind::CreateTopics(r) => Some(ResponseKind::CreateTopics(admin::create_topics(&ctx, r))),
        RequestKind::DeleteTopics(r) => Some(ResponseKind::DeleteTopics(admin::delete_topics(&ctx, r))),
        RequestKind::CreatePartitions(r) => Some(ResponseKind::CreatePartitions(admin::create_partitions(&ctx, r))),
        RequestKind::DeleteRecords(r) => Some(ResponseKind::DeleteRecords(admin::delete_records(&ctx, r))),
        RequestKind::DescribeCluster(r) => Some(ResponseKind::DescribeCluster(metadata::describe_cluster(&ctx, r))),
        RequestKind::DescribeTopicPartitions(r) => {
            Some(ResponseKind::DescribeTopicPartitions(metadata::describe_topic_partitions(&ctx, r)))
        }
        RequestKind::DescribeConfigs(r) => Some(ResponseKind::DescribeConfigs(configs::describe(&ctx, r))),
        RequestKind::AlterConfigs(r) => Some(ResponseKind::AlterConfigs(configs::alter(&ctx, r))),
        RequestKind::IncrementalAlterConfigs(r) => {
            Some(ResponseKind::IncrementalAlterConfigs(configs::incremental_alter(&ctx, r)))
        }
        RequestKind::FindCoordinator(r) => Some(ResponseKind::FindCoordinator(groups::find_coordinator(&ctx, r))),
        RequestKind::JoinGroup(r) => Some(ResponseKind::JoinGroup(groups::join_group(&ctx, r).await)),
        RequestKind::SyncGroup(r) => Some(ResponseKind::SyncGroup(groups::sync_group(&ctx, r).await)),
        RequestKind::Heartbeat(r) => Some(ResponseKind::Heartbeat(groups::heartbeat(&ctx, r))),
        RequestKind::LeaveGroup(r) => Some(ResponseKind::LeaveGroup(groups::leave_group(&ctx, r))),
        RequestKind::DescribeGroups(r) => Some(ResponseKind::DescribeGroups(groups::describe_groups(&ctx, r))),
        RequestKind::ListGroups(r) => Some(ResponseKind::ListGroups(groups::list_groups(&ctx, r))),
        RequestKind::DeleteGroups(r) => Some(ResponseKind::DeleteGroups(groups::delete_groups(&ctx, r))),
        RequestKind::OffsetCommit(r) => Some(ResponseKind::OffsetCommit(groups::offset_commit(&ctx, r).await)),
        RequestKind::OffsetFetch(r) => Some(ResponseKind::OffsetFetch(groups::offset_fetch(&ctx, r))),
        RequestKind::OffsetDelete(r) => Some(ResponseKind::OffsetDelete(groups::offset_delete(&ctx, r))),
        RequestKind::ConsumerGroupHeartbeat(r) => {
            Some(ResponseKind::ConsumerGroupHeartbeat(groups::consumer_group_heartbeat(&ctx, r)))
        }
        RequestKind::ConsumerGroupDescribe(r) => {
            Some(ResponseKind::ConsumerGroupDescribe(groups::consumer_group_describe(&ctx, r)))
        }
        RequestKind::AddPartitionsToTxn(r) => Some(ResponseKind::AddPartitionsToTxn(txn::add_partitions(&ctx, r))),
        RequestKind::AddOffsetsToTxn(r) => Some(ResponseKind::AddOffsetsToTxn(txn::add_offsets(&ctx, r))),
        RequestKind::EndTxn(r) => Some(ResponseKind::EndTxn(txn::end_txn(&ctx, r))),
        RequestKind::TxnOffsetCommit(r) => Some(ResponseKind::TxnOffsetCommit(txn::txn_offset_commit(&ctx, r))),
        RequestKind::DescribeTransactions(r) => Some(ResponseKind::DescribeTransactions(txn::describe_transactions(&ctx, r))),
        RequestKind::ListTransactions(r) => Some(ResponseKind::ListTransactions(txn::list_transactions(&ctx, r))),
        RequestKind::WriteTxnMarkers(r) => Some(ResponseKind::WriteTxnMarkers(txn::write_txn_markers(&ctx, r))),
        RequestKind::ElectLeaders(r) => Some(ResponseKind::ElectLeaders(admin::elect_leaders(&ctx, r))),
        RequestKind::DescribeProducers(r) => Some(ResponseKind::DescribeProducers(txn::describe_producers(&ctx, r))),
        other => anyhow::bail!("no handler for {other:?}"),
    };
    Ok(resp)
}
