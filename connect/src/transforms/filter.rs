//! `Filter`: drops every record it is applied to; used with a predicate.

use crate::config::{ConfigDef, ConfigError, Props};
use crate::record::ConnectRecord;

use super::{TransformResult, Transformation};

#[derive(Clone, Debug)]
pub struct FilterConfig;

impl FilterConfig {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
    }
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        Self::config_def().parse(props)?;
        Ok(FilterConfig)
    }
    pub fn build(self) -> Filter {
        Filter
    }
}

pub struct Filter;

impl Transformation for Filter {
    fn apply(&self, _record: ConnectRecord) -> TransformResult {
        Ok(None)
    }
}
