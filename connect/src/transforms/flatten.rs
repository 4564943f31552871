//! `Flatten$Key` / `$Value`: nested structs (or maps) become top-level fields
//! named `parent<delimiter>child`; optionality and defaults of ancestors
//! carry down to the flattened fields.

use crate::config::{default_str, ConfigDef, ConfigError, ConfigType, Importance, Props};
use crate::data::{
    copy_schema_basics, copy_schema_basics_of, DataError, Schema, SchemaBuilder, Struct, Type,
    Value,
};
use crate::record::ConnectRecord;

use super::{require_map, require_struct_or_null, Target, TransformResult, Transformation};

const PURPOSE: &str = "flattening";

#[derive(Clone, Debug)]
pub struct FlattenConfig {
    pub delimiter: String,
}

impl FlattenConfig {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new().define("delimiter", ConfigType::String, default_str("."), None, Importance::Medium,
            "Delimiter to insert between field names from the input record when generating field names for the output record")
    }
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let p = Self::config_def().parse(props)?;
        Ok(FlattenConfig {
            delimiter: p.string("delimiter").unwrap_or_default(),
        })
    }
    pub fn build(self, target: Target) -> Flatten {
        Flatten {
            target,
            delimiter: self.delimiter,
        }
    }
}

pub struct Flatten {
    target: Target,
    delimiter: String,
}

impl Flatten {
    fn name(&self, prefix: &str, field: &str) -> String {
        if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}{}{field}", self.delimiter)
        }
    }

    fn flatten_map(
        &self,
        map: &[(Value, Value)],
        prefix: &str,
        out: &mut Vec<(Value, Value)>,
    ) -> Result<(), DataError> {
        for (k, v) in map {
            let key = match k {
                Value::String(s) => s.clone(),
                other => other.java_to_string(),
            };
            let name = self.name(prefix, &key);
            if v.is_null() {
                Value::map_put(out, Value::String(name), Value::Null);
                continue;
            }
            let ty = v.schema_type().ok_or_else(|| {
                DataError::new(format!(
                    "Flatten transformation was passed a value of type {} which is not supported by Connect's data API",
                    v.java_class()
                ))
            })?;
            match ty {
                Type::Map => {
                    let inner = require_map(v, PURPOSE)?;
                    self.flatten_map(inner, &name, out)?;
                }
                Type::Struct => {
                    return Err(DataError::new(format!(
                        "Flatten transformation does not support {} for record without schemas (for field {name}).",
                        v.java_class()
                    )))
                }
                _ => Value::map_put(out, Value::String(name), v.clone()),
            }
        }
        Ok(())
    }

    fn build_schema(
        &self,
        schema: &Schema,
        prefix: &str,
        mut b: SchemaBuilder,
        optional: bool,
        parent_default: Option<&Struct>,
    ) -> Result<SchemaBuilder, DataError> {
        for f in schema.fields() {
            let name = self.name(prefix, &f.name);
            let field_optional = optional || f.schema.is_optional();
            let default = match f.schema.default_value() {
                Some(d) => Some(d.clone()),
                None => match parent_default {
                    Some(p) => Some(p.get(&f.name)?).filter(|v| !v.is_null()),
                    None => None,
                },
            };
            match f.schema.ty() {
                Type::Struct => {
                    let nested_default = match &default {
                        Some(Value::Struct(s)) => Some(s.clone()),
                        _ => None,
                    };
                    b = self.build_schema(&f.schema, &name, b, field_optional, nested_default.as_ref())?;
                }
                Type::Map => {
                    return Err(DataError::new(format!(
                        "Flatten transformation does not support MAP for record with schemas (for field {name})."
                    )))
                }
                _ => {
                    let mut fb = copy_schema_basics_of(&f.schema);
                    if field_optional {
                        fb = fb.optional();
                    }
                    if let Some(d) = default {
                        fb = fb.default_value(d)?;
                    }
                    b = b.field(&name, fb.build())?;
                }
            }
        }
        Ok(b)
    }

    fn flatten_struct(
        &self,
        st: Option<&Struct>,
        prefix: &str,
        out: &mut Struct,
    ) -> Result<(), DataError> {
        let Some(st) = st else { return Ok(()) };
        for f in st.schema().fields() {
            let name = self.name(prefix, &f.name);
            match f.schema.ty() {
                Type::Struct => {
                    let inner = st.get(&f.name)?;
                    let inner = match &inner {
                        Value::Struct(s) => Some(s),
                        _ => None,
                    };
                    self.flatten_struct(inner, &name, out)?;
                }
                Type::Map => {
                    return Err(DataError::new(format!(
                        "Flatten transformation does not support MAP for record with schemas (for field {name})."
                    )))
                }
                _ => out.put(&name, st.get(&f.name)?)?,
            }
        }
        Ok(())
    }
}

impl Transformation for Flatten {
    fn apply(&self, record: ConnectRecord) -> TransformResult {
        let value = self.target.value(&record).clone();
        if value.is_null() {
            return Ok(Some(record));
        }
        match self.target.schema(&record).cloned() {
            None => {
                let map = require_map(&value, PURPOSE)?;
                let mut out = Vec::new();
                self.flatten_map(map, "", &mut out)?;
                Ok(Some(self.target.set(record, None, Value::Map(out))))
            }
            Some(schema) => {
                let st = require_struct_or_null(&value, PURPOSE)?;
                let default = match schema.default_value() {
                    Some(Value::Struct(s)) => Some(s.clone()),
                    _ => None,
                };
                let b = copy_schema_basics(&schema, SchemaBuilder::struct_());
                let updated = self
                    .build_schema(&schema, "", b, schema.is_optional(), default.as_ref())?
                    .build();
                let mut out = Struct::new(&updated);
                self.flatten_struct(st, "", &mut out)?;
                Ok(Some(self.target.set(
                    record,
                    Some(updated),
                    Value::Struct(out),
                )))
            }
        }
    }
}
