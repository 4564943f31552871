//! The herder: the cluster's connector configs, target states and task
//! configs (`ClusterState`), and every operation of the REST API on them.
//! Writes go through `ConfigWrite`s: standalone applies them in memory and
//! reconciles this worker at once; distributed mode puts them on the config
//! topic (from the group leader) and every worker applies what it reads back.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value as Json};

use crate::config::Props;
use crate::connectors::{self, ConnectorType};

use super::connector_config::{self, ConnectorSettings};
use super::distributed::Distributed;
use super::status::{State, StatusKey};
use super::task::sink_group;
use super::worker::{DesiredConnector, DesiredTask, TargetState, Worker};

/// A REST-visible failure: the HTTP status and Kafka Connect's message.
#[derive(Clone, Debug, PartialEq)]
pub struct HerderError {
    pub status: u16,
    pub message: String,
}

impl HerderError {
    pub fn not_found(m: impl Into<String>) -> Self {
        HerderError {
            status: 404,
            message: m.into(),
        }
    }
    pub fn conflict(m: impl Into<String>) -> Self {
        HerderError {
            status: 409,
            message: m.into(),
        }
    }
    pub fn bad_request(m: impl Into<String>) -> Self {
        HerderError {
            status: 400,
            message: m.into(),
        }
    }
    pub fn internal(m: impl Into<String>) -> Self {
        HerderError {
            status: 500,
            message: m.into(),
        }
    }
    fn connector_not_found(name: &str) -> Self {
        Self::not_found(format!("Connector {name} not found"))
    }
}

pub type HResult<T> = Result<T, HerderError>;

#[derive(Clone, Debug, PartialEq)]
pub struct ConnectorState {
    pub config: Props,
    pub target: TargetState,
    pub tasks: Vec<Props>,
}

/// Connectors, their target states and task configs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterState {
    pub connectors: BTreeMap<String, ConnectorState>,
}

/// One change to the cluster state (one config-topic record in distributed mode).
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigWrite {
    Connector(String, Props),
    DeleteConnector(String),
    Target(String, TargetState),
    Tasks(String, Vec<Props>),
}

impl ClusterState {
    pub fn apply(&mut self, w: &ConfigWrite) {
        match w {
            ConfigWrite::Connector(name, config) => {
                let e = self
                    .connectors
                    .entry(name.clone())
                    .or_insert_with(|| ConnectorState {
                        config: config.clone(),
                        target: TargetState::Started,
                        tasks: vec![],
                    });
                e.config = config.clone();
            }
            ConfigWrite::DeleteConnector(name) => {
                self.connectors.remove(name);
            }
            ConfigWrite::Target(name, t) => {
                if let Some(c) = self.connectors.get_mut(name) {
                    c.target = *t;
                }
            }
            ConfigWrite::Tasks(name, tasks) => {
                if let Some(c) = self.connectors.get_mut(name) {
                    c.tasks = tasks.clone();
                }
            }
        }
    }
}

pub enum Backend {
    Standalone,
    Distributed(Arc<Distributed>),
}

pub struct Herder {
    pub worker: Arc<Worker>,
    pub state: tokio::sync::Mutex<ClusterState>,
    pub backend: Backend,
    /// Serialises writes so that read-modify-write operations do not interleave.
    write_lock: tokio::sync::Mutex<()>,
}

fn connector_type(config: &Props) -> &'static str {
    config
        .get("connector.class")
        .and_then(|c| connectors::find(c))
        .map(|p| p.kind().as_str())
        .unwrap_or("unknown")
}

fn status_json(s: &super::status::Status) -> Json {
    let mut m = serde_json::Map::new();
    m.insert("state".into(), json!(s.state.as_str()));
    m.insert("worker_id".into(), json!(s.worker_id));
    if let Some(t) = &s.trace {
        m.insert("trace".into(), json!(t));
    }
    Json::Object(m)
}

impl Herder {
    pub fn new(worker: Arc<Worker>, backend: Backend) -> Arc<Herder> {
        Arc::new(Herder {
            worker,
            state: tokio::sync::Mutex::new(ClusterState::default()),
            backend,
            write_lock: tokio::sync::Mutex::new(()),
        })
    }

    pub fn is_distributed(&self) -> bool {
        matches!(self.backend, Backend::Distributed(_))
    }

    /// Applies writes: in memory (standalone) or through the config topic.
    async fn write(&self, writes: Vec<ConfigWrite>) -> HResult<()> {
        match &self.backend {
            Backend::Standalone => {
                {
                    let mut st = self.state.lock().await;
                    for w in &writes {
                        st.apply(w);
                    }
                }
                self.reconcile_all().await;
                Ok(())
            }
            Backend::Distributed(d) => d.write(writes).await.map_err(HerderError::internal),
        }
    }

    /// Standalone: this worker runs everything.
    pub async fn reconcile_all(&self) {
        let st = self.state.lock().await.clone();
        let (cs, ts) = desired(&st, None);
        self.worker.reconcile(&cs, &ts).await;
    }

    // --- reads ---------------------------------------------------------------

    pub async fn connectors(&self) -> Vec<String> {
        self.state.lock().await.connectors.keys().cloned().collect()
    }

    async fn get(&self, name: &str) -> HResult<ConnectorState> {
        self.state
            .lock()
            .await
            .connectors
            .get(name)
            .cloned()
            .ok_or_else(|| HerderError::connector_not_found(name))
    }

    pub fn info_json(name: &str, c: &ConnectorState) -> Json {
        let tasks: Vec<Json> = (0..c.tasks.len())
            .map(|i| json!({"connector": name, "task": i}))
            .collect();
        json!({ "name": name, "config": c.config, "tasks": tasks, "type": connector_type(&c.config) })
    }

    pub async fn connector_info(&self, name: &str) -> HResult<Json> {
        let c = self.get(name).await?;
        Ok(Self::info_json(name, &c))
    }

    pub async fn connector_config(&self, name: &str) -> HResult<Props> {
        Ok(self.get(name).await?.config)
    }

    pub async fn task_configs(&self, name: &str) -> HResult<Json> {
        let c = self.get(name).await?;
        Ok(Json::Array(
            c.tasks
                .iter()
                .enumerate()
                .map(|(i, t)| json!({"id": {"connector": name, "task": i}, "config": t}))
                .collect(),
        ))
    }

    pub async fn tasks_config_map(&self, name: &str) -> HResult<Json> {
        let c = self.get(name).await?;
        let mut m = serde_json::Map::new();
        for (i, t) in c.tasks.iter().enumerate() {
            m.insert(format!("{name}-{i}"), json!(t));
        }
        Ok(Json::Object(m))
    }

    pub async fn connector_status(&self, name: &str) -> HResult<Json> {
        let c = self.get(name).await?;
        let status = &self.worker.shared.status;
        let conn = status.get(&StatusKey::Connector(name.to_string()));
        let conn_json = match conn {
            Some(s) => status_json(&s),
            None => json!({"state": State::Unassigned.as_str(), "worker_id": ""}),
        };
        let mut tasks = Vec::new();
        for i in 0..c.tasks.len() {
            let mut t = match status.get(&StatusKey::Task(name.to_string(), i)) {
                Some(s) => status_json(&s),
                None => json!({"state": State::Unassigned.as_str(), "worker_id": ""}),
            };
            if let Json::Object(m) = &mut t {
                let mut with_id = serde_json::Map::new();
                with_id.insert("id".into(), json!(i));
                with_id.extend(std::mem::take(m));
                t = Json::Object(with_id);
            }
            tasks.push(t);
        }
        Ok(
            json!({ "name": name, "connector": conn_json, "tasks": tasks, "type": connector_type(&c.config) }),
        )
    }

    pub async fn task_status(&self, name: &str, task: usize) -> HResult<Json> {
        let c = self.get(name).await?;
        if task >= c.tasks.len() {
            return Err(HerderError::not_found(format!(
                "No status found for task {name}-{task}"
            )));
        }
        let s = match self
            .worker
            .shared
            .status
            .get(&StatusKey::Task(name.to_string(), task))
        {
            Some(s) => status_json(&s),
            None => json!({"state": State::Unassigned.as_str(), "worker_id": ""}),
        };
        let mut out = serde_json::Map::new();
        out.insert("id".into(), json!(task));
        if let Json::Object(m) = s {
            out.extend(m);
        }
        Ok(Json::Object(out))
    }

    // --- writes --------------------------------------------------------------

    fn validate_or_400(config: &Props) -> HResult<()> {
        match connector_config::validate(config) {
            Err(e) => Err(HerderError::bad_request(e.message)),
            Ok((infos, n)) if n > 0 => Err(HerderError::bad_request(
                connector_config::invalid_config_message(&infos, n),
            )),
            Ok(_) => Ok(()),
        }
    }

    fn task_configs_for(&self, config: &Props) -> HResult<Vec<Props>> {
        let settings = ConnectorSettings::parse(config, &self.worker.shared.config)
            .map_err(|e| HerderError::bad_request(e.message))?;
        let mut tasks = settings
            .plugin
            .task_configs(config, settings.tasks_max)
            .map_err(|e| HerderError::bad_request(e.message))?;
        tasks.truncate(settings.tasks_max);
        Ok(tasks)
    }

    /// Create (`allow_replace=false`: 409 when it exists) or create-or-update.
    /// Returns whether it was created, and the connector info.
    pub async fn put_connector_config(
        &self,
        name: &str,
        config: Props,
        allow_replace: bool,
        initial: Option<TargetState>,
    ) -> HResult<(bool, Json)> {
        if let Some(r) = self.forward_if_needed().await {
            return r
                .put_connector_config(name, &config, allow_replace, initial)
                .await;
        }
        let _guard = self.write_lock.lock().await;
        Self::validate_or_400(&config)?;
        let existing = self.state.lock().await.connectors.get(name).cloned();
        if existing.is_some() && !allow_replace {
            return Err(HerderError::conflict(format!(
                "Connector {name} already exists"
            )));
        }
        let target = match &existing {
            Some(e) => e.target,
            None => initial.unwrap_or(TargetState::Started),
        };
        let tasks = if target == TargetState::Stopped {
            vec![]
        } else {
            self.task_configs_for(&config)?
        };
        let mut writes = vec![ConfigWrite::Connector(name.to_string(), config.clone())];
        if existing.is_none() {
            writes.push(ConfigWrite::Target(name.to_string(), target));
        }
        writes.push(ConfigWrite::Tasks(name.to_string(), tasks));
        self.write(writes).await?;
        let info = self.connector_info(name).await?;
        Ok((existing.is_none(), info))
    }

    pub async fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> HResult<Json> {
        let existing = self.get(name).await?;
        let mut config = existing.config.clone();
        for (k, v) in patch {
            match v {
                Some(v) => {
                    config.insert(k, v);
                }
                None => {
                    config.remove(&k);
                }
            }
        }
        if config.get("name").is_some_and(|n| n != name) {
            return Err(HerderError::bad_request(format!(
                "Connector name configuration ({}) doesn't match connector name in the URL ({name})",
                config["name"]
            )));
        }
        config.insert("name".into(), name.to_string());
        Ok(self.put_connector_config(name, config, true, None).await?.1)
    }

    pub async fn delete_connector(&self, name: &str) -> HResult<()> {
        if let Some(r) = self.forward_if_needed().await {
            return r.delete_connector(name).await;
        }
        let _guard = self.write_lock.lock().await;
        self.get(name).await?;
        self.write(vec![
            ConfigWrite::Tasks(name.to_string(), vec![]),
            ConfigWrite::DeleteConnector(name.to_string()),
        ])
        .await?;
        self.worker.shared.status.remove_connector(name);
        self.worker.shared.active_topics.lock().remove(name);
        Ok(())
    }

    pub async fn set_target(&self, name: &str, target: TargetState) -> HResult<()> {
        if let Some(r) = self.forward_if_needed().await {
            return r.set_target(name, target).await;
        }
        let _guard = self.write_lock.lock().await;
        let c = self.get(name).await?;
        let mut writes = vec![ConfigWrite::Target(name.to_string(), target)];
        match target {
            // KIP-875: a stopped connector has no tasks.
            TargetState::Stopped => writes.push(ConfigWrite::Tasks(name.to_string(), vec![])),
            _ if c.target == TargetState::Stopped || c.tasks.is_empty() => writes.push(
                ConfigWrite::Tasks(name.to_string(), self.task_configs_for(&c.config)?),
            ),
            _ => {}
        }
        self.write(writes).await
    }

    /// `POST /connectors/{c}/restart` without includeTasks/onlyFailed.
    pub async fn restart_connector(&self, name: &str) -> HResult<()> {
        let c = self.get(name).await?;
        if let Some(r) = self.forward_to_owner_connector(name).await {
            return r.restart(name, false, false).await.map(|_| ());
        }
        if !self.worker.restart_connector(name, &c.config) && !self.is_distributed() {
            return Err(HerderError::not_found(format!(
                "Connector {name} not found"
            )));
        }
        Ok(())
    }

    pub async fn restart_task(&self, name: &str, task: usize) -> HResult<()> {
        let c = self.get(name).await?;
        if task >= c.tasks.len() {
            return Err(HerderError::not_found(format!(
                "Task {name}-{task} not found"
            )));
        }
        if self.worker.restart_task(name, task).await {
            return Ok(());
        }
        if let Some(r) = self.forward_to_owner_task(name, task).await {
            return r.restart_task(name, task).await;
        }
        Err(HerderError::conflict(format!(
            "Cannot restart task {name}-{task}: it is not assigned to any worker yet"
        )))
    }

    /// KIP-745: restart the connector and/or its tasks; answers with the
    /// state the restarted parts are in (RESTARTING).
    pub async fn restart(
        self: &Arc<Self>,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> HResult<Json> {
        let c = self.get(name).await?;
        let status = self.connector_status(name).await?;
        let conn_failed = status["connector"]["state"] == "FAILED";
        let restart_conn = !only_failed || conn_failed;
        let mut task_ids = Vec::new();
        if include_tasks {
            for (i, t) in status["tasks"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                if !only_failed || t["state"] == "FAILED" {
                    task_ids.push(i);
                }
            }
        }
        let mut response = status.clone();
        if restart_conn {
            response["connector"]["state"] = json!("RESTARTING");
        }
        for i in &task_ids {
            response["tasks"][*i]["state"] = json!("RESTARTING");
        }
        let me = self.clone();
        let name = name.to_string();
        let config = c.config.clone();
        tokio::spawn(async move {
            if restart_conn && !me.worker.restart_connector(&name, &config) {
                if let Some(r) = me.forward_to_owner_connector(&name).await {
                    let _ = r.restart(&name, false, false).await;
                }
            }
            for i in task_ids {
                let _ = me.restart_task(&name, i).await;
            }
        });
        Ok(response)
    }

    // --- offsets (KIP-875) ----------------------------------------------------

    fn kind_of(c: &ConnectorState) -> Option<ConnectorType> {
        c.config
            .get("connector.class")
            .and_then(|cl| connectors::find(cl))
            .map(|p| p.kind())
    }

    async fn sink_partitions(&self, c: &ConnectorState) -> HResult<Vec<(String, i32)>> {
        let kafka = self.kafka()?;
        let settings = ConnectorSettings::parse(&c.config, &self.worker.shared.config)
            .map_err(|e| HerderError::bad_request(e.message))?;
        let mut topics = settings.topics.clone();
        if let Some(re) = &settings.topics_regex {
            let md = kafka
                .client
                .metadata(None)
                .await
                .map_err(|e| HerderError::internal(e.to_string()))?;
            topics.extend(md.topics.keys().filter(|t| re.matches(t)).cloned());
        }
        let mut out = Vec::new();
        for t in topics {
            kafka.forget_topic(&t);
            if let Ok(Some(n)) = kafka.partition_count(&t).await {
                for p in 0..n {
                    out.push((t.clone(), p));
                }
            }
        }
        Ok(out)
    }

    fn kafka(&self) -> HResult<super::kafka::KafkaIo> {
        self.worker
            .shared
            .kafka
            .clone()
            .ok_or_else(|| HerderError::internal("no Kafka connection"))
    }

    pub async fn offsets(&self, name: &str) -> HResult<Json> {
        let c = self.get(name).await?;
        let mut out = Vec::new();
        match Self::kind_of(&c) {
            Some(ConnectorType::Sink) => {
                let parts = self.sink_partitions(&c).await?;
                if !parts.is_empty() {
                    let kafka = self.kafka()?;
                    let committed = kafka
                        .client
                        .fetch_offsets(&sink_group(name), &parts)
                        .await
                        .map_err(|e| HerderError::internal(e.to_string()))?;
                    for co in committed.into_iter().filter(|c| c.offset >= 0) {
                        out.push(json!({
                            "partition": {"kafka_topic": co.topic, "kafka_partition": co.partition},
                            "offset": {"kafka_offset": co.offset},
                        }));
                    }
                }
            }
            _ => {
                if let Backend::Distributed(d) = &self.backend {
                    d.catch_up_offsets().await.map_err(HerderError::internal)?;
                }
                for (p, o) in self.worker.shared.offsets.snapshot(name) {
                    out.push(json!({"partition": p, "offset": o}));
                }
            }
        }
        Ok(json!({ "offsets": out }))
    }

    fn stopped_or_400(name: &str, c: &ConnectorState) -> HResult<()> {
        if c.target != TargetState::Stopped {
            return Err(HerderError::bad_request(format!(
                "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
            )));
        }
        Ok(())
    }

    fn offsets_message(c: &ConnectorState, verb: &str) -> String {
        let managed = c
            .config
            .get("connector.class")
            .and_then(|cl| connectors::find(cl))
            .is_some_and(|p| p.class().contains(".file."));
        if managed {
            format!("The offsets for this connector have been {verb} successfully")
        } else {
            format!("The Connect framework-managed offsets for this connector have been {verb} successfully. However, if this connector manages offsets externally, they will need to be manually {verb} in the system that the connector uses.")
        }
    }

    pub async fn alter_offsets(&self, name: &str, body: &Json) -> HResult<String> {
        let c = self.get(name).await?;
        Self::stopped_or_400(name, &c)?;
        let entries = body
            .get("offsets")
            .and_then(|o| o.as_array())
            .filter(|o| !o.is_empty())
            .ok_or_else(|| {
                HerderError::bad_request(
                    "Partitions / offsets need to be provided for an alter offsets request",
                )
            })?;
        match Self::kind_of(&c) {
            Some(ConnectorType::Sink) => {
                let kafka = self.kafka()?;
                let mut commits = Vec::new();
                let mut deletes = Vec::new();
                for e in entries {
                    let p = &e["partition"];
                    let topic = p.get("kafka_topic").and_then(|t| t.as_str()).ok_or_else(|| {
                        HerderError::bad_request("Partitions for sink connectors must contain the key 'kafka_topic' with a string value")
                    })?;
                    let part = p.get("kafka_partition").and_then(|t| t.as_i64()).ok_or_else(|| {
                        HerderError::bad_request("Partitions for sink connectors must contain the key 'kafka_partition' with an integer value")
                    })?;
                    match e.get("offset") {
                        None | Some(Json::Null) => deletes.push((topic.to_string(), part as i32)),
                        Some(o) => {
                            let off = o.get("kafka_offset").and_then(|v| v.as_i64()).ok_or_else(|| {
                                HerderError::bad_request("Offsets for sink connectors must contain the key 'kafka_offset' with an integer value")
                            })?;
                            if off < 0 {
                                return Err(HerderError::bad_request(
                                    "Offset values for sink connectors must be non-negative",
                                ));
                            }
                            commits.push(tributary_client::CommittedOffset {
                                topic: topic.to_string(),
                                partition: part as i32,
                                offset: off,
                                metadata: None,
                            });
                        }
                    }
                }
                if !commits.is_empty() {
                    kafka
                        .client
                        .commit_offsets(&sink_group(name), None, &commits)
                        .await
                        .map_err(|e| HerderError::internal(e.to_string()))?;
                }
                if !deletes.is_empty() {
                    super::group_admin::delete_offsets(&kafka, &sink_group(name), &deletes)
                        .await
                        .map_err(HerderError::internal)?;
                }
            }
            _ => {
                let mut writes = Vec::new();
                for e in entries {
                    let p = e.get("partition").cloned().unwrap_or(Json::Null);
                    if !p.is_object() {
                        return Err(HerderError::bad_request(
                            "Source partitions must be JSON objects",
                        ));
                    }
                    let o = e.get("offset").cloned().filter(|o| !o.is_null());
                    if let Some(o) = &o {
                        if !o.is_object() {
                            return Err(HerderError::bad_request(
                                "Source offsets must be JSON objects or null",
                            ));
                        }
                    }
                    writes.push((p, o));
                }
                self.put_source_offsets(name, writes).await?;
            }
        }
        Ok(Self::offsets_message(&c, "altered"))
    }

    async fn put_source_offsets(
        &self,
        name: &str,
        writes: Vec<(Json, Option<Json>)>,
    ) -> HResult<()> {
        self.worker
            .shared
            .offsets
            .put(name, writes)
            .await
            .map_err(HerderError::internal)
    }

    pub async fn reset_offsets(&self, name: &str) -> HResult<String> {
        let c = self.get(name).await?;
        Self::stopped_or_400(name, &c)?;
        match Self::kind_of(&c) {
            Some(ConnectorType::Sink) => {
                let kafka = self.kafka()?;
                super::group_admin::delete_group(&kafka, &sink_group(name))
                    .await
                    .map_err(HerderError::internal)?;
            }
            _ => {
                if let Backend::Distributed(d) = &self.backend {
                    d.catch_up_offsets().await.map_err(HerderError::internal)?;
                }
                let writes = self
                    .worker
                    .shared
                    .offsets
                    .snapshot(name)
                    .into_iter()
                    .map(|(p, _)| (p, None))
                    .collect();
                self.put_source_offsets(name, writes).await?;
            }
        }
        Ok(Self::offsets_message(&c, "reset"))
    }

    // --- active topics (KIP-558) ----------------------------------------------

    pub async fn active_topics(&self, name: &str) -> HResult<Json> {
        self.get(name).await?;
        let topics: Vec<String> = self
            .worker
            .shared
            .active_topics
            .lock()
            .get(name)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        Ok(json!({ name: { "topics": topics } }))
    }

    pub async fn reset_active_topics(&self, name: &str) -> HResult<()> {
        self.get(name).await?;
        self.worker.shared.active_topics.lock().remove(name);
        if let Backend::Distributed(d) = &self.backend {
            d.reset_active_topics(name).await;
        }
        Ok(())
    }

    // --- distributed forwarding -----------------------------------------------

    /// In distributed mode a non-leader forwards writes to the leader.
    async fn forward_if_needed(&self) -> Option<super::distributed::Forward> {
        match &self.backend {
            Backend::Distributed(d) => d.forward_to_leader().await,
            Backend::Standalone => None,
        }
    }

    async fn forward_to_owner_connector(&self, name: &str) -> Option<super::distributed::Forward> {
        match &self.backend {
            Backend::Distributed(d) if !self.worker.runs_connector(name) => {
                d.forward_to_connector_owner(name).await
            }
            _ => None,
        }
    }

    async fn forward_to_owner_task(
        &self,
        name: &str,
        task: usize,
    ) -> Option<super::distributed::Forward> {
        match &self.backend {
            Backend::Distributed(d) => d.forward_to_task_owner(name, task).await,
            _ => None,
        }
    }

    /// Waits until a freshly written state is visible here (distributed).
    pub async fn settle(&self) {
        tokio::time::sleep(Duration::from_millis(0)).await;
    }
}

/// What each worker should run, given the state and (in distributed mode)
/// the assignment; `None` means everything.
pub fn desired(
    st: &ClusterState,
    assigned: Option<&super::distributed::Assignment>,
) -> (Vec<DesiredConnector>, Vec<DesiredTask>) {
    let mut cs = Vec::new();
    let mut ts = Vec::new();
    for (name, c) in &st.connectors {
        if assigned.is_none_or(|a| a.connectors.contains(name)) {
            cs.push(DesiredConnector {
                name: name.clone(),
                config: c.config.clone(),
                target: c.target,
            });
        }
        for (i, t) in c.tasks.iter().enumerate() {
            if assigned.is_none_or(|a| a.tasks.contains(&(name.clone(), i))) {
                ts.push(DesiredTask {
                    connector: name.clone(),
                    index: i,
                    task_count: c.tasks.len(),
                    connector_config: c.config.clone(),
                    task_config: t.clone(),
                    target: c.target,
                });
            }
        }
    }
    (cs, ts)
}
