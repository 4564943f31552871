//! `org.apache.kafka.connect.json.JsonConverter`: Connect data to JSON and
//! back, with the `{"schema":...,"payload":...}` envelope when
//! `schemas.enable=true`. Output bytes match Kafka's (field order, number
//! formatting, base64 for bytes and BASE64 decimals).

use crate::config::{
    default_bool, default_int, default_str, ConfigDef, ConfigError, ConfigType, Importance, Props,
    Validator,
};
use crate::data::logical::{self, Logical};
use crate::data::{DataError, Schema, SchemaAndValue, SchemaBuilder, Struct, Type, Value};

use super::json_node::{self, JsonNode, Number};
use super::{Converter, HeaderConverter};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecimalFormat {
    Base64,
    Numeric,
}

/// The parsed `JsonConverterConfig`.
#[derive(Clone, Debug)]
pub struct JsonConverterConfig {
    pub schemas_enable: bool,
    pub decimal_format: DecimalFormat,
    pub replace_null_with_default: bool,
    pub schemas_cache_size: i32,
}

impl JsonConverterConfig {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(
                "schemas.enable",
                ConfigType::Boolean,
                default_bool(true),
                None,
                Importance::High,
                "Include schemas within each of the serialized values and keys.",
            )
            .define(
                "schemas.cache.size",
                ConfigType::Int,
                default_int(1000),
                None,
                Importance::High,
                "The maximum number of schemas that can be cached in this converter instance.",
            )
            .define(
                "decimal.format",
                ConfigType::String,
                default_str("BASE64"),
                Some(Validator::OneOfIgnoreCase(&["BASE64", "NUMERIC"])),
                Importance::Low,
                "Controls which format this converter will serialize decimals in.",
            )
            .define(
                "replace.null.with.default",
                ConfigType::Boolean,
                default_bool(true),
                None,
                Importance::Low,
                "Whether to replace fields that have a default value and that are null to the default value.",
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
        Ok(JsonConverterConfig {
            schemas_enable: p.bool("schemas.enable"),
            decimal_format: if p
                .string("decimal.format")
                .unwrap_or_default()
                .eq_ignore_ascii_case("NUMERIC")
            {
                DecimalFormat::Numeric
            } else {
                DecimalFormat::Base64
            },
            replace_null_with_default: p.bool("replace.null.with.default"),
            schemas_cache_size: p.int("schemas.cache.size").unwrap_or(1000),
        })
    }

    pub fn build(self) -> JsonConverter {
        JsonConverter { config: self }
    }
}

#[derive(Clone, Debug)]
pub struct JsonConverter {
    config: JsonConverterConfig,
}

const ENVELOPE_FIELDS_ERROR: &str = "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.";

impl JsonConverter {
    pub fn new(schemas_enable: bool) -> Self {
        JsonConverter {
            config: JsonConverterConfig {
                schemas_enable,
                decimal_format: DecimalFormat::Base64,
                replace_null_with_default: true,
                schemas_cache_size: 1000,
            },
        }
    }

    pub fn config(&self) -> &JsonConverterConfig {
        &self.config
    }

    /// The JSON tree (envelope or bare) for a value; `None` for the tombstone.
    pub fn to_json_tree(
        &self,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<JsonNode>, DataError> {
        if schema.is_none() && value.is_null() {
            return Ok(None);
        }
        let payload = self.convert_to_json(schema, value)?;
        if self.config.schemas_enable {
            let mut env = JsonNode::object();
            env.insert(
                "schema".into(),
                schema
                    .map(|s| self.as_json_schema(s))
                    .transpose()?
                    .unwrap_or(JsonNode::Null),
            );
            env.insert("payload".into(), payload);
            Ok(Some(JsonNode::Object(env)))
        } else {
            Ok(Some(payload))
        }
    }

    /// `asJsonSchema`.
    pub fn as_json_schema(&self, schema: &Schema) -> Result<JsonNode, DataError> {
        let mut obj = JsonNode::object();
        let type_name = match schema.ty() {
            Type::Boolean => "boolean",
            Type::Bytes => "bytes",
            Type::Float64 => "double",
            Type::Float32 => "float",
            Type::Int8 => "int8",
            Type::Int16 => "int16",
            Type::Int32 => "int32",
            Type::Int64 => "int64",
            Type::String => "string",
            Type::Array => "array",
            Type::Map => "map",
            Type::Struct => "struct",
        };
        obj.insert("type".into(), JsonNode::String(type_name.into()));
        match schema.ty() {
            Type::Array => {
                let items = match schema.value_schema() {
                    Some(v) => self.as_json_schema(v)?,
                    None => JsonNode::Null,
                };
                obj.insert("items".into(), items);
            }
            Type::Map => {
                let keys = match schema.key_schema() {
                    Some(v) => self.as_json_schema(v)?,
                    None => JsonNode::Null,
                };
                let values = match schema.value_schema() {
                    Some(v) => self.as_json_schema(v)?,
                    None => JsonNode::Null,
                };
                obj.insert("keys".into(), keys);
                obj.insert("values".into(), values);
            }
            Type::Struct => {
                let mut fields = Vec::new();
                for f in schema.fields() {
                    let mut fs = match self.as_json_schema(&f.schema)? {
                        JsonNode::Object(m) => m,
                        _ => JsonNode::object(),
                    };
                    fs.insert("field".into(), JsonNode::String(f.name.clone()));
                    fields.push(JsonNode::Object(fs));
                }
                obj.insert("fields".into(), JsonNode::Array(fields));
            }
            _ => {}
        }
        obj.insert("optional".into(), JsonNode::Bool(schema.is_optional()));
        if let Some(n) = schema.name() {
            obj.insert("name".into(), JsonNode::String(n.into()));
        }
        if let Some(v) = schema.version() {
            obj.insert("version".into(), JsonNode::Number(Number::Int(v)));
        }
        if let Some(d) = schema.doc() {
            obj.insert("doc".into(), JsonNode::String(d.into()));
        }
        if let Some(params) = schema.parameters() {
            let mut p = JsonNode::object();
            for (k, v) in params {
                p.insert(k.clone(), JsonNode::String(v.clone()));
            }
            obj.insert("parameters".into(), JsonNode::Object(p));
        }
        if let Some(d) = schema.default_value() {
            obj.insert("default".into(), self.convert_to_json(Some(schema), d)?);
        }
        Ok(JsonNode::Object(obj))
    }

    /// `convertToJson`.
    pub fn convert_to_json(
        &self,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<JsonNode, DataError> {
        if value.is_null() {
            let Some(schema) = schema else {
                return Ok(JsonNode::Null);
            };
            if let (Some(d), true) = (
                schema.default_value(),
                self.config.replace_null_with_default,
            ) {
                return self.convert_to_json(Some(schema), d);
            }
            if schema.is_optional() {
                return Ok(JsonNode::Null);
            }
            return Err(DataError::new(
                "Conversion error: null value for field that is required and has no default value",
            ));
        }
        if let Some(schema) = schema {
            if let Some(logical) = schema.name().and_then(Logical::from_name) {
                return self.logical_to_json(logical, schema, value);
            }
        }
        let ty = match schema {
            Some(s) => s.ty(),
            None => value.schema_type().ok_or_else(|| {
                DataError::new(format!(
                    "Java class {} does not have corresponding schema type.",
                    value.java_class()
                ))
            })?,
        };
        let mismatch = || {
            DataError::new(format!(
                "Invalid type for {}: {}",
                schema
                    .map(|s| s.ty().java_name())
                    .unwrap_or("unknown schema"),
                value.java_class()
            ))
        };
        Ok(match (ty, value) {
            (Type::Int8, Value::Int8(v)) => JsonNode::Number(Number::Int(*v as i32)),
            (Type::Int16, Value::Int16(v)) => JsonNode::Number(Number::Int(*v as i32)),
            (Type::Int32, Value::Int32(v)) => JsonNode::Number(Number::Int(*v)),
            (Type::Int64, Value::Int64(v)) => JsonNode::Number(Number::Long(*v)),
            (Type::Float32, Value::Float32(v)) => JsonNode::Number(Number::Float(*v)),
            (Type::Float64, Value::Float64(v)) => JsonNode::Number(Number::Double(*v)),
            (Type::Boolean, Value::Boolean(v)) => JsonNode::Bool(*v),
            (Type::String, Value::String(v)) => JsonNode::String(v.clone()),
            (Type::Bytes, Value::Bytes(v)) => JsonNode::Binary(v.clone()),
            (Type::Bytes, _) => {
                return Err(DataError::new(format!(
                    "Invalid type for bytes type: {}",
                    value.java_class()
                )))
            }
            (Type::Array, Value::Array(items)) => {
                let vs = schema.and_then(|s| s.value_schema());
                JsonNode::Array(
                    items
                        .iter()
                        .map(|i| self.convert_to_json(vs, i))
                        .collect::<Result<_, _>>()?,
                )
            }
            (Type::Map, Value::Map(entries)) => {
                let object_mode = match schema {
                    None => entries.iter().all(|(k, _)| matches!(k, Value::String(_))),
                    Some(s) => s.key_schema().map(|k| k.ty()) == Some(Type::String),
                };
                let ks = schema.and_then(|s| s.key_schema());
                let vs = schema.and_then(|s| s.value_schema());
                if object_mode {
                    let mut obj = JsonNode::object();
                    for (k, v) in entries {
                        let key = self.convert_to_json(ks, k)?;
                        obj.insert(key.as_text(), self.convert_to_json(vs, v)?);
                    }
                    JsonNode::Object(obj)
                } else {
                    let mut list = Vec::new();
                    for (k, v) in entries {
                        list.push(JsonNode::Array(vec![
                            self.convert_to_json(ks, k)?,
                            self.convert_to_json(vs, v)?,
                        ]));
                    }
                    JsonNode::Array(list)
                }
            }
            (Type::Struct, Value::Struct(st)) => {
                if Some(st.schema()) != schema {
                    return Err(DataError::new("Mismatching schema."));
                }
                let mut obj = JsonNode::object();
                for f in st.schema().fields() {
                    let v = st.get_without_default(&f.name)?;
                    obj.insert(f.name.clone(), self.convert_to_json(Some(&f.schema), &v)?);
                }
                JsonNode::Object(obj)
            }
            _ => return Err(mismatch()),
        })
    }

    fn logical_to_json(
        &self,
        logical: Logical,
        schema: &Schema,
        value: &Value,
    ) -> Result<JsonNode, DataError> {
        match logical {
            Logical::Decimal => {
                let Value::Decimal(d) = value else {
                    return Err(DataError::new(format!(
                        "Invalid type for Decimal, expected BigDecimal but was {}",
                        value.java_class()
                    )));
                };
                Ok(match self.config.decimal_format {
                    DecimalFormat::Numeric => JsonNode::Number(Number::Decimal(d.clone())),
                    DecimalFormat::Base64 => {
                        JsonNode::Binary(logical::decimal_from_logical(schema, d)?)
                    }
                })
            }
            Logical::Date | Logical::Time | Logical::Timestamp => {
                let name = match logical {
                    Logical::Date => "Date",
                    Logical::Time => "Time",
                    _ => "Timestamp",
                };
                let Value::Date(ms) = value else {
                    return Err(DataError::new(format!(
                        "Invalid type for {name}, expected Date but was {}",
                        value.java_class()
                    )));
                };
                Ok(match logical {
                    Logical::Date => {
                        JsonNode::Number(Number::Int(logical::date_from_logical(*ms)?))
                    }
                    Logical::Time => {
                        JsonNode::Number(Number::Int(logical::time_from_logical(*ms)?))
                    }
                    _ => JsonNode::Number(Number::Long(*ms)),
                })
            }
        }
    }

    /// `asConnectSchema`.
    pub fn as_connect_schema(&self, js: &JsonNode) -> Result<Option<Schema>, DataError> {
        if js.is_null() {
            return Ok(None);
        }
        let ty = js
            .get("type")
            .and_then(|t| t.text_value())
            .ok_or_else(|| DataError::new("Schema must contain 'type' field"))?;
        let mut b = match ty {
            "boolean" => SchemaBuilder::boolean(),
            "int8" => SchemaBuilder::int8(),
            "int16" => SchemaBuilder::int16(),
            "int32" => SchemaBuilder::int32(),
            "int64" => SchemaBuilder::int64(),
            "float" => SchemaBuilder::float32(),
            "double" => SchemaBuilder::float64(),
            "bytes" => SchemaBuilder::bytes(),
            "string" => SchemaBuilder::string(),
            "array" => {
                let items = js.get("items").filter(|i| !i.is_null());
                let Some(items) = items else {
                    return Err(DataError::new(
                        "Array schema did not specify the element type",
                    ));
                };
                let elem = self.as_connect_schema(items)?.ok_or_else(|| {
                    DataError::new("Array schema did not specify the element type")
                })?;
                SchemaBuilder::array(elem)
            }
            "map" => {
                let keys = js
                    .get("keys")
                    .ok_or_else(|| DataError::new("Map schema did not specify the key type"))?;
                let values = js
                    .get("values")
                    .ok_or_else(|| DataError::new("Map schema did not specify the value type"))?;
                let k = self
                    .as_connect_schema(keys)?
                    .ok_or_else(|| DataError::new("Map schema did not specify the key type"))?;
                let v = self
                    .as_connect_schema(values)?
                    .ok_or_else(|| DataError::new("Map schema did not specify the value type"))?;
                SchemaBuilder::map(k, v)
            }
            "struct" => {
                let mut b = SchemaBuilder::struct_();
                let Some(JsonNode::Array(fields)) = js.get("fields") else {
                    return Err(DataError::new(
                        "Struct schema's \"fields\" argument is not an array.",
                    ));
                };
                for f in fields {
                    let name = f.get("field").and_then(|n| n.text_value()).ok_or_else(|| {
                        DataError::new("Struct schema's field name not specified properly")
                    })?;
                    let fs = self.as_connect_schema(f)?.ok_or_else(|| {
                        DataError::new("Struct schema's field name not specified properly")
                    })?;
                    b = b.field(name, fs)?;
                }
                b
            }
            other => return Err(DataError::new(format!("Unknown schema type: {other}"))),
        };
        b = b.set_optional(matches!(js.get("optional"), Some(JsonNode::Bool(true))));
        if let Some(JsonNode::String(n)) = js.get("name") {
            b = b.name(Some(n));
        }
        if let Some(v) = js.get("version").filter(|v| v.is_integral()) {
            b = b.version(Some(v.int_value()));
        }
        if let Some(JsonNode::String(d)) = js.get("doc") {
            b = b.doc(Some(d));
        }
        if let Some(JsonNode::Object(params)) = js.get("parameters") {
            for (k, v) in params {
                let JsonNode::String(v) = v else {
                    return Err(DataError::new("Schema parameters must have string values."));
                };
                b = b.parameter(k, v);
            }
        }
        if let Some(d) = js.get("default") {
            // The default converts against the schema as built so far.
            let probe = b.peek();
            let dv = self.convert_to_connect(Some(&probe), Some(d))?;
            b = b.default_value(dv)?;
        }
        Ok(Some(b.build()))
    }

    /// `convertToConnect`.
    pub fn convert_to_connect(
        &self,
        schema: Option<&Schema>,
        node: Option<&JsonNode>,
    ) -> Result<Value, DataError> {
        let ty = match schema {
            Some(schema) => {
                if node.is_none_or(|n| n.is_null()) {
                    if let (Some(d), true) = (
                        schema.default_value(),
                        self.config.replace_null_with_default,
                    ) {
                        return Ok(d.clone());
                    }
                    if schema.is_optional() {
                        return Ok(Value::Null);
                    }
                    return Err(DataError::new(format!(
                        "Invalid null value for required {} field",
                        schema.ty()
                    )));
                }
                schema.ty()
            }
            None => match node {
                None | Some(JsonNode::Null) => return Ok(Value::Null),
                Some(JsonNode::Bool(_)) => Type::Boolean,
                Some(n @ JsonNode::Number(_)) => {
                    if n.is_integral() {
                        Type::Int64
                    } else {
                        Type::Float64
                    }
                }
                Some(JsonNode::Array(_)) => Type::Array,
                Some(JsonNode::Object(_)) => Type::Map,
                Some(JsonNode::String(_)) => Type::String,
                Some(JsonNode::Binary(_)) => {
                    return Err(DataError::new("Unknown schema type: null"))
                }
            },
        };
        let node = node.unwrap_or(&JsonNode::Null);
        if let Some(schema) = schema {
            if let Some(logical) = schema.name().and_then(Logical::from_name) {
                return logical_to_connect(logical, schema, node);
            }
        }
        Ok(match ty {
            Type::Boolean => Value::Boolean(node.boolean_value()),
            Type::Int8 => Value::Int8(node.int_value() as i8),
            Type::Int16 => Value::Int16(node.int_value() as i16),
            Type::Int32 => Value::Int32(node.int_value()),
            Type::Int64 => Value::Int64(node.long_value()),
            Type::Float32 => Value::Float32(node.float_value()),
            Type::Float64 => Value::Float64(node.double_value()),
            Type::Bytes => match node.binary_value() {
                Ok(Some(b)) => Value::Bytes(b),
                Ok(None) => Value::Null,
                Err(_) => return Err(DataError::new("Invalid bytes field")),
            },
            Type::String => match node.text_value() {
                Some(s) => Value::String(s.to_string()),
                None => Value::Null,
            },
            Type::Array => {
                let es = schema.and_then(|s| s.value_schema());
                let items: Vec<&JsonNode> = match node {
                    JsonNode::Array(items) => items.iter().collect(),
                    JsonNode::Object(m) => m.values().collect(),
                    _ => vec![],
                };
                Value::Array(
                    items
                        .into_iter()
                        .map(|i| self.convert_to_connect(es, Some(i)))
                        .collect::<Result<_, _>>()?,
                )
            }
            Type::Map => {
                let ks = schema.and_then(|s| s.key_schema());
                let vs = schema.and_then(|s| s.value_schema());
                let mut out = Vec::new();
                if schema.is_none() || ks.map(|k| k.ty()) == Some(Type::String) {
                    let JsonNode::Object(m) = node else {
                        return Err(DataError::new(format!(
                            "Maps with string fields should be encoded as JSON objects, but found {}",
                            node.node_type()
                        )));
                    };
                    for (k, v) in m {
                        Value::map_put(
                            &mut out,
                            Value::String(k.clone()),
                            self.convert_to_connect(vs, Some(v))?,
                        );
                    }
                } else {
                    let JsonNode::Array(entries) = node else {
                        return Err(DataError::new(format!(
                            "Maps with non-string fields should be encoded as JSON array of tuples, but found {}",
                            node.node_type()
                        )));
                    };
                    for e in entries {
                        let JsonNode::Array(pair) = e else {
                            return Err(DataError::new(format!(
                                "Found invalid map entry instead of array tuple: {}",
                                e.node_type()
                            )));
                        };
                        if pair.len() != 2 {
                            return Err(DataError::new(format!(
                                "Found invalid map entry, expected length 2 but found :{}",
                                pair.len()
                            )));
                        }
                        let k = self.convert_to_connect(ks, Some(&pair[0]))?;
                        let v = self.convert_to_connect(vs, Some(&pair[1]))?;
                        Value::map_put(&mut out, k, v);
                    }
                }
                Value::Map(out)
            }
            Type::Struct => {
                let JsonNode::Object(_) = node else {
                    return Err(DataError::new(format!(
                        "Structs should be encoded as JSON objects, but found {}",
                        node.node_type()
                    )));
                };
                let Some(schema) = schema else {
                    return Err(DataError::new("Unknown schema type: STRUCT"));
                };
                let mut st = Struct::new(schema);
                for f in schema.fields() {
                    let v = self.convert_to_connect(Some(&f.schema), node.get(&f.name))?;
                    st.put(&f.name, v)?;
                }
                Value::Struct(st)
            }
        })
    }

    pub fn to_connect_tree(&self, tree: JsonNode) -> Result<SchemaAndValue, DataError> {
        let (schema_node, payload) = if self.config.schemas_enable {
            match &tree {
                JsonNode::Object(m)
                    if m.len() == 2 && m.contains_key("schema") && m.contains_key("payload") =>
                {
                    (m["schema"].clone(), m["payload"].clone())
                }
                _ => return Err(DataError::new(ENVELOPE_FIELDS_ERROR)),
            }
        } else {
            (JsonNode::Null, tree)
        };
        let schema = self.as_connect_schema(&schema_node)?;
        let value = self.convert_to_connect(schema.as_ref(), Some(&payload))?;
        Ok(SchemaAndValue::new(schema, value))
    }
}

fn logical_to_connect(
    logical: Logical,
    schema: &Schema,
    node: &JsonNode,
) -> Result<Value, DataError> {
    match logical {
        Logical::Decimal => {
            if let JsonNode::Number(_) = node {
                return Ok(Value::Decimal(node.decimal_value()));
            }
            if matches!(node, JsonNode::Binary(_) | JsonNode::String(_)) {
                let bytes = node
                    .binary_value()
                    .ok()
                    .flatten()
                    .ok_or_else(|| DataError::new("Invalid bytes for Decimal field"))?;
                return Ok(Value::Decimal(
                    logical::decimal_to_logical(schema, &bytes)
                        .map_err(|_| DataError::new("Invalid bytes for Decimal field"))?,
                ));
            }
            Err(DataError::new(format!(
                "Invalid type for Decimal, underlying representation should be numeric or bytes but was {}",
                node.node_type()
            )))
        }
        Logical::Date => {
            if !node.is_int() {
                return Err(DataError::new(format!(
                    "Invalid type for Date, underlying representation should be integer but was {}",
                    node.node_type()
                )));
            }
            Ok(Value::Date(logical::date_to_logical(node.int_value())))
        }
        Logical::Time => {
            if !node.is_int() {
                return Err(DataError::new(format!(
                    "Invalid type for Time, underlying representation should be integer but was {}",
                    node.node_type()
                )));
            }
            Ok(Value::Date(logical::time_to_logical(node.int_value())?))
        }
        Logical::Timestamp => {
            if !node.is_integral() {
                return Err(DataError::new(format!(
                    "Invalid type for Timestamp, underlying representation should be integral but was {}",
                    node.node_type()
                )));
            }
            Ok(Value::Date(node.long_value()))
        }
    }
}

impl Converter for JsonConverter {
    fn from_connect(
        &self,
        _topic: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        Ok(self.to_json_tree(schema, value)?.map(|t| t.to_bytes()))
    }

    fn to_connect(&self, _topic: &str, bytes: Option<&[u8]>) -> Result<SchemaAndValue, DataError> {
        let Some(bytes) = bytes else {
            return Ok(SchemaAndValue::null());
        };
        // Jackson's JsonDeserializer returns null for empty input.
        if bytes.is_empty() {
            return if self.config.schemas_enable {
                Err(DataError::new(ENVELOPE_FIELDS_ERROR))
            } else {
                Ok(SchemaAndValue::null())
            };
        }
        let tree = json_node::parse(bytes).map_err(|e| {
            DataError::new(format!(
                "Converting byte[] to Kafka Connect data failed due to serialization error: {e}"
            ))
        })?;
        self.to_connect_tree(tree)
    }
}

impl HeaderConverter for JsonConverter {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(schemas: bool) -> JsonConverter {
        JsonConverter::new(schemas)
    }

    #[test]
    fn envelope_round_trip_is_byte_identical() {
        let input = br#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"name"}],"optional":false,"name":"r"},"payload":{"id":3,"name":"Merilyn"}}"#;
        let c = conv(true);
        let sv = c.to_connect("t", Some(input)).unwrap();
        let out = c
            .from_connect("t", sv.schema.as_ref(), &sv.value)
            .unwrap()
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            String::from_utf8(input.to_vec()).unwrap()
        );
    }

    #[test]
    fn schemaless_numbers() {
        let c = conv(false);
        let sv = c.to_connect("t", Some(br#"{"a":1,"b":2.5}"#)).unwrap();
        assert_eq!(
            sv.value,
            Value::Map(vec![
                (Value::str("a"), Value::Int64(1)),
                (Value::str("b"), Value::Float64(2.5))
            ])
        );
        assert_eq!(
            c.from_connect("t", None, &sv.value).unwrap().unwrap(),
            br#"{"a":1,"b":2.5}"#.to_vec()
        );
    }

    #[test]
    fn envelope_required() {
        let e = conv(true).to_connect("t", Some(br#"{"a":1}"#)).unwrap_err();
        assert!(e.message.contains("schemas.enable"));
    }

    #[test]
    fn decimal_base64() {
        let schema = logical::decimal_builder(2).build();
        let c = conv(true);
        let out = c
            .from_connect(
                "t",
                Some(&schema),
                &Value::Decimal(crate::data::BigDecimal::parse("1.28").unwrap()),
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":"AIA="}"#
        );
    }
}
