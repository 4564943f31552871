//! Built-in connectors and the plugin traits they implement. A connector is a
//! `ConnectorPlugin` (config definition, validation, task configs) plus the
//! task type it creates. Database/CDC/object-store connectors slot in the same
//! way: implement `ConnectorPlugin` and `SourceTask` or `SinkTask`, add the
//! plugin to `plugins()`.

pub mod datagen;
pub mod file;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::config::{ConfigDef, Props};
use crate::record::ConnectRecord;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Connect's `ConnectException` (and friends): a connector or task failure.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectError {
    /// The Java exception class this stands for (in traces and DLQ headers).
    pub class: &'static str,
    pub message: String,
    /// Retriable failures are retried under `errors.retry.timeout`.
    pub retriable: bool,
}

impl ConnectError {
    pub fn new(message: impl Into<String>) -> Self {
        ConnectError {
            class: "org.apache.kafka.connect.errors.ConnectException",
            message: message.into(),
            retriable: false,
        }
    }
    pub fn retriable(message: impl Into<String>) -> Self {
        ConnectError {
            class: "org.apache.kafka.connect.errors.RetriableException",
            message: message.into(),
            retriable: true,
        }
    }
    pub fn data(message: impl Into<String>) -> Self {
        ConnectError {
            class: "org.apache.kafka.connect.errors.DataException",
            message: message.into(),
            retriable: false,
        }
    }
    /// A stack-trace-like text for the status API.
    pub fn trace(&self) -> String {
        format!("{}: {}\n\tat tributary-connect\n", self.class, self.message)
    }
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.class, self.message)
    }
}

impl std::error::Error for ConnectError {}

impl From<crate::data::DataError> for ConnectError {
    fn from(e: crate::data::DataError) -> Self {
        ConnectError::data(e.message)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectorType {
    Source,
    Sink,
}

impl ConnectorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorType::Source => "source",
            ConnectorType::Sink => "sink",
        }
    }
}

/// Offsets a source task resumes from: `partition map → offset map`.
pub trait OffsetReader: Send + Sync {
    fn offset(&self, partition: &Json) -> Option<Json>;
}

pub trait SourceTask: Send {
    /// Called once with the task config before the first poll.
    fn start(&mut self, props: &Props, offsets: &dyn OffsetReader) -> Result<(), ConnectError>;
    /// Returns the next records (possibly none). May wait, but must be
    /// cancel-safe: the runtime drops the future to stop the task.
    fn poll(&mut self) -> BoxFuture<'_, Result<Vec<ConnectRecord>, ConnectError>>;
    fn stop(&mut self) {}
}

pub trait SinkTask: Send {
    fn start(&mut self, props: &Props) -> Result<(), ConnectError>;
    fn put(&mut self, records: Vec<ConnectRecord>) -> BoxFuture<'_, Result<(), ConnectError>>;
    /// Makes everything put so far durable (before offsets are committed).
    fn flush(&mut self) -> BoxFuture<'_, Result<(), ConnectError>>;
    fn stop(&mut self) {}
}

pub trait ConnectorPlugin: Send + Sync {
    /// The full class name, e.g. `org.apache.kafka.connect.file.FileStreamSourceConnector`.
    fn class(&self) -> &'static str;
    /// Short names users may write instead (`FileStreamSource`, ...).
    fn aliases(&self) -> &'static [&'static str];
    fn kind(&self) -> ConnectorType;
    fn version(&self) -> &'static str;
    fn config_def(&self) -> ConfigDef;
    /// Extra cross-key validation beyond the ConfigDef: `(key, message)` pairs.
    fn validate(&self, _props: &Props) -> Vec<(String, String)> {
        Vec::new()
    }
    /// Splits the connector config into at most `max_tasks` task configs.
    fn task_configs(&self, props: &Props, max_tasks: usize) -> Result<Vec<Props>, ConnectError>;
    fn new_source_task(&self) -> Option<Box<dyn SourceTask>> {
        None
    }
    fn new_sink_task(&self) -> Option<Box<dyn SinkTask>> {
        None
    }
}

/// Every connector this worker ships.
pub fn plugins() -> Vec<Arc<dyn ConnectorPlugin>> {
    vec![
        Arc::new(file::FileStreamSourceConnector),
        Arc::new(file::FileStreamSinkConnector),
        Arc::new(datagen::DatagenConnector),
    ]
}

/// Finds a connector by class name, simple name or alias
/// (`FileStreamSource`, `FileStreamSourceConnector`, the full class name).
pub fn find(class: &str) -> Option<Arc<dyn ConnectorPlugin>> {
    let c = class.trim();
    plugins().into_iter().find(|p| {
        p.class() == c || p.class().rsplit('.').next() == Some(c) || p.aliases().contains(&c)
    })
}
