//! `Cast$Key` / `Cast$Value`: cast fields (or the whole key/value) to another
//! primitive type, following Java's narrowing and parsing rules.

use base64::Engine;

use crate::config::{
    default_bool, no_default, ConfigDef, ConfigError, ConfigType, ConfigValue, Importance, Props,
    Validator,
};
use crate::data::{
    copy_schema_basics, date_format, logical, DataError, Schema, SchemaBuilder, Struct, Type, Value,
};
use crate::record::ConnectRecord;

use super::{java_split, require_map, require_struct, Target, TransformResult, Transformation};

const PURPOSE: &str = "cast types";
const INPUT_TYPES: [Type; 9] = [
    Type::Int8,
    Type::Int16,
    Type::Int32,
    Type::Int64,
    Type::Float32,
    Type::Float64,
    Type::Boolean,
    Type::String,
    Type::Bytes,
];
const OUTPUT_TYPES: [Type; 8] = [
    Type::Int8,
    Type::Int16,
    Type::Int32,
    Type::Int64,
    Type::Float32,
    Type::Float64,
    Type::Boolean,
    Type::String,
];

fn type_list(types: &[Type]) -> String {
    format!(
        "[{}]",
        types
            .iter()
            .map(|t| t.java_name())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn validate_spec(_name: &str, v: &ConfigValue) -> Result<(), String> {
    let ConfigValue::List(l) = v else {
        return Ok(());
    };
    if l.is_empty() {
        return Err("Must specify at least one field to cast.".into());
    }
    parse_field_types(l).map(|_| ()).map_err(|e| e.message)
}

#[derive(Clone, Debug)]
pub struct CastConfig {
    /// `(None, t)` is a whole-value cast.
    pub casts: Vec<(Option<String>, Type)>,
    pub replace_null_with_default: bool,
}

fn parse_field_types(mappings: &[String]) -> Result<Vec<(Option<String>, Type)>, ConfigError> {
    let mut out: Vec<(Option<String>, Type)> = Vec::new();
    let mut whole = false;
    for mapping in mappings {
        let parts = java_split(mapping, ":");
        if parts.len() > 2 {
            return Err(ConfigError::for_key(
                "spec",
                format!("Invalid value [{}] for configuration renames: Invalid rename mapping: {mapping}", mappings.join(", ")),
            ));
        }
        let (field, ty_text) = if parts.len() == 1 {
            (None, parts[0].trim())
        } else {
            (Some(parts[0].trim().to_string()), parts[1].trim())
        };
        let ty = Type::from_java_name(&ty_text.to_uppercase()).ok_or_else(|| {
            ConfigError::for_key(
                "spec",
                format!("Invalid type found in casting spec: {ty_text}"),
            )
        })?;
        if !OUTPUT_TYPES.contains(&ty) {
            return Err(ConfigError::for_key(
                "spec",
                format!(
                    "Cast transformation does not support casting to {ty}; supported types are {}",
                    type_list(&OUTPUT_TYPES)
                ),
            ));
        }
        if field.is_none() {
            whole = true;
        }
        match out.iter_mut().find(|(f, _)| *f == field) {
            Some(slot) => slot.1 = ty,
            None => out.push((field, ty)),
        }
    }
    if whole && mappings.len() > 1 {
        return Err(ConfigError::for_key(
            "spec",
            "Cast transformations that specify a type to cast the entire value to may only specify a single cast in their spec",
        ));
    }
    Ok(out)
}

impl CastConfig {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define("spec", ConfigType::List, no_default(), Some(Validator::Custom(validate_spec)), Importance::High,
                "List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of Maps or Structs. A single type to cast the entire value.")
            .define("replace.null.with.default", ConfigType::Boolean, default_bool(true), None, Importance::Medium,
                "Whether to replace fields that have a default value and that are null to the default value.")
    }

    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let p = Self::config_def().parse(props)?;
        Ok(CastConfig {
            casts: parse_field_types(&p.list("spec"))?,
            replace_null_with_default: p.bool("replace.null.with.default"),
        })
    }

    pub fn build(self, target: Target) -> Cast {
        let whole = self
            .casts
            .iter()
            .find(|(f, _)| f.is_none())
            .map(|(_, t)| *t);
        Cast {
            target,
            whole,
            config: self,
        }
    }
}

pub struct Cast {
    target: Target,
    whole: Option<Type>,
    config: CastConfig,
}

impl Cast {
    fn cast_for(&self, field: &str) -> Option<Type> {
        self.config
            .casts
            .iter()
            .find(|(f, _)| f.as_deref() == Some(field))
            .map(|(_, t)| *t)
    }

    fn updated_schema(&self, schema: &Schema) -> Result<Schema, DataError> {
        let mut builder = match self.whole {
            Some(t) => copy_schema_basics(schema, SchemaBuilder::new(t)),
            None => {
                let mut b = copy_schema_basics(schema, SchemaBuilder::struct_());
                for f in schema.fields() {
                    match self.cast_for(&f.name) {
                        Some(t) => {
                            let mut fb = SchemaBuilder::new(t);
                            if f.schema.is_optional() {
                                fb = fb.optional();
                            }
                            if let Some(d) = f.schema.default_value() {
                                fb = fb.default_value(cast_value(Some(&f.schema), d, t)?)?;
                            }
                            b = b.field(&f.name, fb.build())?;
                        }
                        None => b = b.field(&f.name, f.schema.clone())?,
                    }
                }
                b
            }
        };
        if schema.is_optional() {
            builder = builder.optional();
        }
        if let Some(d) = schema.default_value() {
            let t = builder.ty();
            builder = builder.default_value(cast_value(Some(schema), d, t)?)?;
        }
        Ok(builder.build())
    }
}

impl Transformation for Cast {
    fn apply(&self, record: ConnectRecord) -> TransformResult {
        let value = self.target.value(&record).clone();
        if value.is_null() {
            return Ok(Some(record));
        }
        match self.target.schema(&record).cloned() {
            None => {
                if let Some(t) = self.whole {
                    let v = cast_value(None, &value, t)?;
                    return Ok(Some(self.target.set(record, None, v)));
                }
                let map = require_map(&value, PURPOSE)?;
                let mut updated = map.clone();
                for (field, t) in &self.config.casts {
                    let Some(field) = field else { continue };
                    let orig = Value::map_get(map, field).cloned().unwrap_or(Value::Null);
                    Value::map_put(
                        &mut updated,
                        Value::str(field.clone()),
                        cast_value(None, &orig, *t)?,
                    );
                }
                Ok(Some(self.target.set(record, None, Value::Map(updated))))
            }
            Some(schema) => {
                let updated_schema = self.updated_schema(&schema)?;
                if let Some(t) = self.whole {
                    let v = cast_value(Some(&schema), &value, t)?;
                    return Ok(Some(self.target.set(record, Some(updated_schema), v)));
                }
                let st = require_struct(&value, PURPOSE)?;
                let mut out = Struct::new(&updated_schema);
                for f in st.schema().fields() {
                    let orig =
                        st.get_maybe_default(&f.name, self.config.replace_null_with_default)?;
                    let nv = match self.cast_for(&f.name) {
                        Some(t) => cast_value(Some(&f.schema), &orig, t)?,
                        None => orig,
                    };
                    out.put(&f.name, nv)?;
                }
                Ok(Some(self.target.set(
                    record,
                    Some(updated_schema),
                    Value::Struct(out),
                )))
            }
        }
    }
}

/// `castValueToType`.
pub fn cast_value(
    schema: Option<&Schema>,
    value: &Value,
    target: Type,
) -> Result<Value, DataError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let inferred = match schema {
        Some(s) => s.ty(),
        None => value.schema_type().ok_or_else(|| {
            DataError::new(format!(
                "Cast transformation was passed a value of type {} which is not supported by Connect's data API",
                value.java_class()
            ))
        })?,
    };
    if !INPUT_TYPES.contains(&inferred) {
        return Err(DataError::new(format!(
            "Cast transformation does not support casting from {inferred}; supported types are {}",
            type_list(&INPUT_TYPES)
        )));
    }
    let value = match schema {
        Some(s) if s.name().is_some() && target != Type::String => {
            logical::encode_logical(s, value)?
        }
        _ => value.clone(),
    };
    let out_of_range = || {
        DataError::new(format!(
            "Value ({}) was out of range for requested data type",
            value.java_to_string()
        ))
    };
    let unexpected = || {
        DataError::new(format!(
            "Unexpected type in Cast transformation: {}",
            value.java_class()
        ))
    };
    Ok(match target {
        Type::Int8 => Value::Int8(match &value {
            v if v.is_number() => byte_value(v),
            Value::Boolean(b) => *b as i8,
            Value::String(s) => {
                parse_java_int(s, i8::MIN as i64, i8::MAX as i64).ok_or_else(out_of_range)? as i8
            }
            _ => return Err(unexpected()),
        }),
        Type::Int16 => Value::Int16(match &value {
            v if v.is_number() => short_value(v),
            Value::Boolean(b) => *b as i16,
            Value::String(s) => {
                parse_java_int(s, i16::MIN as i64, i16::MAX as i64).ok_or_else(out_of_range)? as i16
            }
            _ => return Err(unexpected()),
        }),
        Type::Int32 => Value::Int32(match &value {
            v if v.is_number() => v.int_value().unwrap_or(0),
            Value::Boolean(b) => *b as i32,
            Value::String(s) => {
                parse_java_int(s, i32::MIN as i64, i32::MAX as i64).ok_or_else(out_of_range)? as i32
            }
            _ => return Err(unexpected()),
        }),
        Type::Int64 => Value::Int64(match &value {
            v if v.is_number() => v.long_value().unwrap_or(0),
            Value::Boolean(b) => *b as i64,
            Value::String(s) => parse_java_int(s, i64::MIN, i64::MAX).ok_or_else(out_of_range)?,
            _ => return Err(unexpected()),
        }),
        Type::Float32 => Value::Float32(match &value {
            v if v.is_number() => v.float_value().unwrap_or(0.0),
            Value::Boolean(b) => *b as u8 as f32,
            Value::String(s) => parse_java_float(s).ok_or_else(out_of_range)? as f32,
            _ => return Err(unexpected()),
        }),
        Type::Float64 => Value::Float64(match &value {
            v if v.is_number() => v.double_value().unwrap_or(0.0),
            Value::Boolean(b) => *b as u8 as f64,
            Value::String(s) => parse_java_float(s).ok_or_else(out_of_range)?,
            _ => return Err(unexpected()),
        }),
        Type::Boolean => Value::Boolean(match &value {
            v if v.is_number() => v.long_value().unwrap_or(0) != 0,
            Value::Boolean(b) => *b,
            Value::String(s) => s.eq_ignore_ascii_case("true"),
            _ => return Err(unexpected()),
        }),
        Type::String => Value::String(match &value {
            Value::Date(ms) => date_format::iso_format_for(*ms),
            Value::Bytes(b) => base64::engine::general_purpose::STANDARD.encode(b),
            other => other.java_to_string(),
        }),
        other => {
            return Err(DataError::new(format!(
                "{other} is not supported in the Cast transformation."
            )))
        }
    })
}

/// `Number.byteValue()`: floats go through int first, as Java does.
fn byte_value(v: &Value) -> i8 {
    match v {
        Value::Float32(_) | Value::Float64(_) | Value::Decimal(_) => {
            v.int_value().unwrap_or(0) as i8
        }
        _ => v.long_value().unwrap_or(0) as i8,
    }
}

fn short_value(v: &Value) -> i16 {
    match v {
        Value::Float32(_) | Value::Float64(_) | Value::Decimal(_) => {
            v.int_value().unwrap_or(0) as i16
        }
        _ => v.long_value().unwrap_or(0) as i16,
    }
}

/// `Byte/Short/Integer/Long.parseXxx`: optional sign, ASCII digits, in range.
pub fn parse_java_int(s: &str, min: i64, max: i64) -> Option<i64> {
    let body = s
        .strip_prefix('+')
        .or_else(|| s.strip_prefix('-'))
        .unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i128 = s
        .parse::<i128>()
        .ok()
        .or_else(|| s.strip_prefix('+').and_then(|rest| rest.parse().ok()))?;
    if v < min as i128 || v > max as i128 {
        return None;
    }
    Some(v as i64)
}

/// `Double.parseDouble`: whitespace-trimmed, `NaN`/`Infinity`, optional d/f suffix.
pub fn parse_java_float(s: &str) -> Option<f64> {
    let t = s.trim();
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    match unsigned {
        "NaN" => return Some(f64::NAN),
        "Infinity" => {
            return Some(if t.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            })
        }
        _ => {}
    }
    let t = t.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(t);
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    t.parse::<f64>().ok()
}
