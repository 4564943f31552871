//! `ReplaceField$Key` / `$Value`: drops (`exclude`), keeps (`include`) and
//! renames (`renames=old:new,...`) fields.

use crate::config::{
    default_bool, default_list, ConfigDef, ConfigError, ConfigType, ConfigValue, Importance, Props,
    Validator,
};
use crate::data::{copy_schema_basics, SchemaBuilder, Struct, Value};
use crate::record::ConnectRecord;

use super::{java_split, require_map, require_struct, Target, TransformResult, Transformation};

const PURPOSE: &str = "field replacement";

fn parse_renames(mappings: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for m in mappings {
        let parts = java_split(m, ":");
        if parts.len() != 2 {
            return Err(format!(
                "Invalid value [{}] for configuration renames: Invalid rename mapping: {m}",
                mappings.join(", ")
            ));
        }
        match out.iter_mut().find(|(k, _)| k == parts[0]) {
            Some(slot) => slot.1 = parts[1].to_string(),
            None => out.push((parts[0].to_string(), parts[1].to_string())),
        }
    }
    Ok(out)
}

fn validate_renames(_name: &str, v: &ConfigValue) -> Result<(), String> {
    match v {
        ConfigValue::List(l) => parse_renames(l).map(|_| ()),
        _ => Ok(()),
    }
}

#[derive(Clone, Debug)]
pub struct ReplaceFieldConfig {
    pub exclude: Vec<String>,
    pub include: Vec<String>,
    pub renames: Vec<(String, String)>,
    pub replace_null_with_default: bool,
}

impl ReplaceFieldConfig {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define("exclude", ConfigType::List, default_list(&[]), None, Importance::Medium,
                "Fields to exclude. This takes precedence over the fields to include.")
            .define("include", ConfigType::List, default_list(&[]), None, Importance::Medium,
                "Fields to include. If specified, only these fields will be used.")
            .define("renames", ConfigType::List, default_list(&[]), Some(Validator::Custom(validate_renames)), Importance::Medium,
                "Field rename mappings.")
            .define("replace.null.with.default", ConfigType::Boolean, default_bool(true), None, Importance::Medium,
                "Whether to replace fields that have a default value and that are null to the default value.")
    }
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let p = Self::config_def().parse(props)?;
        Ok(ReplaceFieldConfig {
            exclude: p.list("exclude"),
            include: p.list("include"),
            renames: parse_renames(&p.list("renames"))
                .map_err(|m| ConfigError::for_key("renames", m))?,
            replace_null_with_default: p.bool("replace.null.with.default"),
        })
    }
    pub fn build(self, target: Target) -> ReplaceField {
        ReplaceField {
            target,
            config: self,
        }
    }
}

pub struct ReplaceField {
    target: Target,
    config: ReplaceFieldConfig,
}

impl ReplaceField {
    fn keep(&self, name: &str) -> bool {
        !self.config.exclude.iter().any(|e| e == name)
            && (self.config.include.is_empty() || self.config.include.iter().any(|i| i == name))
    }
    fn renamed(&self, name: &str) -> String {
        self.config
            .renames
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| name.to_string())
    }
    fn reverse_renamed(&self, name: &str) -> String {
        // `invert(renames)`: the last mapping to a name wins, like HashMap.put.
        self.config
            .renames
            .iter()
            .rev()
            .find(|(_, v)| v == name)
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| name.to_string())
    }
}

impl Transformation for ReplaceField {
    fn apply(&self, record: ConnectRecord) -> TransformResult {
        let value = self.target.value(&record).clone();
        if value.is_null() {
            return Ok(Some(record));
        }
        match self.target.schema(&record) {
            None => {
                let map = require_map(&value, PURPOSE)?;
                let mut out = Vec::new();
                for (k, v) in map {
                    let name = k
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| k.java_to_string());
                    if self.keep(&name) {
                        Value::map_put(&mut out, Value::String(self.renamed(&name)), v.clone());
                    }
                }
                Ok(Some(self.target.set(record, None, Value::Map(out))))
            }
            Some(_) => {
                let st = require_struct(&value, PURPOSE)?;
                let mut b = copy_schema_basics(st.schema(), SchemaBuilder::struct_());
                for f in st.schema().fields() {
                    if self.keep(&f.name) {
                        b = b.field(&self.renamed(&f.name), f.schema.clone())?;
                    }
                }
                let ns = b.build();
                let mut out = Struct::new(&ns);
                for f in ns.fields() {
                    let v = st.get_maybe_default(
                        &self.reverse_renamed(&f.name),
                        self.config.replace_null_with_default,
                    )?;
                    out.put(&f.name, v)?;
                }
                Ok(Some(self.target.set(record, Some(ns), Value::Struct(out))))
            }
        }
    }
}
