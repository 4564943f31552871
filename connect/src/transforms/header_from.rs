//! `HeaderFrom$Key` / `$Value`: copies or moves fields into headers.

use crate::config::{
    default_bool, no_default, ConfigDef, ConfigError, ConfigType, Importance, Props, Validator,
};
use crate::data::{copy_schema_basics, DataError, SchemaAndValue, SchemaBuilder, Struct, Value};
use crate::record::ConnectRecord;

use super::{require_map, require_struct, Target, TransformResult, Transformation};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Move,
    Copy,
}

#[derive(Clone, Debug)]
pub struct HeaderFromConfig {
    pub fields: Vec<String>,
    pub headers: Vec<String>,
    pub operation: Operation,
    pub replace_null_with_default: bool,
}

impl HeaderFromConfig {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define("fields", ConfigType::List, no_default(), Some(Validator::NonEmptyList), Importance::High,
                "Field names in the record whose values are to be copied or moved to headers.")
            .define("headers", ConfigType::List, no_default(), Some(Validator::NonEmptyList), Importance::High,
                "Header names, in the same order as the field names listed in the fields configuration property.")
            .define("operation", ConfigType::String, no_default(), Some(Validator::OneOf(&["move", "copy"])), Importance::High,
                "Either move if the fields are to be moved to the headers (removed from the key/value), or copy if the fields are to be copied to the headers (retained in the key/value).")
            .define("replace.null.with.default", ConfigType::Boolean, default_bool(true), None, Importance::Medium,
                "Whether to replace fields that have a default value and that are null to the default value.")
    }
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let p = Self::config_def().parse(props)?;
        let fields = p.list("fields");
        let headers = p.list("headers");
        if fields.len() != headers.len() {
            return Err(ConfigError::new(
                "'fields' config must have the same number of elements as 'headers' config.",
            ));
        }
        let operation = if p.string("operation").as_deref() == Some("move") {
            Operation::Move
        } else {
            Operation::Copy
        };
        Ok(HeaderFromConfig {
            fields,
            headers,
            operation,
            replace_null_with_default: p.bool("replace.null.with.default"),
        })
    }
    pub fn build(self, target: Target) -> HeaderFrom {
        HeaderFrom {
            target,
            config: self,
        }
    }
}

pub struct HeaderFrom {
    target: Target,
    config: HeaderFromConfig,
}

impl Transformation for HeaderFrom {
    fn apply(&self, record: ConnectRecord) -> TransformResult {
        let value = self.target.value(&record).clone();
        let op = match self.config.operation {
            Operation::Move => "move",
            Operation::Copy => "copy",
        };
        let purpose = format!("header {op}");
        let mut headers = record.headers.clone();
        match self.target.schema(&record).cloned() {
            None => {
                let map = require_map(&value, &purpose)?;
                let mut updated = map.clone();
                for (field, header) in self.config.fields.iter().zip(&self.config.headers) {
                    let fv = Value::map_get(map, field).cloned().unwrap_or(Value::Null);
                    if self.config.operation == Operation::Move {
                        Value::map_remove(&mut updated, field);
                    }
                    headers.add(header, SchemaAndValue::new(None, fv));
                }
                let mut r = self.target.set(record, None, Value::Map(updated));
                r.headers = headers;
                Ok(Some(r))
            }
            Some(schema) => {
                let st = require_struct(&value, &purpose)?;
                let (new_schema, new_value) = match self.config.operation {
                    Operation::Move => {
                        let mut b = copy_schema_basics(&schema, SchemaBuilder::struct_());
                        for f in schema.fields() {
                            if !self.config.fields.contains(&f.name) {
                                b = b.field(&f.name, f.schema.clone())?;
                            }
                        }
                        let ns = b.build();
                        let mut out = Struct::new(&ns);
                        for f in ns.fields() {
                            out.put(
                                &f.name,
                                st.get_maybe_default(
                                    &f.name,
                                    self.config.replace_null_with_default,
                                )?,
                            )?;
                        }
                        (ns, Value::Struct(out))
                    }
                    Operation::Copy => (schema.clone(), value.clone()),
                };
                for (field, header) in self.config.fields.iter().zip(&self.config.headers) {
                    let f = schema.field(field).ok_or_else(|| {
                        DataError::new(format!(
                            "Field {field} does not exist in the schema of the record ({})",
                            schema.java_string()
                        ))
                    })?;
                    let fv = st.get_maybe_default(field, self.config.replace_null_with_default)?;
                    headers.add(header, SchemaAndValue::new(Some(f.schema.clone()), fv));
                }
                let mut r = self.target.set(record, Some(new_schema), new_value);
                r.headers = headers;
                Ok(Some(r))
            }
        }
    }
}
