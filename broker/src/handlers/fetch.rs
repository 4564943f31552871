//! Fetch: read whole batches up to the high watermark, long-polling on
//! `max_wait_ms`/`min_bytes`.
//!
//! Incremental fetch sessions (KIP-227) are refused the way the protocol
//! allows: a request to open a session gets session id 0 (none created), so
//! clients keep sending full fetch requests; a request naming a session gets
//! FETCH_SESSION_ID_NOT_FOUND and the client starts over with a full fetch.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse, TopicName};
use kafka_protocol::ResponseError;

use super::Ctx;
use crate::broker::Topic;
use crate::protocol::str_bytes;

const READ_COMMITTED: i8 = 1;

fn error_partition(index: i32, err: ResponseError) -> PartitionData {
    let mut p = PartitionData::default();
    p.partition_index = index;
    p.error_code = err.code();
    p.high_watermark = -1;
    p.records = Some(Bytes::new());
    p.aborted_transactions = None;
    p
}

/// One pass over the requested partitions. Returns the response and how many
/// record bytes it carries, and whether any partition had an error.
fn gather(ctx: &Ctx, req: &FetchRequest) -> (FetchResponse, usize, bool) {
    let broker = &ctx.broker;
    let replica = replica_id(ctx, req);
    let now = crate::broker::now_ms();
    let mut resp = FetchResponse::default();
    let mut remaining = req.max_bytes.max(0) as usize;
    let mut total = 0usize;
    let mut any_error = false;
    for ft in &req.topics {
        let topic: Option<std::sync::Arc<Topic>> =
            if ctx.version >= 13 { broker.topic_by_id(&ft.topic_id) } else { broker.topic(ft.topic.0.as_str()) };
        let mut tr = FetchableTopicResponse::default();
        tr.topic = ft.topic.clone();
        tr.topic_id = ft.topic_id;
        if let Some(t) = &topic {
            tr.topic = TopicName(str_bytes(t.name.clone()));
        }
        for fp in &ft.partitions {
            let part = topic.as_ref().and_then(|t| usize::try_from(fp.partition).ok().and_then(|i| t.partitions.get(i)));
            let Some(part) = part else {
                any_error = true;
                let err = if ctx.version >= 13 && topic.is_none() {
                    ResponseError::UnknownTopicId
                } else {
                    ResponseError::UnknownTopicOrPartition
                };
                tr.partitions.push(error_partition(fp.partition, err));
                continue;
            };
            let mut st = part.state.lock();
            if !st.replica.is_leader() {
                any_error = true;
                tr.partitions.push(error_partition(fp.partition, ResponseError::NotLeaderOrFollower));
                continue;
            }
            if fp.current_leader_epoch >= 0 && fp.current_leader_epoch != st.leader_epoch {
                any_error = true;
                let err = if fp.current_leader_epoch > st.leader_epoch {
                    ResponseError::UnknownLeaderEpoch
                } else {
                    ResponseError::FencedLeaderEpoch
                };
                tr.partitions.push(error_partition(fp.partition, err));
                continue;
            }
            // A follower's fetch: does its log diverge from ours (KIP-320)?
            let mut diverging = None;
            if replica >= 0 && fp.last_fetched_epoch >= 0 {
                let (epoch, end) = st.log.end_offset_for_epoch(fp.last_fetched_epoch);
                if epoch < fp.last_fetched_epoch || end < fp.fetch_offset {
                    diverging = Some((epoch, end));
                }
            }
            let mut advanced = false;
            if replica >= 0 && diverging.is_none() {
                advanced = st.record_follower_fetch(replica, fp.fetch_offset, now);
            }
            let hw = st.high_watermark;
            let lso = st.last_stable_offset();
            let log_start = st.log.log_start_offset();
            let mut p = PartitionData::default();
            p.partition_index = fp.partition;
            p.high_watermark = hw;
            p.last_stable_offset = lso;
            if ctx.version >= 5 {
                p.log_start_offset = log_start;
            }
            p.aborted_transactions = None;
            if let Some((epoch, end)) = diverging {
                p.diverging_epoch.epoch = epoch;
                p.diverging_epoch.end_offset = end;
                p.records = Some(Bytes::new());
                tr.partitions.push(p);
                any_error = true;
                continue;
            }
            if advanced {
                drop(st);
                part.wake();
                st = part.state.lock();
            }
            if fp.fetch_offset < log_start || fp.fetch_offset > st.log.log_end_offset() {
                any_error = true;
                p.error_code = ResponseError::OffsetOutOfRange.code();
                p.records = Some(Bytes::new());
                tr.partitions.push(p);
                continue;
            }
            // Followers copy up to the log end; consumers stop at the high watermark.
            let limit = if replica >= 0 {
                st.log.log_end_offset()
            } else if req.isolation_level == READ_COMMITTED {
                lso
            } else {
                hw
            };
            let max = (fp.partition_max_bytes.max(0) as usize).min(remaining);
            let min_one = total == 0;
            let data = match st.log.read(fp.fetch_offset, max, limit, min_one) {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(topic = %part.topic, partition = part.index, error = %e, "read failed");
                    any_error = true;
                    p.error_code = ResponseError::KafkaStorageError.code();
                    Bytes::new()
                }
            };
            if req.isolation_level == READ_COMMITTED {
                // Clients drop records of these producers from first_offset until the abort marker.
                p.aborted_transactions = Some(
                    st.log
                        .aborted_between(fp.fetch_offset, lso)
                        .into_iter()
                        .map(|a| {
                            let mut t = kafka_protocol::messages::fetch_response::AbortedTransaction::default();
                            t.producer_id = kafka_protocol::messages::ProducerId(a.producer_id);
                            t.first_offset = a.first_offset;
                            t
                        })
                        .collect(),
                );
            }
            total += data.len();
            remaining = remaining.saturating_sub(data.len());
            p.records = Some(data);
            tr.partitions.push(p);
        }
        resp.responses.push(tr);
    }
    (resp, total, any_error)
}

/// The fetching follower's broker id, or -1 for a consumer.
fn replica_id(ctx: &Ctx, req: &FetchRequest) -> i32 {
    if ctx.version >= 15 {
        req.replica_state.replica_id.0
    } else {
        req.replica_id.0
    }
}

/// Asks every requested partition to wake `waiter` when it changes.
fn watch_partitions(ctx: &Ctx, req: &FetchRequest, waiter: &std::sync::Arc<tokio::sync::Notify>) {
    for ft in &req.topics {
        let topic = if ctx.version >= 13 { ctx.broker.topic_by_id(&ft.topic_id) } else { ctx.broker.topic(ft.topic.0.as_str()) };
        let Some(topic) = topic else { continue };
        for fp in &ft.partitions {
            if let Some(p) = usize::try_from(fp.partition).ok().and_then(|i| topic.partitions.get(i)) {
                p.watch(waiter);
            }
        }
    }
}

pub async fn handle(ctx: &Ctx, req: FetchRequest) -> FetchResponse {
    // An existing session id, or an incremental epoch, names a session we never created.
    if req.session_id != 0 || req.session_epoch > 0 {
        let mut r = FetchResponse::default();
        r.error_code = ResponseError::FetchSessionIdNotFound.code();
        return r;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_millis(req.max_wait_ms.max(0) as u64);
    let min_bytes = req.min_bytes.max(0) as usize;
    let waiter = std::sync::Arc::new(tokio::sync::Notify::new());
    loop {
        // Register for wake-ups before looking, so an append in between is not missed.
        let notified = waiter.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        watch_partitions(ctx, &req, &waiter);
        let (resp, bytes, any_error) = gather(ctx, &req);
        if bytes >= min_bytes || any_error || tokio::time::Instant::now() >= deadline {
            return resp;
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep_until(deadline) => {
                return gather(ctx, &req).0;
            }
        }
    }
}
