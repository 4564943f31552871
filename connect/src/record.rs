//! Connect records as transforms see them (`ConnectRecord` with its source or
//! sink specifics) and Connect headers.

use crate::data::{Schema, SchemaAndValue, Value};

#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub key: String,
    pub schema: Option<Schema>,
    pub value: Value,
}

/// Ordered headers; duplicates allowed, like `ConnectHeaders`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Headers(pub Vec<Header>);

impl Headers {
    pub fn add(&mut self, key: &str, value: SchemaAndValue) {
        self.0.push(Header {
            key: key.to_string(),
            schema: value.schema,
            value: value.value,
        });
    }
    pub fn contains(&self, key: &str) -> bool {
        self.0.iter().any(|h| h.key == key)
    }
    pub fn last_with_name(&self, key: &str) -> Option<&Header> {
        self.0.iter().rev().find(|h| h.key == key)
    }
    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.0.iter()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What kind of record: a source record carries the connector's partition and
/// offset maps; a sink record carries its Kafka offset.
#[derive(Clone, Debug, PartialEq)]
pub enum RecordKind {
    Source {
        source_partition: serde_json::Value,
        source_offset: serde_json::Value,
    },
    Sink {
        kafka_offset: i64,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConnectRecord {
    pub topic: String,
    pub kafka_partition: Option<i32>,
    pub key_schema: Option<Schema>,
    pub key: Value,
    pub value_schema: Option<Schema>,
    pub value: Value,
    pub timestamp: Option<i64>,
    pub headers: Headers,
    pub kind: RecordKind,
}

impl ConnectRecord {
    pub fn new_source(topic: &str, value_schema: Option<Schema>, value: Value) -> Self {
        ConnectRecord {
            topic: topic.to_string(),
            kafka_partition: None,
            key_schema: None,
            key: Value::Null,
            value_schema,
            value,
            timestamp: None,
            headers: Headers::default(),
            kind: RecordKind::Source {
                source_partition: serde_json::Value::Null,
                source_offset: serde_json::Value::Null,
            },
        }
    }

    pub fn kafka_offset(&self) -> Option<i64> {
        match self.kind {
            RecordKind::Sink { kafka_offset } => Some(kafka_offset),
            RecordKind::Source { .. } => None,
        }
    }
}
