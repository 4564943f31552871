//! Broker configuration: Apache Kafka's `server.properties` names and defaults.
//!
//! Every key the broker understands is declared once in [`BROKER_CONFIGS`] with its
//! Kafka default and type; that table drives parsing, validation (a bad value is a
//! startup error naming the key) and DescribeConfigs for the broker resource.
//! Topic-level configs live in [`crate::topic_config`] and take their defaults from
//! the broker keys listed here (`log.retention.ms` -> `retention.ms`, ...).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// Value type of a config key, used to validate values and to report the type in
/// DescribeConfigs (v3+ `config_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean,
    Str,
    Int,
    Short,
    Long,
    Double,
    List,
    Class,
    Password,
}

impl ConfigType {
    /// The numeric type id DescribeConfigs returns (`ConfigEntry.ConfigType`).
    pub fn wire_id(self) -> i8 {
        match self {
            ConfigType::Boolean => 1,
            ConfigType::Str => 2,
            ConfigType::Int => 3,
            ConfigType::Short => 4,
            ConfigType::Long => 5,
            ConfigType::Double => 6,
            ConfigType::List => 7,
            ConfigType::Class => 8,
            ConfigType::Password => 9,
        }
    }

    /// Checks that `value` parses as this type; the error names the problem.
    pub fn validate(self, value: &str) -> Result<(), String> {
        let v = value.trim();
        let ok = match self {
            ConfigType::Boolean => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
            ConfigType::Int => v.parse::<i32>().is_ok(),
            ConfigType::Short => v.parse::<i16>().is_ok(),
            ConfigType::Long => v.parse::<i64>().is_ok(),
            ConfigType::Double => v.parse::<f64>().is_ok(),
            _ => true,
        };
        if ok {
            Ok(())
        } else {
            Err(format!("Invalid value {value} for configuration: expected a {self:?}"))
        }
    }
}

/// One broker key: name, Kafka default (`None` = null) and type.
pub struct ConfigKey {
    pub name: &'static str,
    pub default: Option<&'static str>,
    pub kind: ConfigType,
}

const fn key(name: &'static str, default: Option<&'static str>, kind: ConfigType) -> ConfigKey {
    ConfigKey { name, default, kind }
}

use ConfigType::*;

/// The broker keys we read, with Apache Kafka's defaults. `listeners` and
/// `log.dirs` differ on purpose: with no file at all the broker serves
/// `localhost:9092` and keeps data under `./data`, as the README promises.
pub static BROKER_CONFIGS: &[ConfigKey] = &[
    key("node.id", Some("1"), Int),
    key("broker.id", None, Int),
    key("process.roles", Some("broker,controller"), List),
    key("listeners", Some("PLAINTEXT://localhost:9092"), List),
    key("advertised.listeners", None, List),
    key("listener.security.protocol.map", Some("PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT"), List),
    key("inter.broker.listener.name", None, Str),
    key("controller.listener.names", None, List),
    key("controller.quorum.voters", Some(""), List),
    key("controller.quorum.bootstrap.servers", Some(""), List),
    key("broker.session.timeout.ms", Some("9000"), Int),
    key("broker.heartbeat.interval.ms", Some("2000"), Int),
    key("replica.fetch.max.bytes", Some("1048576"), Int),
    key("replica.fetch.response.max.bytes", Some("10485760"), Int),
    key("replica.fetch.wait.max.ms", Some("500"), Int),
    key("auto.leader.rebalance.enable", Some("true"), Boolean),
    key("leader.imbalance.check.interval.seconds", Some("300"), Long),
    key("controlled.shutdown.enable", Some("true"), Boolean),
    key("broker.rack", None, Str),
    key("log.dirs", None, List),
    key("log.dir", Some("./data"), Str),
    key("num.partitions", Some("1"), Int),
    key("default.replication.factor", Some("1"), Int),
    key("min.insync.replicas", Some("1"), Int),
    key("auto.create.topics.enable", Some("true"), Boolean),
    key("delete.topic.enable", Some("true"), Boolean),
    key("log.retention.hours", Some("168"), Int),
    key("log.retention.minutes", None, Int),
    key("log.retention.ms", None, Long),
    key("log.retention.bytes", Some("-1"), Long),
    key("log.retention.check.interval.ms", Some("300000"), Long),
    key("log.segment.bytes", Some("1073741824"), Int),
    key("log.roll.hours", Some("168"), Int),
    key("log.roll.ms", None, Long),
    key("log.index.interval.bytes", Some("4096"), Int),
    key("log.index.size.max.bytes", Some("10485760"), Int),
    key("log.segment.delete.delay.ms", Some("60000"), Long),
    key("log.flush.interval.messages", Some("9223372036854775807"), Long),
    key("log.flush.interval.ms", None, Long),
    key("log.flush.scheduler.interval.ms", Some("9223372036854775807"), Long),
    key("log.cleanup.policy", Some("delete"), List),
    key("log.cleaner.enable", Some("true"), Boolean),
    key("log.cleaner.delete.retention.ms", Some("86400000"), Long),
    key("log.cleaner.min.cleanable.ratio", Some("0.5"), Double),
    key("log.message.timestamp.type", Some("CreateTime"), Str),
    key("log.message.timestamp.before.max.ms", Some("9223372036854775807"), Long),
    key("log.message.timestamp.after.max.ms", Some("3600000"), Long),
    key("log.preallocate", Some("false"), Boolean),
    key("compression.type", Some("producer"), Str),
    key("message.max.bytes", Some("1048588"), Int),
    key("socket.request.max.bytes", Some("104857600"), Int),
    key("socket.send.buffer.bytes", Some("102400"), Int),
    key("socket.receive.buffer.bytes", Some("102400"), Int),
    key("num.network.threads", Some("3"), Int),
    key("num.io.threads", Some("8"), Int),
    key("num.recovery.threads.per.data.dir", Some("2"), Int),
    key("max.connections", Some("2147483647"), Int),
    key("connections.max.idle.ms", Some("600000"), Long),
    key("unclean.leader.election.enable", Some("false"), Boolean),
    key("replica.lag.time.max.ms", Some("30000"), Long),
    key("offsets.topic.num.partitions", Some("50"), Int),
    key("offsets.topic.replication.factor", Some("3"), Short),
    key("offsets.retention.minutes", Some("10080"), Int),
    key("transaction.state.log.num.partitions", Some("50"), Int),
    key("transaction.state.log.replication.factor", Some("3"), Short),
    key("transaction.state.log.min.isr", Some("2"), Int),
    key("transactional.id.expiration.ms", Some("604800000"), Int),
    key("transaction.max.timeout.ms", Some("900000"), Int),
    key("producer.id.expiration.ms", Some("86400000"), Int),
    key("group.initial.rebalance.delay.ms", Some("3000"), Int),
    key("group.min.session.timeout.ms", Some("6000"), Int),
    key("group.max.session.timeout.ms", Some("1800000"), Int),
    key("fetch.max.bytes", Some("57671680"), Int),
    key("max.incremental.fetch.session.cache.slots", Some("1000"), Int),
    key("queued.max.requests", Some("500"), Int),
];

/// Keys Kafka knows that have no effect here yet; accepted silently rather than
/// warned about, so a stock server.properties starts without noise.
const ACCEPTED_WITHOUT_EFFECT_PREFIXES: &[&str] = &[
    "zookeeper.",
    "ssl.",
    "sasl.",
    "metric.",
    "metrics.",
    "kafka.metrics.",
    "controller.",
    "group.",
    "transaction.",
    "share.",
    "remote.log.",
    "log.local.",
    "quota.",
    "replica.",
    "num.replica.",
    "authorizer.",
    "super.users",
    "allow.everyone.if.no.acl.found",
    "auto.leader.rebalance.enable",
    "leader.imbalance.",
    "security.",
    "cluster.id",
];

/// A problem with a config key, reported at startup with the key's name.
#[derive(Debug, thiserror::Error)]
#[error("invalid value for configuration '{key}': {reason}")]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}

/// Where a property came from, for DescribeConfigs' `config_source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Set in server.properties or with `--override` (STATIC_BROKER_CONFIG).
    Static,
    /// Kafka's default (DEFAULT_CONFIG).
    Default,
}

/// A parsed listener, e.g. `PLAINTEXT://localhost:9092`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub name: String,
    pub host: String,
    pub port: u16,
}

impl Listener {
    pub fn parse(s: &str) -> Result<Listener, String> {
        let (name, rest) = s
            .split_once("://")
            .ok_or_else(|| format!("'{s}' is not of the form NAME://host:port"))?;
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("'{s}' has no port"))?;
        let port: u16 = port.parse().map_err(|_| format!("'{s}' has an invalid port"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        Ok(Listener { name: name.to_string(), host, port })
    }
}

/// The broker's configuration: every raw property plus typed accessors.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    props: BTreeMap<String, String>,
}

impl BrokerConfig {
    /// Builds the config from properties (file contents, then overrides on top),
    /// validating every known key's type. Unknown keys are logged and ignored.
    pub fn from_props(props: BTreeMap<String, String>) -> Result<BrokerConfig, ConfigError> {
        for (k, v) in &props {
            match BROKER_CONFIGS.iter().find(|c| c.name == k) {
                Some(def) => def
                    .kind
                    .validate(v)
                    .map_err(|reason| ConfigError { key: k.clone(), reason })?,
                None => {
                    if !ACCEPTED_WITHOUT_EFFECT_PREFIXES.iter().any(|p| k.starts_with(p)) {
                        tracing::warn!(key = %k, "unknown configuration key ignored");
                    }
                }
            }
        }
        let cfg = BrokerConfig { props };
        cfg.check()?;
        Ok(cfg)
    }

    /// Cross-field and range checks that a type check cannot express.
    fn check(&self) -> Result<(), ConfigError> {
        let err = |key: &str, reason: String| ConfigError { key: key.to_string(), reason };
        for key in ["listeners", "advertised.listeners"] {
            if let Some(v) = self.get(key) {
                for l in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    Listener::parse(l).map_err(|r| err(key, r))?;
                }
            }
        }
        if self.listeners().is_empty() {
            return Err(err("listeners", "at least one listener is required".into()));
        }
        if self.num_partitions() < 1 {
            return Err(err("num.partitions", "must be at least 1".into()));
        }
        if self.int("log.segment.bytes") < 14 {
            return Err(err("log.segment.bytes", "must be at least 14".into()));
        }
        if self.int("message.max.bytes") < 0 {
            return Err(err("message.max.bytes", "must be at least 0".into()));
        }
        if self.int("socket.request.max.bytes") < 1 {
            return Err(err("socket.request.max.bytes", "must be at least 1".into()));
        }
        let ts = self.get("log.message.timestamp.type").unwrap_or_default();
        if ts != "CreateTime" && ts != "LogAppendTime" {
            return Err(err("log.message.timestamp.type", format!("'{ts}' is not CreateTime or LogAppendTime")));
        }
        Ok(())
    }

    /// Reads a `server.properties` file (Java properties: `key=value` or
    /// `key: value`, `#`/`!` comments, backslash continuations).
    pub fn read_properties_file(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read properties file {}", path.display()))?;
        Ok(parse_properties(&text))
    }

    /// The value set for `key`, or its Kafka default.
    pub fn get(&self, key: &str) -> Option<String> {
        if let Some(v) = self.props.get(key) {
            return Some(v.trim().to_string());
        }
        BROKER_CONFIGS
            .iter()
            .find(|c| c.name == key)
            .and_then(|c| c.default.map(str::to_string))
    }

    pub fn source(&self, key: &str) -> Source {
        if self.props.contains_key(key) {
            Source::Static
        } else {
            Source::Default
        }
    }

    fn int(&self, key: &str) -> i64 {
        self.get(key).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
    }

    fn long_opt(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(|v| v.trim().parse().ok())
    }

    fn bool(&self, key: &str) -> bool {
        self.get(key).map(|v| v.eq_ignore_ascii_case("true")).unwrap_or(false)
    }

    pub fn node_id(&self) -> i32 {
        self.long_opt("node.id").or_else(|| self.long_opt("broker.id")).unwrap_or(1) as i32
    }

    pub fn listeners(&self) -> Vec<Listener> {
        parse_listener_list(&self.get("listeners").unwrap_or_default())
    }

    /// Names in `controller.listener.names`.
    /// Unset, the conventional name CONTROLLER is assumed.
    pub fn controller_listener_names(&self) -> Vec<String> {
        let names: Vec<String> =
            self.get("controller.listener.names").unwrap_or_default().split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        if names.is_empty() {
            vec!["CONTROLLER".to_string()]
        } else {
            names
        }
    }

    /// `listeners` without the controller listeners: what Kafka clients use.
    pub fn client_listeners(&self) -> Vec<Listener> {
        let names = self.controller_listener_names();
        self.listeners().into_iter().filter(|l| !names.contains(&l.name)).collect()
    }

    /// `advertised.listeners`, falling back to `listeners` (Kafka's rule),
    /// without controller listeners.
    pub fn advertised_listeners(&self) -> Vec<Listener> {
        let names = self.controller_listener_names();
        let all = match self.get("advertised.listeners") {
            Some(v) if !v.trim().is_empty() => parse_listener_list(&v),
            _ => self.listeners(),
        };
        all.into_iter().filter(|l| !names.contains(&l.name)).collect()
    }

    /// The first of `log.dirs`, else `log.dir`. One directory is supported.
    pub fn log_dir(&self) -> PathBuf {
        let dirs = self.get("log.dirs").or_else(|| self.get("log.dir")).unwrap_or_else(|| "./data".into());
        PathBuf::from(dirs.split(',').next().unwrap_or("./data").trim())
    }

    pub fn num_partitions(&self) -> i32 {
        self.int("num.partitions") as i32
    }

    pub fn default_replication_factor(&self) -> i16 {
        self.int("default.replication.factor") as i16
    }

    pub fn auto_create_topics(&self) -> bool {
        self.bool("auto.create.topics.enable")
    }

    /// `log.retention.ms`, else `.minutes`, else `.hours` (Kafka's precedence).
    pub fn retention_ms(&self) -> i64 {
        if let Some(ms) = self.long_opt("log.retention.ms") {
            return ms;
        }
        if let Some(m) = self.long_opt("log.retention.minutes") {
            return m * 60_000;
        }
        self.int("log.retention.hours") * 3_600_000
    }

    /// `log.roll.ms`, else `log.roll.hours`.
    pub fn roll_ms(&self) -> i64 {
        self.long_opt("log.roll.ms").unwrap_or_else(|| self.int("log.roll.hours") * 3_600_000)
    }

    pub fn socket_request_max_bytes(&self) -> usize {
        self.int("socket.request.max.bytes") as usize
    }

    pub fn retention_check_interval_ms(&self) -> u64 {
        self.int("log.retention.check.interval.ms").max(100) as u64
    }

    pub fn flush_interval_messages(&self) -> i64 {
        self.int("log.flush.interval.messages")
    }

    /// `log.flush.interval.ms`, else `log.flush.scheduler.interval.ms` (Kafka's fallback).
    pub fn flush_interval_ms(&self) -> Option<i64> {
        self.long_opt("log.flush.interval.ms")
            .or_else(|| self.long_opt("log.flush.scheduler.interval.ms"))
            .filter(|ms| *ms < i64::MAX)
    }

    pub fn broker_rack(&self) -> Option<String> {
        self.get("broker.rack").filter(|s| !s.is_empty())
    }

    /// The first advertised listener clients should use.
    pub fn advertised(&self, bound: Option<SocketAddr>) -> (String, u16) {
        let l = self.advertised_listeners().into_iter().next();
        let (mut host, mut port) = l.map(|l| (l.host, l.port)).unwrap_or(("localhost".into(), 9092));
        if port == 0 {
            if let Some(b) = bound {
                port = b.port();
            }
        }
        if host.is_empty() || host == "0.0.0.0" || host == "::" {
            host = "localhost".into();
        }
        (host, port)
    }

    /// Every broker key with its effective value and source, for DescribeConfigs.
    pub fn describe(&self) -> Vec<(&'static ConfigKey, Option<String>, Source)> {
        BROKER_CONFIGS.iter().map(|c| (c, self.get(c.name), self.source(c.name))).collect()
    }
}

fn parse_listener_list(v: &str) -> Vec<Listener> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter_map(|s| Listener::parse(s).ok())
        .collect()
}

/// Parses Java `.properties` text. Good enough for Kafka configs: comments,
/// `=`/`:`/whitespace separators, line continuations and the common escapes.
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut logical = String::new();
    for raw in text.lines() {
        let line = raw.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!')) {
            continue;
        }
        let continued = line.ends_with('\\') && !line.ends_with("\\\\");
        logical.push_str(if continued { &line[..line.len() - 1] } else { line });
        if continued {
            continue;
        }
        let entry = std::mem::take(&mut logical);
        let sep = entry.find(['=', ':']).or_else(|| entry.find(char::is_whitespace));
        let (k, v) = match sep {
            Some(i) => (&entry[..i], &entry[i + 1..]),
            None => (entry.as_str(), ""),
        };
        let unescape = |s: &str| s.replace("\\:", ":").replace("\\=", "=").replace("\\\\", "\\");
        out.insert(unescape(k.trim()), unescape(v.trim()));
    }
    out
}

/// Parses `key=value` overrides as given on the command line.
pub fn parse_override(s: &str) -> anyhow::Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => bail!("--override expects key=value, got '{s}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<BrokerConfig, ConfigError> {
        BrokerConfig::from_props(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn defaults_match_kafka_and_readme() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.listeners(), vec![Listener { name: "PLAINTEXT".into(), host: "localhost".into(), port: 9092 }]);
        assert_eq!(c.log_dir(), PathBuf::from("./data"));
        assert_eq!(c.retention_ms(), 168 * 3_600_000);
        assert_eq!(c.get("message.max.bytes").as_deref(), Some("1048588"));
        assert_eq!(c.socket_request_max_bytes(), 104857600);
        assert!(c.auto_create_topics());
    }

    #[test]
    fn retention_precedence_is_ms_then_minutes_then_hours() {
        assert_eq!(cfg(&[("log.retention.hours", "1")]).unwrap().retention_ms(), 3_600_000);
        assert_eq!(cfg(&[("log.retention.minutes", "2"), ("log.retention.hours", "1")]).unwrap().retention_ms(), 120_000);
        assert_eq!(cfg(&[("log.retention.ms", "5"), ("log.retention.minutes", "2")]).unwrap().retention_ms(), 5);
    }

    #[test]
    fn bad_value_names_the_key() {
        let e = cfg(&[("num.partitions", "many")]).unwrap_err();
        assert_eq!(e.key, "num.partitions");
        let e = cfg(&[("listeners", "localhost")]).unwrap_err();
        assert_eq!(e.key, "listeners");
        assert!(e.to_string().contains("listeners"));
    }

    #[test]
    fn properties_file_syntax() {
        let p = parse_properties("# c\n! c\nnode.id=3\nlisteners : PLAINTEXT://a:1,\\\n  CONTROLLER://a:2\nlog.dirs /x\n");
        assert_eq!(p["node.id"], "3");
        assert_eq!(p["listeners"], "PLAINTEXT://a:1,CONTROLLER://a:2");
        assert_eq!(p["log.dirs"], "/x");
        let c = BrokerConfig::from_props(p).unwrap();
        assert_eq!(c.client_listeners().len(), 1, "CONTROLLER listener is not a client listener");
        assert_eq!(c.log_dir(), PathBuf::from("/x"));
    }
}
