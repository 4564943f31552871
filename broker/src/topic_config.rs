//! Topic-level configs: names, types, and the broker key each one defaults to.
//!
//! A topic's effective value is its own override if set, else the broker's value
//! for the synonym key, else Kafka's default. DescribeConfigs reports which of
//! those it was (DYNAMIC_TOPIC_CONFIG, STATIC_BROKER_CONFIG or DEFAULT_CONFIG).

use std::collections::BTreeMap;

use crate::config::{BrokerConfig, ConfigType, Source};

pub struct TopicConfigKey {
    pub name: &'static str,
    /// The broker key whose value is this config's default, if any.
    pub synonym: Option<&'static str>,
    /// Kafka's default when there is no broker synonym (or it is unset).
    pub default: Option<&'static str>,
    pub kind: ConfigType,
}

const fn t(
    name: &'static str,
    synonym: Option<&'static str>,
    default: Option<&'static str>,
    kind: ConfigType,
) -> TopicConfigKey {
    TopicConfigKey { name, synonym, default, kind }
}

use ConfigType::*;

pub static TOPIC_CONFIGS: &[TopicConfigKey] = &[
    t("cleanup.policy", Some("log.cleanup.policy"), Some("delete"), List),
    t("compression.type", Some("compression.type"), Some("producer"), Str),
    t("delete.retention.ms", Some("log.cleaner.delete.retention.ms"), Some("86400000"), Long),
    t("file.delete.delay.ms", Some("log.segment.delete.delay.ms"), Some("60000"), Long),
    t("flush.messages", Some("log.flush.interval.messages"), Some("9223372036854775807"), Long),
    t("flush.ms", Some("log.flush.interval.ms"), Some("9223372036854775807"), Long),
    t("index.interval.bytes", Some("log.index.interval.bytes"), Some("4096"), Int),
    t("local.retention.bytes", None, Some("-2"), Long),
    t("local.retention.ms", None, Some("-2"), Long),
    t("max.compaction.lag.ms", None, Some("9223372036854775807"), Long),
    t("max.message.bytes", Some("message.max.bytes"), Some("1048588"), Int),
    t("message.timestamp.after.max.ms", Some("log.message.timestamp.after.max.ms"), Some("3600000"), Long),
    t("message.timestamp.before.max.ms", Some("log.message.timestamp.before.max.ms"), Some("9223372036854775807"), Long),
    t("message.timestamp.type", Some("log.message.timestamp.type"), Some("CreateTime"), Str),
    t("min.cleanable.dirty.ratio", Some("log.cleaner.min.cleanable.ratio"), Some("0.5"), Double),
    t("min.compaction.lag.ms", None, Some("0"), Long),
    t("min.insync.replicas", Some("min.insync.replicas"), Some("1"), Int),
    t("preallocate", Some("log.preallocate"), Some("false"), Boolean),
    t("remote.storage.enable", None, Some("false"), Boolean),
    t("retention.bytes", Some("log.retention.bytes"), Some("-1"), Long),
    t("retention.ms", None, Some("604800000"), Long),
    t("segment.bytes", Some("log.segment.bytes"), Some("1073741824"), Int),
    t("segment.index.bytes", Some("log.index.size.max.bytes"), Some("10485760"), Int),
    t("segment.jitter.ms", None, Some("0"), Long),
    t("segment.ms", None, Some("604800000"), Long),
    t("unclean.leader.election.enable", Some("unclean.leader.election.enable"), Some("false"), Boolean),
];

pub fn lookup(name: &str) -> Option<&'static TopicConfigKey> {
    TOPIC_CONFIGS.iter().find(|c| c.name == name)
}

/// Validates a topic config override; the error text becomes the
/// INVALID_CONFIG error message.
pub fn validate(name: &str, value: &str) -> Result<(), String> {
    let key = lookup(name).ok_or_else(|| format!("Unknown topic config name: {name}"))?;
    key.kind.validate(value).map_err(|e| format!("{e} (config {name})"))?;
    match name {
        "cleanup.policy" => {
            for p in value.split(',').map(str::trim) {
                if p != "delete" && p != "compact" {
                    return Err(format!("Invalid value {value} for configuration cleanup.policy: String must be one of: compact, delete"));
                }
            }
        }
        "message.timestamp.type" if value != "CreateTime" && value != "LogAppendTime" => {
            return Err(format!("Invalid value {value} for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime"));
        }
        "compression.type"
            if !["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"].contains(&value) =>
        {
            return Err(format!("Invalid value {value} for configuration compression.type"));
        }
        "segment.bytes" if value.parse::<i64>().unwrap_or(0) < 14 => {
            return Err(format!("Invalid value {value} for configuration segment.bytes: Value must be at least 14"));
        }
        "min.insync.replicas" if value.parse::<i64>().unwrap_or(0) < 1 => {
            return Err(format!("Invalid value {value} for configuration min.insync.replicas: Value must be at least 1"));
        }
        _ => {}
    }
    Ok(())
}

/// Where a topic config's effective value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicSource {
    Topic,
    Broker,
    Default,
}

impl TopicSource {
    /// DescribeConfigs `config_source` id.
    pub fn wire_id(self) -> i8 {
        match self {
            TopicSource::Topic => 1,
            TopicSource::Broker => 4,
            TopicSource::Default => 5,
        }
    }
}

/// The effective value of `key` for a topic with `overrides`.
pub fn effective(
    key: &TopicConfigKey,
    overrides: &BTreeMap<String, String>,
    broker: &BrokerConfig,
) -> (Option<String>, TopicSource) {
    if let Some(v) = overrides.get(key.name) {
        return (Some(v.clone()), TopicSource::Topic);
    }
    // retention.ms and segment.ms have composite broker keys (ms/minutes/hours).
    match key.name {
        "retention.ms" => {
            let src = ["log.retention.ms", "log.retention.minutes", "log.retention.hours"]
                .iter()
                .any(|k| broker.source(k) == Source::Static);
            return (Some(broker.retention_ms().to_string()), if src { TopicSource::Broker } else { TopicSource::Default });
        }
        "segment.ms" => {
            let src = ["log.roll.ms", "log.roll.hours"].iter().any(|k| broker.source(k) == Source::Static);
            return (Some(broker.roll_ms().to_string()), if src { TopicSource::Broker } else { TopicSource::Default });
        }
        _ => {}
    }
    if let Some(syn) = key.synonym {
        if broker.source(syn) == Source::Static {
            return (broker.get(syn), TopicSource::Broker);
        }
    }
    (key.default.map(str::to_string), TopicSource::Default)
}

/// Typed view of the configs the log uses, resolved once per change.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    pub segment_bytes: u64,
    pub segment_ms: i64,
    pub retention_ms: i64,
    pub retention_bytes: i64,
    pub max_message_bytes: usize,
    pub index_interval_bytes: u64,
    pub log_append_time: bool,
    pub flush_messages: i64,
    pub compact: bool,
    /// CreateTime batches may be at most this far behind / ahead of broker time.
    pub timestamp_before_max_ms: i64,
    pub timestamp_after_max_ms: i64,
    /// How long tombstones survive compaction.
    pub delete_retention_ms: i64,
    /// acks=all needs this many in-sync replicas.
    pub min_insync_replicas: usize,
}

impl LogConfig {
    pub fn resolve(overrides: &BTreeMap<String, String>, broker: &BrokerConfig) -> LogConfig {
        let get = |name: &str| -> String {
            lookup(name)
                .and_then(|k| effective(k, overrides, broker).0)
                .unwrap_or_default()
        };
        let num = |name: &str, dflt: i64| get(name).trim().parse::<i64>().unwrap_or(dflt);
        LogConfig {
            segment_bytes: num("segment.bytes", 1 << 30).max(14) as u64,
            segment_ms: num("segment.ms", 604_800_000),
            retention_ms: num("retention.ms", 604_800_000),
            retention_bytes: num("retention.bytes", -1),
            max_message_bytes: num("max.message.bytes", 1_048_588).max(0) as usize,
            index_interval_bytes: num("index.interval.bytes", 4096).max(1) as u64,
            log_append_time: get("message.timestamp.type") == "LogAppendTime",
            flush_messages: num("flush.messages", i64::MAX),
            compact: get("cleanup.policy").contains("compact"),
            timestamp_before_max_ms: num("message.timestamp.before.max.ms", i64::MAX),
            timestamp_after_max_ms: num("message.timestamp.after.max.ms", 3_600_000),
            delete_retention_ms: num("delete.retention.ms", 86_400_000),
            min_insync_replicas: num("min.insync.replicas", 1).max(1) as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_value_feeds_topic_default() {
        let broker = BrokerConfig::from_props(
            [("log.retention.hours".to_string(), "1".to_string()), ("message.max.bytes".into(), "2000".into())]
                .into_iter()
                .collect(),
        )
        .unwrap();
        let none = BTreeMap::new();
        let lc = LogConfig::resolve(&none, &broker);
        assert_eq!(lc.retention_ms, 3_600_000);
        assert_eq!(lc.max_message_bytes, 2000);
        let (v, src) = effective(lookup("retention.ms").unwrap(), &none, &broker);
        assert_eq!((v.as_deref(), src), (Some("3600000"), TopicSource::Broker));
        let (v, src) = effective(lookup("cleanup.policy").unwrap(), &none, &broker);
        assert_eq!((v.as_deref(), src), (Some("delete"), TopicSource::Default));
        let topic: BTreeMap<_, _> = [("retention.ms".to_string(), "5".to_string())].into_iter().collect();
        assert_eq!(effective(lookup("retention.ms").unwrap(), &topic, &broker).1, TopicSource::Topic);
    }

    #[test]
    fn validation_rejects_unknown_and_bad_values() {
        assert!(validate("retention.ms", "100").is_ok());
        assert!(validate("retention.ms", "soon").is_err());
        assert!(validate("no.such.config", "1").is_err());
        assert!(validate("cleanup.policy", "compact,delete").is_ok());
        assert!(validate("cleanup.policy", "forever").is_err());
    }
}
