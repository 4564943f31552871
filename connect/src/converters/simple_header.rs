//! `org.apache.kafka.connect.storage.SimpleHeaderConverter`: header values as
//! the string form of `Values.convertToString`, parsed back with `Values.parseString`.

use crate::data::{values, DataError, Schema, SchemaAndValue, Type, Value};

use super::HeaderConverter;

pub struct SimpleHeaderConverter;

impl HeaderConverter for SimpleHeaderConverter {
    fn from_connect_header(
        &self,
        _topic: &str,
        _key: &str,
        _schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        Ok(values::convert_to_string(value).map(String::into_bytes))
    }

    fn to_connect_header(
        &self,
        _topic: &str,
        _key: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError> {
        let Some(b) = bytes else {
            return Ok(SchemaAndValue::null());
        };
        let s = String::from_utf8_lossy(b).into_owned();
        if s.is_empty() {
            return Ok(SchemaAndValue::new(
                Some(Schema::of(Type::String)),
                Value::String(s),
            ));
        }
        Ok(values::parse_string(&s))
    }
}
