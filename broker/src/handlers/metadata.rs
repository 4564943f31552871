//! Metadata, DescribeCluster and DescribeTopicPartitions: what the cluster
//! looks like. One broker for now: it leads every partition.

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::describe_topic_partitions_response::{
    DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::metadata_response::{MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic};
use kafka_protocol::messages::{
    BrokerId, DescribeClusterRequest, DescribeClusterResponse, DescribeTopicPartitionsRequest,
    DescribeTopicPartitionsResponse, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::Ctx;
use crate::broker::{validate_topic_name, Topic};
use crate::protocol::str_bytes;

fn broker_entry(ctx: &Ctx) -> MetadataResponseBroker {
    let (host, port) = ctx.broker.advertised();
    let mut b = MetadataResponseBroker::default();
    b.node_id = BrokerId(ctx.broker.node_id);
    b.host = str_bytes(host);
    b.port = port as i32;
    b.rack = ctx.broker.config.broker_rack().map(str_bytes);
    b
}

fn partition_entries(ctx: &Ctx, t: &Topic) -> Vec<MetadataResponsePartition> {
    let me = BrokerId(ctx.broker.node_id);
    t.partitions
        .iter()
        .map(|p| {
            let mut e = MetadataResponsePartition::default();
            e.partition_index = p.index;
            e.leader_id = me;
            e.leader_epoch = p.state.lock().leader_epoch;
            e.replica_nodes = vec![me];
            e.isr_nodes = vec![me];
            e
        })
        .collect()
}

fn topic_entry(ctx: &Ctx, t: &Topic) -> MetadataResponseTopic {
    let mut e = MetadataResponseTopic::default();
    e.name = Some(TopicName(str_bytes(t.name.clone())));
    e.topic_id = t.id;
    e.is_internal = t.is_internal();
    e.partitions = partition_entries(ctx, t);
    e.topic_authorized_operations = i32::MIN;
    e
}

fn error_topic(name: Option<StrBytes>, id: Uuid, err: ResponseError) -> MetadataResponseTopic {
    let mut e = MetadataResponseTopic::default();
    e.name = name.map(TopicName);
    e.topic_id = id;
    e.error_code = err.code();
    e.topic_authorized_operations = i32::MIN;
    e
}

pub fn handle(ctx: &Ctx, req: MetadataRequest) -> MetadataResponse {
    let broker = &ctx.broker;
    let mut r = MetadataResponse::default();
    r.brokers = vec![broker_entry(ctx)];
    r.cluster_id = Some(str_bytes(broker.cluster_id.clone()));
    r.controller_id = BrokerId(broker.node_id);
    r.cluster_authorized_operations = i32::MIN;
    // v0: an empty list means all topics; v1+: null means all, empty means none.
    let all = match &req.topics {
        None => true,
        Some(t) if t.is_empty() && ctx.version == 0 => true,
        _ => false,
    };
    if all {
        r.topics = broker.topics().iter().map(|t| topic_entry(ctx, t)).collect();
        return r;
    }
    // v4+ carries the client's wish; earlier versions always allow auto-creation.
    let allow_auto = ctx.version < 4 || req.allow_auto_topic_creation;
    for wanted in req.topics.unwrap_or_default() {
        let entry = match (&wanted.name, wanted.topic_id) {
            (Some(name), _) => {
                let name_s = name.0.to_string();
                match broker.topic(&name_s) {
                    Some(t) => topic_entry(ctx, &t),
                    None if allow_auto && broker.config.auto_create_topics() => {
                        if let Err(reason) = validate_topic_name(&name_s) {
                            tracing::debug!(topic = %name_s, reason, "not auto-creating invalid topic");
                            error_topic(Some(name.0.clone()), Uuid::nil(), ResponseError::InvalidTopicException)
                        } else {
                            match broker.auto_create(&name_s) {
                                // Kafka answers LEADER_NOT_AVAILABLE for a topic it
                                // just created; we already have the leader, so answer it.
                                Ok(t) => topic_entry(ctx, &t),
                                Err(e) => {
                                    tracing::warn!(topic = %name_s, error = %e, "auto-create failed");
                                    error_topic(Some(name.0.clone()), Uuid::nil(), ResponseError::UnknownServerError)
                                }
                            }
                        }
                    }
                    None => error_topic(Some(name.0.clone()), Uuid::nil(), ResponseError::UnknownTopicOrPartition),
                }
            }
            (None, id) if !id.is_nil() => match broker.topic_by_id(&id) {
                Some(t) => topic_entry(ctx, &t),
                None => error_topic(None, id, ResponseError::UnknownTopicId),
            },
            _ => error_topic(None, Uuid::nil(), ResponseError::InvalidRequest),
        };
        r.topics.push(entry);
    }
    r
}

pub fn describe_cluster(ctx: &Ctx, req: DescribeClusterRequest) -> DescribeClusterResponse {
    let mut r = DescribeClusterResponse::default();
    r.cluster_id = str_bytes(ctx.broker.cluster_id.clone());
    r.controller_id = BrokerId(ctx.broker.node_id);
    r.endpoint_type = req.endpoint_type;
    r.cluster_authorized_operations = i32::MIN;
    // endpoint_type 2 asks for controllers (KIP-919); this node is both.
    let (host, port) = ctx.broker.advertised();
    let mut b = DescribeClusterBroker::default();
    b.broker_id = BrokerId(ctx.broker.node_id);
    b.host = str_bytes(host);
    b.port = port as i32;
    b.rack = ctx.broker.config.broker_rack().map(str_bytes);
    r.brokers = vec![b];
    if req.endpoint_type != 1 && req.endpoint_type != 2 {
        r.error_code = ResponseError::UnsupportedEndpointType.code();
        r.error_message = Some(str_bytes("Unsupported endpoint type"));
        r.brokers.clear();
    }
    r
}

pub fn describe_topic_partitions(ctx: &Ctx, req: DescribeTopicPartitionsRequest) -> DescribeTopicPartitionsResponse {
    let broker = &ctx.broker;
    let me = BrokerId(broker.node_id);
    let mut names: Vec<String> = if req.topics.is_empty() {
        broker.topics().iter().map(|t| t.name.clone()).collect()
    } else {
        req.topics.iter().map(|t| t.name.0.to_string()).collect()
    };
    names.sort();
    names.dedup();
    let (cursor_topic, cursor_part) = req
        .cursor
        .as_ref()
        .map(|c| (c.topic_name.0.to_string(), c.partition_index))
        .unwrap_or_default();
    let mut budget = req.response_partition_limit.max(1) as usize;
    let mut r = DescribeTopicPartitionsResponse::default();
    for name in names.into_iter().filter(|n| *n >= cursor_topic) {
        let mut e = DescribeTopicPartitionsResponseTopic::default();
        e.name = Some(TopicName(str_bytes(name.clone())));
        e.topic_authorized_operations = i32::MIN;
        let Some(t) = broker.topic(&name) else {
            e.error_code = ResponseError::UnknownTopicOrPartition.code();
            r.topics.push(e);
            continue;
        };
        e.topic_id = t.id;
        e.is_internal = t.is_internal();
        let start = if name == cursor_topic { cursor_part.max(0) as usize } else { 0 };
        for p in t.partitions.iter().skip(start) {
            if budget == 0 {
                let mut c = kafka_protocol::messages::describe_topic_partitions_response::Cursor::default();
                c.topic_name = TopicName(str_bytes(name.clone()));
                c.partition_index = p.index;
                r.next_cursor = Some(c);
                break;
            }
            let mut pe = DescribeTopicPartitionsResponsePartition::default();
            pe.partition_index = p.index;
            pe.leader_id = me;
            pe.leader_epoch = p.state.lock().leader_epoch;
            pe.replica_nodes = vec![me];
            pe.isr_nodes = vec![me];
            pe.eligible_leader_replicas = Some(vec![]);
            pe.last_known_elr = Some(vec![]);
            e.partitions.push(pe);
            budget -= 1;
        }
        r.topics.push(e);
        if r.next_cursor.is_some() {
            break;
        }
    }
    r
}
