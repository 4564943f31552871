//! The Connect data model shared by converters, transforms and connectors:
//! schemas, values, structs and the logical types Decimal, Date, Time and
//! Timestamp, following `org.apache.kafka.connect.data`.

pub mod date_format;
pub mod decimal;
pub mod javafmt;
pub mod logical;
pub mod schema;
pub mod values;

use std::fmt;

pub use decimal::BigDecimal;
pub use schema::{copy_schema_basics, copy_schema_basics_of, Field, Schema, SchemaBuilder, Type};

/// Connect's `DataException`: a record cannot be converted or transformed.
#[derive(Clone, Debug, PartialEq)]
pub struct DataError {
    pub message: String,
}

impl DataError {
    pub fn new(message: impl Into<String>) -> Self {
        DataError {
            message: message.into(),
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DataError {}

/// A Connect value: what a Java `Object` in a record can be.
///
/// `Date` stands for `java.util.Date` (milliseconds since the epoch), the
/// runtime form of the Date, Time and Timestamp logical types; `Decimal` is
/// `java.math.BigDecimal`. Maps keep insertion order and `put` semantics.
#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Boolean(bool),
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    String(String),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Struct(Struct),
    Decimal(BigDecimal),
    Date(i64),
}

/// Java's `Objects.deepEquals`: floats compare by bits (`Float.equals`).
impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) => true,
            (Boolean(a), Boolean(b)) => a == b,
            (Int8(a), Int8(b)) => a == b,
            (Int16(a), Int16(b)) => a == b,
            (Int32(a), Int32(b)) => a == b,
            (Int64(a), Int64(b)) => a == b,
            (Float32(a), Float32(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            (Float64(a), Float64(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            (String(a), String(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            (Array(a), Array(b)) => a == b,
            (Map(a), Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.iter().any(|(k2, v2)| k == k2 && v == v2))
            }
            (Struct(a), Struct(b)) => a == b,
            (Decimal(a), Decimal(b)) => a == b,
            (Date(a), Date(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn str(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// `ConnectSchema.schemaType(value.getClass())`: the type a schemaless value
    /// has, or `None` for BigDecimal/Date (which have no schemaless type).
    pub fn schema_type(&self) -> Option<Type> {
        Some(match self {
            Value::Null => return None,
            Value::Boolean(_) => Type::Boolean,
            Value::Int8(_) => Type::Int8,
            Value::Int16(_) => Type::Int16,
            Value::Int32(_) => Type::Int32,
            Value::Int64(_) => Type::Int64,
            Value::Float32(_) => Type::Float32,
            Value::Float64(_) => Type::Float64,
            Value::String(_) => Type::String,
            Value::Bytes(_) => Type::Bytes,
            Value::Array(_) => Type::Array,
            Value::Map(_) => Type::Map,
            Value::Struct(_) => Type::Struct,
            Value::Decimal(_) | Value::Date(_) => return None,
        })
    }

    /// The Java class name as `value.getClass()` prints in messages.
    pub fn java_class(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Boolean(_) => "class java.lang.Boolean",
            Value::Int8(_) => "class java.lang.Byte",
            Value::Int16(_) => "class java.lang.Short",
            Value::Int32(_) => "class java.lang.Integer",
            Value::Int64(_) => "class java.lang.Long",
            Value::Float32(_) => "class java.lang.Float",
            Value::Float64(_) => "class java.lang.Double",
            Value::String(_) => "class java.lang.String",
            Value::Bytes(_) => "class [B",
            Value::Array(_) => "class java.util.ArrayList",
            Value::Map(_) => "class java.util.HashMap",
            Value::Struct(_) => "class org.apache.kafka.connect.data.Struct",
            Value::Decimal(_) => "class java.math.BigDecimal",
            Value::Date(_) => "class java.util.Date",
        }
    }

    /// The fully-qualified class name without the `class ` prefix.
    pub fn java_class_name(&self) -> &'static str {
        let c = self.java_class();
        c.strip_prefix("class ").unwrap_or(c)
    }

    pub fn is_number(&self) -> bool {
        matches!(
            self,
            Value::Int8(_)
                | Value::Int16(_)
                | Value::Int32(_)
                | Value::Int64(_)
                | Value::Float32(_)
                | Value::Float64(_)
                | Value::Decimal(_)
        )
    }

    /// `Number.longValue()` (Java narrowing: floats saturate, NaN is 0).
    pub fn long_value(&self) -> Option<i64> {
        Some(match self {
            Value::Int8(v) => *v as i64,
            Value::Int16(v) => *v as i64,
            Value::Int32(v) => *v as i64,
            Value::Int64(v) => *v,
            Value::Float32(v) => *v as i64,
            Value::Float64(v) => *v as i64,
            Value::Decimal(d) => d.long_value(),
            _ => return None,
        })
    }

    /// `Number.intValue()`.
    pub fn int_value(&self) -> Option<i32> {
        Some(match self {
            Value::Float32(v) => *v as i32,
            Value::Float64(v) => *v as i32,
            other => other.long_value()? as i32,
        })
    }

    pub fn double_value(&self) -> Option<f64> {
        Some(match self {
            Value::Int8(v) => *v as f64,
            Value::Int16(v) => *v as f64,
            Value::Int32(v) => *v as f64,
            Value::Int64(v) => *v as f64,
            Value::Float32(v) => *v as f64,
            Value::Float64(v) => *v,
            Value::Decimal(d) => d.double_value(),
            _ => return None,
        })
    }

    pub fn float_value(&self) -> Option<f32> {
        Some(match self {
            Value::Int8(v) => *v as f32,
            Value::Int16(v) => *v as f32,
            Value::Int32(v) => *v as f32,
            Value::Int64(v) => *v as f32,
            Value::Float32(v) => *v,
            Value::Float64(v) => *v as f32,
            Value::Decimal(d) => d.float_value(),
            _ => return None,
        })
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Java's `toString()` of the value, as `Cast` to string prints it.
    pub fn java_to_string(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Boolean(b) => b.to_string(),
            Value::Int8(v) => v.to_string(),
            Value::Int16(v) => v.to_string(),
            Value::Int32(v) => v.to_string(),
            Value::Int64(v) => v.to_string(),
            Value::Float32(v) => javafmt::float_to_string(*v),
            Value::Float64(v) => javafmt::double_to_string(*v),
            Value::String(s) => s.clone(),
            Value::Decimal(d) => d.to_java_string(),
            Value::Bytes(b) => format!("[B@{:x}", b.len()),
            Value::Array(items) => {
                let parts: Vec<String> = items.iter().map(|v| v.java_to_string()).collect();
                format!("[{}]", parts.join(", "))
            }
            Value::Map(entries) => {
                let parts: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{}={}", k.java_to_string(), v.java_to_string()))
                    .collect();
                format!("{{{}}}", parts.join(", "))
            }
            Value::Struct(s) => s.java_to_string(),
            Value::Date(ms) => date_format::java_date_to_string(*ms),
        }
    }

    /// Map lookup by string key (schemaless records).
    pub fn map_get<'a>(entries: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
        entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// `Map.put`: replace in place or append.
    pub fn map_put(entries: &mut Vec<(Value, Value)>, key: Value, value: Value) {
        match entries.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => entries.push((key, value)),
        }
    }

    pub fn map_remove(entries: &mut Vec<(Value, Value)>, key: &str) {
        entries.retain(|(k, _)| k.as_str() != Some(key));
    }
}

/// A struct value: its schema and one slot per field (`Null` when unset).
#[derive(Clone, Debug, PartialEq)]
pub struct Struct {
    schema: Schema,
    values: Vec<Value>,
}

impl Struct {
    pub fn new(schema: &Schema) -> Struct {
        Struct {
            schema: schema.clone(),
            values: vec![Value::Null; schema.fields().len()],
        }
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    fn lookup(&self, name: &str) -> Result<&Field, DataError> {
        self.schema
            .field(name)
            .ok_or_else(|| DataError::new(format!("{name} is not a valid field name")))
    }

    /// `Struct.put(name, value)`: validates the value against the field schema.
    pub fn put(&mut self, name: &str, value: Value) -> Result<(), DataError> {
        let field = self.lookup(name)?.clone();
        validate_value(
            &field.schema,
            &value,
            Some(&format!("field: \"{}\"", field.name)),
        )?;
        self.values[field.index] = value;
        Ok(())
    }

    /// `Struct.get(name)`: the value, or the field's default when it is null.
    pub fn get(&self, name: &str) -> Result<Value, DataError> {
        let field = self.lookup(name)?;
        let v = &self.values[field.index];
        if v.is_null() {
            if let Some(d) = field.schema.default_value() {
                return Ok(d.clone());
            }
        }
        Ok(v.clone())
    }

    pub fn get_without_default(&self, name: &str) -> Result<Value, DataError> {
        let field = self.lookup(name)?;
        Ok(self.values[field.index].clone())
    }

    /// `get` or `getWithoutDefault`, as the `replace.null.with.default` SMT option picks.
    pub fn get_maybe_default(&self, name: &str, with_default: bool) -> Result<Value, DataError> {
        if with_default {
            self.get(name)
        } else {
            self.get_without_default(name)
        }
    }

    /// `Struct.validate()`: every field valid for its schema.
    pub fn validate(&self) -> Result<(), DataError> {
        for field in self.schema.fields() {
            let v = &self.values[field.index];
            let v = if v.is_null() {
                field.schema.default_value().unwrap_or(v)
            } else {
                v
            };
            validate_value(
                &field.schema,
                v,
                Some(&format!("field: \"{}\"", field.name)),
            )?;
        }
        Ok(())
    }

    pub fn java_to_string(&self) -> String {
        let parts: Vec<String> = self
            .schema
            .fields()
            .iter()
            .filter(|f| !self.values[f.index].is_null())
            .map(|f| format!("{}={}", f.name, self.values[f.index].java_to_string()))
            .collect();
        format!("Struct{{{}}}", parts.join(","))
    }
}

/// `ConnectSchema.validateValue`: the value's Java class must fit the schema
/// (logical types by their class), nulls only for optional schemas.
pub fn validate_value(
    schema: &Schema,
    value: &Value,
    location: Option<&str>,
) -> Result<(), DataError> {
    let location_text = location.unwrap_or("value");
    if value.is_null() {
        if !schema.is_optional() {
            return Err(DataError::new(format!(
                "Invalid value: null used for required {}, schema type: {}",
                location_text,
                schema.ty()
            )));
        }
        return Ok(());
    }
    let ok = match schema.name().and_then(logical::Logical::from_name) {
        Some(logical::Logical::Decimal) => matches!(value, Value::Decimal(_)),
        Some(_) => matches!(value, Value::Date(_)),
        None => value.schema_type() == Some(schema.ty()),
    };
    if !ok {
        let mut msg = "Invalid Java object for schema".to_string();
        if let Some(n) = schema.name() {
            msg.push_str(&format!(" \"{n}\""));
        }
        msg.push_str(&format!(
            " with type {}: {}",
            schema.ty(),
            value.java_class()
        ));
        if let Some(l) = location {
            msg.push_str(&format!(" for {l}"));
        }
        return Err(DataError::new(msg));
    }
    match value {
        Value::Struct(s) => {
            if s.schema() != schema {
                return Err(DataError::new("Struct schemas do not match."));
            }
            s.validate()?;
        }
        Value::Array(items) => {
            let loc = format!("element of array {location_text}");
            let Some(vs) = schema.value_schema() else {
                return Err(DataError::new(format!("No schema defined for {loc}")));
            };
            for item in items {
                validate_value(vs, item, Some(&loc))?;
            }
        }
        Value::Map(entries) => {
            let kloc = format!("key of map {location_text}");
            let vloc = format!("value of map {location_text}");
            let (Some(ks), Some(vs)) = (schema.key_schema(), schema.value_schema()) else {
                return Err(DataError::new(format!("No schema defined for {kloc}")));
            };
            for (k, v) in entries {
                validate_value(ks, k, Some(&kloc))?;
                validate_value(vs, v, Some(&vloc))?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A value with its (optional) schema, Connect's `SchemaAndValue`.
#[derive(Clone, Debug, PartialEq)]
pub struct SchemaAndValue {
    pub schema: Option<Schema>,
    pub value: Value,
}

impl SchemaAndValue {
    pub fn null() -> Self {
        SchemaAndValue {
            schema: None,
            value: Value::Null,
        }
    }
    pub fn new(schema: Option<Schema>, value: Value) -> Self {
        SchemaAndValue { schema, value }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_put_validates_and_get_uses_default() {
        let schema = SchemaBuilder::struct_()
            .field("a", Schema::of(Type::Int32))
            .unwrap()
            .field(
                "b",
                SchemaBuilder::string()
                    .optional()
                    .default_value(Value::str("d"))
                    .unwrap()
                    .build(),
            )
            .unwrap()
            .build();
        let mut s = Struct::new(&schema);
        assert!(s.put("a", Value::Int64(1)).is_err());
        assert!(s.put("a", Value::Null).is_err());
        s.put("a", Value::Int32(1)).unwrap();
        assert_eq!(s.get("b").unwrap(), Value::str("d"));
        assert_eq!(s.get_without_default("b").unwrap(), Value::Null);
        assert!(s.put("zz", Value::Null).is_err());
    }
}
