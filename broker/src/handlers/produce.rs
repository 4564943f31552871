//! Produce: validate each partition's batch, append it, answer per partition.

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, TopicName};
use kafka_protocol::ResponseError;

use super::Ctx;
use crate::broker::now_ms;
use crate::protocol::str_bytes;
use crate::storage::batch::BatchError;
use crate::storage::log::AppendError;

fn error_code(e: &AppendError) -> ResponseError {
    match e {
        AppendError::Corrupt(BatchError::BadMagic(_)) => ResponseError::UnsupportedForMessageFormat,
        AppendError::Corrupt(_) => ResponseError::CorruptMessage,
        AppendError::NotOneBatch => ResponseError::InvalidRecord,
        AppendError::TooLarge { .. } => ResponseError::MessageTooLarge,
        AppendError::InvalidTimestamp(_) => ResponseError::InvalidTimestamp,
        AppendError::FencedEpoch => ResponseError::InvalidProducerEpoch,
        AppendError::OutOfOrder { .. } => ResponseError::OutOfOrderSequenceNumber,
        AppendError::DuplicateSequence => ResponseError::DuplicateSequenceNumber,
        AppendError::NotLeader => ResponseError::NotLeaderOrFollower,
        AppendError::NotEnoughReplicas => ResponseError::NotEnoughReplicas,
        AppendError::NotEnoughReplicasAfterAppend => ResponseError::NotEnoughReplicasAfterAppend,
        AppendError::Timeout => ResponseError::RequestTimedOut,
        AppendError::Io(_) => ResponseError::KafkaStorageError,
    }
}

fn partition_error(index: i32, err: ResponseError, msg: Option<String>) -> PartitionProduceResponse {
    let mut p = PartitionProduceResponse::default();
    p.index = index;
    p.error_code = err.code();
    p.base_offset = -1;
    p.log_append_time_ms = -1;
    p.log_start_offset = -1;
    p.error_message = msg.map(str_bytes);
    p
}

/// Fields the crate refuses to encode at versions that lack them.
fn fit_version(p: &mut PartitionProduceResponse, version: i16) {
    if version < 5 {
        p.log_start_offset = -1;
    }
    if version < 8 {
        p.error_message = None;
        p.record_errors.clear();
    }
}

/// Returns `None` for acks=0: the client expects no response at all.
/// With acks=all each partition's answer waits until its high watermark
/// covers the batch (all of the ISR has it), up to the request's timeout.
pub async fn handle(ctx: &Ctx, req: ProduceRequest) -> Option<ProduceResponse> {
    let broker = &ctx.broker;
    let acks_ok = matches!(req.acks, 0 | 1 | -1);
    let acks_all = req.acks == -1;
    let now = now_ms();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(req.timeout_ms.max(0) as u64);
    // (topic index, partition index in the response, partition, last offset)
    let mut waits = Vec::new();
    let mut resp = ProduceResponse::default();
    for td in req.topic_data {
        let topic = if ctx.version >= 13 { broker.topic_by_id(&td.topic_id) } else { broker.topic(td.name.0.as_str()) };
        let mut tr = TopicProduceResponse::default();
        tr.name = td.name.clone();
        tr.topic_id = td.topic_id;
        for pd in td.partition_data {
            let pr = if !acks_ok {
                partition_error(pd.index, ResponseError::InvalidRequiredAcks, None)
            } else if let Some(part) = topic.as_ref().and_then(|t| usize::try_from(pd.index).ok().and_then(|i| t.partitions.get(i))) {
                match pd.records.as_ref().filter(|r| !r.is_empty()) {
                    None => partition_error(pd.index, ResponseError::InvalidRecord, Some("no records".into())),
                    Some(records) => match part.append_checked(records, now, acks_all) {
                        Ok((info, log_start)) => {
                            if acks_all {
                                waits.push((resp.responses.len(), tr.partition_responses.len(), part.clone(), info.last_offset));
                            }
                            let mut p = PartitionProduceResponse::default();
                            p.index = pd.index;
                            p.base_offset = info.base_offset;
                            p.log_append_time_ms = info.log_append_time;
                            p.log_start_offset = log_start;
                            p
                        }
                        Err(e) => {
                            tracing::debug!(topic = %part.topic, partition = pd.index, error = %e, "produce rejected");
                            partition_error(pd.index, error_code(&e), Some(e.to_string()))
                        }
                    },
                }
            } else {
                let err = if ctx.version >= 13 && topic.is_none() {
                    ResponseError::UnknownTopicId
                } else {
                    ResponseError::UnknownTopicOrPartition
                };
                partition_error(pd.index, err, None)
            };
            let mut pr = pr;
            fit_version(&mut pr, ctx.version);
            tr.partition_responses.push(pr);
        }
        if let Some(t) = &topic {
            tr.name = TopicName(str_bytes(t.name.clone()));
        }
        resp.responses.push(tr);
    }
    for (t, i, part, last_offset) in waits {
        if let Err(e) = part.wait_replicated(last_offset, deadline).await {
            tracing::debug!(topic = %part.topic, partition = part.index, error = %e, "acks=all not satisfied");
            let pr = &mut resp.responses[t].partition_responses[i];
            let mut err = partition_error(pr.index, error_code(&e), Some(e.to_string()));
            fit_version(&mut err, ctx.version);
            *pr = err;
        }
    }
    (req.acks != 0).then_some(resp)
}
