//! `TimestampRouter`: topic from `topic.format` with `${topic}` and
//! `${timestamp}` (the record timestamp in `timestamp.format`, UTC).

use crate::config::{default_str, ConfigDef, ConfigError, ConfigType, Importance, Props};
use crate::data::date_format::SimpleDateFormat;
use crate::data::DataError;
use crate::record::ConnectRecord;

use super::{TransformResult, Transformation};

pub struct TimestampRouterConfig {
    pub topic_format: String,
    pub timestamp_format: SimpleDateFormat,
}

impl TimestampRouterConfig {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define("topic.format", ConfigType::String, default_str("${topic}-${timestamp}"), None, Importance::High,
                "Format string which can contain ${topic} and ${timestamp} as placeholders for the topic and timestamp, respectively.")
            .define("timestamp.format", ConfigType::String, default_str("yyyyMMdd"), None, Importance::High,
                "Format string for the timestamp that is compatible with java.text.SimpleDateFormat.")
    }
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let p = Self::config_def().parse(props)?;
        let raw = p.string("timestamp.format").unwrap_or_default();
        let timestamp_format =
            SimpleDateFormat::new(&raw).map_err(|e| ConfigError::for_key("timestamp.format", e))?;
        Ok(TimestampRouterConfig {
            topic_format: p.string("topic.format").unwrap_or_default(),
            timestamp_format,
        })
    }
    pub fn build(self) -> TimestampRouter {
        TimestampRouter { config: self }
    }
}

pub struct TimestampRouter {
    config: TimestampRouterConfig,
}

impl Transformation for TimestampRouter {
    fn apply(&self, mut record: ConnectRecord) -> TransformResult {
        let Some(ts) = record.timestamp else {
            return Err(DataError::new(format!(
                "Timestamp missing on record: topic={}",
                record.topic
            )));
        };
        let formatted = self.config.timestamp_format.format(ts);
        record.topic = self
            .config
            .topic_format
            .replace("${topic}", &record.topic)
            .replace("${timestamp}", &formatted);
        Ok(Some(record))
    }
}
