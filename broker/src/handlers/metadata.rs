//! Metadata, DescribeCluster and DescribeTopicPartitions: what the cluster
//! looks like, from this broker's copy of the cluster image. Any broker
//! answers for the whole cluster.

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
use crate::broker::validate_topic_name;
use crate::controller::{ClusterImage, PartitionInfo, TopicInfo};
use crate::protocol::str_bytes;

fn broker_entries(img: &ClusterImage) -> Vec<MetadataResponseBroker> {
    img.brokers
        .values()
        .filter(|b| !b.fenced)
        .map(|info| {
            let mut b = MetadataResponseBroker::default();
            b.node_id = BrokerId(info.id);
            b.host = str_bytes(info.host.clone());
            b.port = info.port as i32;
            b.rack = info.rack.clone().map(str_bytes);
            b
        })
        .collect()
}

fn ids(v: &[i32]) -> Vec<BrokerId> {
    v.iter().map(|i| BrokerId(*i)).collect()
}

/// Replicas whose broker is fenced (down), as Kafka's offline_replicas.
fn offline(img: &ClusterImage, p: &PartitionInfo) -> Vec<BrokerId> {
    p.replicas.iter().filter(|r| !img.alive(**r)).map(|r| BrokerId(*r)).collect()
}

fn partition_entries(img: &ClusterImage, t: &TopicInfo) -> Vec<MetadataResponsePartition> {
    t.partitions
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut e = MetadataResponsePartition::default();
            e.partition_index = i as i32;
            e.leader_id = BrokerId(p.leader);
            e.leader_epoch = p.leader_epoch;
            e.replica_nodes = ids(&p.replicas);
            e.isr_nodes = ids(&p.isr);
            e.offline_replicas = offline(img, p);
            if p.leader < 0 {
                e.error_code = ResponseError::LeaderNotAvailable.code();
            }
            e
        })
        .collect()
}

fn topic_entry(img: &ClusterImage, name: &str, t: &TopicInfo) -> MetadataResponseTopic {
    let mut e = MetadataResponseTopic::default();
    e.name = Some(TopicName(str_bytes(name.to_string())));
    e.topic_id = t.id;
    e.is_internal = name.starts_with("__");
    e.partitions = partition_entries(img, t);
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
    let img = broker.agent.image();
    let mut r = MetadataResponse::default();
    r.brokers = broker_entries(&img);
    r.cluster_id = Some(str_bytes(broker.cluster_id.clone()));
    r.controller_id = BrokerId(controller_id(ctx));
    r.cluster_authorized_operations = i32::MIN;
    // v0: an empty list means all topics; v1+: null means all, empty means none.
    let all = match &req.topics {
        None => true,
        Some(t) if t.is_empty() && ctx.version == 0 => true,
        _ => false,
    };
    if all {
        r.topics = img.topics.iter().map(|(n, t)| topic_entry(&img, n, t)).collect();
        return r;
    }
    // v4+ carries the client's wish; earlier versions always allow auto-creation.
    let allow_auto = ctx.version < 4 || req.allow_auto_topic_creation;
    for wanted in req.topics.unwrap_or_default() {
        let entry = match (&wanted.name, wanted.topic_id) {
            (Some(name), _) => {
                let name_s = name.0.to_string();
                match img.topics.get(&name_s) {
                    Some(t) => topic_entry(&img, &name_s, t),
                    None if allow_auto && broker.config.auto_create_topics() => {
                        if let Err(reason) = validate_topic_name(&name_s) {
                            tracing::debug!(topic = %name_s, reason, "not auto-creating invalid topic");
                            error_topic(Some(name.0.clone()), Uuid::nil(), ResponseError::InvalidTopicException)
                        } else {
                            match broker.auto_create(&name_s) {
                                // Kafka answers LEADER_NOT_AVAILABLE for a topic it
                                // just created; we already have the leader, so answer it.
                                Ok(_) => {
                                    let img = broker.agent.image();
                                    match img.topics.get(&name_s) {
                                        Some(t) => topic_entry(&img, &name_s, t),
                                        None => error_topic(Some(name.0.clone()), Uuid::nil(), ResponseError::LeaderNotAvailable),
                                    }
                                }
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
            (None, id) if !id.is_nil() => match img.topic_by_id(&id) {
                Some((n, t)) => topic_entry(&img, n, t),
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
    r.controller_id = BrokerId(controller_id(ctx));
    r.endpoint_type = req.endpoint_type;
    r.cluster_authorized_operations = i32::MIN;
    // endpoint_type 2 asks for controllers (KIP-919); controllers here
    // speak only the internal protocol, so brokers are listed either way.
    let img = ctx.broker.agent.image();
    r.brokers = img
        .brokers
        .values()
        .filter(|i| !i.fenced)
        .map(|i| {
            let mut b = DescribeClusterBroker::default();
            b.broker_id = BrokerId(i.id);
            b.host = str_bytes(i.host.clone());
            b.port = i.port as i32;
            b.rack = i.rack.clone().map(str_bytes);
            b
        })
        .collect();
    if req.endpoint_type != 1 && req.endpoint_type != 2 {
        r.error_code = ResponseError::UnsupportedEndpointType.code();
        r.error_message = Some(str_bytes("Unsupported endpoint type"));
        r.brokers.clear();
    }
    r
}

pub fn describe_topic_partitions(ctx: &Ctx, req: DescribeTopicPartitionsRequest) -> DescribeTopicPartitionsResponse {
    let img = ctx.broker.agent.image();
    let mut names: Vec<String> = if req.topics.is_empty() {
        img.topics.keys().cloned().collect()
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
        let Some(t) = img.topics.get(&name) else {
            e.error_code = ResponseError::UnknownTopicOrPartition.code();
            r.topics.push(e);
            continue;
        };
        e.topic_id = t.id;
        e.is_internal = name.starts_with("__");
        let start = if name == cursor_topic { cursor_part.max(0) as usize } else { 0 };
        for (index, p) in t.partitions.iter().enumerate().skip(start) {
            let index = index as i32;
            if budget == 0 {
                let mut c = kafka_protocol::messages::describe_topic_partitions_response::Cursor::default();
                c.topic_name = TopicName(str_bytes(name.clone()));
                c.partition_index = index;
                r.next_cursor = Some(c);
                break;
            }
            let mut pe = DescribeTopicPartitionsResponsePartition::default();
            pe.partition_index = index;
            pe.leader_id = BrokerId(p.leader);
            pe.leader_epoch = p.leader_epoch;
            pe.replica_nodes = ids(&p.replicas);
            pe.isr_nodes = ids(&p.isr);
            pe.offline_replicas = offline(&img, p);
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

/// The active controller's id when it is also a live broker, else the
/// lowest live broker id: clients only use it to route admin requests,
/// which every broker here accepts and forwards to the quorum.
fn controller_id(ctx: &Ctx) -> i32 {
    let img = ctx.broker.agent.image();
    match ctx.broker.agent.active_controller_id() {
        id if id >= 0 && img.alive(id) => id,
        _ => img.alive_brokers().first().copied().unwrap_or(ctx.broker.node_id),
    }
}
