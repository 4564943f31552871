//! KIP-848 consumer groups: ConsumerGroupHeartbeat with server-side
//! assignment. A state machine with the clock passed in.
//!
//! The group epoch bumps whenever membership, subscriptions or the
//! partitions of subscribed topics change; the assignor then computes a
//! target assignment. Each member converges to its target in the KIP's two
//! steps: first it is told to drop partitions it must give up (keeping its
//! epoch), and once its heartbeat shows they are released, it moves to the
//! new epoch and gets the partitions no other member still holds.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::assignor::{assign, Assignor};

pub type Assignment = BTreeMap<Uuid, BTreeSet<i32>>;

#[derive(Debug, Clone)]
pub struct ConsumerMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub epoch: i32,
    pub previous_epoch: i32,
    pub subscribed: Vec<String>,
    pub rebalance_timeout_ms: i32,
    pub last_heartbeat: i64,
    /// What the member has been told it owns.
    pub assigned: Assignment,
    /// Partitions taken away but not yet confirmed released.
    pub revoking: Assignment,
    pub target: Assignment,
    last_sent: Option<Assignment>,
}

#[derive(Debug)]
pub struct ConsumerGroup {
    pub id: String,
    pub epoch: i32,
    pub assignment_epoch: i32,
    pub assignor: Assignor,
    pub members: BTreeMap<String, ConsumerMember>,
    /// Partition counts of subscribed topics when targets were last computed.
    topic_shape: BTreeMap<String, (Uuid, i32)>,
    pub state_timestamp: i64,
}

/// The parsed ConsumerGroupHeartbeat request.
#[derive(Debug, Clone, Default)]
pub struct Heartbeat {
    pub member_id: String,
    pub member_epoch: i32,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub rebalance_timeout_ms: i32,
    pub subscribed: Option<Vec<String>>,
    pub server_assignor: Option<String>,
    pub owned: Option<Assignment>,
    pub client_id: String,
    pub client_host: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HeartbeatReply {
    pub error: Option<ResponseError>,
    pub message: Option<String>,
    pub member_id: String,
    pub member_epoch: i32,
    /// `None` when unchanged since the last reply to this member.
    pub assignment: Option<Assignment>,
}

impl HeartbeatReply {
    fn error(e: ResponseError, member_id: &str, msg: &str) -> HeartbeatReply {
        HeartbeatReply { error: Some(e), message: Some(msg.to_string()), member_id: member_id.to_string(), member_epoch: -1, assignment: None }
    }
}

/// The topic catalogue the assignor sees: name -> (id, partition count).
pub type Topics = BTreeMap<String, (Uuid, i32)>;

fn held(a: &Assignment, topic: &Uuid, p: i32) -> bool {
    a.get(topic).is_some_and(|s| s.contains(&p))
}

fn subtract(a: &Assignment, b: &Assignment) -> Assignment {
    let mut out = Assignment::new();
    for (t, ps) in a {
        let rest: BTreeSet<i32> = ps.iter().filter(|p| !held(b, t, **p)).copied().collect();
        if !rest.is_empty() {
            out.insert(*t, rest);
        }
    }
    out
}

fn intersect(a: &Assignment, b: &Assignment) -> Assignment {
    let mut out = Assignment::new();
    for (t, ps) in a {
        let both: BTreeSet<i32> = ps.iter().filter(|p| held(b, t, **p)).copied().collect();
        if !both.is_empty() {
            out.insert(*t, both);
        }
    }
    out
}

impl ConsumerGroup {
    pub fn new(id: &str, now: i64) -> ConsumerGroup {
        ConsumerGroup {
            id: id.to_string(),
            epoch: 0,
            assignment_epoch: 0,
            assignor: Assignor::Uniform,
            members: BTreeMap::new(),
            topic_shape: BTreeMap::new(),
            state_timestamp: now,
        }
    }

    /// KIP-848 group states as DescribeGroups/ListGroups name them.
    pub fn state_name(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else if self.epoch != self.assignment_epoch {
            "Assigning"
        } else if self.members.values().any(|m| m.epoch != self.assignment_epoch) {
            "Reconciling"
        } else {
            "Stable"
        }
    }

    fn subscribed_shape(&self, topics: &Topics) -> BTreeMap<String, (Uuid, i32)> {
        let mut out = BTreeMap::new();
        for m in self.members.values() {
            for t in &m.subscribed {
                if let Some(v) = topics.get(t) {
                    out.insert(t.clone(), *v);
                }
            }
        }
        out
    }

    fn recompute_targets(&mut self, topics: &Topics) {
        self.topic_shape = self.subscribed_shape(topics);
        let subs: BTreeMap<String, Vec<String>> = self.members.iter().map(|(id, m)| (id.clone(), m.subscribed.clone())).collect();
        let current: BTreeMap<String, Assignment> = self.members.iter().map(|(id, m)| (id.clone(), m.target.clone())).collect();
        let targets = assign(self.assignor, &subs, &self.topic_shape, &current);
        for (id, m) in self.members.iter_mut() {
            m.target = targets.get(id).cloned().unwrap_or_default();
        }
        self.assignment_epoch = self.epoch;
    }

    fn others_hold(&self, me: &str, topic: &Uuid, p: i32) -> bool {
        self.members.iter().any(|(id, m)| id != me && (held(&m.assigned, topic, p) || held(&m.revoking, topic, p)))
    }

    /// Moves one member towards its target; see the module docs.
    fn reconcile(&mut self, id: &str) {
        let Some(m) = self.members.get(id) else { return };
        let to_revoke = subtract(&m.assigned, &m.target);
        if !to_revoke.is_empty() {
            let m = self.members.get_mut(id).expect("present");
            m.assigned = intersect(&m.assigned, &m.target);
            for (t, ps) in to_revoke {
                m.revoking.entry(t).or_default().extend(ps);
            }
            return;
        }
        if !m.revoking.is_empty() {
            // Still waiting for the member to confirm it let go.
            return;
        }
        let mut next = m.assigned.clone();
        for (t, ps) in m.target.clone() {
            for p in ps {
                if !held(&next, &t, p) && !self.others_hold(id, &t, p) {
                    next.entry(t).or_default().insert(p);
                }
            }
        }
        let epoch = self.assignment_epoch;
        let m = self.members.get_mut(id).expect("present");
        m.assigned = next;
        if m.epoch != epoch {
            m.previous_epoch = m.epoch;
            m.epoch = epoch;
        }
    }

    /// Handles one ConsumerGroupHeartbeat.
    pub fn heartbeat(&mut self, hb: Heartbeat, topics: &Topics, now: i64) -> HeartbeatReply {
        // Leaving: epoch -1 (dynamic) or -2 (static, temporary).
        if hb.member_epoch < 0 {
            if self.members.remove(&hb.member_id).is_none() {
                return HeartbeatReply::error(ResponseError::UnknownMemberId, &hb.member_id, "unknown member");
            }
            self.epoch += 1;
            self.recompute_targets(topics);
            self.state_timestamp = now;
            return HeartbeatReply { error: None, message: None, member_id: hb.member_id, member_epoch: hb.member_epoch, assignment: None };
        }
        let joining = hb.member_epoch == 0;
        let id: String;
        if joining {
            if let Some(sub) = &hb.subscribed {
                if sub.is_empty() && hb.member_id.is_empty() {
                    return HeartbeatReply::error(ResponseError::InvalidRequest, "", "SubscribedTopicNames must be set in first request");
                }
            } else {
                return HeartbeatReply::error(ResponseError::InvalidRequest, &hb.member_id, "SubscribedTopicNames must be set in first request");
            }
            if let Some(a) = hb.server_assignor.as_deref() {
                match Assignor::parse(a) {
                    Some(x) => self.assignor = x,
                    None => return HeartbeatReply::error(ResponseError::UnsupportedAssignor, &hb.member_id, &format!("ServerAssignor {a} is not supported")),
                }
            }
            id = if hb.member_id.is_empty() { Uuid::new_v4().to_string() } else { hb.member_id.clone() };
            // A static member replacing its previous incarnation takes over its assignment.
            let inherited = hb.instance_id.as_ref().and_then(|inst| {
                let old = self.members.values().find(|m| m.instance_id.as_ref() == Some(inst) && m.member_id != id)?.member_id.clone();
                self.members.remove(&old)
            });
            let prior = self.members.remove(&id);
            let mut m = ConsumerMember {
                member_id: id.clone(),
                instance_id: hb.instance_id.clone(),
                rack_id: hb.rack_id.clone(),
                client_id: hb.client_id.clone(),
                client_host: hb.client_host.clone(),
                epoch: 0,
                previous_epoch: -1,
                subscribed: hb.subscribed.clone().unwrap_or_default(),
                rebalance_timeout_ms: hb.rebalance_timeout_ms,
                last_heartbeat: now,
                assigned: Assignment::new(),
                revoking: Assignment::new(),
                target: Assignment::new(),
                last_sent: None,
            };
            if let Some(old) = inherited {
                m.assigned = old.assigned;
                m.target = old.target;
                m.epoch = old.epoch;
            }
            drop(prior);
            self.members.insert(id.clone(), m);
            self.epoch += 1;
            self.state_timestamp = now;
        } else {
            let Some(m) = self.members.get(&hb.member_id) else {
                return HeartbeatReply::error(ResponseError::UnknownMemberId, &hb.member_id, "unknown member id");
            };
            if hb.member_epoch != m.epoch && hb.member_epoch != m.previous_epoch {
                return HeartbeatReply::error(ResponseError::FencedMemberEpoch, &hb.member_id, "the member epoch is fenced");
            }
            id = hb.member_id.clone();
        }
        {
            let m = self.members.get_mut(&id).expect("member present");
            m.last_heartbeat = now;
            if let Some(sub) = hb.subscribed.clone() {
                if sub != m.subscribed {
                    m.subscribed = sub;
                    self.epoch += 1;
                }
            }
            if let Some(owned) = &hb.owned {
                // The member reports what it holds: revocations it finished are released.
                m.revoking = intersect(&m.revoking, owned);
            }
        }
        if self.subscribed_shape(topics) != self.topic_shape {
            self.epoch += 1;
        }
        if self.epoch != self.assignment_epoch {
            self.recompute_targets(topics);
        }
        self.reconcile(&id);
        let m = self.members.get_mut(&id).expect("member present");
        let assignment = if m.last_sent.as_ref() != Some(&m.assigned) {
            m.last_sent = Some(m.assigned.clone());
            Some(m.assigned.clone())
        } else {
            None
        };
        HeartbeatReply { error: None, message: None, member_id: id, member_epoch: m.epoch, assignment }
    }

    /// Expires members past `session_timeout_ms`; returns true if any left.
    pub fn tick(&mut self, now: i64, session_timeout_ms: i64, topics: &Topics) -> bool {
        let before = self.members.len();
        self.members.retain(|id, m| {
            let keep = m.last_heartbeat + session_timeout_ms > now;
            if !keep {
                tracing::info!(member = %id, "consumer group member session expired");
            }
            keep
        });
        if self.members.len() != before {
            self.epoch += 1;
            self.recompute_targets(topics);
            self.state_timestamp = now;
            return true;
        }
        false
    }

    /// OffsetCommit fencing for this protocol: the member must exist and not
    /// claim an epoch ahead of the one it was given.
    pub fn validate_commit(&self, member_id: &str, epoch: i32) -> Option<ResponseError> {
        match self.members.get(member_id) {
            None => Some(ResponseError::UnknownMemberId),
            Some(m) if epoch > m.epoch => Some(ResponseError::StaleMemberEpoch),
            Some(_) => None,
        }
    }

    pub fn subscribed_topics(&self) -> std::collections::HashSet<String> {
        self.members.values().flat_map(|m| m.subscribed.iter().cloned()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(n: i32) -> (Topics, Uuid) {
        let id = Uuid::from_u128(7);
        ([("t".to_string(), (id, n))].into_iter().collect(), id)
    }

    fn hb(member: &str, epoch: i32, owned: Option<Assignment>) -> Heartbeat {
        Heartbeat {
            member_id: member.into(),
            member_epoch: epoch,
            subscribed: Some(vec!["t".into()]),
            rebalance_timeout_ms: 30000,
            owned,
            ..Default::default()
        }
    }

    fn count(a: &Assignment) -> usize {
        a.values().map(BTreeSet::len).sum()
    }

    #[test]
    fn two_members_converge_without_double_ownership() {
        let (t, tid) = topics(6);
        let mut g = ConsumerGroup::new("g", 0);
        let a = g.heartbeat(hb("a", 0, None), &t, 0);
        assert_eq!(a.error, None);
        let a_assign = a.assignment.clone().unwrap();
        assert_eq!(count(&a_assign), 6, "alone, a owns everything");
        let b = g.heartbeat(hb("b", 0, None), &t, 1);
        assert_eq!(count(b.assignment.as_ref().unwrap()), 0, "b waits: a still owns all");
        // a is told to give up 3, keeps its epoch until it confirms.
        let a2 = g.heartbeat(hb("a", a.member_epoch, Some(a_assign.clone())), &t, 2);
        let kept = a2.assignment.clone().unwrap();
        assert_eq!(count(&kept), 3);
        assert_eq!(a2.member_epoch, a.member_epoch);
        let a3 = g.heartbeat(hb("a", a2.member_epoch, Some(kept.clone())), &t, 3);
        assert_eq!(a3.member_epoch, g.epoch, "a moved to the new epoch after releasing");
        let b2 = g.heartbeat(hb("b", b.member_epoch, Some(Assignment::new())), &t, 4);
        let got = b2.assignment.unwrap();
        assert_eq!(count(&got), 3);
        for p in &got[&tid] {
            assert!(!kept[&tid].contains(p), "no partition owned twice");
        }
    }

    #[test]
    fn stale_epoch_is_fenced_and_leave_rebalances() {
        let (t, _) = topics(2);
        let mut g = ConsumerGroup::new("g", 0);
        let a = g.heartbeat(hb("a", 0, None), &t, 0);
        assert_eq!(g.heartbeat(hb("a", a.member_epoch + 5, None), &t, 1).error, Some(ResponseError::FencedMemberEpoch));
        assert_eq!(g.heartbeat(hb("zzz", 3, None), &t, 1).error, Some(ResponseError::UnknownMemberId));
        let leave = g.heartbeat(hb("a", -1, None), &t, 2);
        assert_eq!(leave.member_epoch, -1);
        assert!(g.members.is_empty());
    }

    #[test]
    fn expired_member_partitions_move_to_survivor() {
        let (t, _) = topics(4);
        let mut g = ConsumerGroup::new("g", 0);
        let a = g.heartbeat(hb("a", 0, None), &t, 0);
        let b = g.heartbeat(hb("b", 0, None), &t, 0);
        let a2 = g.heartbeat(hb("a", a.member_epoch, a.assignment.clone()), &t, 1);
        let a3 = g.heartbeat(hb("a", a2.member_epoch, a2.assignment.clone()), &t, 2);
        let _ = g.heartbeat(hb("b", b.member_epoch, Some(Assignment::new())), &t, 2);
        // b dies; a heartbeats on.
        let owned = a3.assignment.clone().or(a2.assignment.clone());
        let a_mid = g.heartbeat(hb("a", a3.member_epoch, owned.clone()), &t, 40_000);
        assert!(g.tick(50_000, 45_000, &t));
        let a4 = g.heartbeat(hb("a", a_mid.member_epoch, owned), &t, 50_001);
        assert_eq!(count(a4.assignment.as_ref().unwrap()), 4);
    }
}
