//! `io.confluent.connect.json.JsonSchemaConverter`: Connect data as JSON in
//! Confluent's wire format (magic byte 0, 4-byte schema id, JSON text), with
//! a JSON Schema registered at `schema.registry.url`. Connect schemas map to
//! JSON Schema the way Confluent's JsonSchemaData does: structs → `object`
//! with a `title` and `connect.index` per property, integers and floats carry
//! `connect.type`, bytes are base64 strings, optional → `oneOf` with `null`,
//! logical types keep their Connect name as `title`.

use std::sync::Arc;

use base64::Engine;
use serde_json::{json, Map, Value as Json};

use crate::config::{ConfigError, Props};
use crate::data::logical::{self, Logical};
use crate::data::{
    BigDecimal, DataError, Schema, SchemaAndValue, SchemaBuilder, Struct, Type, Value,
};

use super::avro::AvroConverterConfig;
use super::json_node::{self, JsonNode};
use super::registry_client::{subject_name, RegistryClient};
use super::Converter;

pub struct JsonSchemaConverterConfig {
    inner: AvroConverterConfig,
}

impl JsonSchemaConverterConfig {
    /// The same registry settings as the Avro converter.
    pub fn parse(props: &Props, is_key: bool) -> Result<Self, ConfigError> {
        Ok(JsonSchemaConverterConfig {
            inner: AvroConverterConfig::parse(props, is_key)?,
        })
    }
    pub fn build(self) -> JsonSchemaConverter {
        JsonSchemaConverter {
            registry: Arc::new(RegistryClient::new(&self.inner.url)),
            config: self.inner,
        }
    }
}

pub struct JsonSchemaConverter {
    config: AvroConverterConfig,
    registry: Arc<RegistryClient>,
}

impl Converter for JsonSchemaConverter {
    fn from_connect(
        &self,
        topic: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        if value.is_null() && schema.is_none_or(|s| s.is_optional()) {
            return Ok(None);
        }
        let schema = schema.ok_or_else(|| {
            DataError::new("JsonSchemaConverter needs a schema for non-null data")
        })?;
        let js = to_json_schema(schema);
        let record = js.get("title").and_then(|t| t.as_str()).map(str::to_string);
        let subject = subject_name(
            &self.config.strategy,
            topic,
            self.config.is_key,
            record.as_deref(),
        )?;
        let id = if self.config.use_latest {
            self.registry.latest(&subject)?.0
        } else {
            self.registry
                .id_for(&subject, &js.to_string(), "JSON", self.config.auto_register)?
        };
        let mut out = vec![0u8];
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&to_json_value(schema, value)?.to_bytes());
        Ok(Some(out))
    }

    fn to_connect(&self, topic: &str, bytes: Option<&[u8]>) -> Result<SchemaAndValue, DataError> {
        let Some(b) = bytes else {
            return Ok(SchemaAndValue::null());
        };
        if b.len() < 5 || b[0] != 0 {
            return Err(DataError::new(format!(
                "Failed to deserialize data for topic {topic} to JSON: Unknown magic byte!"
            )));
        }
        let id = i32::from_be_bytes([b[1], b[2], b[3], b[4]]);
        let text = self.registry.schema_by_id(id)?;
        let js: Json = serde_json::from_str(&text)
            .map_err(|e| DataError::new(format!("invalid JSON Schema {id}: {e}")))?;
        let schema = to_connect_schema(&js, 0)?;
        let node = json_node::parse(&b[5..])
            .map_err(|e| DataError::new(format!("invalid JSON payload: {e}")))?;
        let value = to_connect_value(&schema, &node, 0)?;
        Ok(SchemaAndValue::new(Some(schema), value))
    }
}

fn meta(schema: &Schema, o: &mut Map<String, Json>) {
    if let Some(n) = schema.name() {
        o.insert("title".into(), json!(n));
    }
    if let Some(v) = schema.version() {
        o.insert("connect.version".into(), json!(v));
    }
    if let Some(d) = schema.doc() {
        o.insert("description".into(), json!(d));
    }
    if let Some(p) = schema.parameters() {
        o.insert(
            "connect.parameters".into(),
            Json::Object(p.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
        );
    }
}

pub fn to_json_schema(schema: &Schema) -> Json {
    let base = to_json_schema_base(schema);
    if schema.is_optional() {
        json!({ "oneOf": [{ "type": "null" }, base] })
    } else {
        base
    }
}

fn to_json_schema_base(schema: &Schema) -> Json {
    let mut o = Map::new();
    let ty = |o: &mut Map<String, Json>, t: &str, ct: Option<&str>| {
        o.insert("type".into(), json!(t));
        if let Some(ct) = ct {
            o.insert("connect.type".into(), json!(ct));
        }
    };
    match schema.ty() {
        Type::Int8 => ty(&mut o, "integer", Some("int8")),
        Type::Int16 => ty(&mut o, "integer", Some("int16")),
        Type::Int32 => ty(&mut o, "integer", Some("int32")),
        Type::Int64 => ty(&mut o, "integer", Some("int64")),
        Type::Float32 => ty(&mut o, "number", Some("float32")),
        Type::Float64 => ty(&mut o, "number", Some("float64")),
        Type::Boolean => ty(&mut o, "boolean", None),
        Type::String => ty(&mut o, "string", None),
        Type::Bytes if schema.name() == Some(logical::DECIMAL) => ty(&mut o, "number", None),
        Type::Bytes => ty(&mut o, "string", Some("bytes")),
        Type::Array => {
            ty(&mut o, "array", None);
            o.insert(
                "items".into(),
                schema
                    .value_schema()
                    .map(to_json_schema)
                    .unwrap_or(json!({})),
            );
        }
        Type::Map => {
            let vs = schema
                .value_schema()
                .map(to_json_schema)
                .unwrap_or(json!({}));
            if schema.key_schema().map(|k| k.ty()) == Some(Type::String) {
                ty(&mut o, "object", Some("map"));
                o.insert("additionalProperties".into(), vs);
            } else {
                let ks = schema.key_schema().map(to_json_schema).unwrap_or(json!({}));
                ty(&mut o, "array", Some("map"));
                o.insert(
                    "items".into(),
                    json!({"type": "object", "properties": {"key": ks, "value": vs}}),
                );
            }
        }
        Type::Struct => {
            ty(&mut o, "object", None);
            let mut props = Map::new();
            for (i, f) in schema.fields().iter().enumerate() {
                let mut fs = to_json_schema(&f.schema);
                if let Json::Object(m) = &mut fs {
                    m.insert("connect.index".into(), json!(i));
                }
                props.insert(f.name.clone(), fs);
            }
            o.insert("properties".into(), Json::Object(props));
        }
    }
    meta(schema, &mut o);
    Json::Object(o)
}

fn to_json_value(schema: &Schema, value: &Value) -> Result<JsonNode, DataError> {
    use super::json_node::Number;
    let value = if value.is_null() {
        schema.default_value().cloned().unwrap_or(Value::Null)
    } else {
        value.clone()
    };
    Ok(match (&value, schema.name().and_then(Logical::from_name)) {
        (Value::Null, _) if schema.is_optional() => JsonNode::Null,
        (Value::Null, _) => {
            return Err(DataError::new(format!(
                "null value for required {}",
                schema.java_string()
            )))
        }
        (Value::Decimal(d), Some(Logical::Decimal)) => JsonNode::Number(Number::Decimal(d.clone())),
        (Value::Date(ms), Some(Logical::Date)) => {
            JsonNode::Number(Number::Int(logical::date_from_logical(*ms)?))
        }
        (Value::Date(ms), Some(Logical::Time)) => {
            JsonNode::Number(Number::Int(logical::time_from_logical(*ms)?))
        }
        (Value::Date(ms), Some(Logical::Timestamp)) => JsonNode::Number(Number::Long(*ms)),
        (Value::Boolean(b), _) => JsonNode::Bool(*b),
        (Value::Int8(v), _) => JsonNode::Number(Number::Int(*v as i32)),
        (Value::Int16(v), _) => JsonNode::Number(Number::Int(*v as i32)),
        (Value::Int32(v), _) => JsonNode::Number(Number::Int(*v)),
        (Value::Int64(v), _) => JsonNode::Number(Number::Long(*v)),
        (Value::Float32(v), _) => JsonNode::Number(Number::Float(*v)),
        (Value::Float64(v), _) => JsonNode::Number(Number::Double(*v)),
        (Value::String(s), _) => JsonNode::String(s.clone()),
        (Value::Bytes(b), _) => {
            JsonNode::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        (Value::Array(items), _) => {
            let vs = schema
                .value_schema()
                .ok_or_else(|| DataError::new("array schema without items"))?;
            JsonNode::Array(
                items
                    .iter()
                    .map(|i| to_json_value(vs, i))
                    .collect::<Result<_, _>>()?,
            )
        }
        (Value::Map(entries), _) => {
            let (ks, vs) = (
                schema
                    .key_schema()
                    .ok_or_else(|| DataError::new("map schema without keys"))?,
                schema
                    .value_schema()
                    .ok_or_else(|| DataError::new("map schema without values"))?,
            );
            if ks.ty() == Type::String {
                let mut m = JsonNode::object();
                for (k, v) in entries {
                    m.insert(
                        k.as_str().unwrap_or_default().to_string(),
                        to_json_value(vs, v)?,
                    );
                }
                JsonNode::Object(m)
            } else {
                let mut list = Vec::new();
                for (k, v) in entries {
                    let mut m = JsonNode::object();
                    m.insert("key".into(), to_json_value(ks, k)?);
                    m.insert("value".into(), to_json_value(vs, v)?);
                    list.push(JsonNode::Object(m));
                }
                JsonNode::Array(list)
            }
        }
        (Value::Struct(st), _) => {
            let mut m = JsonNode::object();
            for f in schema.fields() {
                m.insert(
                    f.name.clone(),
                    to_json_value(&f.schema, &st.get_without_default(&f.name)?)?,
                );
            }
            JsonNode::Object(m)
        }
        (other, _) => {
            return Err(DataError::new(format!(
                "Invalid value {} for {}",
                other.java_class(),
                schema.java_string()
            )))
        }
    })
}

fn to_connect_schema(js: &Json, depth: usize) -> Result<Schema, DataError> {
    if depth > 64 {
        return Err(DataError::new("JSON Schema nesting too deep"));
    }
    if let Some(Json::Array(branches)) = js.get("oneOf").or_else(|| js.get("anyOf")) {
        let non_null: Vec<&Json> = branches
            .iter()
            .filter(|b| b.get("type") != Some(&json!("null")))
            .collect();
        if non_null.len() == 1 {
            return Ok(
                SchemaBuilder::from_schema(&to_connect_schema(non_null[0], depth + 1)?)
                    .optional()
                    .build(),
            );
        }
        return Err(DataError::new(
            "JSON Schema unions other than oneOf [null, T] are not supported",
        ));
    }
    let title = js.get("title").and_then(|t| t.as_str());
    let ct = js.get("connect.type").and_then(|t| t.as_str());
    let t = js.get("type").and_then(|t| t.as_str()).unwrap_or("object");
    let mut b = match (title.and_then(Logical::from_name), t, ct) {
        (Some(Logical::Decimal), _, _) => {
            let scale = js
                .pointer("/connect.parameters/scale")
                .and_then(|s| s.as_str())
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            return Ok(logical::decimal_builder(scale).build());
        }
        (Some(Logical::Date), _, _) => return Ok(logical::date_schema()),
        (Some(Logical::Time), _, _) => return Ok(logical::time_schema()),
        (Some(Logical::Timestamp), _, _) => return Ok(logical::timestamp_schema()),
        (_, "integer", Some("int8")) => SchemaBuilder::int8(),
        (_, "integer", Some("int16")) => SchemaBuilder::int16(),
        (_, "integer", Some("int32")) => SchemaBuilder::int32(),
        (_, "integer", _) => SchemaBuilder::int64(),
        (_, "number", Some("float32")) => SchemaBuilder::float32(),
        (_, "number", _) => SchemaBuilder::float64(),
        (_, "boolean", _) => SchemaBuilder::boolean(),
        (_, "string", Some("bytes")) => SchemaBuilder::bytes(),
        (_, "string", _) => SchemaBuilder::string(),
        (_, "array", Some("map")) => {
            let k = js
                .pointer("/items/properties/key")
                .map(|k| to_connect_schema(k, depth + 1))
                .transpose()?
                .unwrap_or_else(|| Schema::of(Type::String));
            let v = js
                .pointer("/items/properties/value")
                .map(|v| to_connect_schema(v, depth + 1))
                .transpose()?
                .unwrap_or_else(|| Schema::of(Type::String));
            SchemaBuilder::map(k, v)
        }
        (_, "array", _) => SchemaBuilder::array(match js.get("items") {
            Some(i) => to_connect_schema(i, depth + 1)?,
            None => Schema::optional_of(Type::String),
        }),
        (_, "object", Some("map")) => SchemaBuilder::map(
            Schema::of(Type::String),
            match js.get("additionalProperties") {
                Some(v) if v.is_object() => to_connect_schema(v, depth + 1)?,
                _ => Schema::optional_of(Type::String),
            },
        ),
        (_, "object", _) => {
            let mut fields: Vec<(i64, String, Schema)> = Vec::new();
            if let Some(Json::Object(props)) = js.get("properties") {
                for (i, (name, fs)) in props.iter().enumerate() {
                    let idx = fs
                        .get("connect.index")
                        .and_then(|x| x.as_i64())
                        .unwrap_or(i as i64);
                    fields.push((idx, name.clone(), to_connect_schema(fs, depth + 1)?));
                }
            }
            fields.sort_by_key(|(i, _, _)| *i);
            let mut b = SchemaBuilder::struct_();
            for (_, n, s) in fields {
                b = b.field(&n, s)?;
            }
            b
        }
        _ => SchemaBuilder::string(),
    };
    if let Some(t) = title {
        b = b.name(Some(t));
    }
    if let Some(v) = js.get("connect.version").and_then(|v| v.as_i64()) {
        b = b.version(Some(v as i32));
    }
    if let Some(d) = js.get("description").and_then(|d| d.as_str()) {
        b = b.doc(Some(d));
    }
    Ok(b.build())
}

fn to_connect_value(schema: &Schema, node: &JsonNode, depth: usize) -> Result<Value, DataError> {
    if depth > 100 {
        return Err(DataError::new("JSON nesting too deep"));
    }
    if node.is_null() {
        return if schema.is_optional() {
            Ok(Value::Null)
        } else {
            Err(DataError::new(format!(
                "null for required {}",
                schema.java_string()
            )))
        };
    }
    let bad = || {
        DataError::new(format!(
            "JSON {} does not match {}",
            node.node_type(),
            schema.java_string()
        ))
    };
    match schema.name().and_then(Logical::from_name) {
        Some(Logical::Decimal) => {
            let d = node.decimal_value();
            let scale = logical::decimal_scale(schema)?;
            let text = format!("{:.*}", scale.max(0) as usize, d.double_value());
            return Ok(Value::Decimal(if d.scale() == scale {
                d
            } else {
                BigDecimal::parse(&text).ok_or_else(bad)?
            }));
        }
        Some(Logical::Date) => return Ok(Value::Date(logical::date_to_logical(node.int_value()))),
        Some(Logical::Time) => return Ok(Value::Date(logical::time_to_logical(node.int_value())?)),
        Some(Logical::Timestamp) => return Ok(Value::Date(node.long_value())),
        None => {}
    }
    Ok(match schema.ty() {
        Type::Int8 => Value::Int8(node.int_value() as i8),
        Type::Int16 => Value::Int16(node.int_value() as i16),
        Type::Int32 => Value::Int32(node.int_value()),
        Type::Int64 => Value::Int64(node.long_value()),
        Type::Float32 => Value::Float32(node.float_value()),
        Type::Float64 => Value::Float64(node.double_value()),
        Type::Boolean => Value::Boolean(node.boolean_value()),
        Type::String => Value::String(node.text_value().ok_or_else(bad)?.to_string()),
        Type::Bytes => Value::Bytes(node.binary_value().map_err(|_| bad())?.ok_or_else(bad)?),
        Type::Array => {
            let JsonNode::Array(items) = node else {
                return Err(bad());
            };
            let vs = schema.value_schema().ok_or_else(bad)?;
            Value::Array(
                items
                    .iter()
                    .map(|i| to_connect_value(vs, i, depth + 1))
                    .collect::<Result<_, _>>()?,
            )
        }
        Type::Map => {
            let (ks, vs) = (
                schema.key_schema().ok_or_else(bad)?,
                schema.value_schema().ok_or_else(bad)?,
            );
            let mut out = Vec::new();
            match node {
                JsonNode::Object(m) => {
                    for (k, v) in m {
                        Value::map_put(
                            &mut out,
                            Value::String(k.clone()),
                            to_connect_value(vs, v, depth + 1)?,
                        );
                    }
                }
                JsonNode::Array(entries) => {
                    for e in entries {
                        let k = to_connect_value(
                            ks,
                            e.get("key").unwrap_or(&JsonNode::Null),
                            depth + 1,
                        )?;
                        let v = to_connect_value(
                            vs,
                            e.get("value").unwrap_or(&JsonNode::Null),
                            depth + 1,
                        )?;
                        Value::map_put(&mut out, k, v);
                    }
                }
                _ => return Err(bad()),
            }
            Value::Map(out)
        }
        Type::Struct => {
            let JsonNode::Object(_) = node else {
                return Err(bad());
            };
            let mut st = Struct::new(schema);
            for f in schema.fields() {
                let v = to_connect_value(
                    &f.schema,
                    node.get(&f.name).unwrap_or(&JsonNode::Null),
                    depth + 1,
                )?;
                st.put(&f.name, v)?;
            }
            Value::Struct(st)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_and_value_round_trip() {
        let schema = SchemaBuilder::struct_()
            .name(Some("ksql.users"))
            .field("userid", Schema::of(Type::String))
            .unwrap()
            .field("registertime", Schema::of(Type::Int64))
            .unwrap()
            .field("region", Schema::optional_of(Type::String))
            .unwrap()
            .field("day", logical::date_schema())
            .unwrap()
            .build();
        let js = to_json_schema(&schema);
        assert_eq!(js["type"], "object");
        assert_eq!(js["title"], "ksql.users");
        assert_eq!(
            js["properties"]["region"]["oneOf"][0],
            json!({"type": "null"})
        );
        let mut st = Struct::new(&schema);
        st.put("userid", Value::str("User_1")).unwrap();
        st.put("registertime", Value::Int64(1_500_000_000_000))
            .unwrap();
        st.put("day", Value::Date(86_400_000 * 3)).unwrap();
        let node = to_json_value(&schema, &Value::Struct(st.clone())).unwrap();
        assert_eq!(
            node.to_json_string(),
            r#"{"userid":"User_1","registertime":1500000000000,"region":null,"day":3}"#
        );
        let back_schema = to_connect_schema(&js, 0).unwrap();
        let back = to_connect_value(&back_schema, &node, 0).unwrap();
        let Value::Struct(b) = back else { panic!() };
        assert_eq!(b.get("userid").unwrap(), Value::str("User_1"));
        assert_eq!(b.get("day").unwrap(), Value::Date(86_400_000 * 3));
        assert!(back_schema.field("region").unwrap().schema.is_optional());
    }
}
