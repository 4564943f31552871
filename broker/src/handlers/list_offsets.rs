//! ListOffsets (earliest, latest, by timestamp, max timestamp) and
//! OffsetForLeaderEpoch.

use kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
use kafka_protocol::messages::offset_for_leader_epoch_response::{EpochEndOffset, OffsetForLeaderTopicResult};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};
use kafka_protocol::ResponseError;

use super::Ctx;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL: i64 = -4;

pub fn handle(ctx: &Ctx, req: ListOffsetsRequest) -> ListOffsetsResponse {
    let mut resp = ListOffsetsResponse::default();
    for t in req.topics {
        let mut tr = ListOffsetsTopicResponse::default();
        tr.name = t.name.clone();
        for p in t.partitions {
            let mut pr = ListOffsetsPartitionResponse::default();
            pr.partition_index = p.partition_index;
            pr.timestamp = -1;
            pr.offset = -1;
            pr.leader_epoch = -1;
            let Some(part) = ctx.broker.partition(t.name.0.as_str(), p.partition_index) else {
                pr.error_code = ResponseError::UnknownTopicOrPartition.code();
                tr.partitions.push(pr);
                continue;
            };
            let st = part.state.lock();
            if !st.replica.is_leader() {
                pr.error_code = ResponseError::NotLeaderOrFollower.code();
                tr.partitions.push(pr);
                continue;
            }
            if p.current_leader_epoch >= 0 && p.current_leader_epoch != st.leader_epoch {
                pr.error_code = if p.current_leader_epoch > st.leader_epoch {
                    ResponseError::UnknownLeaderEpoch.code()
                } else {
                    ResponseError::FencedLeaderEpoch.code()
                };
                tr.partitions.push(pr);
                continue;
            }
            if ctx.version >= 4 {
                pr.leader_epoch = st.leader_epoch;
            }
            let found = match p.timestamp {
                LATEST => Ok(Some((if req.isolation_level == 1 { st.last_stable_offset() } else { st.high_watermark }, -1))),
                EARLIEST | EARLIEST_LOCAL => Ok(Some((st.log.log_start_offset(), -1))),
                MAX_TIMESTAMP => st.log.max_timestamp_offset().map(|o| o.map(|(off, ts)| (off, ts))),
                ts if ts >= 0 => st.log.offset_for_timestamp(ts),
                // LATEST_TIERED and other special values: nothing tiered here.
                _ => Ok(None),
            };
            match found {
                Ok(Some((off, ts))) => {
                    pr.offset = off;
                    pr.timestamp = ts;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, "ListOffsets read failed");
                    pr.error_code = ResponseError::KafkaStorageError.code();
                }
            }
            tr.partitions.push(pr);
        }
        resp.topics.push(tr);
    }
    resp
}

pub fn offset_for_leader_epoch(ctx: &Ctx, req: OffsetForLeaderEpochRequest) -> OffsetForLeaderEpochResponse {
    let mut resp = OffsetForLeaderEpochResponse::default();
    for t in req.topics {
        let mut tr = OffsetForLeaderTopicResult::default();
        tr.topic = t.topic.clone();
        for p in t.partitions {
            let mut e = EpochEndOffset::default();
            e.partition = p.partition;
            e.leader_epoch = -1;
            e.end_offset = -1;
            match ctx.broker.partition(t.topic.0.as_str(), p.partition) {
                None => e.error_code = ResponseError::UnknownTopicOrPartition.code(),
                Some(part) => {
                    let st = part.state.lock();
                    if !st.replica.is_leader() {
                        e.error_code = ResponseError::NotLeaderOrFollower.code();
                    } else if p.current_leader_epoch >= 0 && p.current_leader_epoch != st.leader_epoch {
                        e.error_code = if p.current_leader_epoch > st.leader_epoch {
                            ResponseError::UnknownLeaderEpoch.code()
                        } else {
                            ResponseError::FencedLeaderEpoch.code()
                        };
                    } else if st.log.latest_epoch().is_none() && p.leader_epoch == st.leader_epoch {
                        // Empty log: the current epoch ends at the log end offset.
                        e.leader_epoch = st.leader_epoch;
                        e.end_offset = st.log.log_end_offset();
                    } else {
                        let (epoch, end) = st.log.end_offset_for_epoch(p.leader_epoch);
                        e.leader_epoch = epoch;
                        e.end_offset = end;
                    }
                }
            }
            tr.partitions.push(e);
        }
        resp.topics.push(tr);
    }
    resp
}
