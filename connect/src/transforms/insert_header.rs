//! `InsertHeader`: adds a header whose value is `value.literal` parsed the
//! way `Values.parseString` infers types (numbers, booleans, arrays, maps, dates).

use crate::config::{no_default, ConfigDef, ConfigError, ConfigType, Importance, Props, Validator};
use crate::data::{values, SchemaAndValue};
use crate::record::ConnectRecord;

use super::{TransformResult, Transformation};

#[derive(Clone, Debug)]
pub struct InsertHeaderConfig {
    pub header: String,
    pub literal: String,
}

impl InsertHeaderConfig {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(
                "header",
                ConfigType::String,
                no_default(),
                Some(Validator::NonNull),
                Importance::High,
                "The name of the header.",
            )
            .define(
                "value.literal",
                ConfigType::String,
                no_default(),
                Some(Validator::NonNull),
                Importance::High,
                "The literal value that is to be set as the header value on all records.",
            )
    }
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let p = Self::config_def().parse(props)?;
        Ok(InsertHeaderConfig {
            header: p.string("header").unwrap_or_default(),
            literal: p.string("value.literal").unwrap_or_default(),
        })
    }
    pub fn build(self) -> InsertHeader {
        let value = values::parse_string(&self.literal);
        InsertHeader {
            header: self.header,
            value,
        }
    }
}

pub struct InsertHeader {
    header: String,
    value: SchemaAndValue,
}

impl Transformation for InsertHeader {
    fn apply(&self, mut record: ConnectRecord) -> TransformResult {
        record.headers.add(&self.header, self.value.clone());
        Ok(Some(record))
    }
}
