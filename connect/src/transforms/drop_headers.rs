//! `DropHeaders`: removes every header whose key is in `headers`.

use crate::config::{no_default, ConfigDef, ConfigError, ConfigType, Importance, Props, Validator};
use crate::record::{ConnectRecord, Headers};

use super::{TransformResult, Transformation};

#[derive(Clone, Debug)]
pub struct DropHeadersConfig {
    pub headers: Vec<String>,
}

impl DropHeadersConfig {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new().define(
            "headers",
            ConfigType::List,
            no_default(),
            Some(Validator::NonEmptyList),
            Importance::High,
            "The name of the headers to be removed.",
        )
    }
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let p = Self::config_def().parse(props)?;
        Ok(DropHeadersConfig {
            headers: p.list("headers"),
        })
    }
    pub fn build(self) -> DropHeaders {
        DropHeaders {
            headers: self.headers,
        }
    }
}

pub struct DropHeaders {
    headers: Vec<String>,
}

impl Transformation for DropHeaders {
    fn apply(&self, mut record: ConnectRecord) -> TransformResult {
        record.headers = Headers(
            record
                .headers
                .0
                .into_iter()
                .filter(|h| !self.headers.contains(&h.key))
                .collect(),
        );
        Ok(Some(record))
    }
}
