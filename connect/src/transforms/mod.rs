//! Single Message Transforms and predicates, one file per SMT, each a config
//! struct (`XxxConfig::parse`, strict like Kafka's `ConfigDef`) with a
//! `build()` that makes the runtime object. `build_transform` /
//! `build_predicate` resolve the class names users write (full names with
//! `$Key`/`$Value`, or short aliases); `TransformationChain` applies a
//! connector's `transforms` list with each stage's `predicate` and `negate`.

pub mod cast;
pub mod drop_headers;
pub mod extract_field;
pub mod filter;
pub mod flatten;
pub mod header_from;
pub mod hoist_field;
pub mod insert_field;
pub mod insert_header;
pub mod mask_field;
pub mod predicates;
pub mod regex_router;
pub mod replace_field;
pub mod set_schema_metadata;
pub mod timestamp_converter;
pub mod timestamp_router;
pub mod value_to_key;

use crate::config::{ConfigError, Props};
use crate::data::{DataError, Schema, Struct, Value};
use crate::record::ConnectRecord;

/// A transform's outcome: the new record, or `None` when it drops the record.
pub type TransformResult = Result<Option<ConnectRecord>, DataError>;

pub trait Transformation: Send + Sync {
    fn apply(&self, record: ConnectRecord) -> TransformResult;
}

pub trait Predicate: Send + Sync {
    fn test(&self, record: &ConnectRecord) -> bool;
}

/// Which side of the record a `$Key` / `$Value` transform operates on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Key,
    Value,
}

impl Target {
    pub fn schema<'a>(&self, r: &'a ConnectRecord) -> Option<&'a Schema> {
        match self {
            Target::Key => r.key_schema.as_ref(),
            Target::Value => r.value_schema.as_ref(),
        }
    }
    pub fn value<'a>(&self, r: &'a ConnectRecord) -> &'a Value {
        match self {
            Target::Key => &r.key,
            Target::Value => &r.value,
        }
    }
    /// `newRecord(record, updatedSchema, updatedValue)`.
    pub fn set(&self, mut r: ConnectRecord, schema: Option<Schema>, value: Value) -> ConnectRecord {
        match self {
            Target::Key => {
                r.key_schema = schema;
                r.key = value;
            }
            Target::Value => {
                r.value_schema = schema;
                r.value = value;
            }
        }
        r
    }
}

// --- util/Requirements ------------------------------------------------------

pub fn require_map<'a>(
    value: &'a Value,
    purpose: &str,
) -> Result<&'a Vec<(Value, Value)>, DataError> {
    match value {
        Value::Map(m) => Ok(m),
        other => Err(DataError::new(format!(
            "Only Map objects supported in absence of schema for [{purpose}], found: {}",
            other.java_class_name()
        ))),
    }
}

pub fn require_map_or_null<'a>(
    value: &'a Value,
    purpose: &str,
) -> Result<Option<&'a Vec<(Value, Value)>>, DataError> {
    if value.is_null() {
        return Ok(None);
    }
    require_map(value, purpose).map(Some)
}

pub fn require_struct<'a>(value: &'a Value, purpose: &str) -> Result<&'a Struct, DataError> {
    match value {
        Value::Struct(s) => Ok(s),
        other => Err(DataError::new(format!(
            "Only Struct objects supported for [{purpose}], found: {}",
            other.java_class_name()
        ))),
    }
}

pub fn require_struct_or_null<'a>(
    value: &'a Value,
    purpose: &str,
) -> Result<Option<&'a Struct>, DataError> {
    if value.is_null() {
        return Ok(None);
    }
    require_struct(value, purpose).map(Some)
}

pub fn require_schema<'a>(
    schema: Option<&'a Schema>,
    purpose: &str,
) -> Result<&'a Schema, DataError> {
    schema.ok_or_else(|| DataError::new(format!("Schema required for [{purpose}]")))
}

pub fn require_sink_offset(record: &ConnectRecord, purpose: &str) -> Result<i64, DataError> {
    record.kafka_offset().ok_or_else(|| {
        DataError::new(format!(
            "Only SinkRecord supported for [{purpose}], found: org.apache.kafka.connect.source.SourceRecord"
        ))
    })
}

/// Java's `String.split(regex)` on a literal separator: trailing empty
/// strings are removed.
pub fn java_split<'a>(s: &'a str, sep: &str) -> Vec<&'a str> {
    let mut parts: Vec<&str> = s.split(sep).collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    if parts.len() == 1 && parts[0].is_empty() && s.is_empty() {
        return vec![""];
    }
    parts
}

// --- regex helpers (java.util.regex semantics) ------------------------------

/// A Java regular expression: `matches()` is a whole-input match,
/// `replace_first` applies a Java replacement string (`$1`, `${name}`, `\$`).
pub struct JavaRegex {
    source: String,
    find: fancy_regex::Regex,
    whole: fancy_regex::Regex,
}

impl JavaRegex {
    pub fn new(pattern: &str) -> Result<JavaRegex, String> {
        let find = fancy_regex::Regex::new(pattern).map_err(|e| e.to_string())?;
        let whole =
            fancy_regex::Regex::new(&format!("^(?:{pattern})\\z")).map_err(|e| e.to_string())?;
        Ok(JavaRegex {
            source: pattern.to_string(),
            find,
            whole,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn matches(&self, s: &str) -> bool {
        self.whole.is_match(s).unwrap_or(false)
    }

    pub fn replace_first(&self, s: &str, replacement: &str) -> Result<String, String> {
        let caps = match self.find.captures(s) {
            Ok(Some(c)) => c,
            Ok(None) => return Ok(s.to_string()),
            Err(e) => return Err(e.to_string()),
        };
        let Some(m) = caps.get(0) else {
            return Ok(s.to_string());
        };
        let mut out = String::new();
        out.push_str(&s[..m.start()]);
        let chars: Vec<char> = replacement.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' {
                i += 1;
                match chars.get(i) {
                    Some(n) => out.push(*n),
                    None => return Err("character to be escaped is missing".into()),
                }
                i += 1;
            } else if c == '$' {
                i += 1;
                match chars.get(i) {
                    Some('{') => {
                        let end = chars[i..]
                            .iter()
                            .position(|c| *c == '}')
                            .ok_or("named capturing group is missing trailing '}'")?;
                        let name: String = chars[i + 1..i + end].iter().collect();
                        let g = caps
                            .name(&name)
                            .ok_or_else(|| format!("No group with name {{{name}}}"))?;
                        out.push_str(g.as_str());
                        i += end + 1;
                    }
                    Some(d) if d.is_ascii_digit() => {
                        let mut num = d.to_digit(10).unwrap_or(0) as usize;
                        if num >= caps.len() {
                            return Err(format!("No group {num}"));
                        }
                        i += 1;
                        // Java takes more digits while the group number stays valid.
                        while let Some(d2) = chars.get(i).and_then(|c| c.to_digit(10)) {
                            let next = num * 10 + d2 as usize;
                            if next >= caps.len() {
                                break;
                            }
                            num = next;
                            i += 1;
                        }
                        if let Some(g) = caps.get(num) {
                            out.push_str(g.as_str());
                        }
                    }
                    _ => return Err("Illegal group reference".into()),
                }
            } else {
                out.push(c);
                i += 1;
            }
        }
        out.push_str(&s[m.end()..]);
        Ok(out)
    }
}

// --- registry ---------------------------------------------------------------

const PKG: &str = "org.apache.kafka.connect.transforms.";
const PRED_PKG: &str = "org.apache.kafka.connect.transforms.predicates.";

/// Every transformation class, as `/connector-plugins?connectorsOnly=false` lists them.
pub const TRANSFORM_NAMES: &[&str] = &[
    "Cast$Key",
    "Cast$Value",
    "DropHeaders",
    "ExtractField$Key",
    "ExtractField$Value",
    "Filter",
    "Flatten$Key",
    "Flatten$Value",
    "HeaderFrom$Key",
    "HeaderFrom$Value",
    "HoistField$Key",
    "HoistField$Value",
    "InsertField$Key",
    "InsertField$Value",
    "InsertHeader",
    "MaskField$Key",
    "MaskField$Value",
    "RegexRouter",
    "ReplaceField$Key",
    "ReplaceField$Value",
    "SetSchemaMetadata$Key",
    "SetSchemaMetadata$Value",
    "TimestampConverter$Key",
    "TimestampConverter$Value",
    "TimestampRouter",
    "ValueToKey",
];

pub const PREDICATE_NAMES: &[&str] = &["HasHeaderKey", "RecordIsTombstone", "TopicNameMatches"];

/// The short form of a transform class name: `Cast$Value` for
/// `org.apache.kafka.connect.transforms.Cast$Value`, or as given.
fn short_transform(name: &str) -> Option<&'static str> {
    let name = name.trim();
    let short = name.strip_prefix(PKG).unwrap_or(name);
    TRANSFORM_NAMES.iter().copied().find(|n| *n == short)
}

pub fn transform_class(short: &str) -> String {
    format!("{PKG}{short}")
}

pub fn predicate_class(short: &str) -> String {
    format!("{PRED_PKG}{short}")
}

pub fn is_transform(name: &str) -> bool {
    short_transform(name).is_some()
}

pub fn is_predicate(name: &str) -> bool {
    let n = name.trim();
    let short = n.strip_prefix(PRED_PKG).unwrap_or(n);
    PREDICATE_NAMES.contains(&short)
}

/// Builds a transformation from its class name and its own settings (the
/// `transforms.<alias>.` keys with the prefix removed, `type` excluded).
pub fn build_transform(class: &str, props: &Props) -> Result<Box<dyn Transformation>, ConfigError> {
    let Some(short) = short_transform(class) else {
        return Err(ConfigError::new(format!(
            "Class {} could not be found.",
            class.trim()
        )));
    };
    let (base, target) = match short.split_once('$') {
        Some((b, "Key")) => (b, Target::Key),
        Some((b, _)) => (b, Target::Value),
        None => (short, Target::Value),
    };
    Ok(match base {
        "Cast" => Box::new(cast::CastConfig::parse(props)?.build(target)),
        "DropHeaders" => Box::new(drop_headers::DropHeadersConfig::parse(props)?.build()),
        "ExtractField" => Box::new(extract_field::ExtractFieldConfig::parse(props)?.build(target)),
        "Filter" => Box::new(filter::FilterConfig::parse(props)?.build()),
        "Flatten" => Box::new(flatten::FlattenConfig::parse(props)?.build(target)),
        "HeaderFrom" => Box::new(header_from::HeaderFromConfig::parse(props)?.build(target)),
        "HoistField" => Box::new(hoist_field::HoistFieldConfig::parse(props)?.build(target)),
        "InsertField" => Box::new(insert_field::InsertFieldConfig::parse(props)?.build(target)),
        "InsertHeader" => Box::new(insert_header::InsertHeaderConfig::parse(props)?.build()),
        "MaskField" => Box::new(mask_field::MaskFieldConfig::parse(props)?.build(target)),
        "RegexRouter" => Box::new(regex_router::RegexRouterConfig::parse(props)?.build()),
        "ReplaceField" => Box::new(replace_field::ReplaceFieldConfig::parse(props)?.build(target)),
        "SetSchemaMetadata" => {
            Box::new(set_schema_metadata::SetSchemaMetadataConfig::parse(props)?.build(target))
        }
        "TimestampConverter" => {
            Box::new(timestamp_converter::TimestampConverterConfig::parse(props)?.build(target))
        }
        "TimestampRouter" => {
            Box::new(timestamp_router::TimestampRouterConfig::parse(props)?.build())
        }
        "ValueToKey" => Box::new(value_to_key::ValueToKeyConfig::parse(props)?.build()),
        other => {
            return Err(ConfigError::new(format!(
                "Class {other} could not be found."
            )))
        }
    })
}

/// The `ConfigDef` of a transformation, for `/connector-plugins/{p}/config` and validation.
pub fn transform_config_def(class: &str) -> Option<crate::config::ConfigDef> {
    let short = short_transform(class)?;
    let base = short.split('$').next().unwrap_or(short);
    Some(match base {
        "Cast" => cast::CastConfig::config_def(),
        "DropHeaders" => drop_headers::DropHeadersConfig::config_def(),
        "ExtractField" => extract_field::ExtractFieldConfig::config_def(),
        "Filter" => filter::FilterConfig::config_def(),
        "Flatten" => flatten::FlattenConfig::config_def(),
        "HeaderFrom" => header_from::HeaderFromConfig::config_def(),
        "HoistField" => hoist_field::HoistFieldConfig::config_def(),
        "InsertField" => insert_field::InsertFieldConfig::config_def(),
        "InsertHeader" => insert_header::InsertHeaderConfig::config_def(),
        "MaskField" => mask_field::MaskFieldConfig::config_def(),
        "RegexRouter" => regex_router::RegexRouterConfig::config_def(),
        "ReplaceField" => replace_field::ReplaceFieldConfig::config_def(),
        "SetSchemaMetadata" => set_schema_metadata::SetSchemaMetadataConfig::config_def(),
        "TimestampConverter" => timestamp_converter::TimestampConverterConfig::config_def(),
        "TimestampRouter" => timestamp_router::TimestampRouterConfig::config_def(),
        "ValueToKey" => value_to_key::ValueToKeyConfig::config_def(),
        _ => return None,
    })
}

pub fn build_predicate(class: &str, props: &Props) -> Result<Box<dyn Predicate>, ConfigError> {
    let n = class.trim();
    let short = n.strip_prefix(PRED_PKG).unwrap_or(n);
    Ok(match short {
        "TopicNameMatches" => Box::new(predicates::TopicNameMatchesConfig::parse(props)?.build()),
        "HasHeaderKey" => Box::new(predicates::HasHeaderKeyConfig::parse(props)?.build()),
        "RecordIsTombstone" => Box::new(predicates::RecordIsTombstoneConfig::parse(props)?.build()),
        _ => return Err(ConfigError::new(format!("Class {n} could not be found."))),
    })
}

pub fn predicate_config_def(class: &str) -> Option<crate::config::ConfigDef> {
    let n = class.trim();
    let short = n.strip_prefix(PRED_PKG).unwrap_or(n);
    Some(match short {
        "TopicNameMatches" => predicates::TopicNameMatchesConfig::config_def(),
        "HasHeaderKey" => predicates::HasHeaderKeyConfig::config_def(),
        "RecordIsTombstone" => crate::config::ConfigDef::new(),
        _ => return None,
    })
}

// --- the chain --------------------------------------------------------------

pub struct Stage {
    pub alias: String,
    /// The full class name (error reports name it).
    pub class: String,
    pub transform: Box<dyn Transformation>,
    pub predicate: Option<(String, Box<dyn Predicate>)>,
    pub negate: bool,
}

/// A connector's transformation chain (`TransformationChain` +
/// `TransformationStage`): a stage runs when it has no predicate, or when
/// `predicate.test(record) XOR negate`.
#[derive(Default)]
pub struct TransformationChain {
    pub stages: Vec<Stage>,
}

/// Which stage failed, and why (error handling reports the stage).
#[derive(Debug)]
pub struct StageError {
    pub alias: String,
    pub error: DataError,
}

fn list(props: &Props, key: &str) -> Vec<String> {
    props
        .get(key)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

impl TransformationChain {
    /// Reads `transforms`, `transforms.<a>.type|predicate|negate|...` and
    /// `predicates`, `predicates.<p>.type|...` from a connector config.
    pub fn from_connector_config(props: &Props) -> Result<TransformationChain, ConfigError> {
        let mut stages = Vec::new();
        let predicate_aliases = list(props, "predicates");
        let mut seen = std::collections::HashSet::new();
        for alias in list(props, "transforms") {
            if !seen.insert(alias.clone()) {
                return Err(ConfigError::for_key(
                    "transforms",
                    format!("Duplicate alias provided: {alias}"),
                ));
            }
            let prefix = format!("transforms.{alias}.");
            let type_key = format!("{prefix}type");
            let Some(class) = props.get(&type_key) else {
                return Err(ConfigError::for_key(
                    &type_key,
                    format!(
                        "Missing required configuration \"{type_key}\" which has no default value."
                    ),
                ));
            };
            let mut own = crate::config::with_prefix(props, &prefix);
            own.remove("type");
            let predicate_alias = own.remove("predicate").filter(|p| !p.trim().is_empty());
            let negate = match own.remove("negate") {
                None => false,
                Some(v) => match crate::config::parse_type(
                    "negate",
                    crate::config::ConfigType::Boolean,
                    &v,
                )? {
                    crate::config::ConfigValue::Bool(b) => b,
                    _ => false,
                },
            };
            let transform = build_transform(class, &own).map_err(|e| {
                let msg = if e.message.contains("could not be found") {
                    format!(
                        "Invalid value {} for configuration {type_key}: {}",
                        class.trim(),
                        e.message
                    )
                } else {
                    e.message
                };
                ConfigError::for_key(&type_key, msg)
            })?;
            let predicate = match predicate_alias {
                None => None,
                Some(p) => {
                    let p = p.trim().to_string();
                    if !predicate_aliases.contains(&p) {
                        return Err(ConfigError::for_key(
                            &format!("{prefix}predicate"),
                            format!(
                                "Invalid value {p} for configuration {prefix}predicate: Predicate alias {p} not defined in predicates"
                            ),
                        ));
                    }
                    let pprefix = format!("predicates.{p}.");
                    let ptype_key = format!("{pprefix}type");
                    let Some(pclass) = props.get(&ptype_key) else {
                        return Err(ConfigError::for_key(
                            &ptype_key,
                            format!("Missing required configuration \"{ptype_key}\" which has no default value."),
                        ));
                    };
                    let mut pown = crate::config::with_prefix(props, &pprefix);
                    pown.remove("type");
                    let pred = build_predicate(pclass, &pown)
                        .map_err(|e| ConfigError::for_key(&ptype_key, e.message))?;
                    Some((p, pred))
                }
            };
            let class = short_transform(class)
                .map(transform_class)
                .unwrap_or_else(|| class.trim().to_string());
            stages.push(Stage {
                alias,
                class,
                transform,
                predicate,
                negate,
            });
        }
        // Predicates must each be valid even when no transform uses them.
        for p in &predicate_aliases {
            let pprefix = format!("predicates.{p}.");
            let ptype_key = format!("{pprefix}type");
            let Some(pclass) = props.get(&ptype_key) else {
                return Err(ConfigError::for_key(
                    &ptype_key,
                    format!("Missing required configuration \"{ptype_key}\" which has no default value."),
                ));
            };
            let mut pown = crate::config::with_prefix(props, &pprefix);
            pown.remove("type");
            build_predicate(pclass, &pown)
                .map_err(|e| ConfigError::for_key(&ptype_key, e.message))?;
        }
        Ok(TransformationChain { stages })
    }

    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    pub fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, StageError> {
        for stage in &self.stages {
            let run = match &stage.predicate {
                None => true,
                Some((_, p)) => stage.negate ^ p.test(&record),
            };
            if !run {
                continue;
            }
            match stage.transform.apply(record) {
                Ok(Some(r)) => record = r,
                Ok(None) => return Ok(None),
                Err(error) => {
                    return Err(StageError {
                        alias: stage.alias.clone(),
                        error,
                    })
                }
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_replacement_strings() {
        let r = JavaRegex::new("(.*)-(\\d+)").unwrap();
        assert!(r.matches("orders-12"));
        assert!(!r.matches("orders"));
        assert_eq!(r.replace_first("orders-12", "$2_$1").unwrap(), "12_orders");
        assert_eq!(r.replace_first("orders-12", "\\$1").unwrap(), "$1");
        assert_eq!(r.replace_first("orders-12", "$1a").unwrap(), "ordersa");
        assert!(r.replace_first("orders-12", "$9").is_err());
    }

    #[test]
    fn java_split_drops_trailing_empties() {
        assert_eq!(java_split("a:b:", ":"), vec!["a", "b"]);
        assert_eq!(java_split("a::b", ":"), vec!["a", "", "b"]);
    }
}
