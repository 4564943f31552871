//! `SetSchemaMetadata$Key` / `$Value`: sets the schema's name and/or version
//! (structs are rebuilt against the renamed schema).

use crate::config::{
    default_bool, default_null, ConfigDef, ConfigError, ConfigType, Importance, Props,
};
use crate::data::{SchemaBuilder, Struct, Value};
use crate::record::ConnectRecord;

use super::{require_schema, Target, TransformResult, Transformation};

#[derive(Clone, Debug)]
pub struct SetSchemaMetadataConfig {
    pub name: Option<String>,
    pub version: Option<i32>,
    pub replace_null_with_default: bool,
}

impl SetSchemaMetadataConfig {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define("schema.name", ConfigType::String, default_null(), None, Importance::High, "Schema name to set.")
            .define("schema.version", ConfigType::Int, default_null(), None, Importance::High, "Schema version to set.")
            .define("replace.null.with.default", ConfigType::Boolean, default_bool(true), None, Importance::Medium,
                "Whether to replace fields that have a default value and that are null to the default value.")
    }
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let p = Self::config_def().parse(props)?;
        let c = SetSchemaMetadataConfig {
            name: p.string("schema.name"),
            version: p.int("schema.version"),
            replace_null_with_default: p.bool("replace.null.with.default"),
        };
        if c.name.is_none() && c.version.is_none() {
            return Err(ConfigError::new(
                "Neither schema name nor version configured",
            ));
        }
        Ok(c)
    }
    pub fn build(self, target: Target) -> SetSchemaMetadata {
        SetSchemaMetadata {
            target,
            config: self,
        }
    }
}

pub struct SetSchemaMetadata {
    target: Target,
    config: SetSchemaMetadataConfig,
}

impl Transformation for SetSchemaMetadata {
    fn apply(&self, record: ConnectRecord) -> TransformResult {
        let value = self.target.value(&record).clone();
        let schema = self.target.schema(&record).cloned();
        if value.is_null() && schema.is_none() {
            return Ok(Some(record));
        }
        let schema = require_schema(schema.as_ref(), "updating schema metadata")?;
        // Kafka builds the new schema with `schema.fields()`, which throws for
        // anything but a struct; keep that behaviour so results match.
        if schema.ty() != crate::data::Type::Struct {
            return Err(crate::data::DataError::new(
                "Cannot list fields on non-struct type",
            ));
        }
        let mut b = SchemaBuilder::from_schema(schema);
        if let Some(n) = &self.config.name {
            b = b.name(Some(n));
        }
        if let Some(v) = self.config.version {
            b = b.version(Some(v));
        }
        let ns = b.build();
        let nv = match &value {
            Value::Struct(st) => {
                let mut out = Struct::new(&ns);
                for f in ns.fields() {
                    out.put(
                        &f.name,
                        st.get_maybe_default(&f.name, self.config.replace_null_with_default)?,
                    )?;
                }
                Value::Struct(out)
            }
            other => other.clone(),
        };
        Ok(Some(self.target.set(record, Some(ns), nv)))
    }
}
