//! `HoistField$Key` / `$Value`: wraps the key/value in a struct (or map) with one field.

use crate::config::{no_default, ConfigDef, ConfigError, ConfigType, Importance, Props};
use crate::data::{SchemaBuilder, Struct, Value};
use crate::record::ConnectRecord;

use super::{Target, TransformResult, Transformation};

#[derive(Clone, Debug)]
pub struct HoistFieldConfig {
    pub field: String,
}

impl HoistFieldConfig {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new().define(
            "field",
            ConfigType::String,
            no_default(),
            None,
            Importance::Medium,
            "Field name for the single field that will be created in the resulting Struct or Map.",
        )
    }
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let p = Self::config_def().parse(props)?;
        Ok(HoistFieldConfig {
            field: p.string("field").unwrap_or_default(),
        })
    }
    pub fn build(self, target: Target) -> HoistField {
        HoistField {
            target,
            field: self.field,
        }
    }
}

pub struct HoistField {
    target: Target,
    field: String,
}

impl Transformation for HoistField {
    fn apply(&self, record: ConnectRecord) -> TransformResult {
        let value = self.target.value(&record).clone();
        match self.target.schema(&record).cloned() {
            None => {
                let m = vec![(Value::String(self.field.clone()), value)];
                Ok(Some(self.target.set(record, None, Value::Map(m))))
            }
            Some(schema) => {
                let ns = SchemaBuilder::struct_().field(&self.field, schema)?.build();
                let mut st = Struct::new(&ns);
                st.put(&self.field, value)?;
                Ok(Some(self.target.set(record, Some(ns), Value::Struct(st))))
            }
        }
    }
}
