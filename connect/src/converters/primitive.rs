//! `ByteArrayConverter` and the number/boolean converters of
//! `org.apache.kafka.connect.converters`: the value's Kafka serializer form
//! (big-endian integers, IEEE-754 floats, one byte for booleans).

use crate::data::{DataError, Schema, SchemaAndValue, Type, Value};

use super::{Converter, HeaderConverter};

pub struct ByteArrayConverter;

impl Converter for ByteArrayConverter {
    fn from_connect(
        &self,
        _topic: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        if let Some(s) = schema {
            if s.ty() != Type::Bytes {
                return Err(DataError::new(format!(
                    "Invalid schema type for ByteArrayConverter: {}",
                    s.ty()
                )));
            }
        }
        match value {
            Value::Null => Ok(None),
            Value::Bytes(b) => Ok(Some(b.clone())),
            other => Err(DataError::new(format!(
                "ByteArrayConverter is not compatible with objects of type {}",
                other.java_class()
            ))),
        }
    }

    fn to_connect(&self, _topic: &str, bytes: Option<&[u8]>) -> Result<SchemaAndValue, DataError> {
        Ok(SchemaAndValue::new(
            Some(Schema::optional_of(Type::Bytes)),
            bytes
                .map(|b| Value::Bytes(b.to_vec()))
                .unwrap_or(Value::Null),
        ))
    }
}

impl HeaderConverter for ByteArrayConverter {
    fn from_connect_header(
        &self,
        topic: &str,
        _key: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        self.from_connect(topic, schema, value)
    }
    fn to_connect_header(
        &self,
        topic: &str,
        _key: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError> {
        self.to_connect(topic, bytes)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Boolean,
    Short,
    Integer,
    Long,
    Float,
    Double,
}

impl Kind {
    fn ty(self) -> Type {
        match self {
            Kind::Boolean => Type::Boolean,
            Kind::Short => Type::Int16,
            Kind::Integer => Type::Int32,
            Kind::Long => Type::Int64,
            Kind::Float => Type::Float32,
            Kind::Double => Type::Float64,
        }
    }
    fn size(self) -> usize {
        match self {
            Kind::Boolean => 1,
            Kind::Short => 2,
            Kind::Integer | Kind::Float => 4,
            Kind::Long | Kind::Double => 8,
        }
    }
}

pub struct NumberConverter {
    kind: Kind,
}

impl NumberConverter {
    pub fn new(kind: Kind) -> Self {
        NumberConverter { kind }
    }
}

impl Converter for NumberConverter {
    fn from_connect(
        &self,
        _topic: &str,
        _schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        let bytes = match (self.kind, value) {
            (_, Value::Null) => return Ok(None),
            (Kind::Boolean, Value::Boolean(b)) => vec![*b as u8],
            (Kind::Short, Value::Int16(v)) => v.to_be_bytes().to_vec(),
            (Kind::Integer, Value::Int32(v)) => v.to_be_bytes().to_vec(),
            (Kind::Long, Value::Int64(v)) => v.to_be_bytes().to_vec(),
            (Kind::Float, Value::Float32(v)) => v.to_bits().to_be_bytes().to_vec(),
            (Kind::Double, Value::Float64(v)) => v.to_bits().to_be_bytes().to_vec(),
            (k, other) => {
                return Err(DataError::new(format!(
                    "Failed to serialize to {} (was {}): ",
                    k.ty(),
                    other.java_class()
                )))
            }
        };
        Ok(Some(bytes))
    }

    fn to_connect(&self, _topic: &str, bytes: Option<&[u8]>) -> Result<SchemaAndValue, DataError> {
        let schema = Some(Schema::optional_of(self.kind.ty()));
        let Some(b) = bytes else {
            return Ok(SchemaAndValue::new(schema, Value::Null));
        };
        if b.len() != self.kind.size() {
            return Err(DataError::new(format!(
                "Failed to deserialize {}: Size of data received by the deserializer is not {}",
                self.kind.ty(),
                self.kind.size()
            )));
        }
        let mut buf = [0u8; 8];
        buf[..b.len()].copy_from_slice(b);
        let v = match self.kind {
            Kind::Boolean => match b[0] {
                0 => Value::Boolean(false),
                1 => Value::Boolean(true),
                _ => {
                    return Err(DataError::new(
                        "Failed to deserialize BOOLEAN: unexpected byte value",
                    ))
                }
            },
            Kind::Short => Value::Int16(i16::from_be_bytes([b[0], b[1]])),
            Kind::Integer => Value::Int32(i32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            Kind::Long => Value::Int64(i64::from_be_bytes(buf)),
            Kind::Float => {
                Value::Float32(f32::from_bits(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
            }
            Kind::Double => Value::Float64(f64::from_bits(u64::from_be_bytes(buf))),
        };
        Ok(SchemaAndValue::new(schema, v))
    }
}
