//! Follower replication and ISR maintenance.
//!
//! A follower runs one fetcher per leader broker. Each round it sends one
//! Fetch (v12, `replica_id` = this broker) for every partition it follows
//! from that leader, carrying its log end offset, the epoch of its last
//! batch and the leader epoch it knows. The leader answers with batches up
//! to its log end, its high watermark, or a diverging epoch when the
//! follower's tail is not in the leader's log (KIP-320); the follower then
//! truncates to the end of that epoch and fetches again.
//!
//! Leaders shrink and expand their ISR (`replica.lag.time.max.ms`) by
//! proposing AlterPartition to the controller, checked every 250 ms.

use std::sync::{Arc, Weak};
use std::time::Duration;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tributary_client::connection::{Connection, ConnectionConfig};

use crate::broker::{now_ms, Broker};
use crate::controller::{Command, Reply};
use crate::partition::Partition;

const FETCH_VERSION: i16 = 12;
const MAX_WAIT_MS: i32 = 500;

fn fetch_config(broker: &Broker) -> (i32, i32) {
    let int = |k: &str, d: i32| broker.config.get(k).and_then(|v| v.trim().parse::<i32>().ok()).unwrap_or(d);
    (int("replica.fetch.max.bytes", 1_048_576), int("replica.fetch.response.max.bytes", 10_485_760))
}

/// Fetches from `leader` for as long as this broker follows any partition there.
pub async fn run_fetcher(broker: Weak<Broker>, leader: i32) {
    let mut conn: Option<Connection> = None;
    let mut conn_addr = String::new();
    // Failures in a row; the first of a streak (and every 50th) is logged.
    let mut failures = 0u32;
    fn note_failure(failures: &mut u32, leader: i32, what: &str, e: &dyn std::fmt::Display) {
        if failures.is_multiple_of(50) {
            tracing::info!(leader, failures = *failures, error = %e, "replica fetcher: {what}");
        }
        *failures += 1;
    }
    loop {
        let Some(b) = broker.upgrade() else { return };
        let parts = b.following(leader);
        if parts.is_empty() {
            tracing::debug!(leader, "no partitions left to follow; fetcher stops");
            return;
        }
        let image = b.agent.image();
        let Some(addr) = image.brokers.get(&leader).filter(|i| !i.fenced).map(|i| format!("{}:{}", i.host, i.port)) else {
            drop(b);
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        if conn.is_none() || conn_addr != addr {
            let cfg = ConnectionConfig { client_id: format!("broker-{}-fetcher-{leader}", b.node_id), ..Default::default() };
            match Connection::connect(&addr, &cfg).await {
                Ok(c) => {
                    conn = Some(c);
                    conn_addr = addr.clone();
                }
                Err(e) => {
                    note_failure(&mut failures, leader, "cannot reach the leader", &e);
                    drop(b);
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    continue;
                }
            }
        }
        let (part_max, max_bytes) = fetch_config(&b);
        let mut req = FetchRequest::default();
        req.replica_id = BrokerId(b.node_id);
        req.max_wait_ms = MAX_WAIT_MS;
        req.min_bytes = 1;
        req.max_bytes = max_bytes;
        req.session_id = 0;
        req.session_epoch = -1;
        let mut sent: Vec<(Arc<Partition>, i64, i32)> = Vec::new();
        for p in parts.iter() {
            let st = p.state.lock();
            let mut fp = FetchPartition::default();
            fp.partition = p.index;
            fp.current_leader_epoch = st.leader_epoch;
            fp.fetch_offset = st.log.log_end_offset();
            fp.last_fetched_epoch = st.log.latest_epoch().unwrap_or(-1);
            fp.log_start_offset = st.log.log_start_offset();
            fp.partition_max_bytes = part_max;
            sent.push((p.clone(), fp.fetch_offset, st.leader_epoch));
            drop(st);
            match req.topics.iter_mut().find(|t| t.topic.0.as_str() == p.topic) {
                Some(t) => t.partitions.push(fp),
                None => {
                    let mut t = FetchTopic::default();
                    t.topic = TopicName(StrBytes::from_string(p.topic.clone()));
                    t.partitions.push(fp);
                    req.topics.push(t);
                }
            }
        }
        drop(b);
        let Some(c) = conn.as_mut() else { continue };
        let resp = match c.send(&req, FETCH_VERSION, Duration::from_millis(MAX_WAIT_MS as u64)).await {
            Ok(r) => r,
            Err(e) => {
                note_failure(&mut failures, leader, "fetch failed; reconnecting", &e);
                conn = None;
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        failures = 0;
        let Some(b) = broker.upgrade() else { return };
        let mut backoff = resp.error_code != 0;
        let now = now_ms();
        for t in resp.responses {
            for pd in t.partitions {
                let Some((part, fetch_offset, epoch)) =
                    sent.iter().find(|(p, _, _)| p.topic == t.topic.0.as_str() && p.index == pd.partition_index).cloned()
                else {
                    continue;
                };
                {
                    let st = part.state.lock();
                    // The role changed while the fetch was out: drop its answer.
                    if st.replica.leader != leader || st.leader_epoch != epoch || st.log.log_end_offset() != fetch_offset {
                        continue;
                    }
                }
                match ResponseError::try_from_code(pd.error_code) {
                    None => {
                        if pd.diverging_epoch.epoch >= 0 || pd.diverging_epoch.end_offset >= 0 {
                            let mut st = part.state.lock();
                            let (e, end) = (pd.diverging_epoch.epoch, pd.diverging_epoch.end_offset);
                            let (mine_e, mine_end) = st.log.end_offset_for_epoch(e);
                            let target = if mine_e == e && mine_end >= 0 { end.min(mine_end) } else { end }.max(0);
                            tracing::info!(topic = %part.topic, partition = part.index, leader, epoch = e, end_offset = end, truncate_to = target, leo = fetch_offset, "log diverged from the leader: truncating");
                            if let Err(err) = st.log.truncate_to(target, now) {
                                tracing::error!(topic = %part.topic, partition = part.index, error = %err, "truncation failed");
                                backoff = true;
                            }
                            st.high_watermark = st.high_watermark.min(st.log.log_end_offset());
                            continue;
                        }
                        let records = pd.records.unwrap_or_default();
                        if let Err(e) = part.append_replicated(&records, pd.high_watermark, pd.log_start_offset, now) {
                            tracing::error!(topic = %part.topic, partition = part.index, error = %e, "cannot append replicated batches");
                            backoff = true;
                        }
                    }
                    Some(ResponseError::OffsetOutOfRange) => {
                        let mut st = part.state.lock();
                        let res = if pd.log_start_offset > fetch_offset {
                            tracing::info!(topic = %part.topic, partition = part.index, leader_log_start = pd.log_start_offset, "behind the leader's log start: starting over there");
                            st.log.reset_to(pd.log_start_offset, now)
                        } else {
                            tracing::info!(topic = %part.topic, partition = part.index, hw = pd.high_watermark, leo = fetch_offset, "ahead of the leader: truncating to its high watermark");
                            st.log.truncate_to(pd.high_watermark.max(0), now)
                        };
                        if let Err(e) = res {
                            tracing::error!(topic = %part.topic, partition = part.index, error = %e, "truncation failed");
                        }
                        st.high_watermark = st.high_watermark.min(st.log.log_end_offset());
                        backoff = true;
                    }
                    Some(e) => {
                        tracing::debug!(topic = %part.topic, partition = part.index, leader, error = ?e, "replica fetch error; waiting for metadata");
                        if matches!(e, ResponseError::FencedLeaderEpoch | ResponseError::UnknownLeaderEpoch) {
                            tracing::info!(topic = %part.topic, partition = part.index, leader, error = ?e, local_epoch = epoch, "leader epochs disagree; waiting for metadata");
                        }
                        backoff = true;
                    }
                }
            }
        }
        drop(b);
        if backoff {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Every 250 ms: leaders propose ISR changes their followers' progress calls for.
pub async fn isr_maintenance(broker: Weak<Broker>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let Some(b) = broker.upgrade() else { return };
        let lag_max = b.config.get("replica.lag.time.max.ms").and_then(|v| v.trim().parse::<i64>().ok()).unwrap_or(30_000);
        let image = b.agent.image();
        let alive = |id: i32| image.alive(id);
        let now = now_ms();
        for t in b.topics() {
            for p in &t.partitions {
                let cmd = {
                    let mut st = p.state.lock();
                    if !st.replica.is_leader() || st.replica.isr_change_pending {
                        continue;
                    }
                    let want = st.desired_isr(now, lag_max, &alive);
                    if want == st.replica.isr {
                        continue;
                    }
                    st.replica.isr_change_pending = true;
                    tracing::info!(topic = %t.name, partition = p.index, from = ?st.replica.isr, to = ?want, "proposing ISR change");
                    Command::AlterPartition {
                        topic: t.name.clone(),
                        partition: p.index,
                        leader: st.replica.node_id,
                        leader_epoch: st.leader_epoch,
                        partition_epoch: st.replica.partition_epoch,
                        isr: want,
                    }
                };
                let b2 = b.clone();
                let p2 = p.clone();
                tokio::spawn(async move {
                    let r = b2.agent.propose(cmd).await;
                    if !matches!(r, Ok(Reply::Ok)) {
                        tracing::debug!(topic = %p2.topic, partition = p2.index, result = ?r, "ISR change not applied");
                    }
                    b2.apply_image(&b2.agent.image());
                    p2.state.lock().replica.isr_change_pending = false;
                });
            }
        }
    }
}
