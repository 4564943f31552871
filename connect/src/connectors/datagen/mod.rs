//! `io.confluent.kafka.connect.datagen.DatagenConnector`: generates records
//! from a quickstart (ratings, orders, users, pageviews, clickstream,
//! stock_trades, inventory, product, purchases, ...) or from `schema.string`
//! (an Avro schema with `arg.properties`), with Datagen's config keys,
//! offsets and headers. `random.seed` makes the data repeatable; the seed of
//! the next record is kept in the source offset, so a restart continues the
//! same sequence.

mod generator;
pub mod quickstarts;

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::config::{
    default_int, default_long, default_null, default_str, ConfigDef, ConfigType, Importance, Props,
};
use crate::connectors::{
    BoxFuture, ConnectError, ConnectorPlugin, ConnectorType, OffsetReader, SourceTask,
};
use crate::data::{Schema, SchemaAndValue, Type, Value};
use crate::record::{ConnectRecord, Headers, RecordKind};

pub use generator::{parse_schema, Node};

pub struct DatagenConnector;

const SCHEMA_SOURCES: [&str; 3] = ["quickstart", "schema.string", "schema.filename"];

impl ConnectorPlugin for DatagenConnector {
    fn class(&self) -> &'static str {
        "io.confluent.kafka.connect.datagen.DatagenConnector"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["DatagenConnector", "Datagen"]
    }
    fn kind(&self) -> ConnectorType {
        ConnectorType::Source
    }
    fn version(&self) -> &'static str {
        "0.6.7"
    }
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define("kafka.topic", ConfigType::String, crate::config::no_default(), None, Importance::High, "Topic to write to")
            .define("max.interval", ConfigType::Long, default_long(500), None, Importance::High, "Max interval between messages (ms)")
            .define("iterations", ConfigType::Int, default_int(-1), None, Importance::High,
                "Number of messages to send from each task, or less than 1 for unlimited")
            .define("schema.string", ConfigType::String, default_str(""), None, Importance::High, "The literal JSON-encoded Avro schema to use")
            .define("schema.filename", ConfigType::String, default_str(""), None, Importance::High, "Filename of schema to use")
            .define("schema.keyfield", ConfigType::String, default_str(""), None, Importance::High, "Name of field to use as the message key")
            .define("quickstart", ConfigType::String, default_str(""), None, Importance::High, "Name of quickstart to use")
            .define("random.seed", ConfigType::Long, default_null(), None, Importance::Low,
                "Numeric seed for generating random data. Two connectors started with the same seed will deterministically produce the same data. Each task will generate different data than the other tasks in the same connector.")
    }
    fn validate(&self, props: &Props) -> Vec<(String, String)> {
        let set: Vec<&str> = SCHEMA_SOURCES
            .iter()
            .copied()
            .filter(|k| props.get(*k).is_some_and(|v| !v.trim().is_empty()))
            .collect();
        let msg = format!("Must set exactly one of {}", SCHEMA_SOURCES.join(", "));
        if set.len() != 1 {
            let keys: Vec<&str> = if set.is_empty() {
                SCHEMA_SOURCES.to_vec()
            } else {
                set
            };
            return keys
                .into_iter()
                .map(|k| (k.to_string(), msg.clone()))
                .collect();
        }
        match resolve_schema(props) {
            Err(e) => vec![(set[0].to_string(), e)],
            Ok((node, key_field)) => {
                if !key_field.is_empty() {
                    if let Node::Record { fields, .. } = &node {
                        if !fields.iter().any(|(n, _, _)| *n == key_field) {
                            return vec![(
                                "schema.keyfield".into(),
                                "The schema does not contain the field provided in 'schema.keyfield'".into(),
                            )];
                        }
                    }
                }
                vec![]
            }
        }
    }
    fn task_configs(&self, props: &Props, max_tasks: usize) -> Result<Vec<Props>, ConnectError> {
        Ok((0..max_tasks.max(1))
            .map(|i| {
                let mut p = props.clone();
                p.insert("task.id".into(), i.to_string());
                p
            })
            .collect())
    }
    fn new_source_task(&self) -> Option<Box<dyn SourceTask>> {
        Some(Box::new(DatagenTask::default()))
    }
}

/// The Avro schema and key field a config asks for.
fn resolve_schema(props: &Props) -> Result<(Node, String), String> {
    let get = |k: &str| {
        props
            .get(k)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let (text, default_key) =
        if !get("quickstart").is_empty() {
            let q =
                quickstarts::find(&get("quickstart")).ok_or_else(|| {
                    format!(
                "Invalid value {} for configuration quickstart: Quickstart must be one of: {}",
                get("quickstart"),
                quickstarts::QUICKSTARTS.iter().map(|q| q.name).collect::<Vec<_>>().join(", ")
            )
                })?;
            (q.schema.to_string(), q.key_field.to_string())
        } else if !get("schema.string").is_empty() {
            (get("schema.string"), String::new())
        } else {
            let f = get("schema.filename");
            (
                std::fs::read_to_string(&f)
                    .map_err(|e| format!("Unable to read schema file {f}: {e}"))?,
                String::new(),
            )
        };
    let node = parse_schema(&text)?;
    let key = if get("schema.keyfield").is_empty() {
        default_key
    } else {
        get("schema.keyfield")
    };
    Ok((node, key))
}

#[derive(Default)]
pub struct DatagenTask {
    topic: String,
    max_interval: u64,
    max_records: i64,
    key_field: String,
    task_id: i64,
    generation: i64,
    count: i64,
    rng: Option<StdRng>,
    node: Option<Node>,
    schema: Option<Schema>,
}

impl SourceTask for DatagenTask {
    fn start(&mut self, props: &Props, offsets: &dyn OffsetReader) -> Result<(), ConnectError> {
        let parsed = DatagenConnector
            .config_def()
            .parse(props)
            .map_err(|e| ConnectError::new(e.message))?;
        self.topic = parsed.string("kafka.topic").unwrap_or_default();
        self.max_interval = parsed.long("max.interval").unwrap_or(500).max(0) as u64;
        self.max_records = parsed.int("iterations").unwrap_or(-1) as i64;
        self.task_id = props
            .get("task.id")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let (node, key_field) = resolve_schema(props).map_err(ConnectError::new)?;
        self.key_field = key_field;
        let mut rng = match parsed.long("random.seed") {
            Some(seed) => {
                let mut r = StdRng::seed_from_u64(seed as u64);
                // Each task advances the seed so tasks produce different data.
                for _ in 0..self.task_id {
                    r = StdRng::seed_from_u64(r.random());
                }
                r
            }
            None => StdRng::from_os_rng(),
        };
        let partition = json!({ "task.id": self.task_id });
        if let Some(off) = offsets.offset(&partition) {
            self.generation = off
                .get("task.generation")
                .and_then(|v| v.as_i64())
                .unwrap_or(0);
            self.count = off
                .get("current.iteration")
                .and_then(|v| v.as_i64())
                .unwrap_or(0);
            if let Some(seed) = off.get("random.seed").and_then(|v| v.as_i64()) {
                rng = StdRng::seed_from_u64(seed as u64);
            }
        }
        self.schema = Some(
            node.connect_schema()
                .map_err(|e| ConnectError::new(e.message))?,
        );
        self.node = Some(node);
        self.rng = Some(rng);
        Ok(())
    }

    fn poll(&mut self) -> BoxFuture<'_, Result<Vec<ConnectRecord>, ConnectError>> {
        Box::pin(async move {
            if self.max_interval > 0 {
                let wait = rand::rng().random_range(0..self.max_interval.max(1));
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            let (Some(node), Some(schema), Some(rng)) = (&self.node, &self.schema, &mut self.rng)
            else {
                return Err(ConnectError::new("DatagenTask polled before start"));
            };
            let value = node.generate(rng, self.count, schema)?;
            let key = if self.key_field.is_empty() {
                SchemaAndValue::new(Some(Schema::optional_of(Type::String)), Value::Null)
            } else {
                let ks = schema.field(&self.key_field).map(|f| f.schema.clone());
                let kv = match &value {
                    Value::Struct(s) => s.get(&self.key_field).unwrap_or(Value::Null),
                    _ => Value::Null,
                };
                SchemaAndValue::new(ks, kv)
            };
            if self.max_records > 0 && self.count >= self.max_records {
                return Err(ConnectError::new(format!(
                    "Stopping connector: generated the configured {} number of messages",
                    self.count
                )));
            }
            // Re-seed so the next record's state fits in the source offset.
            let seed: i64 = rng.random();
            *rng = StdRng::seed_from_u64(seed as u64);
            let offset = json!({
                "task.generation": self.generation + 1,
                "current.iteration": self.count + 1,
                "random.seed": seed,
            });
            let mut headers = Headers::default();
            let long = |v: i64| SchemaAndValue::new(Some(Schema::of(Type::Int64)), Value::Int64(v));
            headers.add("task.generation", long(self.generation));
            headers.add("task.id", long(self.task_id));
            headers.add("current.iteration", long(self.count));
            let record = ConnectRecord {
                topic: self.topic.clone(),
                kafka_partition: None,
                key_schema: key.schema,
                key: key.value,
                value_schema: Some(schema.clone()),
                value,
                timestamp: None,
                headers,
                kind: RecordKind::Source {
                    source_partition: json!({ "task.id": self.task_id }),
                    source_offset: offset,
                },
            };
            self.count += 1;
            Ok(vec![record])
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

    fn props(q: &str) -> Props {
        let mut p = Props::new();
        p.insert("kafka.topic".into(), "ratings".into());
        p.insert("quickstart".into(), q.into());
        p.insert("max.interval".into(), "0".into());
        p.insert("random.seed".into(), "42".into());
        p.insert("task.id".into(), "0".into());
        p
    }

    #[tokio::test]
    async fn ratings_are_shaped_like_the_seed_example() {
        let mut t = DatagenTask::default();
        t.start(&props("ratings"), &NoOffsets).unwrap();
        let r = t.poll().await.unwrap().remove(0);
        let Value::Struct(s) = &r.value else {
            panic!("not a struct")
        };
        let names: Vec<_> = s.schema().fields().iter().map(|f| f.name.clone()).collect();
        assert_eq!(
            names,
            [
                "rating_id",
                "user_id",
                "stars",
                "route_id",
                "rating_time",
                "channel",
                "message"
            ]
        );
        assert_eq!(s.schema().name(), Some("ksql.ratings"));
        assert_eq!(r.key, Value::Int64(1));
        let Value::Int32(stars) = s.get("stars").unwrap() else {
            panic!()
        };
        assert!((1..5).contains(&stars));
    }

    #[tokio::test]
    async fn every_quickstart_generates_and_seed_repeats() {
        for q in quickstarts::QUICKSTARTS {
            let mut a = DatagenTask::default();
            let mut b = DatagenTask::default();
            a.start(&props(q.name), &NoOffsets).unwrap();
            b.start(&props(q.name), &NoOffsets).unwrap();
            for _ in 0..5 {
                let x = a.poll().await.unwrap().remove(0);
                let y = b.poll().await.unwrap().remove(0);
                assert_eq!(x.value, y.value, "{}", q.name);
            }
        }
        assert!(!DatagenConnector.validate(&props("nope")).is_empty());
        let mut both = props("ratings");
        both.insert("schema.string".into(), "{}".into());
        assert_eq!(DatagenConnector.validate(&both).len(), 2);
    }
}
