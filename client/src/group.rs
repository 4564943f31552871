//! Membership in a classic Kafka group (JoinGroup / SyncGroup / Heartbeat /
//! LeaveGroup) with an opaque protocol type and metadata, the way Kafka's
//! own `AbstractCoordinator` is used by Connect ("connect") and Confluent's
//! schema registry ("sr"): the broker only elects a group leader and relays
//! bytes; what the bytes mean is the caller's business.
//!
//! A [`GroupMember`] is driven by one task: `join`, then (the leader computes
//! assignments) `sync`, then `heartbeat` every `heartbeat_interval` until an
//! error says to rejoin ([`needs_rejoin`]). It talks to the coordinator over
//! connections of its own so a heartbeat never queues behind someone's Fetch.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, GroupId, HeartbeatRequest, JoinGroupRequest, LeaveGroupRequest, SyncGroupRequest,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::client::{Client, CommittedOffset, GroupGeneration};
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct GroupConfig {
    pub group_id: String,
    /// Opaque to the broker; members of a group must agree on it.
    pub protocol_type: String,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub heartbeat_interval: Duration,
}

impl GroupConfig {
    pub fn new(group_id: impl Into<String>, protocol_type: impl Into<String>) -> GroupConfig {
        GroupConfig {
            group_id: group_id.into(),
            protocol_type: protocol_type.into(),
            session_timeout: Duration::from_secs(10),
            rebalance_timeout: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(3),
        }
    }
}

/// One member's entry as the group leader sees it after JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberMetadata {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub metadata: Bytes,
}

/// The outcome of a successful JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinedGroup {
    pub generation_id: i32,
    pub member_id: String,
    pub leader_id: String,
    pub protocol_name: String,
    /// Every member's metadata; only filled in for the leader.
    pub members: Vec<MemberMetadata>,
}

impl JoinedGroup {
    pub fn is_leader(&self) -> bool {
        self.member_id == self.leader_id
    }
}

/// Whether `err` (from sync or heartbeat) means "join again".
pub fn needs_rejoin(err: &Error) -> bool {
    matches!(
        err.kafka_code(),
        Some(
            ResponseError::RebalanceInProgress
                | ResponseError::IllegalGeneration
                | ResponseError::UnknownMemberId
                | ResponseError::FencedInstanceId
        )
    ) || matches!(err, Error::Io { .. } | Error::Timeout { .. })
        || err.kafka_code().is_some_and(|c| {
            matches!(
                c,
                ResponseError::NotCoordinator | ResponseError::CoordinatorNotAvailable
            )
        })
}

pub struct GroupMember {
    client: Client,
    config: GroupConfig,
    coordinator: Option<String>,
    member_id: String,
    generation_id: i32,
    protocol_name: Option<String>,
}

impl std::fmt::Debug for GroupMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupMember")
            .field("group", &self.config.group_id)
            .field("member_id", &self.member_id)
            .field("generation", &self.generation_id)
            .finish()
    }
}

impl GroupMember {
    pub fn new(client: &Client, config: GroupConfig) -> GroupMember {
        GroupMember {
            client: client.fork(),
            config,
            coordinator: None,
            member_id: String::new(),
            generation_id: -1,
            protocol_name: None,
        }
    }

    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    pub fn generation(&self) -> GroupGeneration {
        GroupGeneration {
            generation_id: self.generation_id,
            member_id: self.member_id.clone(),
        }
    }

    pub fn config(&self) -> &GroupConfig {
        &self.config
    }

    async fn coordinator(&mut self) -> Result<String> {
        if let Some(c) = &self.coordinator {
            return Ok(c.clone());
        }
        let c = self.client.find_coordinator(&self.config.group_id).await?;
        tracing::debug!(group = %self.config.group_id, coordinator = %c, "found coordinator");
        self.coordinator = Some(c.clone());
        Ok(c)
    }

    /// Forgets the coordinator after an error that says it moved or died.
    fn check_coordinator(&mut self, err: &Error) {
        if err.invalidates_metadata() || matches!(err, Error::Io { .. } | Error::Timeout { .. }) {
            self.coordinator = None;
        }
    }

    fn group_id(&self) -> GroupId {
        GroupId(StrBytes::from_string(self.config.group_id.clone()))
    }

    /// Joins (or rejoins) the group offering `protocols` (name, metadata) in
    /// order of preference. Handles MEMBER_ID_REQUIRED, a stale member id and
    /// a moving coordinator internally; returns when a generation is formed.
    pub async fn join(&mut self, protocols: &[(String, Bytes)]) -> Result<JoinedGroup> {
        let retries = self.client.config().retries.max(1);
        let backoff = self.client.config().retry_backoff;
        let mut failures = 0u32;
        loop {
            match self.join_once(protocols).await {
                Ok(joined) => return Ok(joined),
                Err(e) => {
                    let code = e.kafka_code();
                    if code == Some(ResponseError::MemberIdRequired) {
                        continue; // join_once stored the id the broker gave us
                    }
                    if code == Some(ResponseError::UnknownMemberId) {
                        self.member_id.clear();
                        continue;
                    }
                    self.check_coordinator(&e);
                    let again =
                        e.is_retriable() || code == Some(ResponseError::RebalanceInProgress);
                    if !again || failures >= retries {
                        return Err(e);
                    }
                    failures += 1;
                    tracing::debug!(group = %self.config.group_id, error = %e, failures, "join failed, retrying");
                    tokio::time::sleep((backoff * failures).min(Duration::from_secs(2))).await;
                }
            }
        }
    }

    async fn join_once(&mut self, protocols: &[(String, Bytes)]) -> Result<JoinedGroup> {
        let addr = self.coordinator().await?;
        let version = self.client.version_at(&addr, ApiKey::JoinGroup).await?;
        let mut req = JoinGroupRequest::default();
        req.group_id = self.group_id();
        req.session_timeout_ms = millis(self.config.session_timeout);
        if version >= 1 {
            req.rebalance_timeout_ms = millis(self.config.rebalance_timeout);
        }
        req.member_id = StrBytes::from_string(self.member_id.clone());
        req.protocol_type = StrBytes::from_string(self.config.protocol_type.clone());
        req.protocols = protocols
            .iter()
            .map(|(name, meta)| {
                let mut p = JoinGroupRequestProtocol::default();
                p.name = StrBytes::from_string(name.clone());
                p.metadata = meta.clone();
                p
            })
            .collect();
        // The coordinator holds JoinGroup until every member has rejoined.
        let long_poll = self
            .config
            .rebalance_timeout
            .max(self.config.session_timeout);
        let resp = self.client.send_to(&addr, &req, version, long_poll).await?;
        if let Some(e) = Error::from_code(
            resp.error_code,
            format!("join group {}", self.config.group_id),
            None,
        ) {
            if e.kafka_code() == Some(ResponseError::MemberIdRequired) {
                self.member_id = resp.member_id.to_string();
            }
            return Err(e);
        }
        self.member_id = resp.member_id.to_string();
        self.generation_id = resp.generation_id;
        self.protocol_name = resp.protocol_name.as_ref().map(|s| s.to_string());
        Ok(JoinedGroup {
            generation_id: resp.generation_id,
            member_id: resp.member_id.to_string(),
            leader_id: resp.leader.to_string(),
            protocol_name: self.protocol_name.clone().unwrap_or_default(),
            members: resp
                .members
                .into_iter()
                .map(|m| MemberMetadata {
                    member_id: m.member_id.to_string(),
                    group_instance_id: m.group_instance_id.map(|s| s.to_string()),
                    metadata: m.metadata,
                })
                .collect(),
        })
    }

    /// Sends the leader's assignments (followers send none) and returns this
    /// member's assignment bytes.
    pub async fn sync(&mut self, assignments: &[(String, Bytes)]) -> Result<Bytes> {
        let addr = self.coordinator().await?;
        let result = async {
            let version = self.client.version_at(&addr, ApiKey::SyncGroup).await?;
            let mut req = SyncGroupRequest::default();
            req.group_id = self.group_id();
            req.generation_id = self.generation_id;
            req.member_id = StrBytes::from_string(self.member_id.clone());
            if version >= 5 {
                req.protocol_type = Some(StrBytes::from_string(self.config.protocol_type.clone()));
                req.protocol_name = self.protocol_name.clone().map(StrBytes::from_string);
            }
            req.assignments = assignments
                .iter()
                .map(|(member, bytes)| {
                    let mut a = SyncGroupRequestAssignment::default();
                    a.member_id = StrBytes::from_string(member.clone());
                    a.assignment = bytes.clone();
                    a
                })
                .collect();
            let long_poll = self
                .config
                .rebalance_timeout
                .max(self.config.session_timeout);
            let resp = self.client.send_to(&addr, &req, version, long_poll).await?;
            match Error::from_code(
                resp.error_code,
                format!("sync group {}", self.config.group_id),
                None,
            ) {
                Some(e) => Err(e),
                None => Ok(resp.assignment),
            }
        }
        .await;
        self.after(&result);
        result
    }

    /// One heartbeat. An error for which [`needs_rejoin`] holds means the
    /// generation is over.
    pub async fn heartbeat(&mut self) -> Result<()> {
        let addr = self.coordinator().await?;
        let result = async {
            let version = self.client.version_at(&addr, ApiKey::Heartbeat).await?;
            let mut req = HeartbeatRequest::default();
            req.group_id = self.group_id();
            req.generation_id = self.generation_id;
            req.member_id = StrBytes::from_string(self.member_id.clone());
            let resp = self
                .client
                .send_to(&addr, &req, version, Duration::ZERO)
                .await?;
            match Error::from_code(
                resp.error_code,
                format!("heartbeat to group {}", self.config.group_id),
                None,
            ) {
                Some(e) => Err(e),
                None => Ok(()),
            }
        }
        .await;
        self.after(&result);
        result
    }

    /// Leaves the group so the others rebalance at once instead of waiting
    /// for our session to time out. Best effort: errors are returned but the
    /// member is reset either way.
    pub async fn leave(&mut self) -> Result<()> {
        if self.member_id.is_empty() {
            return Ok(());
        }
        let addr = self.coordinator().await?;
        let result = async {
            let version = self.client.version_at(&addr, ApiKey::LeaveGroup).await?;
            let mut req = LeaveGroupRequest::default();
            req.group_id = self.group_id();
            if version >= 3 {
                let mut m = MemberIdentity::default();
                m.member_id = StrBytes::from_string(self.member_id.clone());
                req.members = vec![m];
            } else {
                req.member_id = StrBytes::from_string(self.member_id.clone());
            }
            let resp = self
                .client
                .send_to(&addr, &req, version, Duration::ZERO)
                .await?;
            let context = format!("leave group {}", self.config.group_id);
            if let Some(e) = Error::from_code(resp.error_code, context.clone(), None) {
                return Err(e);
            }
            for m in &resp.members {
                if let Some(e) = Error::from_code(m.error_code, context.clone(), None) {
                    return Err(e);
                }
            }
            Ok(())
        }
        .await;
        self.member_id.clear();
        self.generation_id = -1;
        result
    }

    /// Commits offsets as this member of the current generation.
    pub async fn commit_offsets(&mut self, offsets: &[CommittedOffset]) -> Result<()> {
        let addr = self.coordinator().await?;
        let generation = self.generation();
        let result = self
            .client
            .commit_offsets_at(&addr, &self.config.group_id, Some(&generation), offsets)
            .await;
        self.after(&result);
        result
    }

    /// Reads the group's committed offsets for `partitions`.
    pub async fn fetch_offsets(
        &mut self,
        partitions: &[(String, i32)],
    ) -> Result<Vec<CommittedOffset>> {
        let addr = self.coordinator().await?;
        let result = self
            .client
            .fetch_offsets_at(&addr, &self.config.group_id, partitions)
            .await;
        self.after(&result);
        result
    }

    fn after<T>(&mut self, result: &Result<T>) {
        if let Err(e) = result {
            self.check_coordinator(e);
            if e.kafka_code() == Some(ResponseError::UnknownMemberId) {
                self.member_id.clear();
            }
        }
    }
}

fn millis(d: Duration) -> i32 {
    d.as_millis().min(i32::MAX as u128) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejoin_errors() {
        let e = |c: ResponseError| Error::from_code(c.code(), "x", None).expect("error");
        assert!(needs_rejoin(&e(ResponseError::RebalanceInProgress)));
        assert!(needs_rejoin(&e(ResponseError::IllegalGeneration)));
        assert!(needs_rejoin(&e(ResponseError::UnknownMemberId)));
        assert!(needs_rejoin(&e(ResponseError::NotCoordinator)));
        assert!(!needs_rejoin(&e(ResponseError::GroupAuthorizationFailed)));
    }

    #[test]
    fn leader_is_the_member_named_leader() {
        let j = JoinedGroup {
            generation_id: 1,
            member_id: "a".into(),
            leader_id: "a".into(),
            protocol_name: "v0".into(),
            members: vec![],
        };
        assert!(j.is_leader());
        assert!(!JoinedGroup {
            member_id: "b".into(),
            ..j
        }
        .is_leader());
    }
}
