//! The cluster metadata image and the commands that change it.
//!
//! This is the replicated state machine behind the Raft quorum: every
//! controller applies the same committed commands in the same order, so
//! `apply` must be deterministic (no clocks, no randomness, no local config).
//! Leader elections happen here, inside `apply`, so an election can never
//! race with an ISR change: both are commands in one total order.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A registered broker and the address clients should use for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerInfo {
    pub id: i32,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
    /// Identifies one run of the broker process; a restart registers anew.
    pub incarnation: Uuid,
    /// Fenced brokers lead nothing and are not in any ISR (unless the last one).
    pub fenced: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionInfo {
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// -1 when no eligible replica is alive.
    pub leader: i32,
    pub leader_epoch: i32,
    /// Bumped on every change to this partition (Kafka's partition epoch).
    pub partition_epoch: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicInfo {
    pub id: Uuid,
    pub configs: BTreeMap<String, String>,
    pub partitions: Vec<PartitionInfo>,
}

impl TopicInfo {
    fn unclean(&self, default: bool) -> bool {
        self.configs.get("unclean.leader.election.enable").map_or(default, |v| v.eq_ignore_ascii_case("true"))
    }
}

/// Everything the quorum agrees on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterImage {
    pub cluster_id: String,
    pub brokers: BTreeMap<i32, BrokerInfo>,
    pub topics: BTreeMap<String, TopicInfo>,
    /// Producer ids below this have been handed out.
    pub next_producer_id: i64,
    /// Index of the last applied log entry: the image's version.
    pub applied_index: u64,
}

/// A change to the image. Proposed by the active controller, applied by all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Sets the cluster id once; later attempts are no-ops.
    InitCluster { cluster_id: String },
    RegisterBroker { id: i32, host: String, port: u16, rack: Option<String>, incarnation: Uuid },
    /// The broker caught up with the metadata log: it may lead and join ISRs.
    UnfenceBroker { id: i32, incarnation: Uuid, unclean_default: bool },
    /// Missed heartbeats: leadership moves away, the broker leaves the ISRs.
    FenceBroker { id: i32, unclean_default: bool },
    /// The broker is stopping cleanly: leadership moves to other live ISR
    /// members where there is one; partitions it alone holds stay with it
    /// until it is fenced.
    ControlledShutdown { id: i32 },
    CreateTopic { name: String, id: Uuid, configs: BTreeMap<String, String>, assignments: Vec<Vec<i32>> },
    DeleteTopic { name: String },
    CreatePartitions { name: String, assignments: Vec<Vec<i32>> },
    SetTopicConfigs { name: String, configs: BTreeMap<String, String> },
    /// A partition leader asks to change its ISR (Kafka's AlterPartition).
    AlterPartition { topic: String, partition: i32, leader: i32, leader_epoch: i32, partition_epoch: i32, isr: Vec<i32> },
    /// Preferred-replica election (ElectLeaders with type PREFERRED).
    ElectPreferred { topic: String, partition: i32 },
    /// Unclean election of a leaderless partition (ElectLeaders type UNCLEAN).
    ElectUnclean { topic: String, partition: i32 },
    AllocateProducerIds { count: i64 },
}

/// What applying a command produced, returned to whoever proposed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    Ok,
    ProducerIds { start: i64 },
    /// A Kafka error code and message (e.g. TOPIC_ALREADY_EXISTS).
    Error { code: i16, message: String },
}

/// Kafka error codes `apply` can produce.
pub mod codes {
    pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;
    pub const INVALID_REPLICATION_FACTOR: i16 = 38;
    pub const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
    pub const TOPIC_ALREADY_EXISTS: i16 = 36;
    pub const INVALID_PARTITIONS: i16 = 37;
    pub const FENCED_LEADER_EPOCH: i16 = 74;
    pub const ELECTION_NOT_NEEDED: i16 = 84;
    pub const PREFERRED_LEADER_NOT_AVAILABLE: i16 = 80;
    pub const ELIGIBLE_LEADERS_NOT_AVAILABLE: i16 = 83;
    pub const INELIGIBLE_REPLICA: i16 = 107;
    pub const INVALID_UPDATE_VERSION: i16 = 108;
    pub const STALE_BROKER_EPOCH: i16 = 77;
}

fn err(code: i16, message: impl Into<String>) -> Reply {
    Reply::Error { code, message: message.into() }
}

impl ClusterImage {
    pub fn alive(&self, id: i32) -> bool {
        self.brokers.get(&id).is_some_and(|b| !b.fenced)
    }

    /// Unfenced brokers, by id.
    pub fn alive_brokers(&self) -> Vec<i32> {
        self.brokers.values().filter(|b| !b.fenced).map(|b| b.id).collect()
    }

    pub fn partition(&self, topic: &str, p: i32) -> Option<&PartitionInfo> {
        self.topics.get(topic).and_then(|t| usize::try_from(p).ok().and_then(|i| t.partitions.get(i)))
    }

    fn partition_mut(&mut self, topic: &str, p: i32) -> Option<&mut PartitionInfo> {
        self.topics.get_mut(topic).and_then(|t| usize::try_from(p).ok().and_then(|i| t.partitions.get_mut(i)))
    }

    pub fn topic_by_id(&self, id: &Uuid) -> Option<(&String, &TopicInfo)> {
        self.topics.iter().find(|(_, t)| t.id == *id)
    }

    /// Spreads `partitions` x `rf` replicas over the unfenced brokers the way
    /// Kafka does: leaders round-robin from a start index, followers after
    /// them with a per-round shift. `start` comes from the caller (random in
    /// Kafka) so this stays a pure function.
    pub fn assign(&self, partitions: i32, rf: usize, first_partition: i32, start: usize) -> Result<Vec<Vec<i32>>, String> {
        let brokers = self.alive_brokers();
        let n = brokers.len();
        if rf == 0 || rf > n {
            return Err(format!(
                "Unable to replicate the partition {rf} time(s): The target replication factor of {rf} cannot be reached because only {n} broker(s) are registered."
            ));
        }
        let mut out = Vec::new();
        for i in 0..partitions.max(0) as usize {
            let p = first_partition as usize + i;
            let leader = (start + p) % n;
            let shift = 1 + (p / n) % (n.max(2) - 1);
            let mut r = vec![brokers[leader]];
            for j in 1..rf {
                let idx = (leader + shift + j - 1) % n;
                let b = brokers[idx];
                if r.contains(&b) {
                    // Small clusters: fall back to the next unused broker.
                    let next = brokers.iter().copied().find(|x| !r.contains(x));
                    r.extend(next);
                } else {
                    r.push(b);
                }
            }
            out.push(r);
        }
        Ok(out)
    }

    fn new_partition(&self, replicas: Vec<i32>) -> PartitionInfo {
        let isr: Vec<i32> = replicas.iter().copied().filter(|r| self.alive(*r)).collect();
        let isr = if isr.is_empty() { replicas.clone() } else { isr };
        let leader = isr.iter().copied().find(|r| self.alive(*r)).unwrap_or(-1);
        PartitionInfo { replicas, isr, leader, leader_epoch: 0, partition_epoch: 0 }
    }

    fn valid_assignment(&self, a: &[Vec<i32>]) -> Result<(), Reply> {
        for r in a {
            if r.is_empty() {
                return Err(err(codes::INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0."));
            }
            let mut seen = r.clone();
            seen.sort_unstable();
            seen.dedup();
            if seen.len() != r.len() {
                return Err(err(codes::INVALID_REPLICA_ASSIGNMENT, "Duplicate brokers in replica assignment."));
            }
            if let Some(b) = r.iter().find(|b| !self.brokers.contains_key(b)) {
                return Err(err(codes::INVALID_REPLICA_ASSIGNMENT, format!("Unknown broker {b} in replica assignment.")));
            }
        }
        Ok(())
    }

    /// Applies one committed command. Never panics; refusals are `Reply::Error`.
    pub fn apply(&mut self, cmd: &Command) -> Reply {
        match cmd {
            Command::InitCluster { cluster_id } => {
                if self.cluster_id.is_empty() {
                    self.cluster_id = cluster_id.clone();
                }
                Reply::Ok
            }
            Command::RegisterBroker { id, host, port, rack, incarnation } => {
                let was_alive = self.alive(*id);
                self.brokers.insert(
                    *id,
                    BrokerInfo { id: *id, host: host.clone(), port: *port, rack: rack.clone(), incarnation: *incarnation, fenced: true },
                );
                if was_alive {
                    // A new incarnation of a live broker: its old run is gone.
                    self.fence(*id, false);
                }
                Reply::Ok
            }
            Command::UnfenceBroker { id, incarnation, unclean_default } => {
                match self.brokers.get_mut(id) {
                    Some(b) if b.incarnation == *incarnation => b.fenced = false,
                    _ => return err(codes::STALE_BROKER_EPOCH, "unknown broker incarnation"),
                }
                self.elect_leaderless(*unclean_default);
                Reply::Ok
            }
            Command::FenceBroker { id, unclean_default } => {
                if !self.brokers.contains_key(id) {
                    return err(codes::STALE_BROKER_EPOCH, "unknown broker");
                }
                self.fence(*id, *unclean_default);
                Reply::Ok
            }
            Command::ControlledShutdown { id } => {
                if !self.brokers.contains_key(id) {
                    return err(codes::STALE_BROKER_EPOCH, "unknown broker");
                }
                let alive: Vec<i32> = self.alive_brokers();
                for t in self.topics.values_mut() {
                    for p in &mut t.partitions {
                        if !p.isr.contains(id) || p.isr.len() < 2 {
                            continue;
                        }
                        if p.leader == *id {
                            match p.isr.iter().copied().find(|r| r != id && alive.contains(r)) {
                                Some(n) => {
                                    p.leader = n;
                                    p.leader_epoch += 1;
                                }
                                None => continue,
                            }
                        }
                        p.isr.retain(|r| r != id);
                        p.partition_epoch += 1;
                    }
                }
                Reply::Ok
            }
            Command::CreateTopic { name, id, configs, assignments } => {
                if self.topics.contains_key(name) {
                    return err(codes::TOPIC_ALREADY_EXISTS, format!("Topic '{name}' already exists."));
                }
                if assignments.is_empty() {
                    return err(codes::INVALID_PARTITIONS, "Number of partitions must be larger than 0.");
                }
                if let Err(e) = self.valid_assignment(assignments) {
                    return e;
                }
                let partitions = assignments.iter().map(|r| self.new_partition(r.clone())).collect();
                self.topics.insert(name.clone(), TopicInfo { id: *id, configs: configs.clone(), partitions });
                Reply::Ok
            }
            Command::DeleteTopic { name } => match self.topics.remove(name) {
                Some(_) => Reply::Ok,
                None => err(codes::UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition."),
            },
            Command::CreatePartitions { name, assignments } => {
                if let Err(e) = self.valid_assignment(assignments) {
                    return e;
                }
                let new: Vec<PartitionInfo> = assignments.iter().map(|r| self.new_partition(r.clone())).collect();
                match self.topics.get_mut(name) {
                    Some(t) => {
                        t.partitions.extend(new);
                        Reply::Ok
                    }
                    None => err(codes::UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition."),
                }
            }
            Command::SetTopicConfigs { name, configs } => match self.topics.get_mut(name) {
                Some(t) => {
                    t.configs = configs.clone();
                    Reply::Ok
                }
                None => err(codes::UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition."),
            },
            Command::AlterPartition { topic, partition, leader, leader_epoch, partition_epoch, isr } => {
                let brokers = self.brokers.clone();
                let Some(p) = self.partition_mut(topic, *partition) else {
                    return err(codes::UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition.");
                };
                if p.leader != *leader {
                    return err(codes::NOT_LEADER_OR_FOLLOWER, "not the partition leader");
                }
                if p.leader_epoch != *leader_epoch {
                    return err(codes::FENCED_LEADER_EPOCH, "stale leader epoch");
                }
                if p.partition_epoch != *partition_epoch {
                    return err(codes::INVALID_UPDATE_VERSION, "stale partition epoch");
                }
                if !isr.contains(leader) || isr.iter().any(|r| !p.replicas.contains(r)) {
                    return err(codes::INVALID_REPLICA_ASSIGNMENT, "ISR must contain the leader and only replicas");
                }
                // Only live brokers may join the ISR.
                if isr.iter().any(|r| !p.isr.contains(r) && brokers.get(r).is_none_or(|b| b.fenced)) {
                    return err(codes::INELIGIBLE_REPLICA, "a fenced replica cannot join the ISR");
                }
                p.isr = p.replicas.iter().copied().filter(|r| isr.contains(r)).collect();
                p.partition_epoch += 1;
                Reply::Ok
            }
            Command::ElectPreferred { topic, partition } => {
                let alive: Vec<i32> = self.alive_brokers();
                let Some(p) = self.partition_mut(topic, *partition) else {
                    return err(codes::UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition.");
                };
                let preferred = p.replicas[0];
                if p.leader == preferred {
                    return err(codes::ELECTION_NOT_NEEDED, "Leader election not needed for topic partition.");
                }
                if !p.isr.contains(&preferred) || !alive.contains(&preferred) {
                    return err(codes::PREFERRED_LEADER_NOT_AVAILABLE, "Failed to elect leader for partition: preferred replica is not in the ISR or not alive.");
                }
                set_leader(p, preferred);
                p.partition_epoch += 1;
                Reply::Ok
            }
            Command::ElectUnclean { topic, partition } => {
                let alive: Vec<i32> = self.alive_brokers();
                let Some(p) = self.partition_mut(topic, *partition) else {
                    return err(codes::UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition.");
                };
                if p.leader >= 0 {
                    return err(codes::ELECTION_NOT_NEEDED, "Leader election not needed for topic partition.");
                }
                match choose_leader(p, &alive, true) {
                    Some(n) => {
                        set_leader(p, n);
                        p.partition_epoch += 1;
                        Reply::Ok
                    }
                    None => err(codes::ELIGIBLE_LEADERS_NOT_AVAILABLE, "No live replica to elect."),
                }
            }
            Command::AllocateProducerIds { count } => {
                let start = self.next_producer_id;
                self.next_producer_id = start.saturating_add((*count).max(1));
                Reply::ProducerIds { start }
            }
        }
    }

    /// Fences `id`: it leaves every ISR it is not the last member of, and
    /// every partition it led gets a new leader from the remaining ISR.
    fn fence(&mut self, id: i32, unclean_default: bool) {
        if let Some(b) = self.brokers.get_mut(&id) {
            b.fenced = true;
        }
        let alive: Vec<i32> = self.alive_brokers();
        for t in self.topics.values_mut() {
            let unclean = t.unclean(unclean_default);
            for p in &mut t.partitions {
                if !p.replicas.contains(&id) {
                    continue;
                }
                let mut changed = false;
                if p.isr.contains(&id) && p.isr.len() > 1 {
                    p.isr.retain(|r| *r != id);
                    changed = true;
                }
                if p.leader == id {
                    match choose_leader(p, &alive, unclean) {
                        Some(n) => set_leader(p, n),
                        None => {
                            p.leader = -1;
                            p.leader_epoch += 1;
                        }
                    }
                    changed = true;
                }
                if changed {
                    p.partition_epoch += 1;
                }
            }
        }
    }

    /// Gives every leaderless partition a leader from its ISR (or, with
    /// unclean election, any live replica) now that a broker came back.
    fn elect_leaderless(&mut self, unclean_default: bool) {
        let alive: Vec<i32> = self.alive_brokers();
        for t in self.topics.values_mut() {
            let unclean = t.unclean(unclean_default);
            for p in &mut t.partitions {
                if p.leader >= 0 {
                    continue;
                }
                if let Some(n) = choose_leader(p, &alive, unclean) {
                    set_leader(p, n);
                    p.partition_epoch += 1;
                }
            }
        }
    }
}

/// The next leader of `p`: its first live ISR member, else (unclean
/// election) its first live replica. `None`: no eligible replica.
fn choose_leader(p: &PartitionInfo, alive: &[i32], unclean: bool) -> Option<i32> {
    let live = |r: &i32| alive.contains(r);
    p.isr.iter().copied().find(live).or_else(|| if unclean { p.replicas.iter().copied().find(live) } else { None })
}

/// Makes `n` the leader with a new leader epoch; an unclean leader (not in
/// the ISR) becomes the whole ISR.
fn set_leader(p: &mut PartitionInfo, n: i32) {
    if !p.isr.contains(&n) {
        p.isr = vec![n];
    }
    p.leader = n;
    p.leader_epoch += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(n: i32) -> (ClusterImage, Vec<Uuid>) {
        let mut img = ClusterImage::default();
        let mut inc = Vec::new();
        for id in 1..=n {
            let u = Uuid::new_v4();
            inc.push(u);
            img.apply(&Command::RegisterBroker { id, host: "h".into(), port: 9000 + id as u16, rack: None, incarnation: u });
            img.apply(&Command::UnfenceBroker { id, incarnation: u, unclean_default: false });
        }
        (img, inc)
    }

    fn create(img: &mut ClusterImage, name: &str, parts: i32, rf: usize) {
        let a = img.assign(parts, rf, 0, 0).unwrap();
        assert_eq!(img.apply(&Command::CreateTopic { name: name.into(), id: Uuid::new_v4(), configs: BTreeMap::new(), assignments: a }), Reply::Ok);
    }

    #[test]
    fn assignment_spreads_leaders_and_never_repeats_a_broker() {
        let (img, _) = cluster(3);
        let a = img.assign(6, 3, 0, 0).unwrap();
        let mut leaders = BTreeMap::new();
        for r in &a {
            let mut s = r.clone();
            s.sort_unstable();
            s.dedup();
            assert_eq!(s.len(), 3);
            *leaders.entry(r[0]).or_insert(0) += 1;
        }
        assert_eq!(leaders.values().copied().collect::<Vec<_>>(), vec![2, 2, 2]);
        assert!(img.assign(1, 4, 0, 0).is_err());
    }

    #[test]
    fn fencing_the_leader_elects_from_the_isr_and_bumps_the_epoch() {
        let (mut img, _) = cluster(3);
        create(&mut img, "t", 1, 3);
        let before = img.partition("t", 0).unwrap().clone();
        img.apply(&Command::FenceBroker { id: before.leader, unclean_default: false });
        let after = img.partition("t", 0).unwrap();
        assert_ne!(after.leader, before.leader);
        assert!(after.leader >= 0);
        assert_eq!(after.leader_epoch, before.leader_epoch + 1);
        assert!(!after.isr.contains(&before.leader));
    }

    #[test]
    fn last_isr_member_keeps_its_place_and_leads_again_when_back() {
        let (mut img, inc) = cluster(2);
        create(&mut img, "t", 1, 2);
        let p = img.partition("t", 0).unwrap().clone();
        let (l, f) = (p.leader, p.replicas.iter().copied().find(|r| *r != p.leader).unwrap());
        img.apply(&Command::FenceBroker { id: f, unclean_default: false });
        img.apply(&Command::FenceBroker { id: l, unclean_default: false });
        let p = img.partition("t", 0).unwrap();
        assert_eq!((p.leader, p.isr.clone()), (-1, vec![l]));
        // The out-of-sync replica coming back must not lead (no unclean election).
        img.apply(&Command::UnfenceBroker { id: f, incarnation: inc[(f - 1) as usize], unclean_default: false });
        assert_eq!(img.partition("t", 0).unwrap().leader, -1);
        img.apply(&Command::UnfenceBroker { id: l, incarnation: inc[(l - 1) as usize], unclean_default: false });
        assert_eq!(img.partition("t", 0).unwrap().leader, l);
    }

    #[test]
    fn controlled_shutdown_moves_leaders_but_keeps_sole_replicas() {
        let (mut img, _) = cluster(3);
        create(&mut img, "rf3", 1, 3);
        let a = img.assign(1, 1, 0, 0).unwrap();
        let solo = a[0][0];
        img.apply(&Command::CreateTopic { name: "rf1".into(), id: Uuid::new_v4(), configs: BTreeMap::new(), assignments: a });
        let l = img.partition("rf3", 0).unwrap().leader;
        img.apply(&Command::ControlledShutdown { id: l });
        let p = img.partition("rf3", 0).unwrap();
        assert!(p.leader != l && p.leader >= 0 && !p.isr.contains(&l));
        img.apply(&Command::ControlledShutdown { id: solo });
        assert_eq!(img.partition("rf1", 0).unwrap().leader, solo, "a sole replica keeps leading until fenced");
    }

    #[test]
    fn unclean_election_takes_any_live_replica() {
        let (mut img, inc) = cluster(2);
        create(&mut img, "t", 1, 2);
        let p = img.partition("t", 0).unwrap().clone();
        let (l, f) = (p.leader, p.replicas.iter().copied().find(|r| *r != p.leader).unwrap());
        img.apply(&Command::FenceBroker { id: f, unclean_default: true });
        img.apply(&Command::FenceBroker { id: l, unclean_default: true });
        img.apply(&Command::UnfenceBroker { id: f, incarnation: inc[(f - 1) as usize], unclean_default: true });
        let p = img.partition("t", 0).unwrap();
        assert_eq!((p.leader, p.isr.clone()), (f, vec![f]));
    }

    #[test]
    fn alter_partition_checks_epochs() {
        let (mut img, _) = cluster(3);
        create(&mut img, "t", 1, 3);
        let p = img.partition("t", 0).unwrap().clone();
        let shrunk = vec![p.leader];
        let stale = Command::AlterPartition { topic: "t".into(), partition: 0, leader: p.leader, leader_epoch: p.leader_epoch, partition_epoch: p.partition_epoch + 5, isr: shrunk.clone() };
        assert!(matches!(img.apply(&stale), Reply::Error { code: codes::INVALID_UPDATE_VERSION, .. }));
        let ok = Command::AlterPartition { topic: "t".into(), partition: 0, leader: p.leader, leader_epoch: p.leader_epoch, partition_epoch: p.partition_epoch, isr: shrunk.clone() };
        assert_eq!(img.apply(&ok), Reply::Ok);
        assert_eq!(img.partition("t", 0).unwrap().isr, shrunk);
    }

    #[test]
    fn preferred_election_and_producer_id_blocks() {
        let (mut img, inc) = cluster(3);
        create(&mut img, "t", 1, 3);
        let p = img.partition("t", 0).unwrap().clone();
        assert!(matches!(img.apply(&Command::ElectPreferred { topic: "t".into(), partition: 0 }), Reply::Error { code: codes::ELECTION_NOT_NEEDED, .. }));
        let pref = p.replicas[0];
        img.apply(&Command::FenceBroker { id: pref, unclean_default: false });
        img.apply(&Command::RegisterBroker { id: pref, host: "h".into(), port: 1, rack: None, incarnation: inc[(pref - 1) as usize] });
        img.apply(&Command::UnfenceBroker { id: pref, incarnation: inc[(pref - 1) as usize], unclean_default: false });
        // Back, but not in the ISR until it catches up: no preferred election yet.
        let q = img.partition("t", 0).unwrap().clone();
        let mut isr = q.isr.clone();
        isr.push(pref);
        img.apply(&Command::AlterPartition { topic: "t".into(), partition: 0, leader: q.leader, leader_epoch: q.leader_epoch, partition_epoch: q.partition_epoch, isr });
        assert_eq!(img.apply(&Command::ElectPreferred { topic: "t".into(), partition: 0 }), Reply::Ok);
        assert_eq!(img.partition("t", 0).unwrap().leader, pref);
        assert_eq!(img.apply(&Command::AllocateProducerIds { count: 1000 }), Reply::ProducerIds { start: 0 });
        assert_eq!(img.apply(&Command::AllocateProducerIds { count: 1000 }), Reply::ProducerIds { start: 1000 });
    }
}
