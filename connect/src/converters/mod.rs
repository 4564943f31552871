//! Converters between Connect data and the bytes in Kafka records, and the
//! header converters. `build` maps the class names (and short names) users
//! put in `key.converter` / `value.converter` / `header.converter` to a
//! configured instance; converter settings come from the prefixed keys.

pub mod avro;
pub mod json;
pub mod json_node;
pub mod json_schema;
pub mod primitive;
pub mod protobuf;
pub mod registry_client;
pub mod simple_header;
pub mod string;

use crate::config::{ConfigError, Props};
use crate::data::{DataError, Schema, SchemaAndValue, Value};

// The method names are Kafka's (`fromConnectData`, `toConnectData`).
#[allow(clippy::wrong_self_convention)]
pub trait Converter: Send + Sync {
    /// Connect data to bytes; `None` is a null (tombstone) payload.
    fn from_connect(
        &self,
        topic: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError>;
    fn to_connect(&self, topic: &str, bytes: Option<&[u8]>) -> Result<SchemaAndValue, DataError>;
}

#[allow(clippy::wrong_self_convention)]
pub trait HeaderConverter: Send + Sync {
    fn from_connect_header(
        &self,
        topic: &str,
        key: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError>;
    fn to_connect_header(
        &self,
        topic: &str,
        key: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError>;
}

/// Every converter class this worker provides, as `/connector-plugins?connectorsOnly=false` lists them.
pub const CONVERTER_CLASSES: &[&str] = &[
    "org.apache.kafka.connect.json.JsonConverter",
    "org.apache.kafka.connect.storage.StringConverter",
    "org.apache.kafka.connect.converters.ByteArrayConverter",
    "org.apache.kafka.connect.converters.BooleanConverter",
    "org.apache.kafka.connect.converters.ShortConverter",
    "org.apache.kafka.connect.converters.IntegerConverter",
    "org.apache.kafka.connect.converters.LongConverter",
    "org.apache.kafka.connect.converters.FloatConverter",
    "org.apache.kafka.connect.converters.DoubleConverter",
    "io.confluent.connect.avro.AvroConverter",
    "io.confluent.connect.json.JsonSchemaConverter",
    "io.confluent.connect.protobuf.ProtobufConverter",
];

pub const HEADER_CONVERTER_CLASSES: &[&str] = &[
    "org.apache.kafka.connect.storage.SimpleHeaderConverter",
    "org.apache.kafka.connect.json.JsonConverter",
    "org.apache.kafka.connect.storage.StringConverter",
];

fn short(class: &str) -> &str {
    class.rsplit('.').next().unwrap_or(class)
}

/// Builds the converter named by `class` (full or simple class name) from its
/// settings (the `key.converter.`/`value.converter.` prefixed keys, prefix removed).
pub fn build(class: &str, props: &Props, is_key: bool) -> Result<Box<dyn Converter>, ConfigError> {
    let mut props = props.clone();
    props
        .entry("converter.type".into())
        .or_insert_with(|| if is_key { "key" } else { "value" }.into());
    Ok(match short(class.trim()) {
        "JsonConverter" => Box::new(json::JsonConverterConfig::parse(&props)?.build()),
        "StringConverter" => Box::new(string::StringConverterConfig::parse(&props)?.build()),
        "ByteArrayConverter" => Box::new(primitive::ByteArrayConverter),
        "BooleanConverter" => Box::new(primitive::NumberConverter::new(primitive::Kind::Boolean)),
        "ShortConverter" => Box::new(primitive::NumberConverter::new(primitive::Kind::Short)),
        "IntegerConverter" => Box::new(primitive::NumberConverter::new(primitive::Kind::Integer)),
        "LongConverter" => Box::new(primitive::NumberConverter::new(primitive::Kind::Long)),
        "FloatConverter" => Box::new(primitive::NumberConverter::new(primitive::Kind::Float)),
        "DoubleConverter" => Box::new(primitive::NumberConverter::new(primitive::Kind::Double)),
        "AvroConverter" => Box::new(avro::AvroConverterConfig::parse(&props, is_key)?.build()),
        "JsonSchemaConverter" => {
            Box::new(json_schema::JsonSchemaConverterConfig::parse(&props, is_key)?.build())
        }
        "ProtobufConverter" => {
            Box::new(protobuf::ProtobufConverterConfig::parse(&props, is_key)?.build())
        }
        _ => {
            return Err(ConfigError::new(format!(
                "Class {} could not be found.",
                class.trim()
            )))
        }
    })
}

pub fn build_header(class: &str, props: &Props) -> Result<Box<dyn HeaderConverter>, ConfigError> {
    let mut props = props.clone();
    props
        .entry("converter.type".into())
        .or_insert_with(|| "header".into());
    Ok(match short(class.trim()) {
        "SimpleHeaderConverter" => Box::new(simple_header::SimpleHeaderConverter),
        "JsonConverter" => Box::new(json::JsonConverterConfig::parse(&props)?.build()),
        "StringConverter" => Box::new(string::StringConverterConfig::parse(&props)?.build()),
        _ => {
            return Err(ConfigError::new(format!(
                "Class {} could not be found.",
                class.trim()
            )))
        }
    })
}

/// Whether a converter class name is one `build` knows (for validation).
pub fn is_known(class: &str) -> bool {
    CONVERTER_CLASSES
        .iter()
        .any(|c| *c == class.trim() || short(c) == class.trim())
}
