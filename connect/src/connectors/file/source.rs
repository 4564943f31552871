//! FileStreamSource: reads new lines from `file` (or stdin when unset) into
//! `topic`, `batch.size` lines per poll, remembering the byte position after
//! the last line it produced. A partial last line waits until its newline arrives.

use std::io::{Read, Seek, SeekFrom};
use std::time::Duration;

use serde_json::json;

use crate::config::{
    default_int, default_null, no_default, ConfigDef, ConfigType, Importance, Props, Validator,
};
use crate::connectors::{
    BoxFuture, ConnectError, ConnectorPlugin, ConnectorType, OffsetReader, SourceTask,
};
use crate::data::{Schema, Type, Value};
use crate::record::{ConnectRecord, Headers, RecordKind};

pub struct FileStreamSourceConnector;

impl ConnectorPlugin for FileStreamSourceConnector {
    fn class(&self) -> &'static str {
        "org.apache.kafka.connect.file.FileStreamSourceConnector"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["FileStreamSource", "FileStreamSourceConnector"]
    }
    fn kind(&self) -> ConnectorType {
        ConnectorType::Source
    }
    fn version(&self) -> &'static str {
        crate::KAFKA_VERSION
    }
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define("file", ConfigType::String, default_null(), None, Importance::High,
                "Source filename. If not specified, the standard input will be used")
            .define("topic", ConfigType::List, no_default(), Some(Validator::Custom(single_topic)), Importance::High,
                "The topic to publish data to")
            .define("batch.size", ConfigType::Int, default_int(2000), None, Importance::Low,
                "The maximum number of records the source task can read from the file each time it is polled")
    }
    fn task_configs(&self, props: &Props, _max_tasks: usize) -> Result<Vec<Props>, ConnectError> {
        // One task only: a file has one reader.
        let mut p = Props::new();
        for k in ["file", "topic", "batch.size"] {
            if let Some(v) = props.get(k) {
                p.insert(k.to_string(), v.clone());
            }
        }
        Ok(vec![p])
    }
    fn new_source_task(&self) -> Option<Box<dyn SourceTask>> {
        Some(Box::new(FileStreamSourceTask::default()))
    }
}

fn single_topic(name: &str, v: &crate::config::ConfigValue) -> Result<(), String> {
    match v {
        crate::config::ConfigValue::List(l) if l.len() == 1 => Ok(()),
        crate::config::ConfigValue::List(l) => Err(crate::config::invalid(
            &l.join(","),
            name,
            "'topic' in FileStreamSourceConfig must be a single topic name",
        )),
        _ => Ok(()),
    }
}

#[derive(Default)]
pub struct FileStreamSourceTask {
    filename: Option<String>,
    topic: String,
    batch_size: usize,
    position: u64,
    pending: Vec<u8>,
    started: bool,
}

impl FileStreamSourceTask {
    fn partition(&self) -> serde_json::Value {
        json!({ "filename": self.filename.clone().unwrap_or_default() })
    }

    fn read_lines(&mut self) -> Result<Vec<ConnectRecord>, ConnectError> {
        let Some(path) = self.filename.clone() else {
            return Err(ConnectError::new(
                "Reading from standard input is not supported by tributary-connect; set 'file'",
            ));
        };
        let mut f = match std::fs::File::open(&path) {
            Ok(f) => f,
            // Kafka waits for the file to appear.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(ConnectError::new(format!("Couldn't read file {path}: {e}"))),
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let read_from = self.position + self.pending.len() as u64;
        if len < read_from {
            // Truncated: Kafka's task keeps its position; nothing new to read.
            return Ok(vec![]);
        }
        f.seek(SeekFrom::Start(read_from))
            .map_err(|e| ConnectError::new(format!("Couldn't seek in {path}: {e}")))?;
        let mut buf = Vec::new();
        // Bound one read so a huge file is consumed in slices.
        (&mut f)
            .take(8 * 1024 * 1024)
            .read_to_end(&mut buf)
            .map_err(|e| ConnectError::new(format!("Couldn't read {path}: {e}")))?;
        self.pending.extend_from_slice(&buf);
        let mut records = Vec::new();
        let mut consumed = 0usize;
        while records.len() < self.batch_size {
            let Some(nl) = self.pending[consumed..].iter().position(|b| *b == b'\n') else {
                break;
            };
            let mut line = &self.pending[consumed..consumed + nl];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            let text = String::from_utf8_lossy(line).into_owned();
            consumed += nl + 1;
            let position = self.position + consumed as u64;
            records.push(ConnectRecord {
                topic: self.topic.clone(),
                kafka_partition: None,
                key_schema: None,
                key: Value::Null,
                value_schema: Some(Schema::of(Type::String)),
                value: Value::String(text),
                timestamp: Some(now_ms()),
                headers: Headers::default(),
                kind: RecordKind::Source {
                    source_partition: self.partition(),
                    source_offset: json!({ "position": position }),
                },
            });
        }
        self.position += consumed as u64;
        self.pending.drain(..consumed);
        Ok(records)
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl SourceTask for FileStreamSourceTask {
    fn start(&mut self, props: &Props, offsets: &dyn OffsetReader) -> Result<(), ConnectError> {
        self.filename = props
            .get("file")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        self.topic = props
            .get("topic")
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        self.batch_size = props
            .get("batch.size")
            .and_then(|b| b.trim().parse().ok())
            .unwrap_or(2000)
            .max(1);
        if let Some(off) = offsets.offset(&self.partition()) {
            match off.get("position").and_then(|p| p.as_i64()) {
                Some(p) if p >= 0 => self.position = p as u64,
                Some(_) | None => {
                    return Err(ConnectError::new("Offset position is the incorrect type"));
                }
            }
        }
        self.started = true;
        Ok(())
    }

    fn poll(&mut self) -> BoxFuture<'_, Result<Vec<ConnectRecord>, ConnectError>> {
        Box::pin(async move {
            let records = self.read_lines()?;
            if records.is_empty() {
                // Kafka's task waits a second when the file has nothing new.
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Ok(records)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoOffsets;
    impl OffsetReader for NoOffsets {
        fn offset(&self, _p: &serde_json::Value) -> Option<serde_json::Value> {
            None
        }
    }
    struct At(u64);
    impl OffsetReader for At {
        fn offset(&self, _p: &serde_json::Value) -> Option<serde_json::Value> {
            Some(json!({"position": self.0}))
        }
    }

    #[tokio::test]
    async fn reads_whole_lines_and_resumes_from_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, "one\ntwo\nthr").unwrap();
        let mut props = Props::new();
        props.insert("file".into(), path.display().to_string());
        props.insert("topic".into(), "t".into());
        let mut task = FileStreamSourceTask::default();
        task.start(&props, &NoOffsets).unwrap();
        let recs = task.poll().await.unwrap();
        let lines: Vec<_> = recs.iter().map(|r| r.value.clone()).collect();
        assert_eq!(lines, vec![Value::str("one"), Value::str("two")]);
        let RecordKind::Source { source_offset, .. } = &recs[1].kind else {
            panic!()
        };
        assert_eq!(source_offset, &json!({"position": 8}));
        std::fs::write(&path, "one\ntwo\nthree\n").unwrap();
        let recs = task.poll().await.unwrap();
        assert_eq!(recs[0].value, Value::str("three"));

        let mut resumed = FileStreamSourceTask::default();
        resumed.start(&props, &At(4)).unwrap();
        let recs = resumed.poll().await.unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].value, Value::str("two"));
    }
}
