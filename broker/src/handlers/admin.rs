//! Topic administration: CreateTopics, DeleteTopics, CreatePartitions, DeleteRecords.

use std::collections::{BTreeMap, HashSet};

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::{CreatableTopicConfigs, CreatableTopicResult};
use kafka_protocol::messages::delete_records_response::{DeleteRecordsPartitionResult, DeleteRecordsTopicResult};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{
    ElectLeadersRequest, ElectLeadersResponse,
    CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse, DeleteRecordsRequest,
    DeleteRecordsResponse, DeleteTopicsRequest, DeleteTopicsResponse, TopicName,
};
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::Ctx;
use crate::broker::AdminError;
use crate::protocol::str_bytes;
use crate::topic_config::{effective, TOPIC_CONFIGS};

pub fn admin_error_code(e: &AdminError) -> ResponseError {
    match e {
        AdminError::TopicExists(_) => ResponseError::TopicAlreadyExists,
        AdminError::InvalidTopic(_) => ResponseError::InvalidTopicException,
        AdminError::InvalidPartitions(_) => ResponseError::InvalidPartitions,
        AdminError::InvalidReplicationFactor(_) => ResponseError::InvalidReplicationFactor,
        AdminError::InvalidConfig(_) => ResponseError::InvalidConfig,
        AdminError::UnknownTopic => ResponseError::UnknownTopicOrPartition,
        AdminError::NotController(_) => ResponseError::NotController,
        AdminError::Code(code, _) => ResponseError::try_from_code(*code).unwrap_or(ResponseError::UnknownServerError),
        AdminError::Io(_) => ResponseError::KafkaStorageError,
    }
}

fn rf_of(ctx: &Ctx, topic: &str) -> i16 {
    ctx.broker.agent.image().partition(topic, 0).map_or(1, |p| p.replicas.len() as i16)
}

fn describe_new_topic_configs(ctx: &Ctx, overrides: &BTreeMap<String, String>) -> Vec<CreatableTopicConfigs> {
    TOPIC_CONFIGS
        .iter()
        .map(|k| {
            let (value, source) = effective(k, overrides, &ctx.broker.config);
            let mut c = CreatableTopicConfigs::default();
            c.name = str_bytes(k.name);
            c.value = value.map(str_bytes);
            c.config_source = source.wire_id();
            c
        })
        .collect()
}

pub fn create_topics(ctx: &Ctx, req: CreateTopicsRequest) -> CreateTopicsResponse {
    let broker = &ctx.broker;
    let mut resp = CreateTopicsResponse::default();
    let mut seen = HashSet::new();
    let dupes: HashSet<String> =
        req.topics.iter().map(|t| t.name.0.to_string()).filter(|n| !seen.insert(n.clone())).collect();
    for t in req.topics {
        let name = t.name.0.to_string();
        let mut r = CreatableTopicResult::default();
        r.name = t.name.clone();
        r.num_partitions = -1;
        r.replication_factor = -1;
        if dupes.contains(&name) {
            r.error_code = ResponseError::InvalidRequest.code();
            r.error_message = Some(str_bytes(format!("Create topics request from client `{}` contains multiple entries for the following topics: {name}", ctx.client_id)));
            resp.topics.push(r);
            continue;
        }
        let configs: BTreeMap<String, String> = t
            .configs
            .iter()
            .filter_map(|c| c.value.as_ref().map(|v| (c.name.to_string(), v.to_string())))
            .collect();
        let (mut partitions, mut rf) = (t.num_partitions, t.replication_factor);
        if !t.assignments.is_empty() {
            if partitions != -1 || rf != -1 {
                r.error_code = ResponseError::InvalidRequest.code();
                r.error_message = Some(str_bytes("Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time."));
                resp.topics.push(r);
                continue;
            }
            let img = broker.agent.image();
            if let Some(bad) = t.assignments.iter().flat_map(|a| a.broker_ids.iter()).find(|b| !img.brokers.contains_key(&b.0)) {
                r.error_code = ResponseError::InvalidReplicaAssignment.code();
                r.error_message = Some(str_bytes(format!("Unknown broker id {} in replica assignment", bad.0)));
                resp.topics.push(r);
                continue;
            }
            partitions = t.assignments.len() as i32;
            rf = t.assignments[0].broker_ids.len() as i16;
        }
        let manual: Option<Vec<Vec<i32>>> =
            (!t.assignments.is_empty()).then(|| t.assignments.iter().map(|a| a.broker_ids.iter().map(|b| b.0).collect()).collect());
        let outcome = if req.validate_only {
            broker.validate_new_topic(&name, partitions, rf, &configs).map(|(p, rf)| (p, rf, Uuid::nil()))
        } else {
            broker.create_topic_assigned(&name, partitions, rf, configs.clone(), manual).map(|topic| (topic.partitions.len() as i32, rf_of(ctx, &topic.name), topic.id))
        };
        match outcome {
            Ok((p, rf, id)) => {
                if ctx.version >= 5 {
                    r.num_partitions = p;
                    r.replication_factor = rf;
                    r.configs = Some(describe_new_topic_configs(ctx, &configs));
                }
                if ctx.version >= 7 {
                    r.topic_id = id;
                }
            }
            Err(e) => {
                r.error_code = admin_error_code(&e).code();
                r.error_message = Some(str_bytes(e.to_string()));
            }
        }
        resp.topics.push(r);
    }
    resp
}

pub fn delete_topics(ctx: &Ctx, req: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let broker = &ctx.broker;
    let mut resp = DeleteTopicsResponse::default();
    // v6+ names topics by name or id; earlier versions by name only.
    let targets: Vec<(Option<String>, Uuid)> = if ctx.version >= 6 {
        req.topics.iter().map(|t| (t.name.as_ref().map(|n| n.0.to_string()), t.topic_id)).collect()
    } else {
        req.topic_names.iter().map(|n| (Some(n.0.to_string()), Uuid::nil())).collect()
    };
    for (name, id) in targets {
        let mut r = DeletableTopicResult::default();
        r.topic_id = id;
        let name = match name {
            Some(n) => Some(n),
            None => broker.topic_by_id(&id).map(|t| t.name.clone()),
        };
        r.name = name.clone().map(|n| TopicName(str_bytes(n)));
        match name {
            None => r.error_code = ResponseError::UnknownTopicId.code(),
            Some(n) => match broker.delete_topic(&n) {
                Ok(deleted_id) if ctx.version >= 6 => r.topic_id = deleted_id,
                Ok(_) => {}
                Err(e) => {
                    r.error_code = admin_error_code(&e).code();
                    if ctx.version >= 5 {
                        r.error_message = Some(str_bytes(e.to_string()));
                    }
                }
            },
        }
        resp.responses.push(r);
    }
    resp
}

pub fn create_partitions(ctx: &Ctx, req: CreatePartitionsRequest) -> CreatePartitionsResponse {
    let mut resp = CreatePartitionsResponse::default();
    for t in req.topics {
        let mut r = CreatePartitionsTopicResult::default();
        r.name = t.name.clone();
        if let Err(e) = ctx.broker.create_partitions(t.name.0.as_str(), t.count, req.validate_only) {
            r.error_code = admin_error_code(&e).code();
            r.error_message = Some(str_bytes(e.to_string()));
        }
        resp.results.push(r);
    }
    resp
}

pub fn delete_records(ctx: &Ctx, req: DeleteRecordsRequest) -> DeleteRecordsResponse {
    let mut resp = DeleteRecordsResponse::default();
    for t in req.topics {
        let mut tr = DeleteRecordsTopicResult::default();
        tr.name = t.name.clone();
        for p in t.partitions {
            let mut pr = DeleteRecordsPartitionResult::default();
            pr.partition_index = p.partition_index;
            pr.low_watermark = -1;
            match ctx.broker.partition(t.name.0.as_str(), p.partition_index) {
                None => pr.error_code = ResponseError::UnknownTopicOrPartition.code(),
                Some(part) => {
                    let mut st = part.state.lock();
                    let hw = st.high_watermark;
                    // -1 means "up to the high watermark".
                    let target = if p.offset == -1 { hw } else { p.offset };
                    if target < 0 || target > hw {
                        pr.error_code = ResponseError::OffsetOutOfRange.code();
                    } else {
                        match st.log.advance_log_start(target) {
                            Ok(lw) => pr.low_watermark = lw,
                            Err(e) => {
                                tracing::error!(error = %e, "DeleteRecords failed");
                                pr.error_code = ResponseError::KafkaStorageError.code();
                            }
                        }
                    }
                }
            }
            tr.partitions.push(pr);
        }
        resp.topics.push(tr);
    }
    resp
}

/// ElectLeaders: preferred (0) or unclean (1) elections through the
/// controller. A null topic list means every partition whose preferred
/// replica (or, unclean, any live replica) could lead but does not.
pub fn elect_leaders(ctx: &Ctx, req: ElectLeadersRequest) -> ElectLeadersResponse {
    use crate::controller::{Command, Reply};
    let unclean = ctx.version >= 1 && req.election_type == 1;
    let img = ctx.broker.agent.image();
    let wanted: Vec<(String, Vec<i32>)> = match &req.topic_partitions {
        Some(tps) => tps.iter().map(|t| (t.topic.0.to_string(), t.partitions.clone())).collect(),
        None => img
            .topics
            .iter()
            .map(|(name, t)| {
                let ps = t
                    .partitions
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| if unclean { p.leader < 0 } else { p.leader != p.replicas[0] })
                    .map(|(i, _)| i as i32)
                    .collect();
                (name.clone(), ps)
            })
            .filter(|(_, ps): &(String, Vec<i32>)| !ps.is_empty())
            .collect(),
    };
    let mut resp = ElectLeadersResponse::default();
    for (topic, parts) in wanted {
        let mut tr = kafka_protocol::messages::elect_leaders_response::ReplicaElectionResult::default();
        tr.topic = TopicName(str_bytes(topic.clone()));
        for p in parts {
            let mut pr = kafka_protocol::messages::elect_leaders_response::PartitionResult::default();
            pr.partition_id = p;
            let cmd = if unclean {
                Command::ElectUnclean { topic: topic.clone(), partition: p }
            } else {
                Command::ElectPreferred { topic: topic.clone(), partition: p }
            };
            match ctx.broker.agent.propose_blocking(cmd) {
                Ok(Reply::Error { code, message }) => {
                    pr.error_code = code;
                    pr.error_message = Some(str_bytes(message));
                }
                Ok(_) => {}
                Err(e) => {
                    pr.error_code = ResponseError::NotController.code();
                    pr.error_message = Some(str_bytes(e.to_string()));
                }
            }
            tr.partition_result.push(pr);
        }
        resp.replica_election_results.push(tr);
    }
    ctx.broker.apply_image(&ctx.broker.agent.image());
    resp
}
