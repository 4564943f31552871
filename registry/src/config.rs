//! Configuration from a Java `.properties` file plus `--override key=value`
//! pairs, using Confluent Schema Registry's property names so an existing
//! `schema-registry.properties` works unchanged. Properties we do not use are
//! logged and ignored, as Confluent does for unknown keys.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::types::{CompatibilityLevel, Mode};

/// Parses Java properties text: `key=value`, `key: value` or `key value`;
/// `#`/`!` comments; a trailing backslash continues the line; `\t`, `\n`,
/// `\\`, `\=`, `\:` escapes.
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut logical = String::new();
    for raw in text.lines() {
        let line = raw.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        // An odd number of trailing backslashes continues onto the next line.
        let trailing = line.chars().rev().take_while(|c| *c == '\\').count();
        if trailing % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            continue;
        }
        logical.push_str(line);
        let (k, v) = split_key_value(&logical);
        out.insert(unescape(&k), unescape(v.trim_start()));
        logical.clear();
    }
    if !logical.is_empty() {
        let (k, v) = split_key_value(&logical);
        out.insert(unescape(&k), unescape(v.trim_start()));
    }
    out
}

fn split_key_value(line: &str) -> (String, &str) {
    let mut key = String::new();
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                key.push('\\');
                if let Some((_, n)) = chars.next() {
                    key.push(n);
                }
            }
            '=' | ':' => return (key, &line[i + 1..]),
            c if c.is_whitespace() => {
                // Whitespace ends the key; an `=` or `:` may still follow.
                let rest = line[i..].trim_start();
                let rest = rest.strip_prefix(['=', ':']).unwrap_or(rest);
                return (key, rest);
            }
            c => key.push(c),
        }
    }
    (key, "")
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out.trim_end().to_string()
}

/// One HTTP listener, from `listeners=http://0.0.0.0:8081`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

impl Listener {
    pub fn parse(s: &str) -> Result<Listener, String> {
        let s = s.trim();
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| format!("listener '{s}' has no scheme"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" {
            return Err(format!("listener '{s}': only http is supported"));
        }
        let rest = rest.trim_end_matches('/');
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("listener '{s}' has no port"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port: u16 = port
            .parse()
            .map_err(|_| format!("listener '{s}' has a bad port"))?;
        Ok(Listener {
            scheme,
            host: if host.is_empty() {
                "0.0.0.0".into()
            } else {
                host.into()
            },
            port,
        })
    }
}

#[derive(Debug, Clone)]
pub struct RegistryConfig {
    pub listener: Listener,
    pub bootstrap_servers: String,
    pub topic: String,
    pub group_id: String,
    pub leader_eligibility: bool,
    pub compatibility: CompatibilityLevel,
    pub mode: Mode,
    /// The name other instances use to reach this one (`host.name`).
    pub host_name: String,
    /// How long a write waits for the reader to see it (`kafkastore.timeout.ms`).
    pub store_timeout: Duration,
    /// How long startup waits to read the topic to its end (`kafkastore.init.timeout.ms`).
    pub init_timeout: Duration,
    /// Whether `/mode` may be changed (`mode.mutability`).
    pub mode_mutability: bool,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            listener: Listener {
                scheme: "http".into(),
                host: "0.0.0.0".into(),
                port: 8081,
            },
            bootstrap_servers: "localhost:9092".into(),
            topic: "_schemas".into(),
            group_id: "schema-registry".into(),
            leader_eligibility: true,
            compatibility: CompatibilityLevel::Backward,
            mode: Mode::ReadWrite,
            host_name: String::new(),
            store_timeout: Duration::from_secs(10),
            init_timeout: Duration::from_secs(60),
            mode_mutability: true,
        }
    }
}

/// Properties we read; anything else is reported once at startup.
const KNOWN: &[&str] = &[
    "listeners",
    "kafkastore.bootstrap.servers",
    "kafkastore.topic",
    "schema.registry.group.id",
    "leader.eligibility",
    "master.eligibility",
    "schema.compatibility.level",
    "avro.compatibility.level",
    "host.name",
    "kafkastore.timeout.ms",
    "kafkastore.init.timeout.ms",
    "mode.mutability",
];

impl RegistryConfig {
    /// Builds the config from merged properties (file first, overrides on top).
    pub fn from_properties(props: &BTreeMap<String, String>) -> Result<RegistryConfig, String> {
        let mut c = RegistryConfig::default();
        let get = |k: &str| {
            props
                .get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        if let Some(v) = get("listeners") {
            // Several listeners may be listed; we serve the first.
            let first = v.split(',').next().unwrap_or_default();
            c.listener = Listener::parse(first)?;
        }
        if let Some(v) = get("kafkastore.bootstrap.servers") {
            c.bootstrap_servers = v;
        }
        if let Some(v) = get("kafkastore.topic") {
            c.topic = v;
        }
        if let Some(v) = get("schema.registry.group.id") {
            c.group_id = v;
        }
        // `master.eligibility` is the pre-6.0 name.
        if let Some(v) = get("leader.eligibility").or_else(|| get("master.eligibility")) {
            c.leader_eligibility = parse_bool("leader.eligibility", &v)?;
        }
        if let Some(v) =
            get("schema.compatibility.level").or_else(|| get("avro.compatibility.level"))
        {
            c.compatibility = v
                .parse()
                .map_err(|_| format!("schema.compatibility.level: invalid value '{v}'"))?;
        }
        if let Some(v) = get("host.name") {
            c.host_name = v;
        }
        if let Some(v) = get("kafkastore.timeout.ms") {
            c.store_timeout = Duration::from_millis(parse_u64("kafkastore.timeout.ms", &v)?);
        }
        if let Some(v) = get("kafkastore.init.timeout.ms") {
            c.init_timeout = Duration::from_millis(parse_u64("kafkastore.init.timeout.ms", &v)?);
        }
        if let Some(v) = get("mode.mutability") {
            c.mode_mutability = parse_bool("mode.mutability", &v)?;
        }
        if c.host_name.is_empty() {
            c.host_name = match c.listener.host.as_str() {
                "0.0.0.0" | "::" | "" => "localhost".into(),
                h => h.into(),
            };
        }
        for k in props.keys() {
            if !KNOWN.contains(&k.as_str()) {
                tracing::info!(property = %k, "ignoring a property this registry does not use");
            }
        }
        Ok(c)
    }

    /// The URL other instances forward writes to.
    pub fn advertised_url(&self) -> String {
        format!(
            "{}://{}:{}",
            self.listener.scheme, self.host_name, self.listener.port
        )
    }
}

fn parse_bool(key: &str, v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{key}: expected true or false, got '{v}'")),
    }
}

fn parse_u64(key: &str, v: &str) -> Result<u64, String> {
    v.parse()
        .map_err(|_| format!("{key}: expected a number of milliseconds, got '{v}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_properties_syntax() {
        let p = parse_properties(
            "# comment\n! also\nlisteners=http://0.0.0.0:8081\nkafkastore.topic : _s\n\
             host.name  reg1\nlong=a,\\\n   b\nesc=x\\=y\\ty\nempty=\n",
        );
        assert_eq!(p["listeners"], "http://0.0.0.0:8081");
        assert_eq!(p["kafkastore.topic"], "_s");
        assert_eq!(p["host.name"], "reg1");
        assert_eq!(p["long"], "a,b");
        assert_eq!(p["esc"], "x=y\ty");
        assert_eq!(p["empty"], "");
    }

    #[test]
    fn defaults_and_overrides() {
        let c = RegistryConfig::from_properties(&BTreeMap::new()).expect("defaults");
        assert_eq!(c.listener.port, 8081);
        assert_eq!(c.topic, "_schemas");
        assert_eq!(c.compatibility, CompatibilityLevel::Backward);
        assert_eq!(c.advertised_url(), "http://localhost:8081");

        let mut p = BTreeMap::new();
        p.insert(
            "listeners".to_string(),
            "http://127.0.0.1:18081,http://0.0.0.0:9".to_string(),
        );
        p.insert(
            "schema.compatibility.level".to_string(),
            "full_transitive".to_string(),
        );
        p.insert("leader.eligibility".to_string(), "false".to_string());
        p.insert(
            "kafkastore.bootstrap.servers".to_string(),
            "PLAINTEXT://b:9092".to_string(),
        );
        let c = RegistryConfig::from_properties(&p).expect("config");
        assert_eq!(
            c.listener,
            Listener {
                scheme: "http".into(),
                host: "127.0.0.1".into(),
                port: 18081
            }
        );
        assert_eq!(c.compatibility, CompatibilityLevel::FullTransitive);
        assert!(!c.leader_eligibility);
        assert_eq!(c.advertised_url(), "http://127.0.0.1:18081");
    }

    #[test]
    fn bad_values_are_reported() {
        let mut p = BTreeMap::new();
        p.insert(
            "schema.compatibility.level".to_string(),
            "sometimes".to_string(),
        );
        assert!(RegistryConfig::from_properties(&p).is_err());
        assert!(Listener::parse("https://x:1").is_err());
        assert!(Listener::parse("http://x").is_err());
        assert!(Listener::parse("http://x:99999").is_err());
    }
}
