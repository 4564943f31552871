//! The classic group protocol (JoinGroup/SyncGroup/Heartbeat/LeaveGroup) as a
//! state machine. Time comes in as `now` (ms); nothing here does I/O.
//!
//! Requests that must wait (a JoinGroup until the rebalance completes, a
//! SyncGroup until the leader sends assignments) get a oneshot receiver; the
//! state machine completes it when the group moves on. What must be persisted
//! is returned as `GroupValue` snapshots for the caller to write.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use indexmap::IndexMap;
use kafka_protocol::ResponseError;
use tokio::sync::oneshot;

use super::records::{GroupValue, MemberValue};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// What a JoinGroup caller receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResult {
    pub error: i16,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    pub member_id: String,
    pub skip_assignment: bool,
    /// (member id, group instance id, metadata): only for the leader.
    pub members: Vec<(String, Option<String>, Bytes)>,
}

impl JoinResult {
    pub fn error(err: ResponseError, member_id: &str) -> JoinResult {
        JoinResult {
            error: err.code(),
            generation: -1,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            member_id: member_id.to_string(),
            skip_assignment: false,
            members: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncResult {
    pub error: i16,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

impl SyncResult {
    pub fn error(err: ResponseError) -> SyncResult {
        SyncResult { error: err.code(), protocol_type: None, protocol_name: None, assignment: Bytes::new() }
    }
}

/// Either an answer now, or a receiver the answer will arrive on.
#[derive(Debug)]
pub enum Reply<T> {
    Now(T),
    Later(oneshot::Receiver<T>),
}

#[derive(Debug)]
pub struct Member {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    pub last_heartbeat: i64,
    join_waiter: Option<oneshot::Sender<JoinResult>>,
    sync_waiter: Option<oneshot::Sender<SyncResult>>,
}

impl Member {
    fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols.iter().find(|(n, _)| n == protocol).map(|(_, m)| m.clone()).unwrap_or_default()
    }
    fn keep_alive(&self, now: i64) -> bool {
        self.join_waiter.is_some() || self.sync_waiter.is_some() || self.last_heartbeat + self.session_timeout_ms as i64 > now
    }
}

/// The join parameters of one JoinGroup request.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    /// JoinGroup v4+: unknown members first get MEMBER_ID_REQUIRED.
    pub require_known_member_id: bool,
}

/// Limits from the broker config.
#[derive(Debug, Clone, Copy)]
pub struct GroupConfig {
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
    pub initial_rebalance_delay_ms: i32,
}

#[derive(Debug)]
pub struct ClassicGroup {
    pub id: String,
    pub state: GroupState,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub members: IndexMap<String, Member>,
    pub state_timestamp: i64,
    /// Member ids handed out with MEMBER_ID_REQUIRED, with when.
    pending: HashMap<String, i64>,
    static_members: HashMap<String, String>,
    rebalance_deadline: i64,
    initial_delay_deadline: Option<i64>,
    sync_deadline: Option<i64>,
    /// Set when the persisted form changed outside a rebalance (static
    /// member replacement); the coordinator writes it and clears the flag.
    pub dirty: bool,
}

fn new_member_id(client_id: &str) -> String {
    format!("{client_id}-{}", uuid::Uuid::new_v4())
}

impl ClassicGroup {
    pub fn new(id: &str, now: i64) -> ClassicGroup {
        ClassicGroup {
            id: id.to_string(),
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: IndexMap::new(),
            state_timestamp: now,
            pending: HashMap::new(),
            static_members: HashMap::new(),
            rebalance_deadline: 0,
            initial_delay_deadline: None,
            sync_deadline: None,
            dirty: false,
        }
    }

    /// Rebuilds a group from its persisted metadata (after a restart). Members
    /// get a fresh session so they can reconnect before being expired.
    pub fn from_value(id: &str, v: GroupValue, now: i64) -> ClassicGroup {
        let mut g = ClassicGroup::new(id, now);
        g.generation = v.generation;
        g.protocol_type = Some(v.protocol_type).filter(|s| !s.is_empty());
        g.protocol = v.protocol;
        g.leader = v.leader;
        g.state_timestamp = if v.current_state_timestamp > 0 { v.current_state_timestamp } else { now };
        for m in v.members {
            if let Some(i) = &m.group_instance_id {
                g.static_members.insert(i.clone(), m.member_id.clone());
            }
            let protocols = match &g.protocol {
                Some(p) => vec![(p.clone(), m.subscription.clone())],
                None => Vec::new(),
            };
            g.members.insert(
                m.member_id.clone(),
                Member {
                    member_id: m.member_id,
                    instance_id: m.group_instance_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    session_timeout_ms: m.session_timeout,
                    rebalance_timeout_ms: m.rebalance_timeout,
                    protocol_type: g.protocol_type.clone().unwrap_or_default(),
                    protocols,
                    assignment: m.assignment,
                    last_heartbeat: now,
                    join_waiter: None,
                    sync_waiter: None,
                },
            );
        }
        g.state = if g.members.is_empty() { GroupState::Empty } else { GroupState::Stable };
        g
    }

    /// The persisted form of this group.
    pub fn to_value(&self) -> GroupValue {
        GroupValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation,
            protocol: self.protocol.clone(),
            leader: self.leader.clone(),
            current_state_timestamp: self.state_timestamp,
            members: self
                .members
                .values()
                .map(|m| MemberValue {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout: m.rebalance_timeout_ms,
                    session_timeout: m.session_timeout_ms,
                    subscription: self.protocol.as_ref().map(|p| m.metadata_for(p)).unwrap_or_default(),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }

    pub fn is_member(&self, member_id: &str) -> bool {
        self.members.contains_key(member_id)
    }

    fn transition(&mut self, state: GroupState, now: i64) {
        self.state = state;
        self.state_timestamp = now;
    }

    /// A group accepts a protocol set if it is empty, or the type matches and
    /// every member supports at least one of the offered protocols.
    fn supports(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if protocols.is_empty() || protocol_type.is_empty() {
            return false;
        }
        if self.members.is_empty() {
            return true;
        }
        if self.protocol_type.as_deref() != Some(protocol_type) {
            return false;
        }
        protocols.iter().any(|(name, _)| self.members.values().all(|m| m.protocols.iter().any(|(n, _)| n == name)))
    }

    fn current_join_result(&self, member_id: &str) -> JoinResult {
        let leader = self.leader.clone().unwrap_or_default();
        let members = if leader == member_id {
            let p = self.protocol.clone().unwrap_or_default();
            self.members.values().map(|m| (m.member_id.clone(), m.instance_id.clone(), m.metadata_for(&p))).collect()
        } else {
            Vec::new()
        };
        JoinResult {
            error: 0,
            generation: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol.clone(),
            leader,
            member_id: member_id.to_string(),
            skip_assignment: false,
            members,
        }
    }

    fn max_rebalance_timeout(&self) -> i64 {
        self.members.values().map(|m| m.rebalance_timeout_ms as i64).max().unwrap_or(0)
    }

    fn prepare_rebalance(&mut self, now: i64, cfg: &GroupConfig) {
        if self.state == GroupState::CompletingRebalance {
            for m in self.members.values_mut() {
                if let Some(tx) = m.sync_waiter.take() {
                    let _ = tx.send(SyncResult::error(ResponseError::RebalanceInProgress));
                }
            }
        }
        let was_empty = self.state == GroupState::Empty;
        self.sync_deadline = None;
        self.rebalance_deadline = now + self.max_rebalance_timeout();
        self.initial_delay_deadline =
            (was_empty && cfg.initial_rebalance_delay_ms > 0).then(|| (now + cfg.initial_rebalance_delay_ms as i64).min(self.rebalance_deadline));
        self.transition(GroupState::PreparingRebalance, now);
    }

    fn maybe_prepare_rebalance(&mut self, now: i64, cfg: &GroupConfig) {
        if matches!(self.state, GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty) {
            self.prepare_rebalance(now, cfg);
        }
    }

    fn add_member(&mut self, req: &JoinRequest, member_id: String, now: i64, cfg: &GroupConfig) -> oneshot::Receiver<JoinResult> {
        let (tx, rx) = oneshot::channel();
        if self.members.is_empty() {
            self.protocol_type = Some(req.protocol_type.clone());
        }
        if let Some(i) = &req.instance_id {
            self.static_members.insert(i.clone(), member_id.clone());
        }
        if self.leader.is_none() {
            self.leader = Some(member_id.clone());
        }
        self.members.insert(
            member_id.clone(),
            Member {
                member_id,
                instance_id: req.instance_id.clone(),
                client_id: req.client_id.clone(),
                client_host: req.client_host.clone(),
                session_timeout_ms: req.session_timeout_ms,
                rebalance_timeout_ms: req.rebalance_timeout_ms,
                protocol_type: req.protocol_type.clone(),
                protocols: req.protocols.clone(),
                assignment: Bytes::new(),
                last_heartbeat: now,
                join_waiter: Some(tx),
                sync_waiter: None,
            },
        );
        if self.state == GroupState::PreparingRebalance {
            // A new member during the initial delay pushes it back (up to the rebalance timeout).
            let max_rebalance = self.max_rebalance_timeout();
            if let Some(d) = self.initial_delay_deadline.as_mut() {
                *d = (now + cfg.initial_rebalance_delay_ms as i64).min(now + max_rebalance).max(*d);
            }
            self.rebalance_deadline = self.rebalance_deadline.max(now + self.max_rebalance_timeout());
        }
        self.maybe_prepare_rebalance(now, cfg);
        rx
    }

    /// Handles a JoinGroup.
    pub fn join(&mut self, req: JoinRequest, now: i64, cfg: &GroupConfig) -> Reply<JoinResult> {
        if req.session_timeout_ms < cfg.min_session_timeout_ms || req.session_timeout_ms > cfg.max_session_timeout_ms {
            return Reply::Now(JoinResult::error(ResponseError::InvalidSessionTimeout, &req.member_id));
        }
        if self.state == GroupState::Dead {
            return Reply::Now(JoinResult::error(ResponseError::CoordinatorNotAvailable, &req.member_id));
        }
        if !self.supports(&req.protocol_type, &req.protocols) {
            return Reply::Now(JoinResult::error(ResponseError::InconsistentGroupProtocol, &req.member_id));
        }
        if req.member_id.is_empty() {
            let new_id = new_member_id(&req.client_id);
            if let Some(instance) = req.instance_id.clone() {
                if let Some(old_id) = self.static_members.get(&instance).cloned() {
                    return self.replace_static_member(req, old_id, new_id, now, cfg);
                }
                let rx = self.add_member(&req, new_id, now, cfg);
                self.check_join_complete(now);
                return Reply::Later(rx);
            }
            if req.require_known_member_id {
                self.pending.insert(new_id.clone(), now);
                return Reply::Now(JoinResult::error(ResponseError::MemberIdRequired, &new_id));
            }
            let rx = self.add_member(&req, new_id, now, cfg);
            self.check_join_complete(now);
            return Reply::Later(rx);
        }
        if self.pending.remove(&req.member_id).is_some() {
            let rx = self.add_member(&req, req.member_id.clone(), now, cfg);
            self.check_join_complete(now);
            return Reply::Later(rx);
        }
        if !self.members.contains_key(&req.member_id) {
            return Reply::Now(JoinResult::error(ResponseError::UnknownMemberId, &req.member_id));
        }
        if let Some(i) = &req.instance_id {
            if self.static_members.get(i) != Some(&req.member_id) {
                return Reply::Now(JoinResult::error(ResponseError::FencedInstanceId, &req.member_id));
            }
        }
        let is_leader = self.leader.as_deref() == Some(req.member_id.as_str());
        let member = self.members.get_mut(&req.member_id).expect("checked above");
        let protocols_changed = member.protocols != req.protocols;
        member.last_heartbeat = now;
        match self.state {
            GroupState::PreparingRebalance => {
                let (tx, rx) = oneshot::channel();
                member.protocols = req.protocols;
                member.session_timeout_ms = req.session_timeout_ms;
                member.rebalance_timeout_ms = req.rebalance_timeout_ms;
                if let Some(old) = member.join_waiter.replace(tx) {
                    let _ = old.send(JoinResult::error(ResponseError::RebalanceInProgress, &req.member_id));
                }
                self.check_join_complete(now);
                Reply::Later(rx)
            }
            GroupState::CompletingRebalance | GroupState::Stable if !protocols_changed && !(is_leader && self.state == GroupState::Stable) => {
                // Nothing changed: answer with the current generation.
                Reply::Now(self.current_join_result(&req.member_id))
            }
            _ => {
                let (tx, rx) = oneshot::channel();
                member.protocols = req.protocols;
                member.join_waiter = Some(tx);
                self.maybe_prepare_rebalance(now, cfg);
                self.check_join_complete(now);
                Reply::Later(rx)
            }
        }
    }

    /// KIP-345: a static member rejoining with a new member id replaces its
    /// old incarnation; if nothing else changed, no rebalance happens.
    fn replace_static_member(&mut self, req: JoinRequest, old_id: String, new_id: String, now: i64, cfg: &GroupConfig) -> Reply<JoinResult> {
        let Some(mut old) = self.members.shift_remove(&old_id) else {
            self.static_members.remove(req.instance_id.as_deref().unwrap_or_default());
            let rx = self.add_member(&req, new_id, now, cfg);
            self.check_join_complete(now);
            return Reply::Later(rx);
        };
        if let Some(tx) = old.join_waiter.take() {
            let _ = tx.send(JoinResult::error(ResponseError::FencedInstanceId, &old_id));
        }
        if let Some(tx) = old.sync_waiter.take() {
            let _ = tx.send(SyncResult::error(ResponseError::FencedInstanceId));
        }
        // Kafka rebalances only if the group's selected protocol would change
        // (after a broker restart we only remember the selected one).
        let protocols_changed = match &self.protocol {
            Some(p) => !req.protocols.iter().any(|(n, _)| n == p),
            None => old.protocols != req.protocols,
        };
        old.member_id = new_id.clone();
        old.client_id = req.client_id.clone();
        old.client_host = req.client_host.clone();
        old.session_timeout_ms = req.session_timeout_ms;
        old.rebalance_timeout_ms = req.rebalance_timeout_ms;
        old.last_heartbeat = now;
        let was_leader = self.leader.as_deref() == Some(old_id.as_str());
        if was_leader {
            self.leader = Some(new_id.clone());
        }
        if let Some(i) = &req.instance_id {
            self.static_members.insert(i.clone(), new_id.clone());
        }
        match self.state {
            GroupState::Stable if !protocols_changed => {
                old.protocols = req.protocols;
                self.members.insert(new_id.clone(), old);
                // The new member id must be durable, or a broker restart would forget it.
                self.dirty = true;
                let mut r = self.current_join_result(&new_id);
                // The leader already assigned this generation: it must not redo it (JoinGroup v9).
                r.skip_assignment = was_leader;
                Reply::Now(r)
            }
            _ => {
                let (tx, rx) = oneshot::channel();
                old.protocols = req.protocols;
                old.join_waiter = Some(tx);
                self.members.insert(new_id, old);
                self.maybe_prepare_rebalance(now, cfg);
                self.check_join_complete(now);
                Reply::Later(rx)
            }
        }
    }

    /// Completes the join phase if every member rejoined (and any initial
    /// delay passed), or the rebalance timeout expired.
    pub fn check_join_complete(&mut self, now: i64) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        let all_joined = self.members.values().all(|m| m.join_waiter.is_some()) && self.pending.is_empty();
        let delay_over = self.initial_delay_deadline.is_none_or(|d| now >= d);
        let timed_out = now >= self.rebalance_deadline;
        if !((all_joined && delay_over) || timed_out) {
            return;
        }
        // Dynamic members that did not rejoin in time are removed; static ones stay.
        let gone: Vec<String> = self
            .members
            .values()
            .filter(|m| m.join_waiter.is_none() && m.instance_id.is_none())
            .map(|m| m.member_id.clone())
            .collect();
        for id in gone {
            self.members.shift_remove(&id);
        }
        self.pending.clear();
        self.initial_delay_deadline = None;
        self.generation += 1;
        if self.members.values().all(|m| m.join_waiter.is_none()) {
            self.members.retain(|_, m| m.join_waiter.is_some());
        }
        if self.members.is_empty() {
            // Kafka keeps the protocol type of an empty group (admin tools tell
            // a consumer group from a "simple" one by it); only the protocol goes.
            self.protocol = None;
            self.leader = None;
            self.transition(GroupState::Empty, now);
            return;
        }
        self.protocol = self.select_protocol();
        if !self.leader.as_ref().is_some_and(|l| self.members.get(l).is_some_and(|m| m.join_waiter.is_some())) {
            self.leader = self.members.values().find(|m| m.join_waiter.is_some()).map(|m| m.member_id.clone());
        }
        self.transition(GroupState::CompletingRebalance, now);
        self.sync_deadline = Some(now + self.max_rebalance_timeout());
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let result = self.current_join_result(&id);
            let m = self.members.get_mut(&id).expect("listed");
            m.last_heartbeat = now;
            if let Some(tx) = m.join_waiter.take() {
                let _ = tx.send(result);
            }
        }
    }

    /// The protocol every member supports that most members prefer.
    fn select_protocol(&self) -> Option<String> {
        let first = self.members.values().next()?;
        let candidates: Vec<&String> = first
            .protocols
            .iter()
            .map(|(n, _)| n)
            .filter(|n| self.members.values().all(|m| m.protocols.iter().any(|(p, _)| p == *n)))
            .collect();
        let mut votes: HashMap<&String, usize> = HashMap::new();
        for m in self.members.values() {
            if let Some((n, _)) = m.protocols.iter().find(|(n, _)| candidates.contains(&n)) {
                *votes.entry(n).or_default() += 1;
            }
        }
        // Most votes wins; ties go to the earlier candidate.
        let mut best: Option<(&String, usize)> = None;
        for c in candidates {
            let v = votes.get(c).copied().unwrap_or(0);
            if best.is_none_or(|(_, bv)| v > bv) {
                best = Some((c, v));
            }
        }
        best.map(|(c, _)| c.clone())
    }

    /// Handles a SyncGroup. Returns the reply and whether the group metadata
    /// changed (assignments arrived) and must be persisted.
    #[allow(clippy::too_many_arguments)]
    pub fn sync(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        protocol_type: Option<&str>,
        protocol_name: Option<&str>,
        assignments: Vec<(String, Bytes)>,
        now: i64,
    ) -> (Reply<SyncResult>, bool) {
        let now_err = |e| (Reply::Now(SyncResult::error(e)), false);
        if !self.members.contains_key(member_id) {
            return now_err(ResponseError::UnknownMemberId);
        }
        if let Some(i) = instance_id {
            if self.static_members.get(i).map(String::as_str) != Some(member_id) {
                return now_err(ResponseError::FencedInstanceId);
            }
        }
        if generation != self.generation {
            return now_err(ResponseError::IllegalGeneration);
        }
        if protocol_type.is_some_and(|t| Some(t) != self.protocol_type.as_deref())
            || protocol_name.is_some_and(|n| Some(n) != self.protocol.as_deref())
        {
            return now_err(ResponseError::InconsistentGroupProtocol);
        }
        let ok = |a: Bytes, g: &ClassicGroup| SyncResult {
            error: 0,
            protocol_type: g.protocol_type.clone(),
            protocol_name: g.protocol.clone(),
            assignment: a,
        };
        match self.state {
            GroupState::Empty | GroupState::Dead => now_err(ResponseError::UnknownMemberId),
            GroupState::PreparingRebalance => now_err(ResponseError::RebalanceInProgress),
            GroupState::Stable => {
                let m = self.members.get_mut(member_id).expect("checked");
                m.last_heartbeat = now;
                let a = m.assignment.clone();
                (Reply::Now(ok(a, self)), false)
            }
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                let m = self.members.get_mut(member_id).expect("checked");
                m.last_heartbeat = now;
                m.sync_waiter = Some(tx);
                if self.leader.as_deref() != Some(member_id) {
                    return (Reply::Later(rx), false);
                }
                let mut by_member: HashMap<String, Bytes> = assignments.into_iter().collect();
                for m in self.members.values_mut() {
                    m.assignment = by_member.remove(&m.member_id).unwrap_or_default();
                }
                self.transition(GroupState::Stable, now);
                self.sync_deadline = None;
                let (pt, pn) = (self.protocol_type.clone(), self.protocol.clone());
                for m in self.members.values_mut() {
                    if let Some(tx) = m.sync_waiter.take() {
                        let _ = tx.send(SyncResult {
                            error: 0,
                            protocol_type: pt.clone(),
                            protocol_name: pn.clone(),
                            assignment: m.assignment.clone(),
                        });
                    }
                }
                (Reply::Later(rx), true)
            }
        }
    }

    pub fn heartbeat(&mut self, member_id: &str, instance_id: Option<&str>, generation: i32, now: i64) -> Option<ResponseError> {
        let Some(m) = self.members.get_mut(member_id) else {
            return Some(ResponseError::UnknownMemberId);
        };
        if let Some(i) = instance_id {
            if self.static_members.get(i).map(String::as_str) != Some(member_id) {
                return Some(ResponseError::FencedInstanceId);
            }
        }
        if generation != self.generation {
            return Some(ResponseError::IllegalGeneration);
        }
        m.last_heartbeat = now;
        match self.state {
            GroupState::Empty | GroupState::Dead => Some(ResponseError::UnknownMemberId),
            GroupState::PreparingRebalance => Some(ResponseError::RebalanceInProgress),
            _ => None,
        }
    }

    /// LeaveGroup for one member; returns its error. Rebalances if needed.
    pub fn leave(&mut self, member_id: &str, instance_id: Option<&str>, now: i64, cfg: &GroupConfig) -> Option<ResponseError> {
        let id = match instance_id {
            Some(i) => match self.static_members.get(i) {
                None => return Some(ResponseError::UnknownMemberId),
                Some(known) if !member_id.is_empty() && known != member_id => return Some(ResponseError::FencedInstanceId),
                Some(known) => known.clone(),
            },
            None => member_id.to_string(),
        };
        if self.pending.remove(&id).is_some() {
            return None;
        }
        if !self.members.contains_key(&id) {
            return Some(ResponseError::UnknownMemberId);
        }
        self.remove_member(&id, now, cfg);
        None
    }

    fn remove_member(&mut self, id: &str, now: i64, cfg: &GroupConfig) {
        if let Some(mut m) = self.members.shift_remove(id) {
            if let Some(i) = &m.instance_id {
                self.static_members.remove(i);
            }
            if let Some(tx) = m.join_waiter.take() {
                let _ = tx.send(JoinResult::error(ResponseError::UnknownMemberId, id));
            }
            if let Some(tx) = m.sync_waiter.take() {
                let _ = tx.send(SyncResult::error(ResponseError::UnknownMemberId));
            }
        }
        if self.leader.as_deref() == Some(id) {
            self.leader = self.members.keys().next().cloned();
        }
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(now, cfg);
                self.check_join_complete(now);
            }
            GroupState::PreparingRebalance => self.check_join_complete(now),
            _ => {}
        }
    }

    /// Expires members and pending ids past their session timeout, times out
    /// rebalances and syncs. Returns true if the group changed in a way that
    /// should be persisted (it became empty).
    pub fn tick(&mut self, now: i64, cfg: &GroupConfig) -> bool {
        let before = self.state;
        self.pending.retain(|_, at| *at + cfg.max_session_timeout_ms as i64 > now);
        let expired: Vec<String> = self.members.values().filter(|m| !m.keep_alive(now)).map(|m| m.member_id.clone()).collect();
        for id in expired {
            tracing::info!(group = %self.id, member = %id, "member session expired");
            self.remove_member(&id, now, cfg);
        }
        if self.state == GroupState::CompletingRebalance && self.sync_deadline.is_some_and(|d| now >= d) {
            let unsynced: Vec<String> = self.members.values().filter(|m| m.sync_waiter.is_none()).map(|m| m.member_id.clone()).collect();
            for id in unsynced {
                self.remove_member(&id, now, cfg);
            }
        }
        self.check_join_complete(now);
        before != GroupState::Empty && self.state == GroupState::Empty
    }

    /// Topics the members subscribe to, decoded from consumer-protocol metadata.
    pub fn subscribed_topics(&self) -> Option<HashSet<String>> {
        if self.protocol_type.as_deref() != Some("consumer") {
            return None;
        }
        let p = self.protocol.clone()?;
        let mut out = HashSet::new();
        for m in self.members.values() {
            let mut meta = m.metadata_for(&p);
            if meta.len() < 2 {
                continue;
            }
            let version = i16::from_be_bytes([meta[0], meta[1]]);
            let _ = bytes::Buf::get_i16(&mut meta);
            if let Ok(sub) = <kafka_protocol::messages::ConsumerProtocolSubscription as kafka_protocol::protocol::Decodable>::decode(&mut meta, version.clamp(0, 3)) {
                out.extend(sub.topics.iter().map(|t| t.to_string()));
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: GroupConfig = GroupConfig { min_session_timeout_ms: 1000, max_session_timeout_ms: 60000, initial_rebalance_delay_ms: 0 };

    fn req(member: &str) -> JoinRequest {
        JoinRequest {
            member_id: member.into(),
            instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 5_000,
            protocol_type: "consumer".into(),
            protocols: vec![("range".into(), Bytes::from_static(b"m"))],
            require_known_member_id: true,
        }
    }

    fn now_value<T: std::fmt::Debug>(r: Reply<T>) -> T {
        match r {
            Reply::Now(v) => v,
            Reply::Later(_) => panic!("expected an immediate reply"),
        }
    }

    fn later<T>(r: Reply<T>) -> oneshot::Receiver<T> {
        match r {
            Reply::Later(rx) => rx,
            Reply::Now(_) => panic!("expected to wait"),
        }
    }

    /// Joins a dynamic member the v4+ way: MEMBER_ID_REQUIRED, then rejoin.
    fn join_new(g: &mut ClassicGroup, now: i64) -> (String, oneshot::Receiver<JoinResult>) {
        let first = now_value(g.join(req(""), now, &CFG));
        assert_eq!(first.error, ResponseError::MemberIdRequired.code());
        let id = first.member_id.clone();
        (id.clone(), later(g.join(req(&id), now, &CFG)))
    }

    #[test]
    fn two_members_join_sync_and_stabilize() {
        let mut g = ClassicGroup::new("g", 0);
        let (a, mut ra) = join_new(&mut g, 0);
        let ja = ra.try_recv().expect("single member completes at once");
        assert_eq!((ja.generation, ja.leader.as_str()), (1, a.as_str()));
        assert_eq!(ja.members.len(), 1);
        // b joins: rebalance; a must rejoin before it completes.
        let (b, mut rb) = join_new(&mut g, 10);
        assert_eq!(g.state, GroupState::PreparingRebalance);
        assert!(rb.try_recv().is_err());
        let mut ra2 = later(g.join(req(&a), 20, &CFG));
        let (ja, jb) = (ra2.try_recv().unwrap(), rb.try_recv().unwrap());
        assert_eq!((ja.generation, jb.generation), (2, 2));
        assert_eq!(ja.members.len(), 2, "leader sees all members");
        assert!(jb.members.is_empty(), "followers see none");
        // follower syncs first and waits; leader's sync completes both.
        let (rb_sync, persist) = g.sync(&b, None, 2, Some("consumer"), Some("range"), vec![], 30);
        assert!(!persist);
        let mut rb_sync = later(rb_sync);
        let (ra_sync, persist) =
            g.sync(&a, None, 2, None, None, vec![(a.clone(), Bytes::from_static(b"A")), (b.clone(), Bytes::from_static(b"B"))], 31);
        assert!(persist);
        assert_eq!(later(ra_sync).try_recv().unwrap().assignment, Bytes::from_static(b"A"));
        assert_eq!(rb_sync.try_recv().unwrap().assignment, Bytes::from_static(b"B"));
        assert_eq!(g.state, GroupState::Stable);
        assert_eq!(g.heartbeat(&b, None, 2, 40), None);
        assert_eq!(g.heartbeat(&b, None, 1, 40), Some(ResponseError::IllegalGeneration));
        assert_eq!(g.heartbeat("nobody", None, 2, 40), Some(ResponseError::UnknownMemberId));
    }

    #[test]
    fn session_expiry_removes_member_and_rebalances() {
        let mut g = ClassicGroup::new("g", 0);
        let (a, mut ra) = join_new(&mut g, 0);
        ra.try_recv().unwrap();
        let (ra_sync, _) = g.sync(&a, None, 1, None, None, vec![], 1);
        later(ra_sync).try_recv().unwrap();
        let (b, mut rb) = join_new(&mut g, 2);
        let mut ra2 = later(g.join(req(&a), 3, &CFG));
        ra2.try_recv().unwrap();
        rb.try_recv().unwrap();
        let mut rb_sync = later(g.sync(&b, None, 2, None, None, vec![], 4).0);
        later(g.sync(&a, None, 2, None, None, vec![], 4).0).try_recv().unwrap();
        rb_sync.try_recv().unwrap();
        assert_eq!(g.state, GroupState::Stable);
        // a keeps heartbeating, b goes silent past its 10s session.
        assert_eq!(g.heartbeat(&a, None, 2, 9_000), None);
        g.tick(10_005, &CFG);
        assert!(!g.is_member(&b));
        assert_eq!(g.state, GroupState::PreparingRebalance);
        assert_eq!(g.heartbeat(&a, None, 2, 10_006), Some(ResponseError::RebalanceInProgress));
        let mut ra3 = later(g.join(req(&a), 10_010, &CFG));
        assert_eq!(ra3.try_recv().unwrap().generation, 3);
    }

    #[test]
    fn static_member_rejoin_keeps_assignment_without_rebalance() {
        let mut g = ClassicGroup::new("g", 0);
        let mut r = req("");
        r.instance_id = Some("inst-1".into());
        let mut rx = later(g.join(r.clone(), 0, &CFG));
        let j = rx.try_recv().unwrap();
        later(g.sync(&j.member_id, Some("inst-1"), 1, None, None, vec![(j.member_id.clone(), Bytes::from_static(b"P"))], 1).0)
            .try_recv()
            .unwrap();
        // Same instance comes back (e.g. after a restart) with no member id.
        let again = now_value(g.join(r.clone(), 100, &CFG));
        assert_eq!(again.error, 0);
        assert_eq!(again.generation, 1, "no rebalance");
        assert!(again.skip_assignment);
        assert_ne!(again.member_id, j.member_id);
        // The old incarnation is fenced.
        assert_eq!(g.heartbeat(&j.member_id, Some("inst-1"), 1, 101), Some(ResponseError::UnknownMemberId));
        assert_eq!(g.heartbeat(&again.member_id, Some("inst-1"), 1, 101), None);
        let (sync, _) = g.sync(&again.member_id, Some("inst-1"), 1, None, None, vec![], 102);
        assert_eq!(now_value(sync).assignment, Bytes::from_static(b"P"));
        assert!(g.dirty, "replacement must be persisted");
        // Persisted form restores the static member.
        let mut restored = ClassicGroup::from_value("g", g.to_value(), 200);
        assert_eq!(restored.state, GroupState::Stable);
        assert_eq!(restored.static_members.get("inst-1"), Some(&again.member_id));
        // After a restart the member comes back offering more protocols than were stored.
        let mut r2 = r.clone();
        r2.protocols.push(("roundrobin".into(), Bytes::new()));
        let back = now_value(restored.join(r2, 300, &CFG));
        assert_eq!((back.error, back.generation), (0, 1), "no rebalance after a broker restart");
    }

    #[test]
    fn inconsistent_protocols_and_bad_timeouts_are_refused() {
        let mut g = ClassicGroup::new("g", 0);
        let (_a, mut ra) = join_new(&mut g, 0);
        ra.try_recv().unwrap();
        let mut other = req("");
        other.protocols = vec![("roundrobin".into(), Bytes::new())];
        assert_eq!(now_value(g.join(other, 1, &CFG)).error, ResponseError::InconsistentGroupProtocol.code());
        let mut bad = req("");
        bad.session_timeout_ms = 10;
        assert_eq!(now_value(g.join(bad, 1, &CFG)).error, ResponseError::InvalidSessionTimeout.code());
    }

    #[test]
    fn leave_triggers_rebalance_and_empty_group() {
        let mut g = ClassicGroup::new("g", 0);
        let (a, mut ra) = join_new(&mut g, 0);
        ra.try_recv().unwrap();
        later(g.sync(&a, None, 1, None, None, vec![], 1).0).try_recv().unwrap();
        assert_eq!(g.leave(&a, None, 2, &CFG), None);
        assert_eq!(g.state, GroupState::Empty);
        assert_eq!(g.protocol_type.as_deref(), Some("consumer"), "an empty group keeps its protocol type");
        assert_eq!(g.leave(&a, None, 3, &CFG), Some(ResponseError::UnknownMemberId));
    }

    #[test]
    fn initial_rebalance_delay_holds_the_first_join() {
        let cfg = GroupConfig { initial_rebalance_delay_ms: 3000, ..CFG };
        let mut g = ClassicGroup::new("g", 0);
        let first = now_value(g.join(req(""), 0, &cfg));
        let mut rx = later(g.join(req(&first.member_id), 0, &cfg));
        assert!(rx.try_recv().is_err(), "held for the initial delay");
        g.tick(1000, &cfg);
        assert!(rx.try_recv().is_err());
        g.tick(3001, &cfg);
        assert_eq!(rx.try_recv().unwrap().generation, 1);
    }
}
