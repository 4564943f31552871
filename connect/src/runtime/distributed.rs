//! Distributed mode. Workers sharing a `group.id` keep the cluster state in
//! three compacted topics with Kafka Connect's record formats:
//!
//! - config topic (1 partition): `connector-<name>` → `{"properties":{..}}`,
//!   `target-state-<name>` → `{"state":..,"state.v2":..}`, `task-<name>-<n>` →
//!   `{"properties":{..}}` made effective by `commit-<name>` → `{"tasks":N}`;
//!   tombstones delete.
//! - offsets topic: `["<connector>",{partition}]` → `{offset}` (JSON, no schema).
//! - status topic: `status-connector-<name>`, `status-task-<name>-<n>` →
//!   `{"state","trace","worker_id","generation"}`, and
//!   `status-topic-<topic>:connector-<name>` for active topics.
//!
//! Membership uses the broker's group protocol with protocol type "connect"
//! (see `protocol.rs`, `assignor.rs`). Only the leader writes the config
//! topic; other workers forward REST writes to it. Every worker tails the
//! config and status topics and runs what the leader assigned to it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use serde_json::{json, Value as Json};
use tokio::sync::{mpsc, watch, Notify};
use tributary_client::{
    needs_rejoin, FetchOptions, GroupConfig, GroupMember, OffsetSpec, ProduceRecord,
};

use crate::config::Props;
use crate::connectors::BoxFuture;

use super::assignor::{self, Memory};
use super::herder::{desired, ClusterState, ConfigWrite, HResult, Herder, HerderError};
use super::kafka::{partition_for_key, KafkaIo};
use super::offsets::{offset_key, parse_offset_key, OffsetMap, OffsetStore};
use super::protocol::{self, Items, MemberState};
use super::status::{Status, StatusKey, StatusStore};
use super::worker::TargetState;
use super::worker_config::WorkerConfig;

/// What this worker runs: its connectors and tasks.
pub type Assignment = Items;

tokio::task_local! {
    /// Set while serving a request another worker forwarded to us.
    pub static FORWARDED: bool;
}

// --- the offsets topic ----------------------------------------------------------

pub struct KafkaOffsetStore {
    kafka: KafkaIo,
    topic: String,
    partitions: i32,
    map: OffsetMap,
    positions: tokio::sync::Mutex<BTreeMap<i32, i64>>,
}

impl KafkaOffsetStore {
    pub fn new(kafka: KafkaIo, topic: &str, partitions: i32) -> Arc<KafkaOffsetStore> {
        Arc::new(KafkaOffsetStore {
            kafka,
            topic: topic.to_string(),
            partitions,
            map: OffsetMap::default(),
            positions: tokio::sync::Mutex::new(BTreeMap::new()),
        })
    }

    /// Reads every partition up to its current end.
    pub async fn catch_up(&self) -> Result<(), String> {
        let mut positions = self.positions.lock().await;
        for p in 0..self.partitions {
            let end = self
                .kafka
                .client
                .list_offset(&self.topic, p, OffsetSpec::Latest)
                .await
                .map_err(|e| e.to_string())?;
            let mut pos = *positions.get(&p).unwrap_or(&0);
            while pos < end {
                let f = self
                    .kafka
                    .client
                    .fetch(
                        &self.topic,
                        p,
                        pos,
                        &FetchOptions {
                            max_wait: Duration::from_millis(10),
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                if pos < f.log_start_offset {
                    pos = f.log_start_offset;
                    continue;
                }
                for r in &f.records {
                    if let Some(k) = &r.key {
                        if let Some((c, part)) = parse_offset_key(k) {
                            let v = r
                                .value
                                .as_ref()
                                .and_then(|v| serde_json::from_slice::<Json>(v).ok());
                            self.map.apply(&c, part, v);
                        }
                    }
                }
                if f.next_offset <= pos {
                    break;
                }
                pos = f.next_offset;
            }
            positions.insert(p, pos);
        }
        Ok(())
    }
}

impl OffsetStore for KafkaOffsetStore {
    fn snapshot(&self, connector: &str) -> Vec<(Json, Json)> {
        self.map.snapshot(connector)
    }

    fn put<'a>(
        &'a self,
        connector: &'a str,
        entries: Vec<(Json, Option<Json>)>,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let mut by_partition: BTreeMap<i32, Vec<ProduceRecord>> = BTreeMap::new();
            for (p, o) in &entries {
                let key = offset_key(connector, p);
                let part = partition_for_key(key.as_bytes(), self.partitions);
                let value = o
                    .as_ref()
                    .filter(|o| !o.is_null())
                    .map(|o| Bytes::from(o.to_string()));
                by_partition.entry(part).or_default().push(ProduceRecord {
                    key: Some(Bytes::from(key)),
                    value,
                    headers: vec![],
                    timestamp: None,
                });
            }
            for (part, recs) in by_partition {
                self.kafka.produce(&self.topic, part, &recs).await?;
            }
            for (p, o) in entries {
                self.map.apply(connector, p, o);
            }
            Ok(())
        })
    }

    fn refresh(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(self.catch_up())
    }
}

// --- config records ---------------------------------------------------------------

fn target_record(t: TargetState) -> Json {
    // `state` is what pre-3.5 workers understand (STOPPED reads as PAUSED there).
    let v1 = match t {
        TargetState::Started => "STARTED",
        _ => "PAUSED",
    };
    json!({ "state": v1, "state.v2": t.as_str() })
}

/// The config-topic records for a batch of writes.
pub fn config_records(writes: &[ConfigWrite]) -> Vec<(String, Option<Json>)> {
    let mut out = Vec::new();
    for w in writes {
        match w {
            ConfigWrite::Connector(n, p) => {
                out.push((format!("connector-{n}"), Some(json!({ "properties": p }))))
            }
            ConfigWrite::DeleteConnector(n) => {
                out.push((format!("connector-{n}"), None));
                out.push((format!("target-state-{n}"), None));
            }
            ConfigWrite::Target(n, t) => {
                out.push((format!("target-state-{n}"), Some(target_record(*t))))
            }
            ConfigWrite::Tasks(n, tasks) => {
                for (i, t) in tasks.iter().enumerate() {
                    out.push((format!("task-{n}-{i}"), Some(json!({ "properties": t }))));
                }
                out.push((format!("commit-{n}"), Some(json!({ "tasks": tasks.len() }))));
            }
        }
    }
    out
}

fn props_of(v: &Json) -> Props {
    v.get("properties")
        .and_then(|p| p.as_object())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Applies config-topic records to the state (staging task configs until their commit).
#[derive(Default)]
pub struct ConfigReader {
    staged: BTreeMap<String, BTreeMap<usize, Props>>,
}

impl ConfigReader {
    pub fn apply(&mut self, st: &mut ClusterState, key: &str, value: Option<&Json>) {
        if let Some(name) = key.strip_prefix("connector-") {
            match value {
                None => st.apply(&ConfigWrite::DeleteConnector(name.to_string())),
                Some(v) => st.apply(&ConfigWrite::Connector(name.to_string(), props_of(v))),
            }
        } else if let Some(name) = key.strip_prefix("target-state-") {
            if let Some(v) = value {
                let t = v
                    .get("state.v2")
                    .and_then(|s| s.as_str())
                    .or_else(|| v.get("state").and_then(|s| s.as_str()))
                    .and_then(TargetState::parse);
                if let Some(t) = t {
                    st.apply(&ConfigWrite::Target(name.to_string(), t));
                }
            }
        } else if let Some(rest) = key.strip_prefix("task-") {
            if let Some((name, idx)) = rest.rsplit_once('-') {
                if let (Ok(i), Some(v)) = (idx.parse::<usize>(), value) {
                    self.staged
                        .entry(name.to_string())
                        .or_default()
                        .insert(i, props_of(v));
                }
            }
        } else if let Some(name) = key.strip_prefix("commit-") {
            let n = value
                .and_then(|v| v.get("tasks"))
                .and_then(|t| t.as_u64())
                .unwrap_or(0) as usize;
            let staged = self.staged.remove(name).unwrap_or_default();
            let tasks: Vec<Props> = (0..n).filter_map(|i| staged.get(&i).cloned()).collect();
            if tasks.len() == n {
                st.apply(&ConfigWrite::Tasks(name.to_string(), tasks));
            } else {
                tracing::warn!(
                    connector = name,
                    expected = n,
                    found = tasks.len(),
                    "task commit without all task configs; ignoring it"
                );
            }
        }
    }
}

fn all_items(st: &ClusterState) -> Items {
    let mut i = Items::default();
    for (name, c) in &st.connectors {
        i.connectors.insert(name.clone());
        for t in 0..c.tasks.len() {
            i.tasks.insert((name.clone(), t));
        }
    }
    i
}

// --- forwarding ---------------------------------------------------------------------

/// A REST call to another worker (the leader, or a task's owner).
pub struct Forward {
    base: Result<String, HerderError>,
    http: reqwest::Client,
}

impl Forward {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Json>,
    ) -> HResult<(u16, Json)> {
        let base = self.base.clone()?;
        let mut req = self
            .http
            .request(method, format!("{base}{path}"))
            .header("X-Tributary-Forwarded", "true");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| {
            HerderError::internal(format!("Error trying to forward REST request: {e}"))
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let v: Json = if text.is_empty() {
            Json::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Json::String(text))
        };
        if status >= 400 {
            let message = v
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("forwarded request failed")
                .to_string();
            return Err(HerderError { status, message });
        }
        Ok((status, v))
    }

    pub async fn put_connector_config(
        &self,
        name: &str,
        config: &Props,
        allow_replace: bool,
        initial: Option<TargetState>,
    ) -> HResult<(bool, Json)> {
        let (status, v) = if allow_replace {
            self.call(
                reqwest::Method::PUT,
                &format!("/connectors/{}/config", urlencode(name)),
                Some(json!(config)),
            )
            .await?
        } else {
            let mut body = json!({ "name": name, "config": config });
            if let Some(t) = initial {
                body["initial_state"] = json!(match t {
                    TargetState::Started => "RUNNING",
                    TargetState::Paused => "PAUSED",
                    TargetState::Stopped => "STOPPED",
                });
            }
            self.call(reqwest::Method::POST, "/connectors", Some(body))
                .await?
        };
        Ok((status == 201, v))
    }

    pub async fn delete_connector(&self, name: &str) -> HResult<()> {
        self.call(
            reqwest::Method::DELETE,
            &format!("/connectors/{}", urlencode(name)),
            None,
        )
        .await
        .map(|_| ())
    }

    pub async fn set_target(&self, name: &str, t: TargetState) -> HResult<()> {
        let verb = match t {
            TargetState::Started => "resume",
            TargetState::Paused => "pause",
            TargetState::Stopped => "stop",
        };
        self.call(
            reqwest::Method::PUT,
            &format!("/connectors/{}/{verb}", urlencode(name)),
            None,
        )
        .await
        .map(|_| ())
    }

    pub async fn restart(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> HResult<Json> {
        self.call(
            reqwest::Method::POST,
            &format!(
                "/connectors/{}/restart?includeTasks={include_tasks}&onlyFailed={only_failed}",
                urlencode(name)
            ),
            None,
        )
        .await
        .map(|(_, v)| v)
    }

    pub async fn restart_task(&self, name: &str, task: usize) -> HResult<()> {
        self.call(
            reqwest::Method::POST,
            &format!("/connectors/{}/tasks/{task}/restart", urlencode(name)),
            None,
        )
        .await
        .map(|_| ())
    }
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// --- the distributed herder backend -----------------------------------------------------

pub struct Distributed {
    cfg: WorkerConfig,
    kafka: KafkaIo,
    herder: Mutex<Weak<Herder>>,
    reader: tokio::sync::Mutex<ConfigReader>,
    /// Next offset of the config topic to read (everything before is applied).
    config_pos: watch::Sender<i64>,
    my_items: Mutex<Items>,
    leader_url: Mutex<Option<String>>,
    is_leader: AtomicBool,
    rejoin: Notify,
    memory: Mutex<Memory>,
    http: reqwest::Client,
    status_partitions: i32,
    pub offsets: Arc<KafkaOffsetStore>,
    shutdown: watch::Sender<bool>,
}

impl Distributed {
    /// Creates the internal topics and reads them to their ends.
    pub async fn start(
        cfg: WorkerConfig,
        kafka: KafkaIo,
        status: Arc<StatusStore>,
    ) -> Result<Arc<Distributed>, String> {
        let compact = [("cleanup.policy", "compact")];
        kafka
            .ensure_topic(&cfg.config_topic, 1, cfg.config_rf, &compact)
            .await?;
        let offset_parts = kafka
            .ensure_topic(
                &cfg.offset_topic,
                cfg.offset_partitions,
                cfg.offset_rf,
                &compact,
            )
            .await?;
        let status_parts = kafka
            .ensure_topic(
                &cfg.status_topic,
                cfg.status_partitions,
                cfg.status_rf,
                &compact,
            )
            .await?;
        let offsets = KafkaOffsetStore::new(kafka.fork(), &cfg.offset_topic, offset_parts);
        offsets.catch_up().await?;
        let (shutdown, _) = watch::channel(false);
        let d = Arc::new(Distributed {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(90))
                .build()
                .map_err(|e| e.to_string())?,
            cfg,
            kafka,
            herder: Mutex::new(Weak::new()),
            reader: tokio::sync::Mutex::new(ConfigReader::default()),
            config_pos: watch::channel(0).0,
            my_items: Mutex::new(Items::default()),
            leader_url: Mutex::new(None),
            is_leader: AtomicBool::new(false),
            rejoin: Notify::new(),
            memory: Mutex::new(Memory::default()),
            status_partitions: status_parts,
            offsets,
            shutdown,
        });
        // Status: publish ours, read everyone's.
        let (tx, rx) = mpsc::unbounded_channel();
        status.set_publisher(tx);
        tokio::spawn(d.clone().status_writer(rx));
        d.read_status_to_end(&status).await?;
        tokio::spawn(d.clone().status_tail(status));
        Ok(d)
    }

    /// Wires the herder in, reads the config topic and starts membership.
    pub async fn run(self: &Arc<Self>, herder: &Arc<Herder>) -> Result<(), String> {
        *self.herder.lock() = Arc::downgrade(herder);
        let me = self.clone();
        let h = herder.clone();
        *herder.worker.shared.on_active_topic.lock() = Some(Box::new(
            move |connector: &str, topic: &str| {
                let me = me.clone();
                let key = format!("status-topic-{topic}:connector-{connector}");
                let value = json!({"topic": {"name": topic, "connector": connector, "task": 0, "discoverTimestamp": crate::connectors::file::now_ms()}});
                tokio::spawn(async move { me.produce_status(key, Some(value)).await });
            },
        ));
        let _ = h;
        self.read_config_to_end().await?;
        tokio::spawn(self.clone().config_tail());
        tokio::spawn(self.clone().membership());
        Ok(())
    }

    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    fn herder(&self) -> Option<Arc<Herder>> {
        self.herder.lock().upgrade()
    }

    // --- config topic ---

    async fn apply_config_records(&self, records: &[tributary_client::ConsumedRecord]) {
        let Some(h) = self.herder() else { return };
        let before;
        let after;
        {
            let mut st = h.state.lock().await;
            before = all_items(&st);
            let mut reader = self.reader.lock().await;
            for r in records {
                let Some(k) = &r.key else { continue };
                let key = String::from_utf8_lossy(k).into_owned();
                let value = r
                    .value
                    .as_ref()
                    .and_then(|v| serde_json::from_slice::<Json>(v).ok());
                reader.apply(&mut st, &key, value.as_ref());
            }
            after = all_items(&st);
        }
        if before != after {
            // New or removed connectors/tasks: the leader must reassign.
            self.rejoin.notify_one();
        }
        self.reconcile().await;
    }

    async fn read_config_to_end(&self) -> Result<(), String> {
        let end = self
            .kafka
            .client
            .list_offset(&self.cfg.config_topic, 0, OffsetSpec::Latest)
            .await
            .map_err(|e| e.to_string())?;
        while *self.config_pos.borrow() < end {
            self.poll_config(Duration::from_millis(10)).await?;
        }
        Ok(())
    }

    async fn poll_config(&self, wait: Duration) -> Result<(), String> {
        let pos = *self.config_pos.borrow();
        let f = self
            .kafka
            .client
            .fetch(
                &self.cfg.config_topic,
                0,
                pos,
                &FetchOptions {
                    max_wait: wait,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        if !f.records.is_empty() {
            self.apply_config_records(&f.records).await;
        }
        let next = f.next_offset.max(pos).max(if pos < f.log_start_offset {
            f.log_start_offset
        } else {
            0
        });
        if next != pos {
            self.config_pos.send_replace(next);
        }
        Ok(())
    }

    async fn config_tail(self: Arc<Self>) {
        let stop = self.shutdown.subscribe();
        // Each poll runs to completion (a dropped request would desync the
        // pooled connection); the stop flag is checked between polls.
        while !*stop.borrow() {
            if let Err(e) = self.poll_config(Duration::from_millis(500)).await {
                tracing::warn!(error = %e, "reading the config topic failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }

    /// Leader only: writes config records and waits until they are applied here.
    pub async fn write(&self, writes: Vec<ConfigWrite>) -> Result<(), String> {
        let records: Vec<ProduceRecord> = config_records(&writes)
            .into_iter()
            .map(|(k, v)| ProduceRecord {
                key: Some(Bytes::from(k)),
                value: v.map(|v| Bytes::from(v.to_string())),
                headers: vec![],
                timestamp: None,
            })
            .collect();
        let base = self
            .kafka
            .produce(&self.cfg.config_topic, 0, &records)
            .await?;
        let last = base + records.len() as i64 - 1;
        let mut rx = self.config_pos.subscribe();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while *rx.borrow_and_update() <= last {
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                return Err("timed out waiting for the config topic to catch up".into());
            }
        }
        Ok(())
    }

    // --- status topic ---

    async fn produce_status(&self, key: String, value: Option<Json>) {
        let part = partition_for_key(key.as_bytes(), self.status_partitions);
        let rec = ProduceRecord {
            key: Some(Bytes::from(key)),
            value: value.map(|v| Bytes::from(v.to_string())),
            headers: vec![],
            timestamp: None,
        };
        if let Err(e) = self
            .kafka
            .produce(&self.cfg.status_topic, part, &[rec])
            .await
        {
            tracing::warn!(error = %e, "writing to the status topic failed");
        }
    }

    async fn status_writer(
        self: Arc<Self>,
        mut rx: mpsc::UnboundedReceiver<(StatusKey, Option<Status>)>,
    ) {
        while let Some((key, status)) = rx.recv().await {
            self.produce_status(key.record_key(), status.map(|s| s.to_record()))
                .await;
        }
    }

    fn apply_status_record(&self, status: &StatusStore, key: &str, value: Option<Json>) {
        if let Some(rest) = key.strip_prefix("status-connector-") {
            status.apply_remote(
                StatusKey::Connector(rest.to_string()),
                value.as_ref().and_then(Status::from_record),
            );
        } else if let Some(rest) = key.strip_prefix("status-task-") {
            if let Some((name, idx)) = rest.rsplit_once('-') {
                if let Ok(i) = idx.parse() {
                    status.apply_remote(
                        StatusKey::Task(name.to_string(), i),
                        value.as_ref().and_then(Status::from_record),
                    );
                }
            }
        } else if let Some(rest) = key.strip_prefix("status-topic-") {
            if let (Some((topic, connector)), Some(h)) =
                (rest.split_once(":connector-"), self.herder())
            {
                let mut at = h.worker.shared.active_topics.lock();
                match value {
                    Some(_) => {
                        at.entry(connector.to_string())
                            .or_default()
                            .insert(topic.to_string());
                    }
                    None => {
                        if let Some(s) = at.get_mut(connector) {
                            s.remove(topic);
                        }
                    }
                }
            }
        }
    }

    async fn read_status_to_end(&self, status: &StatusStore) -> Result<(), String> {
        for p in 0..self.status_partitions {
            let end = self
                .kafka
                .client
                .list_offset(&self.cfg.status_topic, p, OffsetSpec::Latest)
                .await
                .map_err(|e| e.to_string())?;
            let mut pos = 0;
            while pos < end {
                let f = self
                    .kafka
                    .client
                    .fetch(
                        &self.cfg.status_topic,
                        p,
                        pos,
                        &FetchOptions {
                            max_wait: Duration::from_millis(10),
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                for r in &f.records {
                    if let Some(k) = &r.key {
                        let v = r
                            .value
                            .as_ref()
                            .and_then(|v| serde_json::from_slice(v).ok());
                        self.apply_status_record(status, &String::from_utf8_lossy(k), v);
                    }
                }
                if f.next_offset <= pos {
                    break;
                }
                pos = f.next_offset;
            }
        }
        Ok(())
    }

    async fn status_tail(self: Arc<Self>, status: Arc<StatusStore>) {
        let kafka = self.kafka.fork();
        let mut positions: BTreeMap<i32, i64> = BTreeMap::new();
        for p in 0..self.status_partitions {
            let end = kafka
                .client
                .list_offset(&self.cfg.status_topic, p, OffsetSpec::Latest)
                .await
                .unwrap_or(0);
            positions.insert(p, end);
        }
        let mut stop = self.shutdown.subscribe();
        let wait = if self.status_partitions > 1 {
            Duration::from_millis(20)
        } else {
            Duration::from_millis(500)
        };
        loop {
            if *stop.borrow_and_update() {
                return;
            }
            let mut any = false;
            for p in 0..self.status_partitions {
                let pos = positions[&p];
                match kafka
                    .client
                    .fetch(
                        &self.cfg.status_topic,
                        p,
                        pos,
                        &FetchOptions {
                            max_wait: wait,
                            ..Default::default()
                        },
                    )
                    .await
                {
                    Ok(f) => {
                        for r in &f.records {
                            if let Some(k) = &r.key {
                                let v = r
                                    .value
                                    .as_ref()
                                    .and_then(|v| serde_json::from_slice(v).ok());
                                self.apply_status_record(&status, &String::from_utf8_lossy(k), v);
                            }
                        }
                        any |= !f.records.is_empty();
                        positions.insert(p, f.next_offset.max(pos));
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "reading the status topic failed; retrying");
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                }
            }
            if !any && self.status_partitions > 1 {
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
        }
    }

    pub async fn reset_active_topics(&self, connector: &str) {
        let Some(h) = self.herder() else { return };
        let topics: Vec<String> = h
            .worker
            .shared
            .active_topics
            .lock()
            .get(connector)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        for t in topics {
            self.produce_status(format!("status-topic-{t}:connector-{connector}"), None)
                .await;
        }
    }

    pub async fn catch_up_offsets(&self) -> Result<(), String> {
        self.offsets.catch_up().await
    }

    // --- membership ---

    async fn reconcile(&self) {
        let Some(h) = self.herder() else { return };
        let st = h.state.lock().await.clone();
        let items = self.my_items.lock().clone();
        let (cs, ts) = desired(&st, Some(&items));
        h.worker.reconcile(&cs, &ts).await;
    }

    async fn membership(self: Arc<Self>) {
        let mut gc = GroupConfig::new(self.cfg.group_id.clone(), protocol::PROTOCOL_TYPE);
        gc.session_timeout = self.cfg.session_timeout;
        gc.heartbeat_interval = self.cfg.heartbeat_interval;
        gc.rebalance_timeout = self.cfg.rebalance_timeout;
        let mut member = GroupMember::new(&self.kafka.client, gc);
        let mut stop = self.shutdown.subscribe();
        loop {
            if *stop.borrow_and_update() {
                let _ = member.leave().await;
                return;
            }
            match self.one_generation(&mut member, &mut stop).await {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "group membership error; rejoining");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }

    /// Joins, syncs, applies the assignment, then heartbeats until a rebalance.
    async fn one_generation(
        &self,
        member: &mut GroupMember,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), String> {
        let meta = MemberState {
            url: self.cfg.advertised_url.clone(),
            config_offset: *self.config_pos.borrow(),
            allocation: self.my_items.lock().clone(),
        };
        let joined = member
            .join(&[(
                protocol::PROTOCOL_NAME.to_string(),
                protocol::encode_metadata(&meta),
            )])
            .await
            .map_err(|e| e.to_string())?;
        let leader = joined.is_leader();
        let assignments: Vec<(String, Bytes)> = if leader {
            // The leader assigns from a config view at least as new as any member's.
            self.read_config_to_end().await?;
            let Some(h) = self.herder() else {
                return Err("herder gone".into());
            };
            let st = h.state.lock().await.clone();
            let mut members = Vec::new();
            for m in &joined.members {
                match protocol::decode_metadata(&m.metadata) {
                    Ok(ms) => members.push((m.member_id.clone(), ms)),
                    Err(e) => {
                        tracing::warn!(member = %m.member_id, error = %e, "ignoring undecodable member metadata")
                    }
                }
            }
            let config_offset = *self.config_pos.borrow();
            let result = assignor::assign(
                &all_items(&st),
                &members,
                &mut self.memory.lock(),
                Instant::now(),
                self.cfg.scheduled_rebalance_max_delay,
            );
            members
                .iter()
                .map(|(id, _)| {
                    let r = result.get(id).cloned_result();
                    let a = protocol::Assignment {
                        error: 0,
                        leader: joined.member_id.clone(),
                        leader_url: self.cfg.advertised_url.clone(),
                        config_offset,
                        assigned: r.assigned,
                        revoked: r.revoked,
                        delay_ms: r.delay.as_millis().min(i32::MAX as u128) as i32,
                    };
                    (id.clone(), protocol::encode_assignment(&a))
                })
                .collect()
        } else {
            vec![]
        };
        let mine = member.sync(&assignments).await.map_err(|e| e.to_string())?;
        let a = protocol::decode_assignment(&mine)?;
        self.is_leader.store(leader, Ordering::Relaxed);
        *self.leader_url.lock() = Some(a.leader_url.clone());
        if let Some(h) = self.herder() {
            h.worker.shared.set_generation(joined.generation_id);
        }
        // Make sure our config view includes what the leader assigned from.
        let deadline = Instant::now() + Duration::from_secs(10);
        while *self.config_pos.borrow() < a.config_offset && Instant::now() < deadline {
            self.poll_config(Duration::from_millis(100)).await?;
        }
        let revoked_any = !a.revoked.is_empty();
        {
            let mut items = self.my_items.lock();
            *items = items.minus(&a.revoked).union(&a.assigned);
        }
        tracing::info!(generation = joined.generation_id, leader, assigned = ?a.assigned, revoked = ?a.revoked, delay_ms = a.delay_ms, "joined the connect group");
        self.reconcile().await;
        // A revocation or a scheduled delay means another rebalance follows.
        let mut rejoin_at = if revoked_any {
            Some(tokio::time::Instant::now())
        } else {
            None
        };
        if a.delay_ms > 0 {
            rejoin_at =
                Some(tokio::time::Instant::now() + Duration::from_millis(a.delay_ms as u64));
        }
        let hb = member.config().heartbeat_interval;
        loop {
            let sleep_until = match rejoin_at {
                Some(t) => t.min(tokio::time::Instant::now() + hb),
                None => tokio::time::Instant::now() + hb,
            };
            tokio::select! {
                _ = stop.changed() => return Ok(()),
                _ = self.rejoin.notified() => return Ok(()),
                _ = tokio::time::sleep_until(sleep_until) => {}
            }
            if rejoin_at.is_some_and(|t| tokio::time::Instant::now() >= t) {
                return Ok(());
            }
            if let Err(e) = member.heartbeat().await {
                if needs_rejoin(&e) {
                    return Ok(());
                }
                return Err(e.to_string());
            }
        }
    }

    // --- forwarding ---

    fn forwarded() -> bool {
        FORWARDED.try_with(|f| *f).unwrap_or(false)
    }

    pub async fn forward_to_leader(&self) -> Option<Forward> {
        // Before the first assignment nobody knows the leader: wait a little.
        for _ in 0..100 {
            if self.leader_url.lock().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if self.is_leader.load(Ordering::Relaxed) {
            return None;
        }
        let base = if Self::forwarded() {
            Err(HerderError::conflict("Cannot complete request because of a conflicting operation (e.g. worker rebalance)"))
        } else {
            self.leader_url.lock().clone().ok_or_else(|| {
                HerderError::conflict("Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway.")
            })
        };
        Some(Forward {
            base,
            http: self.http.clone(),
        })
    }

    fn owner_url(&self, key: &StatusKey) -> Option<Forward> {
        if Self::forwarded() {
            return None;
        }
        let h = self.herder()?;
        let s = h.worker.shared.status.get(key)?;
        if s.worker_id.is_empty() || s.worker_id == h.worker.shared.config.worker_id {
            return None;
        }
        Some(Forward {
            base: Ok(format!("http://{}", s.worker_id)),
            http: self.http.clone(),
        })
    }

    pub async fn forward_to_connector_owner(&self, name: &str) -> Option<Forward> {
        self.owner_url(&StatusKey::Connector(name.to_string()))
    }

    pub async fn forward_to_task_owner(&self, name: &str, task: usize) -> Option<Forward> {
        self.owner_url(&StatusKey::Task(name.to_string(), task))
    }
}

trait ClonedResult {
    fn cloned_result(self) -> assignor::MemberResult;
}

impl ClonedResult for Option<&assignor::MemberResult> {
    fn cloned_result(self) -> assignor::MemberResult {
        match self {
            Some(r) => assignor::MemberResult {
                assigned: r.assigned.clone(),
                revoked: r.revoked.clone(),
                delay: r.delay,
            },
            None => assignor::MemberResult::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_records_round_trip_through_the_reader() {
        let mut p = Props::new();
        p.insert("connector.class".into(), "FileStreamSource".into());
        let writes = vec![
            ConfigWrite::Connector("my-conn".into(), p.clone()),
            ConfigWrite::Target("my-conn".into(), TargetState::Stopped),
            ConfigWrite::Tasks("my-conn".into(), vec![p.clone(), p.clone()]),
        ];
        let recs = config_records(&writes);
        assert_eq!(recs[0].0, "connector-my-conn");
        assert_eq!(
            recs[1].1.as_ref().unwrap(),
            &json!({"state": "PAUSED", "state.v2": "STOPPED"})
        );
        assert_eq!(
            recs.last().unwrap(),
            &("commit-my-conn".to_string(), Some(json!({"tasks": 2})))
        );
        let mut st = ClusterState::default();
        let mut r = ConfigReader::default();
        for (k, v) in &recs {
            r.apply(&mut st, k, v.as_ref());
        }
        let c = &st.connectors["my-conn"];
        assert_eq!(c.target, TargetState::Stopped);
        assert_eq!(c.tasks.len(), 2);
        for (k, v) in config_records(&[ConfigWrite::DeleteConnector("my-conn".into())]) {
            r.apply(&mut st, &k, v.as_ref());
        }
        assert!(st.connectors.is_empty());
    }
}
