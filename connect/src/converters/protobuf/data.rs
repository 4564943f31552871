//! Connect values ↔ protobuf messages (prost-reflect `DynamicMessage`s), as
//! Confluent's `ProtobufData.fromConnectData` / `toConnectData` convert
//! them: nulls and empty arrays are left unset; maps are repeated entry
//! messages (or real `map<>` fields when the schema has them); union structs
//! set one member of their `oneof`; Decimal ↔ `confluent.type.Decimal`
//! (unscaled two's-complement bytes, precision, scale), Date ↔ `google.type.Date`,
//! Time ↔ `google.type.TimeOfDay`, Timestamp ↔ `google.protobuf.Timestamp`.
//! On the way back, unset scalar fields read as their proto3 default and
//! unset message fields as null, like Confluent's converter.

use std::collections::HashMap;

use prost_reflect::{
    DynamicMessage, EnumDescriptor, FieldDescriptor, Kind, MapKey, MessageDescriptor,
    ReflectMessage, Value as PValue,
};

use crate::data::date_format::{civil_from_days, days_from_civil};
use crate::data::logical::{self, Logical};
use crate::data::{BigDecimal, DataError, Schema, Struct, Type, Value};

use super::connect_schema::{has_optional_keyword, in_real_oneof, real_oneofs, union_field_name};
use super::proto_schema::{is_union, scrub_name, ENUM};
use super::Options;

const MILLIS_PER_DAY: i64 = logical::MILLIS_PER_DAY;

fn invalid(schema: &Schema, value: &Value) -> DataError {
    DataError::new(format!(
        "Invalid type for {}: {}",
        schema.ty(),
        value.java_class()
    ))
}

fn set(msg: &mut DynamicMessage, fd: &FieldDescriptor, v: PValue) -> Result<(), DataError> {
    msg.try_set_field(fd, v)
        .map_err(|e| DataError::new(format!("Cannot set Protobuf field {}: {e}", fd.name())))
}

fn field_by_name(m: &MessageDescriptor, name: &str) -> Result<FieldDescriptor, DataError> {
    m.get_field_by_name(name)
        .ok_or_else(|| DataError::new(format!("Cannot find field with name {name}")))
}

/// The message a Connect value (with its schema) is encoded as.
pub fn from_connect(
    schema: &Schema,
    value: &Value,
    desc: &MessageDescriptor,
    opts: &Options,
) -> Result<DynamicMessage, DataError> {
    let kind = Kind::Message(desc.clone());
    match single(schema, value, &kind, opts, 0)? {
        Some(PValue::Message(m)) => Ok(m),
        // A raw primitive was not wrapped: the root must be a message.
        Some(_) => Err(DataError::new(format!(
            "Connect schema of type {} does not map to message {}",
            schema.ty(),
            desc.full_name()
        ))),
        None => Ok(DynamicMessage::new(desc.clone())),
    }
}

fn struct_to_message(
    schema: &Schema,
    st: &Struct,
    desc: &MessageDescriptor,
    opts: &Options,
    depth: usize,
) -> Result<DynamicMessage, DataError> {
    if st.schema() != schema {
        return Err(DataError::new("Mismatching struct schema"));
    }
    let scrub = |n: &str| {
        if opts.scrub_invalid_names {
            scrub_name(n)
        } else {
            n.to_string()
        }
    };
    let mut msg = DynamicMessage::new(desc.clone());
    for field in schema.fields() {
        let v = st.get(&field.name)?;
        if v.is_null() {
            continue;
        }
        if is_union(&field.schema) {
            let Value::Struct(u) = &v else {
                return Err(invalid(&field.schema, &v));
            };
            let mut found = false;
            for uf in field.schema.fields() {
                let uv = u.get(&uf.name)?;
                if uv.is_null() {
                    continue;
                }
                let fd = field_by_name(desc, &scrub(&uf.name))?;
                if let Some(pv) = field_value(&uf.schema, &uv, &fd, opts, depth + 1)? {
                    set(&mut msg, &fd, pv)?;
                }
                found = true;
                break;
            }
            if !found {
                return Err(DataError::new("Cannot find non-null field"));
            }
            continue;
        }
        let fd = field_by_name(desc, &scrub(&field.name))?;
        if let Some(pv) = field_value(&field.schema, &v, &fd, opts, depth + 1)? {
            set(&mut msg, &fd, pv)?;
        }
    }
    Ok(msg)
}

/// The value of one field (a list for arrays and repeated map entries).
fn field_value(
    schema: &Schema,
    value: &Value,
    fd: &FieldDescriptor,
    opts: &Options,
    depth: usize,
) -> Result<Option<PValue>, DataError> {
    if depth > 100 {
        return Err(DataError::new("value nesting too deep for Protobuf"));
    }
    let kind = fd.kind();
    match (schema.ty(), value) {
        (Type::Array, Value::Array(items)) => {
            if items.is_empty() {
                return Ok(None);
            }
            let es = schema
                .value_schema()
                .ok_or_else(|| DataError::new("array schema without an element schema"))?;
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(single(es, item, &kind, opts, depth + 1)?.ok_or_else(|| {
                    DataError::new(format!("null element in repeated field {}", fd.name()))
                })?);
            }
            Ok(Some(PValue::List(out)))
        }
        (Type::Map, Value::Map(entries)) => {
            let (Some(ks), Some(vs)) = (schema.key_schema(), schema.value_schema()) else {
                return Err(DataError::new("map schema without key or value schema"));
            };
            let Kind::Message(entry) = &kind else {
                return Err(invalid(schema, value));
            };
            let key_fd = field_by_name(entry, "key")?;
            let value_fd = field_by_name(entry, "value")?;
            if fd.is_map() {
                // A real `map<>` field (a schema that was not generated here).
                let mut map = HashMap::new();
                for (k, v) in entries {
                    let key = single(ks, k, &key_fd.kind(), opts, depth + 1)?
                        .and_then(PValue::into_map_key)
                        .ok_or_else(|| DataError::new("invalid Protobuf map key"))?;
                    let val = match field_value(vs, v, &value_fd, opts, depth + 1)? {
                        Some(v) => v,
                        None => value_fd.default_value(),
                    };
                    map.insert(key, val);
                }
                return Ok(Some(PValue::Map(map)));
            }
            let mut out = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let mut m = DynamicMessage::new(entry.clone());
                if let Some(kv) = field_value(ks, k, &key_fd, opts, depth + 1)? {
                    set(&mut m, &key_fd, kv)?;
                }
                if let Some(vv) = field_value(vs, v, &value_fd, opts, depth + 1)? {
                    set(&mut m, &value_fd, vv)?;
                }
                out.push(PValue::Message(m));
            }
            Ok(Some(PValue::List(out)))
        }
        _ => single(schema, value, &kind, opts, depth + 1),
    }
}

fn enum_number(schema: &Schema, e: &EnumDescriptor, symbol: &str) -> Option<i32> {
    for p in ["org.apache.kafka.connect.data.Enum", ENUM] {
        if let Some(tag) = schema
            .parameter(&format!("{p}.{symbol}"))
            .and_then(|t| t.parse().ok())
        {
            return Some(tag);
        }
    }
    e.get_value_by_name(symbol).map(|v| v.number())
}

fn message_of(kind: &Kind, full_name: &str) -> Result<MessageDescriptor, DataError> {
    match kind {
        Kind::Message(m) if m.full_name() == full_name => Ok(m.clone()),
        _ => Err(DataError::new(format!(
            "Protobuf field is not a {full_name}"
        ))),
    }
}

fn logical_message(
    l: Logical,
    schema: &Schema,
    value: &Value,
    kind: &Kind,
) -> Result<DynamicMessage, DataError> {
    let (full, fields): (&str, Vec<(&str, PValue)>) = match (l, value) {
        (Logical::Decimal, Value::Decimal(d)) => (
            super::proto_schema::DECIMAL_TYPE,
            vec![
                ("value", PValue::Bytes(d.unscaled_bytes().into())),
                ("precision", PValue::U32(d.precision() as u32)),
                ("scale", PValue::I32(d.scale())),
            ],
        ),
        (Logical::Date, Value::Date(ms)) => {
            if ms.rem_euclid(MILLIS_PER_DAY) != 0 {
                return Err(DataError::new(
                    "Kafka Connect Date type should not have any time fields set to non-zero values.",
                ));
            }
            let (y, m, d) = civil_from_days(ms.div_euclid(MILLIS_PER_DAY));
            (
                super::proto_schema::DATE_TYPE,
                vec![
                    ("year", PValue::I32(y as i32)),
                    ("month", PValue::I32(m as i32)),
                    ("day", PValue::I32(d as i32)),
                ],
            )
        }
        (Logical::Time, Value::Date(ms)) => {
            if !(0..=MILLIS_PER_DAY).contains(ms) {
                return Err(DataError::new(
                    "Time values must use number of millis greater than 0 and less than 86400000",
                ));
            }
            (
                super::proto_schema::TIME_TYPE,
                vec![
                    ("hours", PValue::I32((ms / 3_600_000) as i32)),
                    ("minutes", PValue::I32((ms / 60_000 % 60) as i32)),
                    ("seconds", PValue::I32((ms / 1000 % 60) as i32)),
                    ("nanos", PValue::I32((ms % 1000 * 1_000_000) as i32)),
                ],
            )
        }
        (Logical::Timestamp, Value::Date(ms)) => (
            super::proto_schema::TIMESTAMP_TYPE,
            vec![
                ("seconds", PValue::I64(ms.div_euclid(1000))),
                (
                    "nanos",
                    PValue::I32((ms.rem_euclid(1000) * 1_000_000) as i32),
                ),
            ],
        ),
        _ => return Err(invalid(schema, value)),
    };
    let desc = message_of(kind, full)?;
    let mut m = DynamicMessage::new(desc.clone());
    for (name, v) in fields {
        set(&mut m, &field_by_name(&desc, name)?, v)?;
    }
    Ok(m)
}

/// One value of a field whose (element) kind is `kind`.
fn single(
    schema: &Schema,
    value: &Value,
    kind: &Kind,
    opts: &Options,
    depth: usize,
) -> Result<Option<PValue>, DataError> {
    if value.is_null() {
        return Ok(None);
    }
    if depth > 100 {
        return Err(DataError::new("value nesting too deep for Protobuf"));
    }
    if let Some(l) = schema.name().and_then(Logical::from_name) {
        return Ok(Some(PValue::Message(logical_message(
            l, schema, value, kind,
        )?)));
    }
    let bad = || invalid(schema, value);
    Ok(Some(match kind {
        Kind::Message(m) if super::known::is_wrapper(m.full_name()) => {
            if schema.ty() == Type::Struct {
                // A wrapper message written out as a struct {value}.
                let Value::Struct(st) = value else {
                    return Err(bad());
                };
                PValue::Message(struct_to_message(schema, st, m, opts, depth + 1)?)
            } else {
                let inner = field_by_name(m, "value")?;
                let mut w = DynamicMessage::new(m.clone());
                if let Some(v) = single(schema, value, &inner.kind(), opts, depth + 1)? {
                    set(&mut w, &inner, v)?;
                }
                PValue::Message(w)
            }
        }
        Kind::Message(m) => {
            let Value::Struct(st) = value else {
                return Err(bad());
            };
            PValue::Message(struct_to_message(schema, st, m, opts, depth + 1)?)
        }
        Kind::Enum(e) => match value {
            Value::String(s) => PValue::EnumNumber(enum_number(schema, e, s).ok_or_else(|| {
                DataError::new(format!("{s} is not a symbol of enum {}", e.full_name()))
            })?),
            v => PValue::EnumNumber(v.int_value().ok_or_else(bad)?),
        },
        Kind::Bool => match value {
            Value::Boolean(b) => PValue::Bool(*b),
            _ => return Err(bad()),
        },
        Kind::String => match value {
            Value::String(s) => PValue::String(s.clone()),
            _ => return Err(bad()),
        },
        Kind::Bytes => match value {
            Value::Bytes(b) => PValue::Bytes(b.clone().into()),
            _ => return Err(bad()),
        },
        Kind::Float => PValue::F32(value.float_value().ok_or_else(bad)?),
        Kind::Double => PValue::F64(value.double_value().ok_or_else(bad)?),
        k => {
            if matches!(value, Value::Decimal(_)) || !value.is_number() {
                return Err(bad());
            }
            let v = value.long_value().ok_or_else(bad)?;
            match k {
                Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => PValue::I32(v as i32),
                Kind::Uint32 | Kind::Fixed32 => PValue::U32(v as u32),
                Kind::Uint64 | Kind::Fixed64 => PValue::U64(v as u64),
                _ => PValue::I64(v),
            }
        }
    }))
}

// --- protobuf → Connect -------------------------------------------------------

/// The Connect value of a decoded message under the schema `to_connect_schema` gave.
pub fn to_connect(schema: &Schema, msg: &DynamicMessage) -> Result<Value, DataError> {
    let kind = Kind::Message(msg.descriptor());
    to_value(schema, &PValue::Message(msg.clone()), &kind, 0)
}

fn message_to_struct(
    schema: &Schema,
    msg: &DynamicMessage,
    depth: usize,
) -> Result<Struct, DataError> {
    let desc = msg.descriptor();
    let mut st = Struct::new(schema);
    let missing = |n: &str| DataError::new(format!("{n} is not a valid field name"));
    for (i, o) in real_oneofs(&desc) {
        let Some(fd) = o.fields().find(|f| msg.has_field(f)) else {
            continue;
        };
        let name = union_field_name(i, &o);
        let us = schema
            .field(&name)
            .ok_or_else(|| missing(&name))?
            .schema
            .clone();
        let ms = us
            .field(fd.name())
            .ok_or_else(|| missing(fd.name()))?
            .schema
            .clone();
        let mut u = Struct::new(&us);
        u.put(
            fd.name(),
            to_value(&ms, &msg.get_field(&fd), &fd.kind(), depth + 1)?,
        )?;
        st.put(&name, Value::Struct(u))?;
    }
    for fd in desc.fields().filter(|f| !in_real_oneof(f)) {
        let primitive_or_repeated =
            !matches!(fd.kind(), Kind::Message(_)) || fd.is_list() || fd.is_map();
        if (primitive_or_repeated && !has_optional_keyword(&fd)) || msg.has_field(&fd) {
            let fs = schema
                .field(fd.name())
                .ok_or_else(|| missing(fd.name()))?
                .schema
                .clone();
            let v = to_value(&fs, &msg.get_field(&fd), &fd.kind(), depth + 1)?;
            st.put(fd.name(), v)?;
        }
    }
    Ok(st)
}

fn enum_symbol(kind: &Kind, n: i32) -> String {
    match kind {
        Kind::Enum(e) => match e.get_value(n) {
            Some(v) => v.name().to_string(),
            // What Java's DynamicMessage names an unknown proto3 enum number.
            None => format!("UNKNOWN_ENUM_VALUE_{}_{n}", e.name()),
        },
        _ => n.to_string(),
    }
}

fn get_i64(m: &DynamicMessage, name: &str) -> i64 {
    match m.get_field_by_name(name).as_deref() {
        Some(PValue::I32(v)) => *v as i64,
        Some(PValue::I64(v)) => *v,
        Some(PValue::U32(v)) => *v as i64,
        Some(PValue::U64(v)) => *v as i64,
        _ => 0,
    }
}

fn logical_value(l: Logical, m: &DynamicMessage) -> Result<Value, DataError> {
    Ok(match l {
        Logical::Decimal => {
            let bytes = m
                .get_field_by_name("value")
                .and_then(|v| v.as_bytes().map(|b| b.to_vec()))
                .unwrap_or_default();
            Value::Decimal(BigDecimal::from_unscaled_bytes(
                &bytes,
                get_i64(m, "scale") as i32,
            ))
        }
        Logical::Date => {
            let (y, mo, d) = (get_i64(m, "year"), get_i64(m, "month"), get_i64(m, "day"));
            if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
                return Err(DataError::new(format!(
                    "Invalid google.type.Date {y}-{mo}-{d}"
                )));
            }
            Value::Date(days_from_civil(y, mo, d) * MILLIS_PER_DAY)
        }
        Logical::Time => {
            let (h, mi, s, n) = (
                get_i64(m, "hours"),
                get_i64(m, "minutes"),
                get_i64(m, "seconds"),
                get_i64(m, "nanos"),
            );
            if !(0..24).contains(&h)
                || !(0..60).contains(&mi)
                || !(0..60).contains(&s)
                || !(0..1_000_000_000).contains(&n)
            {
                return Err(DataError::new("Invalid google.type.TimeOfDay"));
            }
            Value::Date(((h * 60 + mi) * 60 + s) * 1000 + n / 1_000_000)
        }
        Logical::Timestamp => {
            let secs = get_i64(m, "seconds");
            let nanos = get_i64(m, "nanos");
            Value::Date(
                secs.checked_mul(1000)
                    .and_then(|ms| ms.checked_add(nanos / 1_000_000))
                    .ok_or_else(|| DataError::new("google.protobuf.Timestamp out of range"))?,
            )
        }
    })
}

fn to_value(schema: &Schema, v: &PValue, kind: &Kind, depth: usize) -> Result<Value, DataError> {
    if depth > 100 {
        return Err(DataError::new("Protobuf data nesting too deep"));
    }
    let bad = || {
        DataError::new(format!(
            "Invalid Protobuf value for Connect schema type {}",
            schema.ty()
        ))
    };
    if let Some(l) = schema.name().and_then(Logical::from_name) {
        return logical_value(l, v.as_message().ok_or_else(bad)?);
    }
    // A wrapper message read as its primitive (`wrapper.for.nullables`, raw roots).
    if schema.ty().is_primitive() {
        if let (PValue::Message(m), Kind::Message(md)) = (v, kind) {
            let inner = field_by_name(md, "value")?;
            return to_value(schema, &m.get_field(&inner), &inner.kind(), depth + 1);
        }
    }
    Ok(match schema.ty() {
        Type::Int8 => Value::Int8(num(v).ok_or_else(bad)? as i8),
        Type::Int16 => Value::Int16(num(v).ok_or_else(bad)? as i16),
        Type::Int32 => Value::Int32(num(v).ok_or_else(bad)? as i32),
        Type::Int64 => Value::Int64(num(v).ok_or_else(bad)?),
        Type::Float32 => match v {
            PValue::F32(f) => Value::Float32(*f),
            PValue::F64(f) => Value::Float32(*f as f32),
            _ => return Err(bad()),
        },
        Type::Float64 => match v {
            PValue::F64(f) => Value::Float64(*f),
            PValue::F32(f) => Value::Float64(*f as f64),
            _ => return Err(bad()),
        },
        Type::Boolean => Value::Boolean(v.as_bool().ok_or_else(bad)?),
        Type::String => match v {
            PValue::String(s) => Value::String(s.clone()),
            PValue::EnumNumber(n) => Value::String(enum_symbol(kind, *n)),
            _ => return Err(bad()),
        },
        Type::Bytes => Value::Bytes(v.as_bytes().ok_or_else(bad)?.to_vec()),
        Type::Array => {
            let es = schema.value_schema().ok_or_else(bad)?;
            let items = v.as_list().ok_or_else(bad)?;
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(to_value(es, item, kind, depth + 1)?);
            }
            Value::Array(out)
        }
        Type::Map => {
            let (Some(ks), Some(vs)) = (schema.key_schema(), schema.value_schema()) else {
                return Err(bad());
            };
            let Kind::Message(entry) = kind else {
                return Err(bad());
            };
            let key_fd = field_by_name(entry, "key")?;
            let value_fd = field_by_name(entry, "value")?;
            let mut out = Vec::new();
            match v {
                PValue::Map(map) => {
                    let mut keys: Vec<&MapKey> = map.keys().collect();
                    keys.sort();
                    for k in keys {
                        let kv = PValue::from(k.clone());
                        Value::map_put(
                            &mut out,
                            to_value(ks, &kv, &key_fd.kind(), depth + 1)?,
                            to_value(vs, &map[k], &value_fd.kind(), depth + 1)?,
                        );
                    }
                }
                PValue::List(entries) => {
                    for e in entries {
                        let m = e.as_message().ok_or_else(bad)?;
                        let key = to_value(ks, &m.get_field(&key_fd), &key_fd.kind(), depth + 1)?;
                        let val =
                            to_value(vs, &m.get_field(&value_fd), &value_fd.kind(), depth + 1)?;
                        Value::map_put(&mut out, key, val);
                    }
                }
                _ => return Err(bad()),
            }
            Value::Map(out)
        }
        Type::Struct => match v {
            PValue::Message(m) => Value::Struct(message_to_struct(schema, m, depth + 1)?),
            _ => return Err(bad()),
        },
    })
}

fn num(v: &PValue) -> Option<i64> {
    Some(match v {
        PValue::I32(x) => *x as i64,
        PValue::I64(x) => *x,
        PValue::U32(x) => *x as i64,
        PValue::U64(x) => *x as i64,
        PValue::EnumNumber(x) => *x as i64,
        _ => return None,
    })
}
