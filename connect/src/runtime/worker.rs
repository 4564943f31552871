//! The worker: runs the connectors and tasks it is given and nothing else.
//! `reconcile` starts, reconfigures, pauses, resumes and stops tasks so that
//! the running set matches the desired one; standalone mode desires every
//! connector, distributed mode desires what the group leader assigned.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Props;
use crate::connectors::ConnectError;

use super::connector_config::ConnectorSettings;
use super::kafka::KafkaIo;
use super::offsets::OffsetStore;
use super::status::{State, Status, StatusKey, StatusStore};
use super::task::{run_task, Control, TaskSpec};
use super::worker_config::WorkerConfig;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetState {
    Started,
    Paused,
    Stopped,
}

impl TargetState {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Started => "STARTED",
            TargetState::Paused => "PAUSED",
            TargetState::Stopped => "STOPPED",
        }
    }
    pub fn parse(s: &str) -> Option<TargetState> {
        match s.trim().to_ascii_uppercase().as_str() {
            "STARTED" | "RUNNING" => Some(TargetState::Started),
            "PAUSED" => Some(TargetState::Paused),
            "STOPPED" => Some(TargetState::Stopped),
            _ => None,
        }
    }
}

/// Called with `(connector, topic)` the first time a connector uses a topic.
pub type ActiveTopicHook = Box<dyn Fn(&str, &str) + Send + Sync>;

/// What the worker shares with its tasks.
pub struct WorkerShared {
    pub config: WorkerConfig,
    pub kafka: Option<KafkaIo>,
    pub offsets: Arc<dyn OffsetStore>,
    pub status: Arc<StatusStore>,
    generation: AtomicI32,
    /// connector → topics its tasks have produced to or consumed from (KIP-558).
    pub active_topics: Mutex<BTreeMap<String, BTreeSet<String>>>,
    /// Called when a new active topic is seen (distributed mode writes it to the status topic).
    pub on_active_topic: Mutex<Option<ActiveTopicHook>>,
}

impl WorkerShared {
    pub fn new(
        config: WorkerConfig,
        kafka: Option<KafkaIo>,
        offsets: Arc<dyn OffsetStore>,
        status: Arc<StatusStore>,
    ) -> Self {
        WorkerShared {
            config,
            kafka,
            offsets,
            status,
            generation: AtomicI32::new(0),
            active_topics: Mutex::new(BTreeMap::new()),
            on_active_topic: Mutex::new(None),
        }
    }
    pub fn generation(&self) -> i32 {
        self.generation.load(Ordering::Relaxed)
    }
    pub fn set_generation(&self, g: i32) {
        self.generation.store(g, Ordering::Relaxed);
    }
    pub fn record_active_topic(&self, connector: &str, topic: &str) {
        let new = self
            .active_topics
            .lock()
            .entry(connector.to_string())
            .or_default()
            .insert(topic.to_string());
        if new {
            if let Some(f) = &*self.on_active_topic.lock() {
                f(connector, topic);
            }
        }
    }
    pub fn status_of(&self, state: State, trace: Option<String>) -> Status {
        Status {
            state,
            trace,
            worker_id: self.config.worker_id.clone(),
            generation: self.generation(),
        }
    }
}

/// One task this worker should run.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredTask {
    pub connector: String,
    pub index: usize,
    pub task_count: usize,
    pub connector_config: Props,
    pub task_config: Props,
    pub target: TargetState,
}

/// One connector this worker should run.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredConnector {
    pub name: String,
    pub config: Props,
    pub target: TargetState,
}

struct RunningTask {
    control: watch::Sender<Control>,
    handle: JoinHandle<()>,
    spec: (Props, Props, usize),
}

pub struct Worker {
    pub shared: Arc<WorkerShared>,
    tasks: tokio::sync::Mutex<HashMap<(String, usize), RunningTask>>,
    connectors: Mutex<HashMap<String, TargetState>>,
}

fn control_for(target: TargetState) -> Control {
    match target {
        TargetState::Started => Control::Run,
        TargetState::Paused => Control::Pause,
        TargetState::Stopped => Control::Stop,
    }
}

impl Worker {
    pub fn new(shared: Arc<WorkerShared>) -> Arc<Worker> {
        Arc::new(Worker {
            shared,
            tasks: tokio::sync::Mutex::new(HashMap::new()),
            connectors: Mutex::new(HashMap::new()),
        })
    }

    /// Makes the running connectors and tasks match the desired ones.
    pub async fn reconcile(&self, connectors: &[DesiredConnector], tasks: &[DesiredTask]) {
        // Connectors: ours are configuration only, so "running" one is its status.
        {
            let mut running = self.connectors.lock();
            running.retain(|name, _| connectors.iter().any(|c| &c.name == name));
        }
        for c in connectors {
            let prev = self.connectors.lock().insert(c.name.clone(), c.target);
            if prev != Some(c.target) {
                let status = match ConnectorSettings::parse(&c.config, &self.shared.config) {
                    Err(e) => self
                        .shared
                        .status_of(State::Failed, Some(ConnectError::new(e.message).trace())),
                    Ok(_) => self.shared.status_of(
                        match c.target {
                            TargetState::Started => State::Running,
                            TargetState::Paused => State::Paused,
                            TargetState::Stopped => State::Stopped,
                        },
                        None,
                    ),
                };
                self.shared
                    .status
                    .put(StatusKey::Connector(c.name.clone()), status);
            }
        }
        let mut running = self.tasks.lock().await;
        // Stop tasks that are gone, stopped or reconfigured.
        let mut to_stop = Vec::new();
        for (id, rt) in running.iter() {
            let keep = tasks
                .iter()
                .find(|t| t.connector == id.0 && t.index == id.1)
                .filter(|t| {
                    t.target != TargetState::Stopped
                        && rt.spec
                            == (
                                t.connector_config.clone(),
                                t.task_config.clone(),
                                t.task_count,
                            )
                });
            if keep.is_none() {
                to_stop.push(id.clone());
            }
        }
        for id in to_stop {
            if let Some(rt) = running.remove(&id) {
                self.stop_one(id.clone(), rt).await;
                let still_desired = tasks.iter().any(|t| {
                    t.connector == id.0 && t.index == id.1 && t.target != TargetState::Stopped
                });
                if !still_desired {
                    self.shared.status.remove_task(&id.0, id.1);
                }
            }
        }
        // Start new ones; update the target of the others.
        for t in tasks {
            if t.target == TargetState::Stopped {
                continue;
            }
            let id = (t.connector.clone(), t.index);
            match running.get(&id) {
                Some(rt) => {
                    let _ = rt.control.send_if_modified(|c| {
                        let want = control_for(t.target);
                        if *c != want {
                            *c = want;
                            true
                        } else {
                            false
                        }
                    });
                }
                None => {
                    let rt = self.spawn(t);
                    running.insert(id, rt);
                }
            }
        }
    }

    fn spawn(&self, t: &DesiredTask) -> RunningTask {
        let (tx, rx) = watch::channel(control_for(t.target));
        let spec = TaskSpec {
            connector: t.connector.clone(),
            index: t.index,
            task_count: t.task_count,
            connector_config: t.connector_config.clone(),
            task_config: t.task_config.clone(),
        };
        tracing::info!(connector = %t.connector, task = t.index, "starting task");
        let handle = tokio::spawn(run_task(self.shared.clone(), spec, rx));
        RunningTask {
            control: tx,
            handle,
            spec: (
                t.connector_config.clone(),
                t.task_config.clone(),
                t.task_count,
            ),
        }
    }

    async fn stop_one(&self, id: (String, usize), rt: RunningTask) {
        tracing::info!(connector = %id.0, task = id.1, "stopping task");
        let _ = rt.control.send(Control::Stop);
        let abort = rt.handle.abort_handle();
        if tokio::time::timeout(self.shared.config.task_shutdown_timeout, rt.handle)
            .await
            .is_err()
        {
            tracing::error!(connector = %id.0, task = id.1, "task did not stop within task.shutdown.graceful.timeout.ms; cancelling it");
            abort.abort();
        }
    }

    /// Stops and starts one task (keeping its config).
    pub async fn restart_task(&self, connector: &str, index: usize) -> bool {
        let mut running = self.tasks.lock().await;
        let id = (connector.to_string(), index);
        let Some(rt) = running.remove(&id) else {
            return false;
        };
        let (cc, tc, count) = rt.spec.clone();
        let target = match *rt.control.borrow() {
            Control::Pause => TargetState::Paused,
            _ => TargetState::Started,
        };
        self.shared.status.put(
            StatusKey::Task(id.0.clone(), id.1),
            self.shared.status_of(State::Restarting, None),
        );
        self.stop_one(id.clone(), rt).await;
        let t = DesiredTask {
            connector: id.0.clone(),
            index,
            task_count: count,
            connector_config: cc,
            task_config: tc,
            target,
        };
        let rt = self.spawn(&t);
        running.insert(id, rt);
        true
    }

    /// Re-reports a connector's status (a connector "restart").
    pub fn restart_connector(&self, name: &str, config: &Props) -> bool {
        let target = self.connectors.lock().get(name).copied();
        let Some(target) = target else { return false };
        self.shared.status.put(
            StatusKey::Connector(name.to_string()),
            self.shared.status_of(State::Restarting, None),
        );
        let status = match ConnectorSettings::parse(config, &self.shared.config) {
            Err(e) => self
                .shared
                .status_of(State::Failed, Some(ConnectError::new(e.message).trace())),
            Ok(_) => self.shared.status_of(
                match target {
                    TargetState::Started => State::Running,
                    TargetState::Paused => State::Paused,
                    TargetState::Stopped => State::Stopped,
                },
                None,
            ),
        };
        self.shared
            .status
            .put(StatusKey::Connector(name.to_string()), status);
        true
    }

    pub fn runs_connector(&self, name: &str) -> bool {
        self.connectors.lock().contains_key(name)
    }

    pub async fn runs_task(&self, connector: &str, index: usize) -> bool {
        self.tasks
            .lock()
            .await
            .contains_key(&(connector.to_string(), index))
    }

    pub async fn running_tasks(&self) -> Vec<(String, usize)> {
        self.tasks.lock().await.keys().cloned().collect()
    }

    /// Stops everything (shutdown): tasks flush their offsets first.
    pub async fn stop_all(&self) {
        let mut running = self.tasks.lock().await;
        let all: Vec<_> = running.drain().collect();
        for (_, rt) in &all {
            let _ = rt.control.send(Control::Stop);
        }
        for (id, rt) in all {
            let abort = rt.handle.abort_handle();
            if tokio::time::timeout(
                self.shared.config.task_shutdown_timeout + Duration::from_secs(1),
                rt.handle,
            )
            .await
            .is_err()
            {
                tracing::error!(connector = %id.0, task = id.1, "task did not stop in time; cancelling it");
                abort.abort();
            }
        }
        self.connectors.lock().clear();
    }
}
