//! The connector-level configuration every connector accepts (`name`,
//! `connector.class`, `tasks.max`, converters, `transforms`, `predicates`,
//! `errors.*`, and `topics`/`topics.regex` for sinks), its validation in the
//! `ConfigInfos` shape of `PUT /connector-plugins/{p}/config/validate`, and
//! the parsed settings the runtime runs a task with.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value as Json};

use crate::config::{
    default_bool, default_int, default_list, default_long, default_null, default_str, ConfigDef,
    ConfigError, ConfigKey, ConfigType, Default as Dflt, Importance, Props, Validator,
};
use crate::connectors::{self, ConnectorPlugin, ConnectorType};
use crate::converters::{self, Converter, HeaderConverter};
use crate::transforms::{self, TransformationChain};

use super::worker_config::WorkerConfig;

fn key(
    name: &'static str,
    ty: ConfigType,
    default: Dflt,
    validator: Option<Validator>,
    importance: Importance,
    doc: &'static str,
) -> ConfigKey {
    ConfigKey {
        name,
        ty,
        default,
        validator,
        importance,
        doc,
        group: None,
        display_name: name,
    }
}

/// `ConnectorConfig` / `SinkConnectorConfig` / `SourceConnectorConfig` keys, in their groups.
pub fn common_def(kind: ConnectorType) -> ConfigDef {
    let mut d = ConfigDef::new()
        .define_in_group("Common", "Connector name", key("name", ConfigType::String, crate::config::no_default(), Some(Validator::NonEmptyString), Importance::High,
            "Globally unique name to use for this connector."))
        .define_in_group("Common", "Connector class", key("connector.class", ConfigType::String, crate::config::no_default(), None, Importance::High,
            "Name or alias of the class for this connector. Must be a subclass of org.apache.kafka.connect.connector.Connector."))
        .define_in_group("Common", "Tasks max", key("tasks.max", ConfigType::Int, default_int(1), Some(Validator::AtLeast(1)), Importance::High,
            "Maximum number of tasks to use for this connector."))
        .define_in_group("Common", "Enforce tasks max", key("tasks.max.enforce", ConfigType::Boolean, default_bool(true), None, Importance::Low,
            "(Deprecated) Whether to enforce that the tasks.max property is respected by the connector."))
        .define_in_group("Common", "Key converter class", key("key.converter", ConfigType::Class, default_null(), None, Importance::Low,
            "Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka."))
        .define_in_group("Common", "Value converter class", key("value.converter", ConfigType::Class, default_null(), None, Importance::Low,
            "Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka."))
        .define_in_group("Common", "Header converter class", key("header.converter", ConfigType::Class, default_null(), None, Importance::Low,
            "HeaderConverter class used to convert between Kafka Connect format and the serialized form that is written to Kafka."))
        .define_in_group("Common", "Reload Action", key("config.action.reload", ConfigType::String, default_str("restart"), Some(Validator::OneOfIgnoreCase(&["none", "restart"])), Importance::Low,
            "The action that Connect should take on the connector when changes in external configuration providers result in a change in the connector's configuration properties."))
        .define_in_group("Transforms", "Transforms", key("transforms", ConfigType::List, default_list(&[]), None, Importance::Low,
            "Aliases for the transformations to be applied to records."))
        .define_in_group("Predicates", "Predicates", key("predicates", ConfigType::List, default_list(&[]), None, Importance::Low,
            "Aliases for the predicates used by transformations."))
        .define_in_group("Error Handling", "Retry Timeout for Errors", key("errors.retry.timeout", ConfigType::Long, default_long(0), None, Importance::Medium,
            "The maximum duration in milliseconds that a failed operation will be reattempted. The default is 0, which means no retries will be attempted. Use -1 for infinite retries."))
        .define_in_group("Error Handling", "Maximum Delay Between Retries for Errors", key("errors.retry.delay.max.ms", ConfigType::Long, default_long(60_000), None, Importance::Medium,
            "The maximum duration in milliseconds between consecutive retry attempts."))
        .define_in_group("Error Handling", "Error Tolerance", key("errors.tolerance", ConfigType::String, default_str("none"), Some(Validator::OneOfIgnoreCase(&["none", "all"])), Importance::Medium,
            "Behavior for tolerating errors during connector operation. 'none' is the default value and signals that any error will result in an immediate connector task failure; 'all' changes the behavior to skip over problematic records."))
        .define_in_group("Error Handling", "Log Errors", key("errors.log.enable", ConfigType::Boolean, default_bool(false), None, Importance::Medium,
            "If true, write each error and the details of the failed operation and problematic record to the Connect application log."))
        .define_in_group("Error Handling", "Log Error Details", key("errors.log.include.messages", ConfigType::Boolean, default_bool(false), None, Importance::Medium,
            "Whether to include in the log the Connect record that resulted in a failure."));
    match kind {
        ConnectorType::Sink => {
            d = d
                .define_in_group("Common", "Topics", key("topics", ConfigType::List, default_list(&[]), None, Importance::High,
                    "List of topics to consume, separated by commas"))
                .define_in_group("Common", "Topics regex", key("topics.regex", ConfigType::String, default_str(""), None, Importance::High,
                    "Regular expression giving topics to consume."))
                .define_in_group("Error Handling", "Dead Letter Queue Topic Name", key("errors.deadletterqueue.topic.name", ConfigType::String, default_str(""), None, Importance::Medium,
                    "The name of the topic to be used as the dead letter queue (DLQ) for messages that result in an error when processed by this sink connector, or its transformations or converters."))
                .define_in_group("Error Handling", "Dead Letter Queue Topic Replication Factor", key("errors.deadletterqueue.topic.replication.factor", ConfigType::Int, default_int(3), None, Importance::Medium,
                    "Replication factor used to create the dead letter queue topic when it doesn't already exist."))
                .define_in_group("Error Handling", "Enable Error Context Headers", key("errors.deadletterqueue.context.headers.enable", ConfigType::Boolean, default_bool(false), None, Importance::Medium,
                    "If true, add headers containing error context to the messages written to the dead letter queue."));
        }
        ConnectorType::Source => {
            d = d
                .define_in_group(
                    "Topic Creation",
                    "Topic Creation Groups",
                    key(
                        "topic.creation.groups",
                        ConfigType::List,
                        default_list(&[]),
                        None,
                        Importance::Low,
                        "Groups of configurations for topics created by source connectors",
                    ),
                )
                .define_in_group(
                    "Exactly Once Support",
                    "Exactly once support",
                    key(
                        "exactly.once.support",
                        ConfigType::String,
                        default_str("requested"),
                        Some(Validator::OneOfIgnoreCase(&["requested", "required"])),
                        Importance::Medium,
                        "Permitted values are requested, required.",
                    ),
                )
                .define_in_group(
                    "Exactly Once Support",
                    "Transaction Boundary",
                    key(
                        "transaction.boundary",
                        ConfigType::String,
                        default_str("poll"),
                        Some(Validator::OneOfIgnoreCase(&[
                            "poll",
                            "interval",
                            "connector",
                        ])),
                        Importance::Medium,
                        "Permitted values are: poll, interval, connector.",
                    ),
                )
                .define_in_group(
                    "Offsets Topic",
                    "Offsets topic",
                    key(
                        "offsets.storage.topic",
                        ConfigType::String,
                        default_null(),
                        None,
                        Importance::Low,
                        "The name of a separate offsets topic to use for this connector.",
                    ),
                );
        }
    }
    d
}

/// One entry of the validate response.
pub struct ValidatedKey {
    /// The full key (a transform's keys carry their `transforms.<alias>.` prefix).
    pub name: String,
    pub key: ConfigKey,
    pub value: Option<String>,
    pub errors: Vec<String>,
}

fn definition_json(name: &str, k: &ConfigKey, order: usize) -> Json {
    let default = match &k.default {
        Dflt::Required => Json::Null,
        Dflt::Value(v) => v.display().map(Json::String).unwrap_or(Json::Null),
    };
    json!({
        "name": name,
        "type": k.ty.java_name(),
        "required": matches!(k.default, Dflt::Required),
        "default_value": default,
        "importance": k.importance.java_name(),
        "documentation": k.doc,
        "group": k.group,
        "width": "NONE",
        "display_name": k.display_name,
        "dependents": [],
        "order": order as i64,
    })
}

/// Validates a connector config; `Ok` holds the `ConfigInfos` JSON and the error count.
pub fn validate(props: &Props) -> Result<(Json, usize), ConfigError> {
    let class = props
        .get("connector.class")
        .map(|c| c.trim().to_string())
        .unwrap_or_default();
    let plugin = connectors::find(&class).ok_or_else(|| {
        if class.is_empty() {
            ConfigError::for_key("connector.class", "Connector config {} contains no connector type".to_string())
        } else {
            ConfigError::for_key("connector.class", format!("Failed to find any class that implements Connector and which name matches {class}"))
        }
    })?;
    Ok(validate_with(&*plugin, props))
}

fn push_def(out: &mut Vec<ValidatedKey>, def: &ConfigDef, props: &Props, prefix: &str) {
    let prefixed = crate::config::with_prefix(props, prefix);
    for (key, value, errors) in def.validate_all(&prefixed) {
        out.push(ValidatedKey {
            name: format!("{prefix}{}", key.name),
            key,
            value,
            errors,
        });
    }
}

pub fn validate_with(plugin: &dyn ConnectorPlugin, props: &Props) -> (Json, usize) {
    let kind = plugin.kind();
    let mut entries: Vec<ValidatedKey> = Vec::new();
    push_def(&mut entries, &common_def(kind), props, "");
    // Sink topic rules.
    if kind == ConnectorType::Sink {
        let topics = props
            .get("topics")
            .map(|t| t.trim().to_string())
            .unwrap_or_default();
        let regex = props
            .get("topics.regex")
            .map(|t| t.trim().to_string())
            .unwrap_or_default();
        let add = |entries: &mut Vec<ValidatedKey>, k: &str, msg: String| {
            if let Some(e) = entries.iter_mut().find(|e| e.name == k) {
                e.errors.push(msg);
            }
        };
        if topics.is_empty() && regex.is_empty() {
            add(
                &mut entries,
                "topics",
                "Must configure one of topics or topics.regex".into(),
            );
            add(
                &mut entries,
                "topics.regex",
                "Must configure one of topics or topics.regex".into(),
            );
        } else if !topics.is_empty() && !regex.is_empty() {
            add(
                &mut entries,
                "topics",
                "topics and topics.regex are mutually exclusive options, but both are set.".into(),
            );
            add(
                &mut entries,
                "topics.regex",
                "topics and topics.regex are mutually exclusive options, but both are set.".into(),
            );
        }
        if !regex.is_empty() {
            if let Err(e) = crate::transforms::JavaRegex::new(&regex) {
                add(
                    &mut entries,
                    "topics.regex",
                    crate::config::invalid(&regex, "topics.regex", &e),
                );
            }
        }
        let dlq = props
            .get("errors.deadletterqueue.topic.name")
            .map(|t| t.trim().to_string())
            .unwrap_or_default();
        if !dlq.is_empty() && topics.split(',').any(|t| t.trim() == dlq) {
            add(&mut entries, "errors.deadletterqueue.topic.name", format!("The DLQ topic '{dlq}' may not be included in the list of topics ('topics=...') consumed by the connector"));
        }
    }
    // Converters named in the connector config must exist.
    for which in ["key.converter", "value.converter"] {
        if let Some(c) = props.get(which) {
            if !converters::is_known(c) {
                if let Some(e) = entries.iter_mut().find(|e| e.name == which) {
                    e.errors.push(crate::config::invalid(
                        c.trim(),
                        which,
                        &format!("Class {} could not be found.", c.trim()),
                    ));
                }
            }
        }
    }
    // Transforms and predicates: their type, predicate/negate and their own keys.
    let list = |k: &str| -> Vec<String> {
        props
            .get(k)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    let predicates = list("predicates");
    for alias in list("transforms") {
        let prefix = format!("transforms.{alias}.");
        let type_key = format!("{prefix}type");
        let class = props.get(&type_key).cloned();
        let mut type_errors = Vec::new();
        match &class {
            None => type_errors.push(format!(
                "Missing required configuration \"{type_key}\" which has no default value."
            )),
            Some(c) if !transforms::is_transform(c) => type_errors.push(crate::config::invalid(
                c.trim(),
                &type_key,
                &format!("Class {} could not be found.", c.trim()),
            )),
            Some(c) => {
                let mut own = crate::config::with_prefix(props, &prefix);
                own.remove("type");
                own.remove("predicate");
                own.remove("negate");
                if let Some(def) = transforms::transform_config_def(c) {
                    let before = entries.len();
                    push_def(&mut entries, &def, props, &prefix);
                    let has_key_error = entries[before..].iter().any(|e| !e.errors.is_empty());
                    if !has_key_error {
                        if let Err(e) = transforms::build_transform(c, &own) {
                            type_errors.push(e.message);
                        }
                    }
                }
            }
        }
        entries.push(ValidatedKey {
            name: type_key.clone(),
            key: ConfigKey {
                name: "type",
                ty: ConfigType::Class,
                default: Dflt::Required,
                validator: None,
                importance: Importance::High,
                doc: "Class for the 'transforms' transformation.",
                group: Some("Transforms"),
                display_name: "Transformation type",
            },
            value: class,
            errors: type_errors,
        });
        let pred_key = format!("{prefix}predicate");
        let pred = props.get(&pred_key).cloned();
        let mut pred_errors = Vec::new();
        if let Some(p) = &pred {
            if !p.trim().is_empty() && !predicates.contains(&p.trim().to_string()) {
                pred_errors.push(crate::config::invalid(
                    p,
                    &pred_key,
                    &format!("Predicate alias {p} not defined in predicates"),
                ));
            }
        }
        entries.push(ValidatedKey {
            name: pred_key.clone(),
            key: ConfigKey { name: "predicate", ty: ConfigType::String, default: Dflt::Value(crate::config::ConfigValue::Str(String::new())), validator: None,
                importance: Importance::Medium, doc: "The alias of a predicate used to determine whether to apply this transformation.", group: Some("Transforms"), display_name: "Predicate" },
            value: pred,
            errors: pred_errors,
        });
    }
    for alias in &predicates {
        let prefix = format!("predicates.{alias}.");
        let type_key = format!("{prefix}type");
        let class = props.get(&type_key).cloned();
        let mut errs = Vec::new();
        match &class {
            None => errs.push(format!(
                "Missing required configuration \"{type_key}\" which has no default value."
            )),
            Some(c) if !transforms::is_predicate(c) => errs.push(crate::config::invalid(
                c.trim(),
                &type_key,
                &format!("Class {} could not be found.", c.trim()),
            )),
            Some(c) => {
                if let Some(def) = transforms::predicate_config_def(c) {
                    push_def(&mut entries, &def, props, &prefix);
                }
                let mut own = crate::config::with_prefix(props, &prefix);
                own.remove("type");
                if let Err(e) = transforms::build_predicate(c, &own) {
                    if !entries
                        .iter()
                        .any(|e| e.name.starts_with(&prefix) && !e.errors.is_empty())
                    {
                        errs.push(e.message);
                    }
                }
            }
        }
        entries.push(ValidatedKey {
            name: type_key.clone(),
            key: ConfigKey {
                name: "type",
                ty: ConfigType::Class,
                default: Dflt::Required,
                validator: None,
                importance: Importance::High,
                doc: "Class for the 'predicates' predicate.",
                group: Some("Predicates"),
                display_name: "Predicate type",
            },
            value: class,
            errors: errs,
        });
    }
    // The connector's own keys, then its cross-key checks.
    push_def(&mut entries, &plugin.config_def(), props, "");
    for (k, msg) in plugin.validate(props) {
        match entries.iter_mut().find(|e| e.name == k) {
            Some(e) => e.errors.push(msg),
            None => entries.push(ValidatedKey {
                name: k.clone(),
                key: ConfigKey {
                    name: "",
                    ty: ConfigType::String,
                    default: Dflt::Required,
                    validator: None,
                    importance: Importance::High,
                    doc: "",
                    group: None,
                    display_name: "",
                },
                value: props.get(&k).cloned(),
                errors: vec![msg],
            }),
        }
    }
    let mut groups: Vec<&str> = Vec::new();
    for e in &entries {
        if let Some(g) = e.key.group {
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
    }
    let error_count: usize = entries.iter().map(|e| e.errors.len()).sum();
    let configs: Vec<Json> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            json!({
                "definition": definition_json(&e.name, &e.key, i + 1),
                "value": {
                    "name": e.name,
                    "value": e.value,
                    "recommended_values": [],
                    "errors": e.errors,
                    "visible": true,
                },
            })
        })
        .collect();
    (
        json!({ "name": plugin.class(), "error_count": error_count, "groups": groups, "configs": configs }),
        error_count,
    )
}

/// The message of the 400 a create/update with an invalid config gets.
pub fn invalid_config_message(infos: &Json, error_count: usize) -> String {
    let mut lines = Vec::new();
    for c in infos["configs"].as_array().cloned().unwrap_or_default() {
        for e in c["value"]["errors"].as_array().cloned().unwrap_or_default() {
            lines.push(e.as_str().unwrap_or_default().to_string());
        }
    }
    format!(
        "Connector configuration is invalid and contains the following {error_count} error(s):\n{}\nYou can also find the above list of errors at the endpoint `/connector-plugins/{{connectorType}}/config/validate`",
        lines.join("\n")
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tolerance {
    None,
    All,
}

/// The `errors.*` settings of a connector.
#[derive(Clone, Debug)]
pub struct ErrorSettings {
    pub tolerance: Tolerance,
    pub retry_timeout: Option<Duration>,
    pub retry_delay_max: Duration,
    pub log_enable: bool,
    pub log_include_messages: bool,
    pub dlq_topic: Option<String>,
    pub dlq_rf: i16,
    pub dlq_context_headers: bool,
}

/// Everything a task of a connector needs besides its task config.
pub struct ConnectorSettings {
    pub name: String,
    pub plugin: Arc<dyn ConnectorPlugin>,
    pub tasks_max: usize,
    pub key_converter: Box<dyn Converter>,
    pub value_converter: Box<dyn Converter>,
    pub header_converter: Box<dyn HeaderConverter>,
    pub key_converter_class: String,
    pub value_converter_class: String,
    pub header_converter_class: String,
    pub chain: TransformationChain,
    pub errors: ErrorSettings,
    pub topics: Vec<String>,
    pub topics_regex: Option<crate::transforms::JavaRegex>,
    pub topic_creation_partitions: i32,
    pub topic_creation_rf: i16,
}

impl ConnectorSettings {
    pub fn parse(props: &Props, worker: &WorkerConfig) -> Result<ConnectorSettings, ConfigError> {
        let class = props.get("connector.class").cloned().unwrap_or_default();
        let plugin = connectors::find(&class).ok_or_else(|| {
            ConfigError::for_key(
                "connector.class",
                format!(
                    "Failed to find any class that implements Connector and which name matches {}",
                    class.trim()
                ),
            )
        })?;
        let p = common_def(plugin.kind()).parse(props)?;
        let build_conv = |which: &str, is_key: bool| -> Result<Box<dyn Converter>, ConfigError> {
            let key = format!("{which}.converter");
            let (wclass, wprops) = worker.converter(which);
            match props.get(&key) {
                Some(c) => converters::build(
                    c,
                    &crate::config::with_prefix(props, &format!("{key}.")),
                    is_key,
                ),
                None => converters::build(&wclass, &wprops, is_key),
            }
        };
        let header_converter = match props.get("header.converter") {
            Some(c) => converters::build_header(
                c,
                &crate::config::with_prefix(props, "header.converter."),
            )?,
            None => {
                let (c, hp) = worker.converter("header");
                converters::build_header(&c, &hp)?
            }
        };
        let class_of = |which: &str| {
            props
                .get(&format!("{which}.converter"))
                .map(|c| c.trim().to_string())
                .unwrap_or_else(|| worker.converter(which).0)
        };
        let retry_ms = p.long("errors.retry.timeout").unwrap_or(0);
        let tolerance = if p
            .string("errors.tolerance")
            .unwrap_or_default()
            .eq_ignore_ascii_case("all")
        {
            Tolerance::All
        } else {
            Tolerance::None
        };
        let dlq = p
            .string("errors.deadletterqueue.topic.name")
            .filter(|s| !s.is_empty());
        let regex = p.string("topics.regex").filter(|s| !s.is_empty());
        Ok(ConnectorSettings {
            name: p.string("name").unwrap_or_default(),
            tasks_max: p.int("tasks.max").unwrap_or(1).max(1) as usize,
            key_converter_class: class_of("key"),
            value_converter_class: class_of("value"),
            header_converter_class: class_of("header"),
            key_converter: build_conv("key", true)?,
            value_converter: build_conv("value", false)?,
            header_converter,
            chain: TransformationChain::from_connector_config(props)?,
            errors: ErrorSettings {
                tolerance,
                retry_timeout: match retry_ms {
                    -1 => None,
                    ms => Some(Duration::from_millis(ms.max(0) as u64)),
                },
                retry_delay_max: Duration::from_millis(
                    p.long("errors.retry.delay.max.ms").unwrap_or(60_000).max(0) as u64,
                ),
                log_enable: p.bool("errors.log.enable"),
                log_include_messages: p.bool("errors.log.include.messages"),
                dlq_topic: dlq,
                dlq_rf: p
                    .int("errors.deadletterqueue.topic.replication.factor")
                    .unwrap_or(3) as i16,
                dlq_context_headers: p.bool("errors.deadletterqueue.context.headers.enable"),
            },
            topics: p.list("topics"),
            topics_regex: match regex {
                Some(r) => Some(
                    crate::transforms::JavaRegex::new(&r)
                        .map_err(|e| ConfigError::for_key("topics.regex", e))?,
                ),
                None => None,
            },
            topic_creation_partitions: props
                .get("topic.creation.default.partitions")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(-1),
            topic_creation_rf: props
                .get("topic.creation.default.replication.factor")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(-1),
            plugin,
        })
    }
}
