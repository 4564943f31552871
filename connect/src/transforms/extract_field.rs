//! `ExtractField$Key` / `$Value`: replaces the key/value with one of its
//! fields; `field.syntax.version=V2` allows dotted paths into nested fields
//! (with backticks around names that contain dots).

use crate::config::{
    default_bool, default_str, no_default, ConfigDef, ConfigError, ConfigType, Importance, Props,
    Validator,
};
use crate::data::{DataError, Field, Schema, Struct, Value};
use crate::record::ConnectRecord;

use super::{require_map_or_null, require_struct_or_null, Target, TransformResult, Transformation};

const PURPOSE: &str = "field extraction";

/// A parsed field path (`SingleFieldPath`).
#[derive(Clone, Debug, PartialEq)]
pub struct FieldPath {
    pub steps: Vec<String>,
}

impl FieldPath {
    pub fn parse(path: &str, v2: bool) -> Result<FieldPath, ConfigError> {
        if !v2 {
            return Ok(FieldPath {
                steps: vec![path.to_string()],
            });
        }
        let chars: Vec<char> = path.chars().collect();
        let mut steps = Vec::new();
        let mut idx = 0usize;
        let fail = |at: usize| {
            ConfigError::new(format!(
                "Incomplete backtick pair in path: [{path}], consider adding a backslash before backtick at position {at} to escape it"
            ))
        };
        while idx < chars.len() {
            if chars[idx] != '`' {
                let start = idx;
                match chars[idx..].iter().position(|c| *c == '.') {
                    Some(off) => {
                        steps.push(chars[start..idx + off].iter().collect());
                        idx += off + 1;
                    }
                    None => {
                        steps.push(chars[start..].iter().collect());
                        idx = chars.len();
                    }
                }
            } else {
                let backtick_at = idx;
                idx += 1;
                let mut field = String::new();
                let mut start = idx;
                loop {
                    let Some(off) = chars[idx..].iter().position(|c| *c == '`') else {
                        return Err(fail(backtick_at));
                    };
                    idx += off;
                    let escaped = chars[idx - 1] == '\\';
                    if idx >= chars.len() - 1 {
                        if escaped {
                            return Err(fail(backtick_at));
                        }
                        field.extend(&chars[start..idx]);
                        steps.push(std::mem::take(&mut field));
                        idx += 1;
                        break;
                    }
                    if chars[idx + 1] != '.' {
                        idx += 1;
                        continue;
                    }
                    if escaped {
                        field.extend(&chars[start..idx - 1]);
                        field.push('`');
                        idx += 1;
                        start = idx;
                        continue;
                    }
                    field.extend(&chars[start..idx]);
                    steps.push(std::mem::take(&mut field));
                    idx += 2;
                    break;
                }
            }
        }
        if path.ends_with('.') {
            steps.push(String::new());
        }
        if steps.is_empty() {
            steps.push(String::new());
        }
        Ok(FieldPath { steps })
    }

    fn init(&self) -> &[String] {
        &self.steps[..self.steps.len() - 1]
    }
    fn last(&self) -> &str {
        &self.steps[self.steps.len() - 1]
    }

    pub fn field_from(&self, schema: &Schema) -> Option<Field> {
        let mut current = schema.clone();
        for step in self.init() {
            current = current.field(step)?.schema.clone();
        }
        current.field(self.last()).cloned()
    }

    pub fn value_from_struct(&self, st: &Struct, with_default: bool) -> Result<Value, DataError> {
        let mut current = st.clone();
        for step in self.init() {
            if current.schema().field(step).is_none() {
                return Ok(Value::Null);
            }
            let sub = current.get(step)?;
            match require_struct_or_null(&sub, "nested field access")? {
                Some(s) => current = s.clone(),
                None => return Ok(Value::Null),
            }
        }
        if current.schema().field(self.last()).is_some() {
            current.get_maybe_default(self.last(), with_default)
        } else {
            Ok(Value::Null)
        }
    }

    pub fn value_from_map(&self, map: &[(Value, Value)]) -> Result<Value, DataError> {
        let mut current: Vec<(Value, Value)> = map.to_vec();
        for step in self.init() {
            let next = Value::map_get(&current, step)
                .cloned()
                .unwrap_or(Value::Null);
            match require_map_or_null(&next, "nested field access")? {
                Some(m) => current = m.clone(),
                None => return Ok(Value::Null),
            }
        }
        Ok(Value::map_get(&current, self.last())
            .cloned()
            .unwrap_or(Value::Null))
    }
}

pub fn field_syntax_def(def: ConfigDef) -> ConfigDef {
    def.define("field.syntax.version", ConfigType::String, default_str("V1"), Some(Validator::OneOfIgnoreCase(&["V1", "V2"])),
        Importance::High, "Defines the version of the syntax to access fields. V1: root-level fields only; V2: dotted paths into nested fields.")
}

pub fn is_v2(p: &crate::config::Parsed) -> bool {
    p.string("field.syntax.version")
        .is_some_and(|v| v.eq_ignore_ascii_case("V2"))
}

#[derive(Clone, Debug)]
pub struct ExtractFieldConfig {
    pub original: String,
    pub path: FieldPath,
    pub replace_null_with_default: bool,
}

impl ExtractFieldConfig {
    pub fn config_def() -> ConfigDef {
        field_syntax_def(
            ConfigDef::new()
                .define("field", ConfigType::String, no_default(), None, Importance::Medium, "Field name to extract.")
                .define("replace.null.with.default", ConfigType::Boolean, default_bool(true), None, Importance::Medium,
                    "Whether to replace fields that have a default value and that are null to the default value."),
        )
    }
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let p = Self::config_def().parse(props)?;
        let original = p.string("field").unwrap_or_default();
        let path = FieldPath::parse(&original, is_v2(&p))?;
        Ok(ExtractFieldConfig {
            original,
            path,
            replace_null_with_default: p.bool("replace.null.with.default"),
        })
    }
    pub fn build(self, target: Target) -> ExtractField {
        ExtractField {
            target,
            config: self,
        }
    }
}

pub struct ExtractField {
    target: Target,
    config: ExtractFieldConfig,
}

impl Transformation for ExtractField {
    fn apply(&self, record: ConnectRecord) -> TransformResult {
        let value = self.target.value(&record).clone();
        match self.target.schema(&record).cloned() {
            None => {
                let v = match require_map_or_null(&value, PURPOSE)? {
                    None => Value::Null,
                    Some(m) => self.config.path.value_from_map(m)?,
                };
                Ok(Some(self.target.set(record, None, v)))
            }
            Some(schema) => {
                let st = require_struct_or_null(&value, PURPOSE)?;
                let field = self.config.path.field_from(&schema).ok_or_else(|| {
                    DataError::new(format!("Unknown field: {}", self.config.original))
                })?;
                let v = match st {
                    None => Value::Null,
                    Some(st) => self
                        .config
                        .path
                        .value_from_struct(st, self.config.replace_null_with_default)?,
                };
                Ok(Some(self.target.set(record, Some(field.schema), v)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_paths() {
        assert_eq!(FieldPath::parse("a.b", true).unwrap().steps, vec!["a", "b"]);
        assert_eq!(
            FieldPath::parse("`a.b`.c", true).unwrap().steps,
            vec!["a.b", "c"]
        );
        assert_eq!(FieldPath::parse("a.b", false).unwrap().steps, vec!["a.b"]);
        assert!(FieldPath::parse("`a.b", true).is_err());
    }
}
