//! `ValueToKey`: the key becomes a struct (or map) of the listed value fields.

use crate::config::{
    default_bool, no_default, ConfigDef, ConfigError, ConfigType, Importance, Props, Validator,
};
use crate::data::{DataError, SchemaBuilder, Struct, Value};
use crate::record::ConnectRecord;

use super::{require_map, require_struct, TransformResult, Transformation};

const PURPOSE: &str = "copying fields from value to key";

#[derive(Clone, Debug)]
pub struct ValueToKeyConfig {
    pub fields: Vec<String>,
    pub replace_null_with_default: bool,
}

impl ValueToKeyConfig {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define("fields", ConfigType::List, no_default(), Some(Validator::NonEmptyList), Importance::High,
                "Field names on the record value to extract as the record key.")
            .define("replace.null.with.default", ConfigType::Boolean, default_bool(true), None, Importance::Medium,
                "Whether to replace fields that have a default value and that are null to the default value.")
    }
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let p = Self::config_def().parse(props)?;
        Ok(ValueToKeyConfig {
            fields: p.list("fields"),
            replace_null_with_default: p.bool("replace.null.with.default"),
        })
    }
    pub fn build(self) -> ValueToKey {
        ValueToKey { config: self }
    }
}

pub struct ValueToKey {
    config: ValueToKeyConfig,
}

impl Transformation for ValueToKey {
    fn apply(&self, mut record: ConnectRecord) -> TransformResult {
        match &record.value_schema {
            None => {
                let map = require_map(&record.value, PURPOSE)?;
                let mut key = Vec::new();
                for f in &self.config.fields {
                    Value::map_put(
                        &mut key,
                        Value::str(f.clone()),
                        Value::map_get(map, f).cloned().unwrap_or(Value::Null),
                    );
                }
                record.key_schema = None;
                record.key = Value::Map(key);
                Ok(Some(record))
            }
            Some(_) => {
                let st = require_struct(&record.value, PURPOSE)?;
                let mut b = SchemaBuilder::struct_();
                for f in &self.config.fields {
                    let vf = st
                        .schema()
                        .field(f)
                        .ok_or_else(|| DataError::new(format!("Field does not exist: {f}")))?;
                    b = b.field(f, vf.schema.clone())?;
                }
                let ks = b.build();
                let mut key = Struct::new(&ks);
                for f in &self.config.fields {
                    key.put(
                        f,
                        st.get_maybe_default(f, self.config.replace_null_with_default)?,
                    )?;
                }
                record.key_schema = Some(ks);
                record.key = Value::Struct(key);
                Ok(Some(record))
            }
        }
    }
}
