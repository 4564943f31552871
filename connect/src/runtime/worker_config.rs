//! Worker properties with Kafka Connect's names (`bootstrap.servers`,
//! `listeners`, `group.id`, the three storage topics, converters,
//! `offset.storage.file.filename`, ...), read from a Java `.properties` file
//! plus `--override key=value`.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{with_prefix, ConfigError, Props};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Standalone,
    Distributed,
}

#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub mode: Mode,
    pub props: Props,
    pub bootstrap_servers: String,
    /// Host and port the REST server binds.
    pub rest_host: String,
    pub rest_port: u16,
    /// `host:port` other workers and the status API know this worker by.
    pub worker_id: String,
    /// Base URL other workers forward requests to.
    pub advertised_url: String,
    pub group_id: String,
    pub config_topic: String,
    pub offset_topic: String,
    pub status_topic: String,
    pub config_rf: i16,
    pub offset_rf: i16,
    pub status_rf: i16,
    pub offset_partitions: i32,
    pub status_partitions: i32,
    pub offset_file: Option<PathBuf>,
    pub offset_flush_interval: Duration,
    pub override_policy: String,
    pub task_shutdown_timeout: Duration,
    pub scheduled_rebalance_max_delay: Duration,
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub rebalance_timeout: Duration,
}

/// Parses Java `.properties` text: `key=value`, `key: value` or `key value`,
/// `#`/`!` comments, backslash line continuations and escapes.
pub fn parse_properties(text: &str) -> Props {
    let mut out = Props::new();
    let mut logical = String::new();
    let mut lines = text.lines().peekable();
    while let Some(raw) = lines.next() {
        let line = raw.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        // An odd number of trailing backslashes continues the line.
        let trailing = line.chars().rev().take_while(|c| *c == '\\').count();
        if trailing % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            if lines.peek().is_some() {
                continue;
            }
        } else {
            logical.push_str(line);
        }
        let entry = std::mem::take(&mut logical);
        let chars: Vec<char> = entry.chars().collect();
        let mut i = 0;
        let mut key = String::new();
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' && i + 1 < chars.len() {
                key.push(unescape(chars[i + 1]));
                i += 2;
                continue;
            }
            if c == '=' || c == ':' || c.is_whitespace() {
                break;
            }
            key.push(c);
            i += 1;
        }
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i < chars.len() && (chars[i] == '=' || chars[i] == ':') {
            i += 1;
        }
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        while i < chars.len() {
            if chars[i] == '\\' && i + 1 < chars.len() {
                if chars[i + 1] == 'u' && i + 5 < chars.len() {
                    let hex: String = chars[i + 2..i + 6].iter().collect();
                    if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        value.push(c);
                        i += 6;
                        continue;
                    }
                }
                value.push(unescape(chars[i + 1]));
                i += 2;
                continue;
            }
            value.push(chars[i]);
            i += 1;
        }
        out.insert(key, value);
    }
    out
}

fn unescape(c: char) -> char {
    match c {
        't' => '\t',
        'n' => '\n',
        'r' => '\r',
        'f' => '\u{c}',
        other => other,
    }
}

/// A connector config file given on the command line: `.json` in the REST
/// shape (`{"name":..,"config":{..}}` or a bare config map), else properties.
pub fn read_connector_file(path: &str) -> Result<Props, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    if path.ends_with(".json") || text.trim_start().starts_with('{') {
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{path}: invalid JSON: {e}"))?;
        let (name, cfg) = match v.get("config") {
            Some(c) => (
                v.get("name").and_then(|n| n.as_str()).map(str::to_string),
                c.clone(),
            ),
            None => (None, v.clone()),
        };
        let mut props = json_to_props(&cfg).map_err(|e| format!("{path}: {e}"))?;
        if let Some(n) = name {
            props.entry("name".into()).or_insert(n);
        }
        return Ok(props);
    }
    Ok(parse_properties(&text))
}

/// A JSON object of config values as strings (numbers and booleans are
/// accepted and stringified, as Jackson does for `Map<String,String>`).
pub fn json_to_props(v: &serde_json::Value) -> Result<Props, String> {
    let serde_json::Value::Object(m) = v else {
        return Err("the connector config must be a JSON object".into());
    };
    let mut props = Props::new();
    for (k, v) in m {
        let s = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Null => continue,
            other => {
                return Err(format!(
                    "config value for '{k}' must be a string, not {other}"
                ))
            }
        };
        props.insert(k.clone(), s);
    }
    Ok(props)
}

fn ms(props: &Props, key: &str, default: u64) -> Result<Duration, ConfigError> {
    match props.get(key) {
        None => Ok(Duration::from_millis(default)),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| {
                ConfigError::for_key(
                    key,
                    crate::config::invalid(v, key, "Not a number of type LONG"),
                )
            }),
    }
}

fn num<T: std::str::FromStr>(props: &Props, key: &str, default: T) -> Result<T, ConfigError> {
    match props.get(key) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<T>()
            .map_err(|_| ConfigError::for_key(key, crate::config::invalid(v, key, "Not a number"))),
    }
}

impl WorkerConfig {
    pub fn parse(mode: Mode, props: Props) -> Result<WorkerConfig, ConfigError> {
        let get = |k: &str| props.get(k).map(|v| v.trim().to_string());
        let bootstrap_servers = get("bootstrap.servers").unwrap_or_else(|| "localhost:9092".into());
        let listener = get("listeners")
            .and_then(|l| l.split(',').next().map(|s| s.trim().to_string()))
            .or_else(|| {
                // Pre-listeners names, still accepted by Kafka.
                let host = get("rest.host.name").unwrap_or_else(|| "0.0.0.0".into());
                get("rest.port").map(|p| format!("http://{host}:{p}"))
            })
            .unwrap_or_else(|| "http://0.0.0.0:8083".into());
        let without_scheme = listener.split_once("://").map(|(s, rest)| {
            if s.eq_ignore_ascii_case("https") {
                Err(ConfigError::for_key(
                    "listeners",
                    "https listeners are not supported by tributary-connect",
                ))
            } else {
                Ok(rest.to_string())
            }
        });
        let hostport = match without_scheme {
            Some(r) => r?,
            None => listener.clone(),
        };
        let hostport = hostport.trim_end_matches('/').to_string();
        let (host, port) = hostport.rsplit_once(':').ok_or_else(|| {
            ConfigError::for_key("listeners", format!("Invalid listener: {listener}"))
        })?;
        let port: u16 = port.parse().map_err(|_| {
            ConfigError::for_key("listeners", format!("Invalid listener port: {listener}"))
        })?;
        let host = if host.is_empty() {
            "0.0.0.0".to_string()
        } else {
            host.to_string()
        };
        let adv_host = get("rest.advertised.host.name").unwrap_or_else(|| {
            if host == "0.0.0.0" || host == "::" {
                "127.0.0.1".into()
            } else {
                host.clone()
            }
        });
        let adv_port: u16 = num(&props, "rest.advertised.port", port)?;
        let mode_needs = |k: &str| -> Result<String, ConfigError> {
            get(k).ok_or_else(|| {
                ConfigError::for_key(
                    k,
                    format!("Missing required configuration \"{k}\" which has no default value."),
                )
            })
        };
        let (group_id, config_topic, offset_topic, status_topic) = match mode {
            Mode::Distributed => (
                mode_needs("group.id")?,
                mode_needs("config.storage.topic")?,
                mode_needs("offset.storage.topic")?,
                mode_needs("status.storage.topic")?,
            ),
            Mode::Standalone => (String::new(), String::new(), String::new(), String::new()),
        };
        let offset_file = match mode {
            Mode::Standalone => Some(PathBuf::from(mode_needs("offset.storage.file.filename")?)),
            Mode::Distributed => None,
        };
        let policy = get("connector.client.config.override.policy").unwrap_or_else(|| "All".into());
        if !["All", "None", "Principal"].contains(&policy.as_str()) && !policy.contains('.') {
            return Err(ConfigError::for_key(
                "connector.client.config.override.policy",
                format!("Invalid value {policy} for configuration connector.client.config.override.policy"),
            ));
        }
        Ok(WorkerConfig {
            mode,
            bootstrap_servers,
            rest_host: host,
            rest_port: port,
            worker_id: format!("{adv_host}:{adv_port}"),
            advertised_url: format!("http://{adv_host}:{adv_port}"),
            group_id,
            config_topic,
            offset_topic,
            status_topic,
            config_rf: num(&props, "config.storage.replication.factor", 3)?,
            offset_rf: num(&props, "offset.storage.replication.factor", 3)?,
            status_rf: num(&props, "status.storage.replication.factor", 3)?,
            offset_partitions: num(&props, "offset.storage.partitions", 25)?,
            status_partitions: num(&props, "status.storage.partitions", 5)?,
            offset_file,
            offset_flush_interval: ms(&props, "offset.flush.interval.ms", 60_000)?,
            override_policy: policy,
            task_shutdown_timeout: ms(&props, "task.shutdown.graceful.timeout.ms", 5_000)?,
            scheduled_rebalance_max_delay: ms(&props, "scheduled.rebalance.max.delay.ms", 300_000)?,
            session_timeout: ms(&props, "session.timeout.ms", 10_000)?,
            heartbeat_interval: ms(&props, "heartbeat.interval.ms", 3_000)?,
            rebalance_timeout: ms(&props, "rebalance.timeout.ms", 60_000)?,
            props,
        })
    }

    /// The worker-level converter class and its settings for `key`/`value`/`header`.
    pub fn converter(&self, which: &str) -> (String, Props) {
        let default = match which {
            "header" => "org.apache.kafka.connect.storage.SimpleHeaderConverter",
            _ => "org.apache.kafka.connect.json.JsonConverter",
        };
        let key = format!("{which}.converter");
        let class = self
            .props
            .get(&key)
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| default.to_string());
        (class, with_prefix(&self.props, &format!("{key}.")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_format() {
        let p = parse_properties("# c\nbootstrap.servers=localhost:9092\nkey.converter : x\nlong = a\\\n   b\nesc=tab\\tend\n! other\nplain value here\n");
        assert_eq!(p["bootstrap.servers"], "localhost:9092");
        assert_eq!(p["key.converter"], "x");
        assert_eq!(p["long"], "ab");
        assert_eq!(p["esc"], "tab\tend");
        assert_eq!(p["plain"], "value here");
    }

    #[test]
    fn defaults_and_listeners() {
        let mut p = Props::new();
        p.insert("offset.storage.file.filename".into(), "/tmp/x".into());
        p.insert("listeners".into(), "http://127.0.0.1:18083".into());
        let c = WorkerConfig::parse(Mode::Standalone, p).unwrap();
        assert_eq!(c.rest_port, 18083);
        assert_eq!(c.worker_id, "127.0.0.1:18083");
        assert!(WorkerConfig::parse(Mode::Distributed, Props::new()).is_err());
    }
}
