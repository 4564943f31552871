//! `RegexRouter`: when the whole topic matches `regex`, the topic becomes
//! `replaceFirst(replacement)` (Java replacement syntax: `$1`, `${name}`).

use crate::config::{
    invalid, no_default, ConfigDef, ConfigError, ConfigType, ConfigValue, Importance, Props,
    Validator,
};
use crate::data::DataError;
use crate::record::ConnectRecord;

use super::{JavaRegex, TransformResult, Transformation};

fn validate_regex(name: &str, v: &ConfigValue) -> Result<(), String> {
    match v {
        ConfigValue::Str(s) => JavaRegex::new(s)
            .map(|_| ())
            .map_err(|e| invalid(s, name, &e)),
        _ => Ok(()),
    }
}

pub struct RegexRouterConfig {
    pub regex: JavaRegex,
    pub replacement: String,
}

impl RegexRouterConfig {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(
                "regex",
                ConfigType::String,
                no_default(),
                Some(Validator::Custom(validate_regex)),
                Importance::High,
                "Regular expression to use for matching.",
            )
            .define(
                "replacement",
                ConfigType::String,
                no_default(),
                None,
                Importance::High,
                "Replacement string.",
            )
    }
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let p = Self::config_def().parse(props)?;
        let raw = p.string("regex").unwrap_or_default();
        let regex = JavaRegex::new(&raw)
            .map_err(|e| ConfigError::for_key("regex", invalid(&raw, "regex", &e)))?;
        Ok(RegexRouterConfig {
            regex,
            replacement: p.string("replacement").unwrap_or_default(),
        })
    }
    pub fn build(self) -> RegexRouter {
        RegexRouter { config: self }
    }
}

pub struct RegexRouter {
    config: RegexRouterConfig,
}

impl Transformation for RegexRouter {
    fn apply(&self, mut record: ConnectRecord) -> TransformResult {
        if self.config.regex.matches(&record.topic) {
            record.topic = self
                .config
                .regex
                .replace_first(&record.topic, &self.config.replacement)
                .map_err(DataError::new)?;
        }
        Ok(Some(record))
    }
}
