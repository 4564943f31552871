//! Transaction APIs: AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit,
//! EndTxn, and the views DescribeTransactions, ListTransactions,
//! DescribeProducers. Logic in `crate::txn` and `crate::group`.

use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::describe_producers_response::{PartitionResponse, ProducerState, TopicResponse};
use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::txn_offset_commit_response::{TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic};
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

use super::Ctx;
use crate::protocol::str_bytes;

fn topic_results(results: Vec<((String, i32), Option<ResponseError>)>) -> Vec<AddPartitionsToTxnTopicResult> {
    let mut by_topic: std::collections::BTreeMap<String, Vec<AddPartitionsToTxnPartitionResult>> = Default::default();
    for ((t, p), e) in results {
        let mut pr = AddPartitionsToTxnPartitionResult::default();
        pr.partition_index = p;
        pr.partition_error_code = e.map_or(0, |e| e.code());
        by_topic.entry(t).or_default().push(pr);
    }
    by_topic
        .into_iter()
        .map(|(t, parts)| {
            let mut tr = AddPartitionsToTxnTopicResult::default();
            tr.name = TopicName(str_bytes(t));
            tr.results_by_partition = parts;
            tr
        })
        .collect()
}

pub fn add_partitions(ctx: &Ctx, req: AddPartitionsToTxnRequest) -> AddPartitionsToTxnResponse {
    let mut r = AddPartitionsToTxnResponse::default();
    let flatten = |topics: &[kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic]| -> Vec<(String, i32)> {
        topics.iter().flat_map(|t| t.partitions.iter().map(move |p| (t.name.0.to_string(), *p))).collect()
    };
    if ctx.version <= 3 {
        let parts = flatten(&req.v3_and_below_topics);
        let res = ctx.broker.txns.add_partitions(
            &ctx.broker,
            req.v3_and_below_transactional_id.0.as_str(),
            req.v3_and_below_producer_id.0,
            req.v3_and_below_producer_epoch,
            &parts,
            false,
        );
        r.results_by_topic_v3_and_below = topic_results(res);
        return r;
    }
    // v4+: the batched broker-to-coordinator form (KIP-890), possibly verify-only.
    for t in req.transactions {
        let parts = flatten(&t.topics);
        let res = ctx.broker.txns.add_partitions(&ctx.broker, t.transactional_id.0.as_str(), t.producer_id.0, t.producer_epoch, &parts, t.verify_only);
        let mut tr = AddPartitionsToTxnResult::default();
        tr.transactional_id = t.transactional_id;
        tr.topic_results = topic_results(res);
        r.results_by_transaction.push(tr);
    }
    r
}

pub fn add_offsets(ctx: &Ctx, req: AddOffsetsToTxnRequest) -> AddOffsetsToTxnResponse {
    let mut r = AddOffsetsToTxnResponse::default();
    if let Err(e) = ctx.broker.txns.add_offsets(&ctx.broker, req.transactional_id.0.as_str(), req.producer_id.0, req.producer_epoch, req.group_id.0.as_str()) {
        r.error_code = e.code();
    }
    r
}

pub fn end_txn(ctx: &Ctx, req: EndTxnRequest) -> EndTxnResponse {
    let mut r = EndTxnResponse::default();
    r.producer_id = ProducerId(-1);
    r.producer_epoch = -1;
    if let Err(e) = ctx.broker.txns.end_txn(&ctx.broker, req.transactional_id.0.as_str(), req.producer_id.0, req.producer_epoch, req.committed) {
        r.error_code = e.code();
    }
    r
}

pub fn txn_offset_commit(ctx: &Ctx, req: TxnOffsetCommitRequest) -> TxnOffsetCommitResponse {
    let group = req.group_id.0.to_string();
    let check = ctx.broker.txns.check_offset_commit(&ctx.broker, req.transactional_id.0.as_str(), req.producer_id.0, req.producer_epoch, &group);
    let topics: Vec<(String, Vec<(i32, i64, i32, Option<String>)>)> = req
        .topics
        .iter()
        .map(|t| {
            let parts = t
                .partitions
                .iter()
                .map(|p| {
                    let epoch = if ctx.version >= 2 { p.committed_leader_epoch } else { -1 };
                    (p.partition_index, p.committed_offset, epoch, p.committed_metadata.as_ref().map(|m| m.to_string()))
                })
                .collect();
            (t.name.0.to_string(), parts)
        })
        .collect();
    let results = match check {
        Err(e) => topics.into_iter().map(|(t, ps)| (t, ps.into_iter().map(|(p, ..)| (p, Some(e))).collect())).collect(),
        Ok(()) => {
            // v3+ carries group membership (KIP-447) for fencing zombies.
            let (gen, member, inst) = if ctx.version >= 3 {
                (req.generation_id, req.member_id.to_string(), req.group_instance_id.as_ref().map(|s| s.to_string()))
            } else {
                (-1, String::new(), None)
            };
            ctx.broker.groups.txn_commit(&ctx.broker, &group, req.producer_id.0, req.producer_epoch, gen, &member, inst.as_deref(), topics)
        }
    };
    let mut r = TxnOffsetCommitResponse::default();
    for (t, parts) in results {
        let mut tr = TxnOffsetCommitResponseTopic::default();
        tr.name = TopicName(str_bytes(t));
        tr.partitions = parts
            .into_iter()
            .map(|(p, e)| {
                let mut pr = TxnOffsetCommitResponsePartition::default();
                pr.partition_index = p;
                pr.error_code = e.map_or(0, |e| e.code());
                pr
            })
            .collect();
        r.topics.push(tr);
    }
    r
}

pub fn describe_transactions(ctx: &Ctx, req: DescribeTransactionsRequest) -> DescribeTransactionsResponse {
    let mut r = DescribeTransactionsResponse::default();
    for id in req.transactional_ids {
        let mut s = TransactionState::default();
        match ctx.broker.txns.describe(id.0.as_str()) {
            None => s.error_code = ResponseError::TransactionalIdNotFound.code(),
            Some(m) => {
                s.transaction_state = str_bytes(m.state.name());
                s.transaction_timeout_ms = m.timeout_ms;
                s.transaction_start_time_ms = m.start_ms;
                s.producer_id = ProducerId(m.producer_id);
                s.producer_epoch = m.producer_epoch;
                let mut by_topic: std::collections::BTreeMap<String, Vec<i32>> = Default::default();
                for (t, p) in m.partitions {
                    by_topic.entry(t).or_default().push(p);
                }
                s.topics = by_topic
                    .into_iter()
                    .map(|(t, ps)| {
                        let mut td = TopicData::default();
                        td.topic = TopicName(str_bytes(t));
                        td.partitions = ps;
                        td
                    })
                    .collect();
            }
        }
        s.transactional_id = id;
        r.transaction_states.push(s);
    }
    r
}

pub fn list_transactions(ctx: &Ctx, req: ListTransactionsRequest) -> ListTransactionsResponse {
    let mut r = ListTransactionsResponse::default();
    const STATES: [&str; 8] = ["Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "Dead", "PrepareEpochFence"];
    r.unknown_state_filters = req.state_filters.iter().filter(|s| !STATES.contains(&s.as_str())).cloned().collect();
    let now = crate::broker::now_ms();
    for m in ctx.broker.txns.list() {
        if !req.state_filters.is_empty() && !req.state_filters.iter().any(|s| s.as_str() == m.state.name()) {
            continue;
        }
        if !req.producer_id_filters.is_empty() && !req.producer_id_filters.iter().any(|p| p.0 == m.producer_id) {
            continue;
        }
        // v1+: only transactions running longer than duration_filter ms.
        if ctx.version >= 1 && req.duration_filter >= 0 && (m.start_ms < 0 || now - m.start_ms < req.duration_filter) {
            continue;
        }
        let mut s = kafka_protocol::messages::list_transactions_response::TransactionState::default();
        s.transactional_id = TransactionalId(str_bytes(m.transactional_id));
        s.producer_id = ProducerId(m.producer_id);
        s.transaction_state = str_bytes(m.state.name());
        r.transaction_states.push(s);
    }
    r
}

pub fn describe_producers(ctx: &Ctx, req: DescribeProducersRequest) -> DescribeProducersResponse {
    let mut r = DescribeProducersResponse::default();
    for t in req.topics {
        let mut tr = TopicResponse::default();
        tr.name = t.name.clone();
        for p in t.partition_indexes {
            let mut pr = PartitionResponse::default();
            pr.partition_index = p;
            match ctx.broker.partition(t.name.0.as_str(), p) {
                None => pr.error_code = ResponseError::UnknownTopicOrPartition.code(),
                Some(part) => {
                    let st = part.state.lock();
                    let ongoing = st.log.ongoing_transactions();
                    for (pid, e) in st.log.producers().entries() {
                        let mut ps = ProducerState::default();
                        ps.producer_id = ProducerId(*pid);
                        ps.producer_epoch = e.epoch as i32;
                        ps.last_sequence = e.batches.back().map_or(-1, |b| b.last_seq);
                        ps.last_timestamp = e.last_timestamp;
                        ps.coordinator_epoch = -1;
                        ps.current_txn_start_offset = ongoing.get(pid).copied().unwrap_or(-1);
                        pr.active_producers.push(ps);
                    }
                }
            }
            tr.partitions.push(pr);
        }
        r.topics.push(tr);
    }
    r
}

/// WriteTxnMarkers: the transaction coordinator of another broker asks this
/// one, as partition leader, to write commit or abort markers (and, for
/// `__consumer_offsets`, to apply or drop the staged offsets).
pub fn write_txn_markers(ctx: &Ctx, req: WriteTxnMarkersRequest) -> WriteTxnMarkersResponse {
    use kafka_protocol::messages::write_txn_markers_response::{
        WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
    };
    let now = crate::broker::now_ms();
    let mut resp = WriteTxnMarkersResponse::default();
    for m in req.markers {
        let mut mr = WritableTxnMarkerResult::default();
        mr.producer_id = m.producer_id;
        for t in m.topics {
            let mut tr = WritableTxnMarkerTopicResult::default();
            tr.name = t.name.clone();
            for p in t.partition_indexes {
                let mut pr = WritableTxnMarkerPartitionResult::default();
                pr.partition_index = p;
                let res = match ctx.broker.partition(t.name.0.as_str(), p) {
                    None => Err(ResponseError::UnknownTopicOrPartition),
                    Some(part) if !part.state.lock().replica.is_leader() => Err(ResponseError::NotLeaderOrFollower),
                    Some(part) => {
                        if t.name.0.as_str() == crate::group::OFFSETS_TOPIC {
                            ctx.broker.groups.complete_txn(&ctx.broker, m.producer_id.0, m.producer_epoch, m.transaction_result, &[p].into_iter().collect())
                        } else {
                            part.write_marker(m.producer_id.0, m.producer_epoch, m.transaction_result, now).map(|_| ())
                        }
                        .map_err(|e| {
                            tracing::error!(topic = %t.name.0, partition = p, error = %e, "writing a transaction marker failed");
                            ResponseError::KafkaStorageError
                        })
                    }
                };
                if let Err(e) = res {
                    pr.error_code = e.code();
                }
                tr.partitions.push(pr);
            }
            mr.topics.push(tr);
        }
        resp.markers.push(mr);
    }
    resp
}
