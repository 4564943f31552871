//! `MaskField$Key` / `$Value`: replaces fields with the "null" value of their
//! type (0, false, "", empty list/map, epoch) or with `replacement` converted
//! to the field's type.

use crate::config::{
    default_bool, default_null, no_default, ConfigDef, ConfigError, ConfigType, Importance, Props,
    Validator,
};
use crate::data::{values, BigDecimal, DataError, Struct, Value};
use crate::record::ConnectRecord;

use super::{require_map, require_struct, Target, TransformResult, Transformation};

const PURPOSE: &str = "mask fields";

#[derive(Clone, Debug)]
pub struct MaskFieldConfig {
    pub fields: Vec<String>,
    pub replacement: Option<String>,
    pub replace_null_with_default: bool,
}

impl MaskFieldConfig {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define("fields", ConfigType::List, no_default(), Some(Validator::NonEmptyList), Importance::High, "Names of fields to mask.")
            .define("replacement", ConfigType::String, default_null(), Some(Validator::NonEmptyString), Importance::Low,
                "Custom value replacement, that will be applied to all 'fields' values (numeric or non-empty string values only).")
            .define("replace.null.with.default", ConfigType::Boolean, default_bool(true), None, Importance::Medium,
                "Whether to replace fields that have a default value and that are null to the default value.")
    }
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let p = Self::config_def().parse(props)?;
        Ok(MaskFieldConfig {
            fields: p.list("fields"),
            replacement: p.string("replacement"),
            replace_null_with_default: p.bool("replace.null.with.default"),
        })
    }
    pub fn build(self, target: Target) -> MaskField {
        MaskField {
            target,
            config: self,
        }
    }
}

pub struct MaskField {
    target: Target,
    config: MaskFieldConfig,
}

impl MaskField {
    fn masked(&self, v: &Value) -> Result<Value, DataError> {
        if v.is_null() {
            return Ok(Value::Null);
        }
        match &self.config.replacement {
            None => Ok(match v {
                Value::Boolean(_) => Value::Boolean(false),
                Value::Int8(_) => Value::Int8(0),
                Value::Int16(_) => Value::Int16(0),
                Value::Int32(_) => Value::Int32(0),
                Value::Int64(_) => Value::Int64(0),
                Value::Float32(_) => Value::Float32(0.0),
                Value::Float64(_) => Value::Float64(0.0),
                Value::Decimal(_) => Value::Decimal(BigDecimal::zero()),
                Value::Date(_) => Value::Date(0),
                Value::String(_) => Value::str(""),
                Value::Array(_) => Value::Array(vec![]),
                Value::Map(_) => Value::Map(vec![]),
                other => {
                    return Err(DataError::new(format!(
                        "Cannot mask value of type: {}",
                        other.java_class()
                    )))
                }
            }),
            Some(r) => {
                let sv = Value::str(r.clone());
                let num_err = || {
                    DataError::new(format!(
                        "Unable to convert {r} (class java.lang.String) to a number"
                    ))
                };
                Ok(match v {
                    Value::Int8(_) => {
                        Value::Int8(values::as_long(&sv).map_err(|_| num_err())? as i8)
                    }
                    Value::Int16(_) => {
                        Value::Int16(values::as_long(&sv).map_err(|_| num_err())? as i16)
                    }
                    Value::Int32(_) => {
                        Value::Int32(values::as_long(&sv).map_err(|_| num_err())? as i32)
                    }
                    Value::Int64(_) => Value::Int64(values::as_long(&sv).map_err(|_| num_err())?),
                    Value::Float32(_) => {
                        Value::Float32(values::as_double(&sv).map_err(|_| num_err())? as f32)
                    }
                    Value::Float64(_) => {
                        Value::Float64(values::as_double(&sv).map_err(|_| num_err())?)
                    }
                    Value::String(_) => sv.clone(),
                    Value::Decimal(_) => Value::Decimal(BigDecimal::parse(r).ok_or_else(num_err)?),
                    other => {
                        return Err(DataError::new(format!(
                            "Cannot mask value of type {} with custom replacement.",
                            other.java_class()
                        )))
                    }
                })
            }
        }
    }
}

impl Transformation for MaskField {
    fn apply(&self, record: ConnectRecord) -> TransformResult {
        let value = self.target.value(&record).clone();
        match self.target.schema(&record).cloned() {
            None => {
                let map = require_map(&value, PURPOSE)?;
                let mut updated = map.clone();
                for f in &self.config.fields {
                    let orig = Value::map_get(map, f).cloned().unwrap_or(Value::Null);
                    Value::map_put(&mut updated, Value::str(f.clone()), self.masked(&orig)?);
                }
                Ok(Some(self.target.set(record, None, Value::Map(updated))))
            }
            Some(schema) => {
                let st = require_struct(&value, PURPOSE)?;
                let mut out = Struct::new(st.schema());
                for f in st.schema().fields() {
                    let orig =
                        st.get_maybe_default(&f.name, self.config.replace_null_with_default)?;
                    let nv = if self.config.fields.contains(&f.name) {
                        self.masked(&orig)?
                    } else {
                        orig
                    };
                    out.put(&f.name, nv)?;
                }
                Ok(Some(self.target.set(
                    record,
                    Some(schema),
                    Value::Struct(out),
                )))
            }
        }
    }
}
