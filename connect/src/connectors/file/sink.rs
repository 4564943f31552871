//! FileStreamSink: appends each record's value (its `toString()`) as a line
//! to `file` (stdout when unset); `flush` fsyncs before offsets are committed.

use std::io::Write;

use crate::config::{default_null, ConfigDef, ConfigType, Importance, Props};
use crate::connectors::{BoxFuture, ConnectError, ConnectorPlugin, ConnectorType, SinkTask};
use crate::record::ConnectRecord;

pub struct FileStreamSinkConnector;

impl ConnectorPlugin for FileStreamSinkConnector {
    fn class(&self) -> &'static str {
        "org.apache.kafka.connect.file.FileStreamSinkConnector"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["FileStreamSink", "FileStreamSinkConnector"]
    }
    fn kind(&self) -> ConnectorType {
        ConnectorType::Sink
    }
    fn version(&self) -> &'static str {
        crate::KAFKA_VERSION
    }
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new().define(
            "file",
            ConfigType::String,
            default_null(),
            None,
            Importance::High,
            "Destination filename. If not specified, the standard output will be used",
        )
    }
    fn task_configs(&self, props: &Props, max_tasks: usize) -> Result<Vec<Props>, ConnectError> {
        // Every task gets the same config, as Kafka's FileStreamSinkConnector does.
        Ok((0..max_tasks.max(1)).map(|_| props.clone()).collect())
    }
    fn new_sink_task(&self) -> Option<Box<dyn SinkTask>> {
        Some(Box::new(FileStreamSinkTask::default()))
    }
}

#[derive(Default)]
pub struct FileStreamSinkTask {
    file: Option<std::fs::File>,
    path: Option<String>,
}

impl SinkTask for FileStreamSinkTask {
    fn start(&mut self, props: &Props) -> Result<(), ConnectError> {
        self.path = props
            .get("file")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        if let Some(p) = &self.path {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| {
                    ConnectError::new(format!(
                        "Couldn't find or create file '{p}' for FileStreamSinkTask: {e}"
                    ))
                })?;
            self.file = Some(f);
        }
        Ok(())
    }

    fn put(&mut self, records: Vec<ConnectRecord>) -> BoxFuture<'_, Result<(), ConnectError>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for r in &records {
                out.extend_from_slice(r.value.java_to_string().as_bytes());
                out.push(b'\n');
            }
            match &mut self.file {
                Some(f) => f
                    .write_all(&out)
                    .map_err(|e| ConnectError::retriable(format!("Couldn't write to file: {e}")))?,
                None => std::io::stdout()
                    .write_all(&out)
                    .map_err(|e| ConnectError::new(e.to_string()))?,
            }
            Ok(())
        })
    }

    fn flush(&mut self) -> BoxFuture<'_, Result<(), ConnectError>> {
        Box::pin(async move {
            if let Some(f) = &mut self.file {
                f.flush()
                    .map_err(|e| ConnectError::retriable(e.to_string()))?;
                f.sync_data()
                    .map_err(|e| ConnectError::retriable(e.to_string()))?;
            }
            Ok(())
        })
    }

    fn stop(&mut self) {
        if let Some(f) = &mut self.file {
            let _ = f.flush();
        }
        self.file = None;
    }
}
