//! Consumer-group administration the offsets API needs for sink connectors
//! (DeleteGroups to reset, OffsetDelete to drop single partitions). The
//! client crate does not wrap these two calls, so they are sent here on a
//! connection to the group coordinator at fixed, widely supported versions.

use std::time::Duration;

use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::{DeleteGroupsRequest, GroupId, OffsetDeleteRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tributary_client::connection::{Connection, ConnectionConfig};

use super::kafka::KafkaIo;

async fn coordinator(kafka: &KafkaIo, group: &str) -> Result<Connection, String> {
    let addr = kafka
        .client
        .find_coordinator(group)
        .await
        .map_err(|e| e.to_string())?;
    Connection::connect(&addr, &ConnectionConfig::default())
        .await
        .map_err(|e| e.to_string())
}

fn check(code: i16, what: &str) -> Result<(), String> {
    if code == 0 {
        return Ok(());
    }
    match ResponseError::try_from_code(code) {
        // Nothing committed yet: nothing to delete.
        Some(ResponseError::GroupIdNotFound) => Ok(()),
        Some(ResponseError::NonEmptyGroup) => {
            Err(format!("{what}: the consumer group is still active"))
        }
        Some(e) => Err(format!("{what}: {e:?}")),
        None => Err(format!("{what}: error code {code}")),
    }
}

/// Deletes the group (all its committed offsets).
pub async fn delete_group(kafka: &KafkaIo, group: &str) -> Result<(), String> {
    let mut conn = coordinator(kafka, group).await?;
    let mut req = DeleteGroupsRequest::default();
    req.groups_names = vec![GroupId(StrBytes::from_string(group.to_string()))];
    let resp = conn
        .send(&req, 1, Duration::ZERO)
        .await
        .map_err(|e| e.to_string())?;
    for r in resp.results {
        check(r.error_code, "delete group")?;
    }
    Ok(())
}

/// Deletes the committed offsets of some partitions.
pub async fn delete_offsets(
    kafka: &KafkaIo,
    group: &str,
    partitions: &[(String, i32)],
) -> Result<(), String> {
    let mut conn = coordinator(kafka, group).await?;
    let mut req = OffsetDeleteRequest::default();
    req.group_id = GroupId(StrBytes::from_string(group.to_string()));
    let mut topics: Vec<OffsetDeleteRequestTopic> = Vec::new();
    for (t, p) in partitions {
        let mut part = OffsetDeleteRequestPartition::default();
        part.partition_index = *p;
        match topics.iter_mut().find(|x| x.name.0.as_str() == t) {
            Some(x) => x.partitions.push(part),
            None => {
                let mut topic = OffsetDeleteRequestTopic::default();
                topic.name = TopicName(StrBytes::from_string(t.clone()));
                topic.partitions = vec![part];
                topics.push(topic);
            }
        }
    }
    req.topics = topics;
    let resp = conn
        .send(&req, 0, Duration::ZERO)
        .await
        .map_err(|e| e.to_string())?;
    check(resp.error_code, "delete offsets")?;
    for t in resp.topics {
        for p in t.partitions {
            check(p.error_code, "delete offsets")?;
        }
    }
    Ok(())
}
