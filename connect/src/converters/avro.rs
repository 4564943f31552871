//! `io.confluent.connect.avro.AvroConverter`: Connect data as Avro in
//! Confluent's wire format (magic byte 0, 4-byte schema id, Avro binary),
//! schemas registered with the schema registry at `schema.registry.url`
//! under the subject the configured strategy names. Connect schemas map to
//! Avro the way Confluent's AvroData does: structs → records (`connect.name`
//! kept), optional → `["null", T]`, int8/int16 → int with `connect.type`,
//! Decimal/Date/Time/Timestamp → the Avro logical types.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Map, Value as Json};

use crate::config::{
    default_bool, default_str, no_default, ConfigDef, ConfigError, ConfigType, Importance, Props,
};
use crate::data::logical::{self, Logical};
use crate::data::{
    BigDecimal, DataError, Schema, SchemaAndValue, SchemaBuilder, Struct, Type, Value,
};

use super::registry_client::{subject_name, RegistryClient};
use super::Converter;

const MAGIC: u8 = 0;

pub struct AvroConverterConfig {
    pub url: String,
    pub auto_register: bool,
    pub use_latest: bool,
    pub strategy: String,
    pub is_key: bool,
}

impl AvroConverterConfig {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define("schema.registry.url", ConfigType::List, no_default(), None, Importance::High,
                "Comma-separated list of URLs for Schema Registry instances that can be used to register or look up schemas.")
            .define("auto.register.schemas", ConfigType::Boolean, default_bool(true), None, Importance::Medium,
                "Specify if the Serializer should attempt to register the Schema with Schema Registry")
            .define("use.latest.version", ConfigType::Boolean, default_bool(false), None, Importance::Low,
                "Use the latest version of the schema in the subject instead of the one derived from the data.")
            .define("key.subject.name.strategy", ConfigType::Class, default_str("io.confluent.kafka.serializers.subject.TopicNameStrategy"), None, Importance::Medium,
                "Determines how to construct the subject name under which the key schema is registered with the schema registry.")
            .define("value.subject.name.strategy", ConfigType::Class, default_str("io.confluent.kafka.serializers.subject.TopicNameStrategy"), None, Importance::Medium,
                "Determines how to construct the subject name under which the value schema is registered with the schema registry.")
    }

    pub fn parse(props: &Props, is_key: bool) -> Result<Self, ConfigError> {
        let p = Self::config_def().parse(props)?;
        let url = p.list("schema.registry.url").join(",");
        if url.is_empty() {
            return Err(ConfigError::for_key("schema.registry.url", "Missing required configuration \"schema.registry.url\" which has no default value."));
        }
        let strategy = if is_key {
            p.string("key.subject.name.strategy")
        } else {
            p.string("value.subject.name.strategy")
        };
        Ok(AvroConverterConfig {
            url,
            auto_register: p.bool("auto.register.schemas"),
            use_latest: p.bool("use.latest.version"),
            strategy: strategy.unwrap_or_default(),
            is_key,
        })
    }

    pub fn build(self) -> AvroConverter {
        AvroConverter {
            registry: Arc::new(RegistryClient::new(&self.url)),
            config: self,
        }
    }
}

pub struct AvroConverter {
    config: AvroConverterConfig,
    registry: Arc<RegistryClient>,
}

impl Converter for AvroConverter {
    fn from_connect(
        &self,
        topic: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        if value.is_null() && schema.is_none_or(|s| s.is_optional()) {
            return Ok(None);
        }
        let schema = schema
            .ok_or_else(|| DataError::new("AvroConverter needs a schema for non-null data"))?;
        let avro = to_avro_schema(schema);
        let record_name = match &avro {
            Json::Object(o) if o.get("type") == Some(&json!("record")) => {
                let ns = o.get("namespace").and_then(|n| n.as_str()).unwrap_or("");
                let n = o.get("name").and_then(|n| n.as_str()).unwrap_or("");
                Some(if ns.is_empty() {
                    n.to_string()
                } else {
                    format!("{ns}.{n}")
                })
            }
            _ => None,
        };
        let subject = subject_name(
            &self.config.strategy,
            topic,
            self.config.is_key,
            record_name.as_deref(),
        )?;
        let text = avro.to_string();
        let id = if self.config.use_latest {
            self.registry.latest(&subject)?.0
        } else {
            self.registry
                .id_for(&subject, &text, "AVRO", self.config.auto_register)?
        };
        let mut out = vec![MAGIC];
        out.extend_from_slice(&id.to_be_bytes());
        encode(schema, value, &mut out, 0)?;
        Ok(Some(out))
    }

    fn to_connect(&self, topic: &str, bytes: Option<&[u8]>) -> Result<SchemaAndValue, DataError> {
        let Some(b) = bytes else {
            return Ok(SchemaAndValue::null());
        };
        if b.len() < 5 || b[0] != MAGIC {
            return Err(DataError::new(format!(
                "Failed to deserialize data for topic {topic} to Avro: Unknown magic byte!"
            )));
        }
        let id = i32::from_be_bytes([b[1], b[2], b[3], b[4]]);
        let text = self.registry.schema_by_id(id)?;
        let json: Json = serde_json::from_str(&text)
            .map_err(|e| DataError::new(format!("invalid Avro schema {id}: {e}")))?;
        let mut names = HashMap::new();
        let avro = parse_avro(&json, None, &mut names, 0)?;
        let schema = avro.connect_schema(&names, 0)?;
        let mut pos = 5;
        let value = avro.decode(&names, &schema, b, &mut pos, 0)?;
        Ok(SchemaAndValue::new(Some(schema), value))
    }
}

// --- Connect schema → Avro schema ------------------------------------------------

fn connect_props(schema: &Schema, obj: &mut Map<String, Json>) {
    if let Some(v) = schema.version() {
        obj.insert("connect.version".into(), json!(v));
    }
    if let Some(d) = schema.doc() {
        obj.insert("connect.doc".into(), json!(d));
    }
    if let Some(p) = schema.parameters() {
        let m: Map<String, Json> = p.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        obj.insert("connect.parameters".into(), Json::Object(m));
    }
    if let Some(n) = schema.name() {
        obj.insert("connect.name".into(), json!(n));
    }
}

/// The Avro schema (as JSON) for a Connect schema, optional wrapped in a union.
pub fn to_avro_schema(schema: &Schema) -> Json {
    let base = to_avro_base(schema);
    if schema.is_optional() {
        json!(["null", base])
    } else {
        base
    }
}

fn to_avro_base(schema: &Schema) -> Json {
    let mut obj = Map::new();
    match schema.name().and_then(Logical::from_name) {
        Some(Logical::Decimal) => {
            let scale = logical::decimal_scale(schema).unwrap_or(0);
            let precision = schema
                .parameter("connect.decimal.precision")
                .and_then(|p| p.parse::<i32>().ok())
                .unwrap_or(64);
            obj.insert("type".into(), json!("bytes"));
            obj.insert("scale".into(), json!(scale));
            obj.insert("precision".into(), json!(precision));
            connect_props(schema, &mut obj);
            obj.insert("logicalType".into(), json!("decimal"));
            return Json::Object(obj);
        }
        Some(Logical::Date) => {
            obj.insert("type".into(), json!("int"));
            connect_props(schema, &mut obj);
            obj.insert("logicalType".into(), json!("date"));
            return Json::Object(obj);
        }
        Some(Logical::Time) => {
            obj.insert("type".into(), json!("int"));
            connect_props(schema, &mut obj);
            obj.insert("logicalType".into(), json!("time-millis"));
            return Json::Object(obj);
        }
        Some(Logical::Timestamp) => {
            obj.insert("type".into(), json!("long"));
            connect_props(schema, &mut obj);
            obj.insert("logicalType".into(), json!("timestamp-millis"));
            return Json::Object(obj);
        }
        None => {}
    }
    let plain = |t: &str| -> Json { json!(t) };
    let has_meta = schema.name().is_some()
        || schema.version().is_some()
        || schema.doc().is_some()
        || schema.parameters().is_some();
    match schema.ty() {
        Type::Int8 | Type::Int16 => {
            obj.insert("type".into(), json!("int"));
            obj.insert(
                "connect.type".into(),
                json!(if schema.ty() == Type::Int8 {
                    "int8"
                } else {
                    "int16"
                }),
            );
            connect_props(schema, &mut obj);
            Json::Object(obj)
        }
        Type::Struct => {
            let full = schema
                .name()
                .unwrap_or("io.confluent.connect.avro.ConnectDefault");
            let (ns, name) = match full.rsplit_once('.') {
                Some((ns, n)) => (Some(ns), n),
                None => (None, full),
            };
            obj.insert("type".into(), json!("record"));
            obj.insert("name".into(), json!(sanitize(name)));
            if let Some(ns) = ns {
                obj.insert("namespace".into(), json!(ns));
            }
            if let Some(d) = schema.doc() {
                obj.insert("doc".into(), json!(d));
            }
            let fields: Vec<Json> = schema
                .fields()
                .iter()
                .map(|f| {
                    let mut fo = Map::new();
                    fo.insert("name".into(), json!(f.name));
                    fo.insert("type".into(), to_avro_schema(&f.schema));
                    if f.schema.is_optional() && f.schema.default_value().is_none() {
                        fo.insert("default".into(), Json::Null);
                    } else if let Some(d) = f.schema.default_value() {
                        if let Some(j) = default_json(&f.schema, d) {
                            fo.insert("default".into(), j);
                        }
                    }
                    Json::Object(fo)
                })
                .collect();
            obj.insert("fields".into(), Json::Array(fields));
            if let Some(v) = schema.version() {
                obj.insert("connect.version".into(), json!(v));
            }
            if let Some(d) = schema.doc() {
                obj.insert("connect.doc".into(), json!(d));
            }
            if let Some(n) = schema.name() {
                obj.insert("connect.name".into(), json!(n));
            }
            Json::Object(obj)
        }
        Type::Array => {
            let items = schema
                .value_schema()
                .map(to_avro_schema)
                .unwrap_or(json!("null"));
            obj.insert("type".into(), json!("array"));
            obj.insert("items".into(), items);
            Json::Object(obj)
        }
        Type::Map => {
            let vs = schema
                .value_schema()
                .map(to_avro_schema)
                .unwrap_or(json!("null"));
            if schema.key_schema().map(|k| k.ty()) == Some(Type::String)
                && !schema.key_schema().is_some_and(|k| k.is_optional())
            {
                obj.insert("type".into(), json!("map"));
                obj.insert("values".into(), vs);
            } else {
                let ks = schema
                    .key_schema()
                    .map(to_avro_schema)
                    .unwrap_or(json!("null"));
                obj.insert("type".into(), json!("array"));
                obj.insert(
                    "items".into(),
                    json!({"type": "record", "name": "MapEntry", "namespace": "io.confluent.connect.avro",
                           "fields": [{"name": "key", "type": ks}, {"name": "value", "type": vs}]}),
                );
            }
            Json::Object(obj)
        }
        t => {
            let name = match t {
                Type::Int32 => "int",
                Type::Int64 => "long",
                Type::Float32 => "float",
                Type::Float64 => "double",
                Type::Boolean => "boolean",
                Type::String => "string",
                _ => "bytes",
            };
            if !has_meta {
                return plain(name);
            }
            obj.insert("type".into(), json!(name));
            connect_props(schema, &mut obj);
            Json::Object(obj)
        }
    }
}

fn sanitize(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.chars().next().is_none_or(|c| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

fn default_json(schema: &Schema, v: &Value) -> Option<Json> {
    Some(match v {
        Value::Boolean(b) => json!(b),
        Value::Int8(i) => json!(i),
        Value::Int16(i) => json!(i),
        Value::Int32(i) => json!(i),
        Value::Int64(i) => json!(i),
        Value::Float32(f) => json!(f),
        Value::Float64(f) => json!(f),
        Value::String(s) => json!(s),
        Value::Date(ms) => match schema.name().and_then(Logical::from_name) {
            Some(Logical::Date) => json!(ms / logical::MILLIS_PER_DAY),
            _ => json!(ms),
        },
        _ => return None,
    })
}

// --- Avro binary encoding of Connect values ---------------------------------------------

fn put_long(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    loop {
        if z & !0x7f == 0 {
            out.push(z as u8);
            return;
        }
        out.push(((z & 0x7f) | 0x80) as u8);
        z >>= 7;
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_long(out, b.len() as i64);
    out.extend_from_slice(b);
}

fn encode(
    schema: &Schema,
    value: &Value,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), DataError> {
    if depth > 100 {
        return Err(DataError::new("value nesting too deep for Avro"));
    }
    if schema.is_optional() {
        if value.is_null() {
            put_long(out, 0);
            return Ok(());
        }
        put_long(out, 1);
    }
    let value = if value.is_null() {
        schema.default_value().cloned().unwrap_or(Value::Null)
    } else {
        value.clone()
    };
    let mismatch = || {
        DataError::new(format!(
            "Invalid value {} for schema {}",
            value.java_class(),
            schema.java_string()
        ))
    };
    match (schema.name().and_then(Logical::from_name), &value) {
        (Some(Logical::Decimal), Value::Decimal(d)) => {
            put_bytes(out, &logical::decimal_from_logical(schema, d)?);
            return Ok(());
        }
        (Some(Logical::Date), Value::Date(ms)) => {
            put_long(out, logical::date_from_logical(*ms)? as i64);
            return Ok(());
        }
        (Some(Logical::Time), Value::Date(ms)) => {
            put_long(out, logical::time_from_logical(*ms)? as i64);
            return Ok(());
        }
        (Some(Logical::Timestamp), Value::Date(ms)) => {
            put_long(out, *ms);
            return Ok(());
        }
        (Some(_), _) => return Err(mismatch()),
        (None, _) => {}
    }
    match (&value, schema.ty()) {
        (Value::Null, _) => {
            return Err(DataError::new(format!(
                "null value for required {}",
                schema.java_string()
            )))
        }
        (Value::Boolean(b), Type::Boolean) => out.push(*b as u8),
        (Value::Int8(i), Type::Int8) => put_long(out, *i as i64),
        (Value::Int16(i), Type::Int16) => put_long(out, *i as i64),
        (Value::Int32(i), Type::Int32) => put_long(out, *i as i64),
        (Value::Int64(i), Type::Int64) => put_long(out, *i),
        (Value::Float32(f), Type::Float32) => out.extend_from_slice(&f.to_le_bytes()),
        (Value::Float64(f), Type::Float64) => out.extend_from_slice(&f.to_le_bytes()),
        (Value::String(s), Type::String) => put_bytes(out, s.as_bytes()),
        (Value::Bytes(b), Type::Bytes) => put_bytes(out, b),
        (Value::Array(items), Type::Array) => {
            let vs = schema.value_schema().ok_or_else(mismatch)?;
            if !items.is_empty() {
                put_long(out, items.len() as i64);
                for i in items {
                    encode(vs, i, out, depth + 1)?;
                }
            }
            put_long(out, 0);
        }
        (Value::Map(entries), Type::Map) => {
            let (ks, vs) = (
                schema.key_schema().ok_or_else(mismatch)?,
                schema.value_schema().ok_or_else(mismatch)?,
            );
            if !entries.is_empty() {
                put_long(out, entries.len() as i64);
                let string_keys = ks.ty() == Type::String && !ks.is_optional();
                for (k, v) in entries {
                    if string_keys {
                        put_bytes(out, k.as_str().unwrap_or_default().as_bytes());
                    } else {
                        encode(ks, k, out, depth + 1)?;
                    }
                    encode(vs, v, out, depth + 1)?;
                }
            }
            put_long(out, 0);
        }
        (Value::Struct(st), Type::Struct) => {
            for f in schema.fields() {
                encode(&f.schema, &st.get_without_default(&f.name)?, out, depth + 1)?;
            }
        }
        _ => return Err(mismatch()),
    }
    Ok(())
}

// --- Avro schema → Connect schema, and binary decoding ------------------------------------

#[derive(Clone, Debug)]
enum Avro {
    Null,
    Boolean,
    Int {
        connect_type: Option<String>,
        logical: Option<String>,
        meta: Json,
    },
    Long {
        logical: Option<String>,
        meta: Json,
    },
    Float,
    Double,
    Bytes {
        decimal: Option<i32>,
        meta: Json,
    },
    Fixed {
        size: usize,
        decimal: Option<i32>,
    },
    String {
        meta: Json,
    },
    Enum {
        name: String,
        symbols: Vec<String>,
    },
    Array(Box<Avro>),
    Map(Box<Avro>),
    Record {
        name: String,
        connect_name: Option<String>,
        doc: Option<String>,
        fields: Vec<(String, Avro)>,
    },
    Union(Vec<Avro>),
    Ref(String),
}

fn parse_avro(
    j: &Json,
    ns: Option<&str>,
    names: &mut HashMap<String, Avro>,
    depth: usize,
) -> Result<Avro, DataError> {
    if depth > 64 {
        return Err(DataError::new("Avro schema nesting too deep"));
    }
    let bad = || DataError::new(format!("unsupported Avro schema: {j}"));
    match j {
        Json::String(t) => Ok(match t.as_str() {
            "null" => Avro::Null,
            "boolean" => Avro::Boolean,
            "int" => Avro::Int {
                connect_type: None,
                logical: None,
                meta: Json::Null,
            },
            "long" => Avro::Long {
                logical: None,
                meta: Json::Null,
            },
            "float" => Avro::Float,
            "double" => Avro::Double,
            "bytes" => Avro::Bytes {
                decimal: None,
                meta: Json::Null,
            },
            "string" => Avro::String { meta: Json::Null },
            other => {
                let full = if other.contains('.') {
                    other.to_string()
                } else {
                    ns.map(|n| format!("{n}.{other}"))
                        .unwrap_or_else(|| other.to_string())
                };
                if names.contains_key(&full) {
                    Avro::Ref(full)
                } else if names.contains_key(other) {
                    Avro::Ref(other.to_string())
                } else {
                    return Err(bad());
                }
            }
        }),
        Json::Array(branches) => Ok(Avro::Union(
            branches
                .iter()
                .map(|b| parse_avro(b, ns, names, depth + 1))
                .collect::<Result<_, _>>()?,
        )),
        Json::Object(o) => {
            let t = o.get("type").ok_or_else(bad)?;
            let logical = o
                .get("logicalType")
                .and_then(|l| l.as_str())
                .map(str::to_string);
            let meta = j.clone();
            match t {
                Json::String(t) => match t.as_str() {
                    "int" => Ok(Avro::Int {
                        connect_type: o
                            .get("connect.type")
                            .and_then(|c| c.as_str())
                            .map(str::to_string),
                        logical,
                        meta,
                    }),
                    "long" => Ok(Avro::Long { logical, meta }),
                    "bytes" => Ok(Avro::Bytes {
                        decimal: (logical.as_deref() == Some("decimal"))
                            .then(|| o.get("scale").and_then(|s| s.as_i64()).unwrap_or(0) as i32),
                        meta,
                    }),
                    "string" => Ok(Avro::String { meta }),
                    "fixed" => Ok(Avro::Fixed {
                        size: o.get("size").and_then(|s| s.as_u64()).unwrap_or(0) as usize,
                        decimal: (logical.as_deref() == Some("decimal"))
                            .then(|| o.get("scale").and_then(|s| s.as_i64()).unwrap_or(0) as i32),
                    }),
                    "array" => Ok(Avro::Array(Box::new(parse_avro(
                        o.get("items").ok_or_else(bad)?,
                        ns,
                        names,
                        depth + 1,
                    )?))),
                    "map" => Ok(Avro::Map(Box::new(parse_avro(
                        o.get("values").ok_or_else(bad)?,
                        ns,
                        names,
                        depth + 1,
                    )?))),
                    "enum" => {
                        let name = o
                            .get("name")
                            .and_then(|n| n.as_str())
                            .unwrap_or("enum")
                            .to_string();
                        let symbols = o
                            .get("symbols")
                            .and_then(|s| s.as_array())
                            .map(|a| {
                                a.iter()
                                    .filter_map(|s| s.as_str().map(str::to_string))
                                    .collect()
                            })
                            .unwrap_or_default();
                        let e = Avro::Enum {
                            name: name.clone(),
                            symbols,
                        };
                        names.insert(name, e.clone());
                        Ok(e)
                    }
                    "record" | "error" => {
                        let name = o.get("name").and_then(|n| n.as_str()).ok_or_else(bad)?;
                        let rns = o.get("namespace").and_then(|n| n.as_str()).or(ns);
                        let full = if name.contains('.') {
                            name.to_string()
                        } else {
                            rns.filter(|n| !n.is_empty())
                                .map(|n| format!("{n}.{name}"))
                                .unwrap_or_else(|| name.to_string())
                        };
                        // Register before the fields so recursive references resolve.
                        names.insert(
                            full.clone(),
                            Avro::Record {
                                name: full.clone(),
                                connect_name: None,
                                doc: None,
                                fields: vec![],
                            },
                        );
                        let mut fields = Vec::new();
                        for f in o.get("fields").and_then(|f| f.as_array()).ok_or_else(bad)? {
                            let fname = f.get("name").and_then(|n| n.as_str()).ok_or_else(bad)?;
                            fields.push((
                                fname.to_string(),
                                parse_avro(f.get("type").ok_or_else(bad)?, rns, names, depth + 1)?,
                            ));
                        }
                        let r = Avro::Record {
                            name: full.clone(),
                            connect_name: o
                                .get("connect.name")
                                .and_then(|n| n.as_str())
                                .map(str::to_string),
                            doc: o.get("doc").and_then(|d| d.as_str()).map(str::to_string),
                            fields,
                        };
                        names.insert(full, r.clone());
                        Ok(r)
                    }
                    _ => parse_avro(&Json::String(t.clone()), ns, names, depth + 1),
                },
                other => parse_avro(other, ns, names, depth + 1),
            }
        }
        _ => Err(bad()),
    }
}

fn with_meta(mut b: SchemaBuilder, meta: &Json) -> SchemaBuilder {
    if let Some(n) = meta.get("connect.name").and_then(|n| n.as_str()) {
        b = b.name(Some(n));
    }
    if let Some(v) = meta.get("connect.version").and_then(|v| v.as_i64()) {
        b = b.version(Some(v as i32));
    }
    if let Some(d) = meta.get("connect.doc").and_then(|d| d.as_str()) {
        b = b.doc(Some(d));
    }
    if let Some(Json::Object(p)) = meta.get("connect.parameters") {
        for (k, v) in p {
            if let Some(v) = v.as_str() {
                b = b.parameter(k, v);
            }
        }
    }
    b
}

impl Avro {
    fn connect_schema(
        &self,
        names: &HashMap<String, Avro>,
        depth: usize,
    ) -> Result<Schema, DataError> {
        if depth > 64 {
            return Err(DataError::new("recursive Avro schemas are not supported"));
        }
        Ok(match self {
            Avro::Null => Schema::optional_of(Type::String),
            Avro::Boolean => Schema::of(Type::Boolean),
            Avro::Int {
                connect_type,
                logical,
                meta,
            } => match (logical.as_deref(), connect_type.as_deref()) {
                (Some("date"), _) => logical::date_schema(),
                (Some("time-millis"), _) => logical::time_schema(),
                (_, Some("int8")) => with_meta(SchemaBuilder::int8(), meta).build(),
                (_, Some("int16")) => with_meta(SchemaBuilder::int16(), meta).build(),
                _ => with_meta(SchemaBuilder::int32(), meta).build(),
            },
            Avro::Long { logical, meta } => match logical.as_deref() {
                Some("timestamp-millis") => logical::timestamp_schema(),
                _ => with_meta(SchemaBuilder::int64(), meta).build(),
            },
            Avro::Float => Schema::of(Type::Float32),
            Avro::Double => Schema::of(Type::Float64),
            Avro::Bytes {
                decimal: Some(s),
                meta,
            } => {
                let mut b = logical::decimal_builder(*s);
                if let Some(p) = meta.get("precision").and_then(|p| p.as_i64()) {
                    b = b.parameter("connect.decimal.precision", &p.to_string());
                }
                b.build()
            }
            Avro::Fixed {
                decimal: Some(s), ..
            } => logical::decimal_builder(*s).build(),
            Avro::Bytes { meta, .. } => with_meta(SchemaBuilder::bytes(), meta).build(),
            Avro::Fixed { .. } => Schema::of(Type::Bytes),
            Avro::String { meta } => with_meta(SchemaBuilder::string(), meta).build(),
            Avro::Enum { name, symbols } => {
                let mut b = SchemaBuilder::string()
                    .name(Some(name))
                    .parameter("io.confluent.connect.avro.Enum", name);
                for s in symbols {
                    b = b.parameter(&format!("io.confluent.connect.avro.Enum.{s}"), s);
                }
                b.build()
            }
            Avro::Array(items) => {
                if let Avro::Record { name, fields, .. } = items.as_ref() {
                    if name == "io.confluent.connect.avro.MapEntry" && fields.len() == 2 {
                        return Ok(SchemaBuilder::map(
                            fields[0].1.connect_schema(names, depth + 1)?,
                            fields[1].1.connect_schema(names, depth + 1)?,
                        )
                        .build());
                    }
                }
                SchemaBuilder::array(items.connect_schema(names, depth + 1)?).build()
            }
            Avro::Map(v) => SchemaBuilder::map(
                Schema::of(Type::String),
                v.connect_schema(names, depth + 1)?,
            )
            .build(),
            Avro::Record {
                name,
                connect_name,
                doc,
                fields,
            } => {
                let mut b = SchemaBuilder::struct_()
                    .name(Some(connect_name.as_deref().unwrap_or(name)))
                    .doc(doc.as_deref());
                for (n, f) in fields {
                    b = b.field(n, f.connect_schema(names, depth + 1)?)?;
                }
                b.build()
            }
            Avro::Union(branches) => {
                let non_null: Vec<&Avro> = branches
                    .iter()
                    .filter(|b| !matches!(b, Avro::Null))
                    .collect();
                if non_null.len() == 1 && branches.len() == 2 {
                    SchemaBuilder::from_schema(&non_null[0].connect_schema(names, depth + 1)?)
                        .optional()
                        .build()
                } else {
                    return Err(DataError::new("Avro unions other than [\"null\", T] are not supported by this AvroConverter"));
                }
            }
            Avro::Ref(n) => names
                .get(n)
                .ok_or_else(|| DataError::new(format!("unknown Avro type {n}")))?
                .connect_schema(names, depth + 1)?,
        })
    }

    fn decode(
        &self,
        names: &HashMap<String, Avro>,
        schema: &Schema,
        b: &[u8],
        pos: &mut usize,
        depth: usize,
    ) -> Result<Value, DataError> {
        if depth > 100 {
            return Err(DataError::new("Avro data nesting too deep"));
        }
        let trunc = || DataError::new("Avro data is truncated");
        Ok(match self {
            Avro::Null => Value::Null,
            Avro::Boolean => {
                let v = *b.get(*pos).ok_or_else(trunc)?;
                *pos += 1;
                Value::Boolean(v != 0)
            }
            Avro::Int { .. } => {
                let v = get_long(b, pos)?;
                match schema.name().and_then(Logical::from_name) {
                    Some(Logical::Date) => Value::Date(logical::date_to_logical(v as i32)),
                    Some(Logical::Time) => Value::Date(v),
                    _ => match schema.ty() {
                        Type::Int8 => Value::Int8(v as i8),
                        Type::Int16 => Value::Int16(v as i16),
                        _ => Value::Int32(v as i32),
                    },
                }
            }
            Avro::Long { .. } => {
                let v = get_long(b, pos)?;
                if schema.name() == Some(logical::TIMESTAMP) {
                    Value::Date(v)
                } else {
                    Value::Int64(v)
                }
            }
            Avro::Float => {
                let s = b.get(*pos..*pos + 4).ok_or_else(trunc)?;
                *pos += 4;
                Value::Float32(f32::from_le_bytes([s[0], s[1], s[2], s[3]]))
            }
            Avro::Double => {
                let s = b.get(*pos..*pos + 8).ok_or_else(trunc)?;
                *pos += 8;
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                Value::Float64(f64::from_le_bytes(a))
            }
            Avro::Bytes { decimal, .. } => {
                let v = get_bytes(b, pos)?;
                match decimal {
                    Some(s) => Value::Decimal(BigDecimal::from_unscaled_bytes(&v, *s)),
                    None => Value::Bytes(v),
                }
            }
            Avro::Fixed { size, decimal } => {
                let v = b.get(*pos..*pos + size).ok_or_else(trunc)?.to_vec();
                *pos += size;
                match decimal {
                    Some(s) => Value::Decimal(BigDecimal::from_unscaled_bytes(&v, *s)),
                    None => Value::Bytes(v),
                }
            }
            Avro::String { .. } => Value::String(
                String::from_utf8(get_bytes(b, pos)?)
                    .map_err(|_| DataError::new("invalid UTF-8 in Avro string"))?,
            ),
            Avro::Enum { symbols, .. } => {
                let i = get_long(b, pos)?;
                Value::String(
                    symbols
                        .get(i as usize)
                        .cloned()
                        .ok_or_else(|| DataError::new("Avro enum index out of range"))?,
                )
            }
            Avro::Array(items) => {
                let is_map = schema.ty() == Type::Map;
                let mut out = Vec::new();
                let mut entries = Vec::new();
                loop {
                    let mut n = get_long(b, pos)?;
                    if n == 0 {
                        break;
                    }
                    if n < 0 {
                        n = -n;
                        get_long(b, pos)?;
                    }
                    for _ in 0..n {
                        if *pos > b.len() {
                            return Err(trunc());
                        }
                        if is_map {
                            let (ks, vs) = (
                                schema.key_schema().ok_or_else(trunc)?,
                                schema.value_schema().ok_or_else(trunc)?,
                            );
                            let Avro::Record { fields, .. } = items.as_ref() else {
                                return Err(trunc());
                            };
                            let k = fields[0].1.decode(names, ks, b, pos, depth + 1)?;
                            let v = fields[1].1.decode(names, vs, b, pos, depth + 1)?;
                            Value::map_put(&mut entries, k, v);
                        } else {
                            let es = schema.value_schema().ok_or_else(trunc)?;
                            out.push(items.decode(names, es, b, pos, depth + 1)?);
                        }
                    }
                }
                if is_map {
                    Value::Map(entries)
                } else {
                    Value::Array(out)
                }
            }
            Avro::Map(values) => {
                let vs = schema.value_schema().ok_or_else(trunc)?;
                let mut entries = Vec::new();
                loop {
                    let mut n = get_long(b, pos)?;
                    if n == 0 {
                        break;
                    }
                    if n < 0 {
                        n = -n;
                        get_long(b, pos)?;
                    }
                    for _ in 0..n {
                        let k = String::from_utf8(get_bytes(b, pos)?).map_err(|_| trunc())?;
                        let v = values.decode(names, vs, b, pos, depth + 1)?;
                        Value::map_put(&mut entries, Value::String(k), v);
                    }
                }
                Value::Map(entries)
            }
            Avro::Record { fields, .. } => {
                let mut st = Struct::new(schema);
                for (n, f) in fields {
                    let fs = schema
                        .field(n)
                        .map(|f| f.schema.clone())
                        .ok_or_else(trunc)?;
                    let v = f.decode(names, &fs, b, pos, depth + 1)?;
                    st.put(n, v)?;
                }
                Value::Struct(st)
            }
            Avro::Union(branches) => {
                let i = get_long(b, pos)?;
                let branch = branches
                    .get(i as usize)
                    .ok_or_else(|| DataError::new("Avro union index out of range"))?;
                branch.decode(names, schema, b, pos, depth + 1)?
            }
            Avro::Ref(n) => {
                names
                    .get(n)
                    .ok_or_else(trunc)?
                    .decode(names, schema, b, pos, depth + 1)?
            }
        })
    }
}

fn get_long(b: &[u8], pos: &mut usize) -> Result<i64, DataError> {
    let mut z: u64 = 0;
    let mut shift = 0;
    loop {
        let byte = *b
            .get(*pos)
            .ok_or_else(|| DataError::new("Avro data is truncated"))?;
        *pos += 1;
        z |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 63 {
            return Err(DataError::new("invalid Avro varint"));
        }
    }
    Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
}

fn get_bytes(b: &[u8], pos: &mut usize) -> Result<Vec<u8>, DataError> {
    let n = get_long(b, pos)?;
    if n < 0 || *pos + n as usize > b.len() {
        return Err(DataError::new("Avro data is truncated"));
    }
    let v = b[*pos..*pos + n as usize].to_vec();
    *pos += n as usize;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_mapping_and_binary_round_trip() {
        let schema = SchemaBuilder::struct_()
            .name(Some("ksql.ratings"))
            .field("rating_id", Schema::of(Type::Int64))
            .unwrap()
            .field("stars", Schema::of(Type::Int32))
            .unwrap()
            .field("channel", Schema::optional_of(Type::String))
            .unwrap()
            .field("small", Schema::of(Type::Int8))
            .unwrap()
            .field("price", logical::decimal_builder(2).build())
            .unwrap()
            .field(
                "tags",
                SchemaBuilder::map(Schema::of(Type::String), Schema::of(Type::Int64)).build(),
            )
            .unwrap()
            .build();
        let avro = to_avro_schema(&schema);
        assert_eq!(avro["type"], "record");
        assert_eq!(avro["name"], "ratings");
        assert_eq!(avro["namespace"], "ksql");
        assert_eq!(avro["fields"][2]["type"], json!(["null", "string"]));
        assert_eq!(avro["fields"][2]["default"], Json::Null);
        let mut st = Struct::new(&schema);
        st.put("rating_id", Value::Int64(5313)).unwrap();
        st.put("stars", Value::Int32(-4)).unwrap();
        st.put("channel", Value::str("web")).unwrap();
        st.put("small", Value::Int8(7)).unwrap();
        st.put("price", Value::Decimal(BigDecimal::parse("12.34").unwrap()))
            .unwrap();
        st.put("tags", Value::Map(vec![(Value::str("a"), Value::Int64(1))]))
            .unwrap();
        let mut bytes = Vec::new();
        encode(&schema, &Value::Struct(st.clone()), &mut bytes, 0).unwrap();
        let mut names = HashMap::new();
        let parsed = parse_avro(&avro, None, &mut names, 0).unwrap();
        let back_schema = parsed.connect_schema(&names, 0).unwrap();
        let mut pos = 0;
        let back = parsed
            .decode(&names, &back_schema, &bytes, &mut pos, 0)
            .unwrap();
        assert_eq!(pos, bytes.len());
        let Value::Struct(b) = back else { panic!() };
        assert_eq!(b.get("rating_id").unwrap(), Value::Int64(5313));
        assert_eq!(b.get("stars").unwrap(), Value::Int32(-4));
        assert_eq!(b.get("small").unwrap(), Value::Int8(7));
        assert_eq!(
            b.get("price").unwrap(),
            Value::Decimal(BigDecimal::parse("12.34").unwrap())
        );
        assert_eq!(back_schema.name(), Some("ksql.ratings"));
        // Truncated input is an error, not a panic.
        let mut pos = 0;
        assert!(parsed
            .decode(&names, &back_schema, &bytes[..bytes.len() - 3], &mut pos, 0)
            .is_err());
    }
}
