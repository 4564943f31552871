//! `org.apache.kafka.connect.storage.StringConverter`: `toString()` of the
//! value as UTF-8 (or the configured encoding) and an optional-string schema back.

use crate::config::{
    default_str, ConfigDef, ConfigError, ConfigType, Importance, Props, Validator,
};
use crate::data::{DataError, Schema, SchemaAndValue, Type, Value};

use super::{Converter, HeaderConverter};

#[derive(Clone, Debug)]
pub struct StringConverterConfig {
    pub encoding: String,
}

impl StringConverterConfig {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(
                "converter.encoding",
                ConfigType::String,
                default_str("UTF-8"),
                None,
                Importance::High,
                "The name of the Java character set to use for encoding strings as byte arrays.",
            )
            .define(
                "converter.type",
                ConfigType::String,
                default_str("value"),
                Some(Validator::OneOfIgnoreCase(&["key", "value", "header"])),
                Importance::Low,
                "How this converter will be used.",
            )
    }

    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let p = Self::config_def().parse(props)?;
        let encoding = p
            .string("converter.encoding")
            .unwrap_or_else(|| "UTF-8".into());
        let norm = encoding.to_ascii_uppercase().replace(['-', '_'], "");
        if !matches!(
            norm.as_str(),
            "UTF8" | "ISO88591" | "LATIN1" | "USASCII" | "ASCII"
        ) {
            return Err(ConfigError::for_key(
                "converter.encoding",
                format!("Unsupported encoding: {encoding}"),
            ));
        }
        Ok(StringConverterConfig { encoding: norm })
    }

    pub fn build(self) -> StringConverter {
        StringConverter {
            latin1: matches!(
                self.encoding.as_str(),
                "ISO88591" | "LATIN1" | "USASCII" | "ASCII"
            ),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct StringConverter {
    latin1: bool,
}

impl StringConverter {
    fn encode(&self, s: &str) -> Vec<u8> {
        if self.latin1 {
            s.chars()
                .map(|c| if (c as u32) < 256 { c as u8 } else { b'?' })
                .collect()
        } else {
            s.as_bytes().to_vec()
        }
    }
}

impl Converter for StringConverter {
    fn from_connect(
        &self,
        _topic: &str,
        _schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        if value.is_null() {
            return Ok(None);
        }
        Ok(Some(self.encode(&value.java_to_string())))
    }

    fn to_connect(&self, _topic: &str, bytes: Option<&[u8]>) -> Result<SchemaAndValue, DataError> {
        let schema = Some(Schema::optional_of(Type::String));
        Ok(match bytes {
            None => SchemaAndValue::new(schema, Value::Null),
            Some(b) => {
                let s = if self.latin1 {
                    b.iter().map(|c| *c as char).collect()
                } else {
                    String::from_utf8_lossy(b).into_owned()
                };
                SchemaAndValue::new(schema, Value::String(s))
            }
        })
    }
}

impl HeaderConverter for StringConverter {
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
