//! `TimestampConverter$Key` / `$Value`: converts a timestamp (a field, or the
//! whole key/value) between unix longs (`unix.precision`), formatted strings
//! (`format`, SimpleDateFormat in UTC) and the Date/Time/Timestamp logical types.

use crate::config::{
    default_bool, default_str, no_default, ConfigDef, ConfigError, ConfigType, Importance, Props,
    Validator,
};
use crate::data::date_format::SimpleDateFormat;
use crate::data::logical::{self, Logical, MILLIS_PER_DAY};
use crate::data::{copy_schema_basics, DataError, Schema, SchemaBuilder, Struct, Type, Value};
use crate::record::ConnectRecord;

use super::{require_map, require_struct_or_null, Target, TransformResult, Transformation};

const PURPOSE: &str = "converting timestamp formats";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

impl Kind {
    fn from_name(s: &str) -> Option<Kind> {
        Some(match s {
            "string" => Kind::String,
            "unix" => Kind::Unix,
            "Date" => Kind::Date,
            "Time" => Kind::Time,
            "Timestamp" => Kind::Timestamp,
            _ => return None,
        })
    }

    fn schema(self, optional: bool) -> Schema {
        let b = match self {
            Kind::String => SchemaBuilder::string(),
            Kind::Unix => SchemaBuilder::int64(),
            Kind::Date => logical::date_builder(),
            Kind::Time => logical::time_builder(),
            Kind::Timestamp => logical::timestamp_builder(),
        };
        b.set_optional(optional).build()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    Seconds,
    Milliseconds,
    Microseconds,
    Nanoseconds,
}

#[derive(Clone, Debug)]
pub struct TimestampConverterConfig {
    pub field: String,
    pub target: Kind,
    pub format: Option<SimpleDateFormat>,
    pub precision: Precision,
    pub replace_null_with_default: bool,
}

impl TimestampConverterConfig {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define("field", ConfigType::String, default_str(""), None, Importance::High,
                "The field containing the timestamp, or empty if the entire value is a timestamp")
            .define("target.type", ConfigType::String, no_default(), Some(Validator::OneOf(&["string", "unix", "Date", "Time", "Timestamp"])),
                Importance::High, "The desired timestamp representation: string, unix, Date, Time, or Timestamp")
            .define("format", ConfigType::String, default_str(""), None, Importance::Medium,
                "A SimpleDateFormat-compatible format for the timestamp. Used to generate the output when type=string or used to parse the input if the input is a string.")
            .define("unix.precision", ConfigType::String, default_str("milliseconds"),
                Some(Validator::OneOf(&["nanoseconds", "microseconds", "milliseconds", "seconds"])), Importance::Low,
                "The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or nanoseconds.")
            .define("replace.null.with.default", ConfigType::Boolean, default_bool(true), None, Importance::Medium,
                "Whether to replace fields that have a default value and that are null to the default value.")
    }

    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let p = Self::config_def().parse(props)?;
        let target = Kind::from_name(&p.string("target.type").unwrap_or_default())
            .ok_or_else(|| ConfigError::new("Unsupported timestamp type"))?;
        let pattern = p.string("format").unwrap_or_default();
        if target == Kind::String && pattern.trim().is_empty() {
            return Err(ConfigError::new("TimestampConverter requires format option to be specified when using string timestamps"));
        }
        let format = if pattern.trim().is_empty() {
            None
        } else {
            Some(SimpleDateFormat::new(&pattern).map_err(|_| {
                ConfigError::for_key(
                    "format",
                    format!("TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: {pattern}"),
                )
            })?)
        };
        let precision = match p.string("unix.precision").as_deref() {
            Some("seconds") => Precision::Seconds,
            Some("microseconds") => Precision::Microseconds,
            Some("nanoseconds") => Precision::Nanoseconds,
            _ => Precision::Milliseconds,
        };
        Ok(TimestampConverterConfig {
            field: p.string("field").unwrap_or_default(),
            target,
            format,
            precision,
            replace_null_with_default: p.bool("replace.null.with.default"),
        })
    }

    pub fn build(self, target: Target) -> TimestampConverter {
        TimestampConverter {
            target,
            config: self,
        }
    }
}

pub struct TimestampConverter {
    target: Target,
    config: TimestampConverterConfig,
}

fn kind_from_schema(schema: &Schema) -> Result<Kind, DataError> {
    match schema.name().and_then(Logical::from_name) {
        Some(Logical::Timestamp) => return Ok(Kind::Timestamp),
        Some(Logical::Date) => return Ok(Kind::Date),
        Some(Logical::Time) => return Ok(Kind::Time),
        _ => {}
    }
    match schema.ty() {
        Type::String => Ok(Kind::String),
        Type::Int64 => Ok(Kind::Unix),
        _ => Err(DataError::new(format!(
            "Schema {} does not correspond to a known timestamp type format",
            schema.java_string()
        ))),
    }
}

impl TimestampConverter {
    fn no_format() -> DataError {
        DataError::new("TimestampConverter requires format option to be specified when using string timestamps")
    }

    fn to_raw(&self, kind: Kind, v: &Value) -> Result<i64, DataError> {
        match kind {
            Kind::String => {
                let Value::String(s) = v else {
                    return Err(DataError::new(format!(
                        "Expected string timestamp to be a String, but found {}",
                        v.java_class()
                    )));
                };
                let f = self.config.format.as_ref().ok_or_else(Self::no_format)?;
                f.parse(s).map_err(|_| {
                    DataError::new(format!(
                        "Could not parse timestamp: value ({s}) does not match pattern ({})",
                        f.pattern()
                    ))
                })
            }
            Kind::Unix => {
                let Value::Int64(t) = v else {
                    return Err(DataError::new(format!(
                        "Expected Unix timestamp to be a Long, but found {}",
                        v.java_class()
                    )));
                };
                Ok(match self.config.precision {
                    Precision::Seconds => t.saturating_mul(1000),
                    Precision::Milliseconds => *t,
                    Precision::Microseconds => t / 1000,
                    Precision::Nanoseconds => t / 1_000_000,
                })
            }
            Kind::Date | Kind::Time | Kind::Timestamp => {
                let Value::Date(ms) = v else {
                    let name = match kind {
                        Kind::Date => "Date",
                        Kind::Time => "Time",
                        _ => "Timestamp",
                    };
                    return Err(DataError::new(format!(
                        "Expected {name} to be a java.util.Date, but found {}",
                        v.java_class()
                    )));
                };
                Ok(*ms)
            }
        }
    }

    fn to_type(&self, ms: i64) -> Result<Value, DataError> {
        Ok(match self.config.target {
            Kind::String => Value::String(
                self.config
                    .format
                    .as_ref()
                    .ok_or_else(Self::no_format)?
                    .format(ms),
            ),
            Kind::Unix => Value::Int64(match self.config.precision {
                Precision::Seconds => ms / 1000,
                Precision::Milliseconds => ms,
                Precision::Microseconds => ms.saturating_mul(1000),
                Precision::Nanoseconds => ms.saturating_mul(1_000_000),
            }),
            Kind::Date => Value::Date(ms.div_euclid(MILLIS_PER_DAY) * MILLIS_PER_DAY),
            Kind::Time => Value::Date(ms.rem_euclid(MILLIS_PER_DAY)),
            Kind::Timestamp => Value::Date(ms),
        })
    }

    fn convert(&self, v: &Value, kind: Option<Kind>) -> Result<Value, DataError> {
        if v.is_null() {
            return Ok(Value::Null);
        }
        let kind = match kind {
            Some(k) => k,
            None => match v {
                Value::Date(_) => Kind::Timestamp,
                Value::Int64(_) => Kind::Unix,
                Value::String(_) => Kind::String,
                other => {
                    return Err(DataError::new(format!(
                        "TimestampConverter does not support {} objects as timestamps",
                        other.java_class()
                    )))
                }
            },
        };
        let raw = self.to_raw(kind, v)?;
        self.to_type(raw)
    }

    fn apply_struct(&self, st: Option<&Struct>, ns: &Schema) -> Result<Value, DataError> {
        let Some(st) = st else { return Ok(Value::Null) };
        let mut out = Struct::new(ns);
        for f in st.schema().fields() {
            let v = st.get_maybe_default(&f.name, self.config.replace_null_with_default)?;
            let nv = if f.name == self.config.field {
                self.convert(&v, Some(kind_from_schema(&f.schema)?))?
            } else {
                v
            };
            out.put(&f.name, nv)?;
        }
        Ok(Value::Struct(out))
    }
}

impl Transformation for TimestampConverter {
    fn apply(&self, record: ConnectRecord) -> TransformResult {
        let value = self.target.value(&record).clone();
        match self.target.schema(&record).cloned() {
            None => {
                if value.is_null() || self.config.field.is_empty() {
                    let v = self.convert(&value, None)?;
                    return Ok(Some(self.target.set(record, None, v)));
                }
                let map = require_map(&value, PURPOSE)?;
                let mut updated = map.clone();
                let orig = Value::map_get(map, &self.config.field)
                    .cloned()
                    .unwrap_or(Value::Null);
                Value::map_put(
                    &mut updated,
                    Value::str(self.config.field.clone()),
                    self.convert(&orig, None)?,
                );
                Ok(Some(self.target.set(record, None, Value::Map(updated))))
            }
            Some(schema) => {
                if self.config.field.is_empty() {
                    let ns = self.config.target.schema(schema.is_optional());
                    let v = self.convert(&value, Some(kind_from_schema(&schema)?))?;
                    return Ok(Some(self.target.set(record, Some(ns), v)));
                }
                let st = require_struct_or_null(&value, PURPOSE)?;
                let mut b = copy_schema_basics(&schema, SchemaBuilder::struct_());
                for f in schema.fields() {
                    if f.name == self.config.field {
                        b = b.field(&f.name, self.config.target.schema(f.schema.is_optional()))?;
                    } else {
                        b = b.field(&f.name, f.schema.clone())?;
                    }
                }
                if schema.is_optional() {
                    b = b.optional();
                }
                if let Some(Value::Struct(d)) = schema.default_value() {
                    let probe = b.peek();
                    let nd = self.apply_struct(Some(d), &probe)?;
                    b = b.default_value(nd)?;
                }
                let ns = b.build();
                let nv = self.apply_struct(st, &ns)?;
                Ok(Some(self.target.set(record, Some(ns), nv)))
            }
        }
    }
}
