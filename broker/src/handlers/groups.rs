//! Group APIs: FindCoordinator, the classic protocol (JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup), KIP-848 (ConsumerGroupHeartbeat/Describe), group
//! admin (DescribeGroups, ListGroups, DeleteGroups) and offsets (OffsetCommit,
//! OffsetFetch, OffsetDelete). The logic is in `crate::group`; this file maps
//! protocol messages to it, leaving out fields a version doesn't carry.

use std::collections::BTreeSet;

use bytes::Bytes;
use kafka_protocol::messages::consumer_group_describe_response as cgd;
use kafka_protocol::messages::consumer_group_heartbeat_response as cgh;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::find_coordinator_response::Coordinator as CoordinatorEntry;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
use kafka_protocol::messages::offset_delete_response::{OffsetDeleteResponsePartition, OffsetDeleteResponseTopic};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions, OffsetFetchResponseTopic,
    OffsetFetchResponseTopics,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::Ctx;
use crate::group::classic::JoinRequest;
use crate::group::consumer::{Assignment, Heartbeat};
use crate::protocol::str_bytes;

fn code(e: Option<ResponseError>) -> i16 {
    e.map_or(0, |e| e.code())
}

fn opt_str(s: &Option<StrBytes>) -> Option<String> {
    s.as_ref().map(|s| s.to_string())
}

/// FindCoordinator: the leader of the key's `__consumer_offsets` (groups)
/// or `__transaction_state` (transactional ids) partition. The topic is
/// created on first use, as Kafka does.
pub fn find_coordinator(ctx: &Ctx, req: FindCoordinatorRequest) -> FindCoordinatorResponse {
    let mut r = FindCoordinatorResponse::default();
    let keys: Vec<StrBytes> = if ctx.version >= 4 { req.coordinator_keys.clone() } else { vec![req.key.clone()] };
    type Answer = Result<(i32, String, u16), (ResponseError, String)>;
    let answers: Vec<Answer> = keys
        .iter()
        .map(|k| match req.key_type {
            0 | 1 => ctx.broker.coordinator_for(req.key_type, k.as_str()).map_err(|e| (e, e.to_string())),
            t => Err((ResponseError::InvalidRequest, format!("Unknown coordinator key type {t}"))),
        })
        .collect();
    if ctx.version >= 4 {
        for (key, a) in keys.into_iter().zip(answers) {
            let mut c = CoordinatorEntry::default();
            c.key = key;
            match a {
                Ok((id, host, port)) => {
                    c.node_id = BrokerId(id);
                    c.host = str_bytes(host);
                    c.port = port as i32;
                }
                Err((e, msg)) => {
                    c.node_id = BrokerId(-1);
                    c.port = -1;
                    c.error_code = e.code();
                    c.error_message = Some(str_bytes(msg));
                }
            }
            r.coordinators.push(c);
        }
        return r;
    }
    match answers.into_iter().next() {
        Some(Ok((id, host, port))) => {
            r.node_id = BrokerId(id);
            r.host = str_bytes(host);
            r.port = port as i32;
        }
        Some(Err((e, msg))) => {
            r.error_code = e.code();
            r.node_id = BrokerId(-1);
            r.port = -1;
            if ctx.version >= 1 {
                r.error_message = Some(str_bytes(msg));
            }
        }
        None => {}
    }
    r
}

pub async fn join_group(ctx: &Ctx, req: JoinGroupRequest) -> JoinGroupResponse {
    let group_id = req.group_id.0.to_string();
    let jr = JoinRequest {
        member_id: req.member_id.to_string(),
        instance_id: opt_str(&req.group_instance_id),
        client_id: ctx.client_id.clone(),
        client_host: ctx.client_host.clone(),
        session_timeout_ms: req.session_timeout_ms,
        // v0 has no rebalance timeout: it equals the session timeout.
        rebalance_timeout_ms: if ctx.version >= 1 { req.rebalance_timeout_ms } else { req.session_timeout_ms },
        protocol_type: req.protocol_type.to_string(),
        protocols: req.protocols.iter().map(|p| (p.name.to_string(), p.metadata.clone())).collect(),
        require_known_member_id: ctx.version >= 4,
    };
    let res = if group_id.is_empty() {
        crate::group::classic::JoinResult::error(ResponseError::InvalidGroupId, &jr.member_id)
    } else {
        ctx.broker.groups.join(&ctx.broker, &group_id, jr).await
    };
    let mut r = JoinGroupResponse::default();
    r.error_code = res.error;
    r.generation_id = res.generation;
    r.member_id = str_bytes(res.member_id);
    r.leader = str_bytes(res.leader);
    if ctx.version >= 7 {
        r.protocol_type = res.protocol_type.map(str_bytes);
        r.protocol_name = res.protocol_name.map(str_bytes);
    } else {
        r.protocol_name = Some(str_bytes(res.protocol_name.unwrap_or_default()));
    }
    if ctx.version >= 9 {
        r.skip_assignment = res.skip_assignment;
    }
    r.members = res
        .members
        .into_iter()
        .map(|(id, inst, meta)| {
            let mut m = JoinGroupResponseMember::default();
            m.member_id = str_bytes(id);
            if ctx.version >= 5 {
                m.group_instance_id = inst.map(str_bytes);
            }
            m.metadata = meta;
            m
        })
        .collect();
    r
}

pub async fn sync_group(ctx: &Ctx, req: SyncGroupRequest) -> SyncGroupResponse {
    let assignments: Vec<(String, Bytes)> = req.assignments.iter().map(|a| (a.member_id.to_string(), a.assignment.clone())).collect();
    let res = ctx
        .broker
        .groups
        .sync(
            &ctx.broker,
            req.group_id.0.as_str(),
            req.member_id.as_str(),
            req.group_instance_id.as_ref().map(|s| s.as_str()),
            req.generation_id,
            req.protocol_type.as_ref().map(|s| s.as_str()),
            req.protocol_name.as_ref().map(|s| s.as_str()),
            assignments,
        )
        .await;
    let mut r = SyncGroupResponse::default();
    r.error_code = res.error;
    r.assignment = res.assignment;
    if ctx.version >= 5 {
        r.protocol_type = res.protocol_type.map(str_bytes);
        r.protocol_name = res.protocol_name.map(str_bytes);
    }
    r
}

pub fn heartbeat(ctx: &Ctx, req: HeartbeatRequest) -> HeartbeatResponse {
    let mut r = HeartbeatResponse::default();
    r.error_code = code(ctx.broker.groups.heartbeat(
        req.group_id.0.as_str(),
        req.member_id.as_str(),
        req.group_instance_id.as_ref().map(|s| s.as_str()),
        req.generation_id,
    ));
    r
}

pub fn leave_group(ctx: &Ctx, req: LeaveGroupRequest) -> LeaveGroupResponse {
    let mut r = LeaveGroupResponse::default();
    // v0-2 name one member; v3+ a batch (with instance ids for static members).
    let members: Vec<(String, Option<String>)> = if ctx.version >= 3 {
        req.members.iter().map(|m| (m.member_id.to_string(), opt_str(&m.group_instance_id))).collect()
    } else {
        vec![(req.member_id.to_string(), None)]
    };
    let errors = ctx.broker.groups.leave(&ctx.broker, req.group_id.0.as_str(), &members);
    if ctx.version >= 3 {
        r.members = members
            .into_iter()
            .zip(errors)
            .map(|((id, inst), e)| {
                let mut m = MemberResponse::default();
                m.member_id = str_bytes(id);
                m.group_instance_id = inst.map(str_bytes);
                m.error_code = code(e);
                m
            })
            .collect();
    } else {
        r.error_code = code(errors.into_iter().next().flatten());
    }
    r
}

pub fn describe_groups(ctx: &Ctx, req: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let mut r = DescribeGroupsResponse::default();
    for gid in req.groups {
        let id = gid.0.to_string();
        let mut d = DescribedGroup::default();
        d.group_id = gid.clone();
        let classic = ctx.broker.groups.with_classic(&id, |g| {
            let mut d = DescribedGroup::default();
            d.group_state = str_bytes(g.state.name());
            d.protocol_type = str_bytes(g.protocol_type.clone().unwrap_or_default());
            // protocol_data is the selected protocol only when Stable/CompletingRebalance.
            let show = matches!(g.state, crate::group::classic::GroupState::Stable | crate::group::classic::GroupState::CompletingRebalance);
            let protocol = g.protocol.clone().unwrap_or_default();
            d.protocol_data = str_bytes(if show { protocol.clone() } else { String::new() });
            d.members = g
                .members
                .values()
                .map(|m| {
                    let mut dm = DescribedGroupMember::default();
                    dm.member_id = str_bytes(m.member_id.clone());
                    if ctx.version >= 4 {
                        dm.group_instance_id = m.instance_id.clone().map(str_bytes);
                    }
                    dm.client_id = str_bytes(m.client_id.clone());
                    dm.client_host = str_bytes(m.client_host.clone());
                    if show {
                        dm.member_metadata = m.protocols.iter().find(|(n, _)| *n == protocol).map(|(_, b)| b.clone()).unwrap_or_default();
                        dm.member_assignment = m.assignment.clone();
                    }
                    dm
                })
                .collect();
            d
        });
        let consumer = || {
            ctx.broker.groups.with_consumer(&id, |g| {
                let mut d = DescribedGroup::default();
                d.group_state = str_bytes(g.state_name());
                d.protocol_type = str_bytes("consumer");
                d
            })
        };
        match classic.or_else(consumer) {
            Some(found) => {
                d.group_state = found.group_state;
                d.protocol_type = found.protocol_type;
                d.protocol_data = found.protocol_data;
                d.members = found.members;
            }
            None if ctx.broker.groups.has_offsets(&id) => d.group_state = str_bytes("Empty"),
            None => {
                d.group_state = str_bytes("Dead");
                if ctx.version >= 6 {
                    d.error_code = ResponseError::GroupIdNotFound.code();
                    d.error_message = Some(str_bytes(format!("Group {id} not found.")));
                }
            }
        }
        r.groups.push(d);
    }
    r
}

pub fn list_groups(ctx: &Ctx, req: ListGroupsRequest) -> ListGroupsResponse {
    let mut r = ListGroupsResponse::default();
    let states: Vec<String> = req.states_filter.iter().map(|s| s.to_lowercase()).collect();
    let types: Vec<String> = req.types_filter.iter().map(|s| s.to_lowercase()).collect();
    for g in ctx.broker.groups.list() {
        if !states.is_empty() && !states.contains(&g.state.to_lowercase()) {
            continue;
        }
        if !types.is_empty() && !types.contains(&g.group_type.to_string()) {
            continue;
        }
        let mut l = ListedGroup::default();
        l.group_id = GroupId(str_bytes(g.group_id));
        l.protocol_type = str_bytes(g.protocol_type);
        if ctx.version >= 4 {
            l.group_state = str_bytes(g.state);
        }
        if ctx.version >= 5 {
            l.group_type = str_bytes(g.group_type);
        }
        r.groups.push(l);
    }
    r
}

pub fn delete_groups(ctx: &Ctx, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let mut r = DeleteGroupsResponse::default();
    for g in req.groups_names {
        let mut d = DeletableGroupResult::default();
        d.error_code = code(ctx.broker.groups.delete_group(&ctx.broker, g.0.as_str()));
        d.group_id = g;
        r.results.push(d);
    }
    r
}

pub async fn offset_commit(ctx: &Ctx, req: OffsetCommitRequest) -> OffsetCommitResponse {
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let parts = t
                .partitions
                .iter()
                .map(|p| {
                    let epoch = if ctx.version >= 6 { p.committed_leader_epoch } else { -1 };
                    (p.partition_index, p.committed_offset, epoch, opt_str(&p.committed_metadata))
                })
                .collect();
            (t.name.0.to_string(), parts)
        })
        .collect();
    // v0-1 had no generation; the crate starts at v2 where it is always present.
    let results = ctx.broker.groups.commit(
        &ctx.broker,
        req.group_id.0.as_str(),
        req.generation_id_or_member_epoch,
        req.member_id.as_str(),
        req.group_instance_id.as_ref().map(|s| s.as_str()),
        topics,
    );
    // Answer only once every in-sync replica of the group's partition has
    // the commit, so it survives the coordinator's death.
    let durable = ctx.broker.groups.replicated(&ctx.broker, req.group_id.0.as_str()).await;
    let mut results = results;
    if let Err(e) = durable {
        for (_, parts) in results.iter_mut() {
            for (_, err) in parts.iter_mut() {
                if err.is_none() {
                    *err = Some(e);
                }
            }
        }
    }
    let mut r = OffsetCommitResponse::default();
    for (t, parts) in results {
        let mut tr = OffsetCommitResponseTopic::default();
        tr.name = TopicName(str_bytes(t));
        tr.partitions = parts
            .into_iter()
            .map(|(p, e)| {
                let mut pr = OffsetCommitResponsePartition::default();
                pr.partition_index = p;
                pr.error_code = code(e);
                pr
            })
            .collect();
        r.topics.push(tr);
    }
    r
}

fn fetch_one(ctx: &Ctx, group: &str, topics: Option<Vec<(String, Vec<i32>)>>) -> Vec<(String, Vec<(i32, i64, i32, Option<String>)>)> {
    ctx.broker
        .groups
        .fetch_offsets(group, topics)
        .into_iter()
        .map(|(t, ps)| {
            let parts = ps
                .into_iter()
                .map(|(p, v)| match v {
                    Some(v) => (p, v.offset, v.leader_epoch, Some(v.metadata)),
                    None => (p, -1, -1, Some(String::new())),
                })
                .collect();
            (t, parts)
        })
        .collect()
}

pub fn offset_fetch(ctx: &Ctx, req: OffsetFetchRequest) -> OffsetFetchResponse {
    let mut r = OffsetFetchResponse::default();
    let epoch = |e: i32| if ctx.version >= 5 { e } else { -1 };
    if ctx.version >= 8 {
        for g in req.groups {
            let topics = g.topics.map(|ts| ts.into_iter().map(|t| (t.name.0.to_string(), t.partition_indexes)).collect());
            let mut gr = OffsetFetchResponseGroup::default();
            gr.group_id = g.group_id.clone();
            if !ctx.broker.groups.owns(g.group_id.0.as_str()) {
                gr.error_code = ResponseError::NotCoordinator.code();
                r.groups.push(gr);
                continue;
            }
            for (t, parts) in fetch_one(ctx, g.group_id.0.as_str(), topics) {
                let mut tr = OffsetFetchResponseTopics::default();
                tr.name = TopicName(str_bytes(t));
                tr.partitions = parts
                    .into_iter()
                    .map(|(p, off, e, meta)| {
                        let mut pr = OffsetFetchResponsePartitions::default();
                        pr.partition_index = p;
                        pr.committed_offset = off;
                        pr.committed_leader_epoch = e;
                        pr.metadata = meta.map(str_bytes);
                        pr
                    })
                    .collect();
                gr.topics.push(tr);
            }
            r.groups.push(gr);
        }
        return r;
    }
    if !ctx.broker.groups.owns(req.group_id.0.as_str()) {
        if ctx.version >= 2 {
            r.error_code = ResponseError::NotCoordinator.code();
        }
        return r;
    }
    let topics = req.topics.map(|ts| ts.into_iter().map(|t| (t.name.0.to_string(), t.partition_indexes)).collect());
    for (t, parts) in fetch_one(ctx, req.group_id.0.as_str(), topics) {
        let mut tr = OffsetFetchResponseTopic::default();
        tr.name = TopicName(str_bytes(t));
        tr.partitions = parts
            .into_iter()
            .map(|(p, off, e, meta)| {
                let mut pr = OffsetFetchResponsePartition::default();
                pr.partition_index = p;
                pr.committed_offset = off;
                pr.committed_leader_epoch = epoch(e);
                pr.metadata = meta.map(str_bytes);
                pr
            })
            .collect();
        r.topics.push(tr);
    }
    r
}

pub fn offset_delete(ctx: &Ctx, req: OffsetDeleteRequest) -> OffsetDeleteResponse {
    let mut r = OffsetDeleteResponse::default();
    let topics = req.topics.iter().map(|t| (t.name.0.to_string(), t.partitions.iter().map(|p| p.partition_index).collect())).collect();
    match ctx.broker.groups.delete_offsets(&ctx.broker, req.group_id.0.as_str(), topics) {
        Err(e) => r.error_code = e.code(),
        Ok(results) => {
            for (t, parts) in results {
                let mut tr = OffsetDeleteResponseTopic::default();
                tr.name = TopicName(str_bytes(t));
                tr.partitions = parts
                    .into_iter()
                    .map(|(p, e)| {
                        let mut pr = OffsetDeleteResponsePartition::default();
                        pr.partition_index = p;
                        pr.error_code = code(e);
                        pr
                    })
                    .collect();
                r.topics.push(tr);
            }
        }
    }
    r
}

fn to_wire(a: &Assignment) -> Vec<cgh::TopicPartitions> {
    a.iter()
        .map(|(id, ps)| {
            let mut tp = cgh::TopicPartitions::default();
            tp.topic_id = *id;
            tp.partitions = ps.iter().copied().collect();
            tp
        })
        .collect()
}

pub fn consumer_group_heartbeat(ctx: &Ctx, req: ConsumerGroupHeartbeatRequest) -> ConsumerGroupHeartbeatResponse {
    let owned: Option<Assignment> = req.topic_partitions.as_ref().map(|tps| {
        tps.iter().map(|tp| (tp.topic_id, tp.partitions.iter().copied().collect::<BTreeSet<i32>>())).collect()
    });
    let hb = Heartbeat {
        member_id: req.member_id.to_string(),
        member_epoch: req.member_epoch,
        instance_id: opt_str(&req.instance_id),
        rack_id: opt_str(&req.rack_id),
        rebalance_timeout_ms: req.rebalance_timeout_ms,
        subscribed: req.subscribed_topic_names.as_ref().map(|ts| ts.iter().map(|t| t.0.to_string()).collect()),
        server_assignor: opt_str(&req.server_assignor),
        owned,
        client_id: ctx.client_id.clone(),
        client_host: ctx.client_host.clone(),
    };
    let mut r = ConsumerGroupHeartbeatResponse::default();
    if req.group_id.0.is_empty() {
        r.error_code = ResponseError::InvalidRequest.code();
        r.error_message = Some(str_bytes("GroupId can't be empty."));
        return r;
    }
    if req.subscribed_topic_regex.is_some() && req.member_epoch == 0 && req.subscribed_topic_names.is_none() {
        r.error_code = ResponseError::InvalidRequest.code();
        r.error_message = Some(str_bytes("SubscribedTopicRegex is not supported yet; subscribe by topic names"));
        return r;
    }
    let reply = ctx.broker.groups.consumer_heartbeat(&ctx.broker, req.group_id.0.as_str(), hb);
    r.error_code = code(reply.error);
    r.error_message = reply.message.map(str_bytes);
    r.member_id = Some(str_bytes(reply.member_id));
    r.member_epoch = reply.member_epoch;
    r.heartbeat_interval_ms = ctx.broker.groups.consumer_heartbeat_interval_ms;
    r.assignment = reply.assignment.map(|a| {
        let mut w = cgh::Assignment::default();
        w.topic_partitions = to_wire(&a);
        w
    });
    r
}

pub fn consumer_group_describe(ctx: &Ctx, req: ConsumerGroupDescribeRequest) -> ConsumerGroupDescribeResponse {
    let mut r = ConsumerGroupDescribeResponse::default();
    let names: std::collections::HashMap<Uuid, String> = ctx.broker.topics().iter().map(|t| (t.id, t.name.clone())).collect();
    let wire = |a: &Assignment| {
        let mut w = cgd::Assignment::default();
        w.topic_partitions = a
            .iter()
            .map(|(id, ps)| {
                let mut tp = cgd::TopicPartitions::default();
                tp.topic_id = *id;
                tp.topic_name = TopicName(str_bytes(names.get(id).cloned().unwrap_or_default()));
                tp.partitions = ps.iter().copied().collect();
                tp
            })
            .collect();
        w
    };
    for gid in req.group_ids {
        let id = gid.0.to_string();
        let mut d = cgd::DescribedGroup::default();
        d.group_id = gid;
        let found = ctx.broker.groups.with_consumer(&id, |g| {
            d.group_state = str_bytes(g.state_name());
            d.group_epoch = g.epoch;
            d.assignment_epoch = g.assignment_epoch;
            d.assignor_name = str_bytes(g.assignor.name());
            d.members = g
                .members
                .values()
                .map(|m| {
                    let mut dm = cgd::Member::default();
                    dm.member_id = str_bytes(m.member_id.clone());
                    dm.instance_id = m.instance_id.clone().map(str_bytes);
                    dm.rack_id = m.rack_id.clone().map(str_bytes);
                    dm.member_epoch = m.epoch;
                    dm.client_id = str_bytes(m.client_id.clone());
                    dm.client_host = str_bytes(m.client_host.clone());
                    dm.subscribed_topic_names = m.subscribed.iter().map(|t| TopicName(str_bytes(t.clone()))).collect();
                    dm.assignment = wire(&m.assigned);
                    dm.target_assignment = wire(&m.target);
                    if ctx.version >= 1 {
                        dm.member_type = 1;
                    }
                    dm
                })
                .collect();
        });
        if found.is_none() {
            // Classic groups are described by DescribeGroups; the Java admin falls back on this error.
            d.error_code = ResponseError::GroupIdNotFound.code();
            d.error_message = Some(str_bytes(format!("Group {id} not found.")));
        }
        d.authorized_operations = i32::MIN;
        r.groups.push(d);
    }
    r
}
