//! Connector and task states (UNASSIGNED, RUNNING, PAUSED, STOPPED, FAILED,
//! RESTARTING) as the status API and the status topic carry them.

use std::collections::BTreeMap;

use parking_lot::Mutex;
use serde_json::{json, Value as Json};
use tokio::sync::mpsc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Unassigned,
    Running,
    Paused,
    Stopped,
    Failed,
    Restarting,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Unassigned => "UNASSIGNED",
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Stopped => "STOPPED",
            State::Failed => "FAILED",
            State::Restarting => "RESTARTING",
        }
    }
    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "UNASSIGNED" => State::Unassigned,
            "RUNNING" => State::Running,
            "PAUSED" => State::Paused,
            "STOPPED" => State::Stopped,
            "FAILED" => State::Failed,
            "RESTARTING" => State::Restarting,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    pub state: State,
    pub trace: Option<String>,
    pub worker_id: String,
    pub generation: i32,
}

impl Status {
    /// The value of a `status-connector-*` / `status-task-*` record.
    pub fn to_record(&self) -> Json {
        json!({ "state": self.state.as_str(), "trace": self.trace, "worker_id": self.worker_id, "generation": self.generation })
    }
    pub fn from_record(v: &Json) -> Option<Status> {
        Some(Status {
            state: State::parse(v.get("state")?.as_str()?)?,
            trace: v.get("trace").and_then(|t| t.as_str()).map(str::to_string),
            worker_id: v
                .get("worker_id")
                .and_then(|w| w.as_str())
                .unwrap_or_default()
                .to_string(),
            generation: v.get("generation").and_then(|g| g.as_i64()).unwrap_or(0) as i32,
        })
    }
}

/// Which status a record is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatusKey {
    Connector(String),
    Task(String, usize),
}

impl StatusKey {
    pub fn record_key(&self) -> String {
        match self {
            StatusKey::Connector(c) => format!("status-connector-{c}"),
            StatusKey::Task(c, t) => format!("status-task-{c}-{t}"),
        }
    }
    pub fn connector(&self) -> &str {
        match self {
            StatusKey::Connector(c) | StatusKey::Task(c, _) => c,
        }
    }
}

/// Where status changes go to be written to the status topic.
pub type StatusSender = mpsc::UnboundedSender<(StatusKey, Option<Status>)>;

/// The latest known status of every connector and task; updates made here
/// are also sent to `publish` (the status topic writer in distributed mode).
#[derive(Default)]
pub struct StatusStore {
    entries: Mutex<BTreeMap<StatusKey, Status>>,
    publish: Mutex<Option<StatusSender>>,
}

impl StatusStore {
    pub fn set_publisher(&self, tx: StatusSender) {
        *self.publish.lock() = Some(tx);
    }

    /// A status this worker observed (published when there is a publisher).
    pub fn put(&self, key: StatusKey, status: Status) {
        self.entries.lock().insert(key.clone(), status.clone());
        if let Some(tx) = &*self.publish.lock() {
            let _ = tx.send((key, Some(status)));
        }
    }

    /// A status read back from the status topic (not re-published).
    pub fn apply_remote(&self, key: StatusKey, status: Option<Status>) {
        let mut e = self.entries.lock();
        match status {
            Some(s) => {
                // A status from an older generation must not overwrite a newer one.
                if let Some(cur) = e.get(&key) {
                    if cur.generation > s.generation && cur.worker_id != s.worker_id {
                        return;
                    }
                }
                e.insert(key, s);
            }
            None => {
                e.remove(&key);
            }
        }
    }

    pub fn remove_connector(&self, name: &str) {
        let keys: Vec<StatusKey> = self
            .entries
            .lock()
            .keys()
            .filter(|k| k.connector() == name)
            .cloned()
            .collect();
        for k in keys {
            self.entries.lock().remove(&k);
            if let Some(tx) = &*self.publish.lock() {
                let _ = tx.send((k, None));
            }
        }
    }

    pub fn remove_task(&self, name: &str, task: usize) {
        let k = StatusKey::Task(name.to_string(), task);
        self.entries.lock().remove(&k);
        if let Some(tx) = &*self.publish.lock() {
            let _ = tx.send((k, None));
        }
    }

    pub fn get(&self, key: &StatusKey) -> Option<Status> {
        self.entries.lock().get(key).cloned()
    }
}
