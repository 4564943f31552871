//! `org.apache.kafka.connect.file.FileStreamSourceConnector` and
//! `FileStreamSinkConnector`: lines of a file to a topic and back, with
//! Kafka's config keys, offsets (`{"filename": f}` → `{"position": bytes}`)
//! and single-task behaviour.

mod sink;
mod source;

pub use sink::{FileStreamSinkConnector, FileStreamSinkTask};
pub use source::{now_ms, FileStreamSourceConnector, FileStreamSourceTask};
