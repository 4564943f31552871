//! `InsertField$Key` / `$Value`: adds the record's topic, partition, offset
//! (sink records), timestamp and/or a static string as fields. A name ending
//! in `!` makes the field required, `?` (the default) optional.

use crate::config::{
    default_bool, default_null, ConfigDef, ConfigError, ConfigType, Importance, Props,
};
use crate::data::{copy_schema_basics, logical, Schema, SchemaBuilder, Struct, Type, Value};
use crate::record::ConnectRecord;

use super::{
    require_map, require_sink_offset, require_struct, Target, TransformResult, Transformation,
};

const PURPOSE: &str = "field insertion";

#[derive(Clone, Debug, PartialEq)]
pub struct InsertionSpec {
    pub name: String,
    pub optional: bool,
}

impl InsertionSpec {
    fn parse(spec: Option<String>) -> Option<InsertionSpec> {
        let spec = spec?;
        if let Some(n) = spec.strip_suffix('?') {
            return Some(InsertionSpec {
                name: n.to_string(),
                optional: true,
            });
        }
        if let Some(n) = spec.strip_suffix('!') {
            return Some(InsertionSpec {
                name: n.to_string(),
                optional: false,
            });
        }
        Some(InsertionSpec {
            name: spec,
            optional: true,
        })
    }
}

#[derive(Clone, Debug)]
pub struct InsertFieldConfig {
    pub topic: Option<InsertionSpec>,
    pub partition: Option<InsertionSpec>,
    pub offset: Option<InsertionSpec>,
    pub timestamp: Option<InsertionSpec>,
    pub static_field: Option<InsertionSpec>,
    pub static_value: Option<String>,
    pub replace_null_with_default: bool,
}

impl InsertFieldConfig {
    pub fn config_def() -> ConfigDef {
        let d = |def: ConfigDef, name: &'static str, doc: &'static str| {
            def.define(
                name,
                ConfigType::String,
                default_null(),
                None,
                Importance::Medium,
                doc,
            )
        };
        let mut def = ConfigDef::new();
        def = d(def, "topic.field", "Field name for Kafka topic. Suffix with ! to make this a required field, or ? to keep it optional (the default).");
        def = d(def, "partition.field", "Field name for Kafka partition. Suffix with ! to make this a required field, or ? to keep it optional (the default).");
        def = d(def, "offset.field", "Field name for Kafka offset - only applicable to sink connectors. Suffix with ! to make this a required field, or ? to keep it optional (the default).");
        def = d(def, "timestamp.field", "Field name for record timestamp. Suffix with ! to make this a required field, or ? to keep it optional (the default).");
        def = d(def, "static.field", "Field name for static data field. Suffix with ! to make this a required field, or ? to keep it optional (the default).");
        def = d(
            def,
            "static.value",
            "Static field value, if field name configured.",
        );
        def.define("replace.null.with.default", ConfigType::Boolean, default_bool(true), None, Importance::Medium,
            "Whether to replace fields that have a default value and that are null to the default value.")
    }
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let p = Self::config_def().parse(props)?;
        let c = InsertFieldConfig {
            topic: InsertionSpec::parse(p.string("topic.field")),
            partition: InsertionSpec::parse(p.string("partition.field")),
            offset: InsertionSpec::parse(p.string("offset.field")),
            timestamp: InsertionSpec::parse(p.string("timestamp.field")),
            static_field: InsertionSpec::parse(p.string("static.field")),
            static_value: p.string("static.value"),
            replace_null_with_default: p.bool("replace.null.with.default"),
        };
        if c.topic.is_none()
            && c.partition.is_none()
            && c.offset.is_none()
            && c.timestamp.is_none()
            && c.static_field.is_none()
        {
            return Err(ConfigError::new("No field insertion configured"));
        }
        if let (Some(f), None) = (&c.static_field, &c.static_value) {
            return Err(ConfigError::for_key(
                "static.value",
                format!("Invalid value null for configuration static.value: No value specified for static field: {}", f.name),
            ));
        }
        Ok(c)
    }
    pub fn build(self, target: Target) -> InsertField {
        InsertField {
            target,
            config: self,
        }
    }
}

pub struct InsertField {
    target: Target,
    config: InsertFieldConfig,
}

impl InsertField {
    fn updated_schema(&self, schema: &Schema) -> Result<Schema, crate::data::DataError> {
        let c = &self.config;
        let mut b = copy_schema_basics(schema, SchemaBuilder::struct_());
        for f in schema.fields() {
            b = b.field(&f.name, f.schema.clone())?;
        }
        let prim = |spec: &InsertionSpec, ty: Type| {
            if spec.optional {
                Schema::optional_of(ty)
            } else {
                Schema::of(ty)
            }
        };
        if let Some(s) = &c.topic {
            b = b.field(&s.name, prim(s, Type::String))?;
        }
        if let Some(s) = &c.partition {
            b = b.field(&s.name, prim(s, Type::Int32))?;
        }
        if let Some(s) = &c.offset {
            b = b.field(&s.name, prim(s, Type::Int64))?;
        }
        if let Some(s) = &c.timestamp {
            let ts = if s.optional {
                logical::timestamp_builder().optional().build()
            } else {
                logical::timestamp_schema()
            };
            b = b.field(&s.name, ts)?;
        }
        if let Some(s) = &c.static_field {
            b = b.field(&s.name, prim(s, Type::String))?;
        }
        Ok(b.build())
    }
}

impl Transformation for InsertField {
    fn apply(&self, record: ConnectRecord) -> TransformResult {
        let c = &self.config;
        let value = self.target.value(&record).clone();
        if value.is_null() {
            return Ok(Some(record));
        }
        match self.target.schema(&record) {
            None => {
                let mut m = require_map(&value, PURPOSE)?.clone();
                if let Some(s) = &c.topic {
                    Value::map_put(
                        &mut m,
                        Value::str(s.name.clone()),
                        Value::str(record.topic.clone()),
                    );
                }
                if let (Some(s), Some(p)) = (&c.partition, record.kafka_partition) {
                    Value::map_put(&mut m, Value::str(s.name.clone()), Value::Int32(p));
                }
                if let Some(s) = &c.offset {
                    Value::map_put(
                        &mut m,
                        Value::str(s.name.clone()),
                        Value::Int64(require_sink_offset(&record, PURPOSE)?),
                    );
                }
                if let (Some(s), Some(ts)) = (&c.timestamp, record.timestamp) {
                    Value::map_put(&mut m, Value::str(s.name.clone()), Value::Int64(ts));
                }
                if let (Some(s), Some(v)) = (&c.static_field, &c.static_value) {
                    Value::map_put(&mut m, Value::str(s.name.clone()), Value::str(v.clone()));
                }
                Ok(Some(self.target.set(record, None, Value::Map(m))))
            }
            Some(_) => {
                let st = require_struct(&value, PURPOSE)?;
                let ns = self.updated_schema(st.schema())?;
                let mut out = Struct::new(&ns);
                for f in st.schema().fields() {
                    out.put(
                        &f.name,
                        st.get_maybe_default(&f.name, c.replace_null_with_default)?,
                    )?;
                }
                if let Some(s) = &c.topic {
                    out.put(&s.name, Value::str(record.topic.clone()))?;
                }
                if let (Some(s), Some(p)) = (&c.partition, record.kafka_partition) {
                    out.put(&s.name, Value::Int32(p))?;
                }
                if let Some(s) = &c.offset {
                    out.put(
                        &s.name,
                        Value::Int64(require_sink_offset(&record, PURPOSE)?),
                    )?;
                }
                if let (Some(s), Some(ts)) = (&c.timestamp, record.timestamp) {
                    out.put(&s.name, Value::Date(ts))?;
                }
                if let (Some(s), Some(v)) = (&c.static_field, &c.static_value) {
                    out.put(&s.name, Value::str(v.clone()))?;
                }
                Ok(Some(self.target.set(record, Some(ns), Value::Struct(out))))
            }
        }
    }
}
