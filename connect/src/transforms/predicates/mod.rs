//! The predicates of `org.apache.kafka.connect.transforms.predicates`:
//! `TopicNameMatches`, `HasHeaderKey`, `RecordIsTombstone`.

use crate::config::{
    invalid, no_default, ConfigDef, ConfigError, ConfigType, ConfigValue, Importance, Props,
    Validator,
};
use crate::record::ConnectRecord;

use super::{JavaRegex, Predicate};

fn validate_pattern(name: &str, v: &ConfigValue) -> Result<(), String> {
    match v {
        ConfigValue::Str(s) => JavaRegex::new(s).map(|_| ()).map_err(|e| {
            invalid(
                s,
                name,
                &format!("entry must be a Java-compatible regular expression: {e}"),
            )
        }),
        _ => Ok(()),
    }
}

pub struct TopicNameMatchesConfig {
    pub pattern: JavaRegex,
}

impl TopicNameMatchesConfig {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new().define(
            "pattern",
            ConfigType::String,
            no_default(),
            Some(Validator::Custom(validate_pattern)),
            Importance::Medium,
            "A Java regular expression for matching against the name of a record's topic.",
        )
    }
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let p = Self::config_def().parse(props)?;
        let raw = p.string("pattern").unwrap_or_default();
        if raw.is_empty() {
            return Err(ConfigError::for_key(
                "pattern",
                invalid("", "pattern", "String must be non-empty"),
            ));
        }
        let pattern = JavaRegex::new(&raw).map_err(|e| ConfigError::for_key("pattern", e))?;
        Ok(TopicNameMatchesConfig { pattern })
    }
    pub fn build(self) -> TopicNameMatches {
        TopicNameMatches {
            pattern: self.pattern,
        }
    }
}

pub struct TopicNameMatches {
    pattern: JavaRegex,
}

impl Predicate for TopicNameMatches {
    fn test(&self, record: &ConnectRecord) -> bool {
        self.pattern.matches(&record.topic)
    }
}

pub struct HasHeaderKeyConfig {
    pub name: String,
}

impl HasHeaderKeyConfig {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new().define(
            "name",
            ConfigType::String,
            no_default(),
            Some(Validator::NonEmptyString),
            Importance::Medium,
            "The header name.",
        )
    }
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let p = Self::config_def().parse(props)?;
        Ok(HasHeaderKeyConfig {
            name: p.string("name").unwrap_or_default(),
        })
    }
    pub fn build(self) -> HasHeaderKey {
        HasHeaderKey { name: self.name }
    }
}

pub struct HasHeaderKey {
    name: String,
}

impl Predicate for HasHeaderKey {
    fn test(&self, record: &ConnectRecord) -> bool {
        record.headers.contains(&self.name)
    }
}

pub struct RecordIsTombstoneConfig;

impl RecordIsTombstoneConfig {
    pub fn parse(_props: &Props) -> Result<Self, ConfigError> {
        Ok(RecordIsTombstoneConfig)
    }
    pub fn build(self) -> RecordIsTombstone {
        RecordIsTombstone
    }
}

pub struct RecordIsTombstone;

impl Predicate for RecordIsTombstone {
    fn test(&self, record: &ConnectRecord) -> bool {
        record.value.is_null()
    }
}
