//! Protobuf message descriptor → Connect schema, the way Confluent's
//! `ProtobufData.toConnectSchema` maps it: a struct named after the message
//! (full name with `enhanced.protobuf.schema.support`), real `oneof`s first
//! as optional `io.confluent.connect.protobuf.Union.<name>` structs named
//! `<oneof>_<index>`, then the other fields; every field optional (with
//! the default settings) and tagged with its number
//! (`io.confluent.connect.protobuf.Tag`); unsigned and fixed/zig-zag integer
//! kinds keep their proto type in `io.confluent.connect.protobuf.Type`;
//! enums are strings with their symbols as parameters; `XEntry` messages
//! with `key`/`value` are maps; the well-known Decimal/Date/TimeOfDay/
//! Timestamp messages are the Connect logical types. Recursive message
//! types have no immutable Connect form and are refused.

use prost_reflect::{
    Cardinality, FieldDescriptor, Kind, MessageDescriptor, OneofDescriptor, Syntax,
};

use crate::data::logical;
use crate::data::{DataError, Schema, SchemaBuilder};

use super::known;
use super::proto_schema::{
    map_field_name, CONNECT_PRECISION, CONNECT_TYPE, DATE_TYPE, DECIMAL_TYPE, ENUM, PROTO_TYPE,
    TAG, TIMESTAMP_TYPE, TIME_TYPE, UNION,
};
use super::Options;

/// The `(confluent.field_meta)` params of a field, if it has any.
pub fn field_params(fd: &FieldDescriptor) -> Vec<(String, String)> {
    let pool = fd.parent_pool();
    let Some(ext) = pool.get_extension_by_name("confluent.field_meta") else {
        return Vec::new();
    };
    let opts = fd.options();
    if !opts.has_extension(&ext) {
        return Vec::new();
    }
    let meta = opts.get_extension(&ext);
    let Some(meta) = meta.as_message() else {
        return Vec::new();
    };
    let Some(params) = meta.get_field_by_name("params") else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = params
        .as_map()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let k = match k {
                        prost_reflect::MapKey::String(s) => s.clone(),
                        _ => return None,
                    };
                    Some((k, v.as_str()?.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Confluent's `isMapDescriptor`: a repeated `…Entry` message with exactly
/// the fields `key` and `value`, neither repeated.
pub fn is_map_field(fd: &FieldDescriptor) -> bool {
    if fd.is_map() {
        return true;
    }
    let Kind::Message(m) = fd.kind() else {
        return false;
    };
    let fields: Vec<FieldDescriptor> = m.fields().collect();
    fd.is_list()
        && m.name().ends_with("Entry")
        && fields.len() == 2
        && fields[0].name() == "key"
        && fields[1].name() == "value"
        && !fields[0].is_list()
        && !fields[1].is_list()
}

/// The oneofs Confluent turns into union fields (not proto3 `optional`'s
/// synthetic ones), with their index among the message's oneofs.
pub fn real_oneofs(m: &MessageDescriptor) -> Vec<(usize, OneofDescriptor)> {
    m.oneofs()
        .enumerate()
        .filter(|(_, o)| !o.is_synthetic())
        .collect()
}

pub fn union_field_name(index: usize, o: &OneofDescriptor) -> String {
    format!("{}_{}", o.name(), index)
}

/// Whether a field belongs to a real (non-synthetic) oneof.
pub fn in_real_oneof(fd: &FieldDescriptor) -> bool {
    fd.containing_oneof().is_some_and(|o| !o.is_synthetic())
}

/// Java's `hasOptionalKeyword`: proto3 `optional`, or a proto2 `optional`
/// field outside a oneof (Confluent's `optional.for.proto2`, on by default).
pub fn has_optional_keyword(fd: &FieldDescriptor) -> bool {
    fd.field_descriptor_proto().proto3_optional()
        || (fd.parent_file().syntax() == Syntax::Proto2
            && fd.cardinality() == Cardinality::Optional
            && fd.containing_oneof().is_none())
}

fn unwrapped(full_name: &str) -> Option<SchemaBuilder> {
    Some(match full_name {
        "google.protobuf.DoubleValue" => SchemaBuilder::float64(),
        "google.protobuf.FloatValue" => SchemaBuilder::float32(),
        "google.protobuf.Int64Value" | "google.protobuf.UInt64Value" => SchemaBuilder::int64(),
        "google.protobuf.UInt32Value" => SchemaBuilder::int64(),
        "google.protobuf.Int32Value" => SchemaBuilder::int32(),
        "google.protobuf.BoolValue" => SchemaBuilder::boolean(),
        "google.protobuf.StringValue" => SchemaBuilder::string(),
        "google.protobuf.BytesValue" => SchemaBuilder::bytes(),
        _ => return None,
    })
}

struct Ctx<'a> {
    opts: &'a Options,
    /// Messages being converted, outermost first (to refuse recursion).
    stack: Vec<String>,
}

/// The Connect schema of a message (the root of a record).
pub fn to_connect_schema(
    m: &MessageDescriptor,
    version: Option<i32>,
    opts: &Options,
) -> Result<Schema, DataError> {
    if opts.wrapper_for_raw_primitives && known::is_wrapper(m.full_name()) {
        if let Some(b) = unwrapped(m.full_name()) {
            return Ok(b.version(version).build());
        }
    }
    let mut ctx = Ctx {
        opts,
        stack: Vec::new(),
    };
    Ok(message_schema(&mut ctx, m)?.version(version).build())
}

fn message_schema(ctx: &mut Ctx, m: &MessageDescriptor) -> Result<SchemaBuilder, DataError> {
    if ctx.stack.iter().any(|n| n == m.full_name()) || ctx.stack.len() > 64 {
        return Err(DataError::new(format!(
            "Recursive Protobuf message {} has no Connect schema",
            m.full_name()
        )));
    }
    ctx.stack.push(m.full_name().to_string());
    let name = if ctx.opts.enhanced {
        m.full_name()
    } else {
        m.name()
    };
    let mut b = SchemaBuilder::struct_().name(Some(name));
    for (i, o) in real_oneofs(m) {
        let mut u = SchemaBuilder::struct_().name(Some(&format!(
            "{UNION}.{}",
            if ctx.opts.enhanced {
                o.full_name()
            } else {
                o.name()
            }
        )));
        for fd in o.fields() {
            u = u.field(fd.name(), field_schema(ctx, &fd)?)?;
        }
        b = b.field(&union_field_name(i, &o), u.optional().build())?;
    }
    for fd in m.fields().filter(|f| !in_real_oneof(f)) {
        b = b.field(fd.name(), field_schema(ctx, &fd)?)?;
    }
    ctx.stack.pop();
    Ok(b)
}

fn field_schema(ctx: &mut Ctx, fd: &FieldDescriptor) -> Result<Schema, DataError> {
    let params = field_params(fd);
    let kind = fd.kind();
    let mut b = match &kind {
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => match param(&params, CONNECT_TYPE) {
            Some("int8") => SchemaBuilder::int8(),
            Some("int16") => SchemaBuilder::int16(),
            _ => {
                let b = SchemaBuilder::int32();
                match kind {
                    Kind::Sint32 => b.parameter(PROTO_TYPE, "sint32"),
                    Kind::Sfixed32 => b.parameter(PROTO_TYPE, "sfixed32"),
                    _ => b,
                }
            }
        },
        Kind::Uint32
        | Kind::Fixed32
        | Kind::Int64
        | Kind::Uint64
        | Kind::Sint64
        | Kind::Fixed64
        | Kind::Sfixed64 => {
            let t = match kind {
                Kind::Uint32 => Some("uint32"),
                Kind::Fixed32 => Some("fixed32"),
                Kind::Uint64 => Some("uint64"),
                Kind::Sint64 => Some("sint64"),
                Kind::Fixed64 => Some("fixed64"),
                Kind::Sfixed64 => Some("sfixed64"),
                _ => None,
            };
            let b = SchemaBuilder::int64();
            match t {
                Some(t) => b.parameter(PROTO_TYPE, t),
                None => b,
            }
        }
        Kind::Float => SchemaBuilder::float32(),
        Kind::Double => SchemaBuilder::float64(),
        Kind::Bool => SchemaBuilder::boolean(),
        Kind::String => SchemaBuilder::string(),
        Kind::Bytes => SchemaBuilder::bytes(),
        Kind::Enum(e) => {
            let mut b = if ctx.opts.int_for_enums {
                SchemaBuilder::int32()
            } else {
                SchemaBuilder::string()
            };
            b = b
                .name(Some(if ctx.opts.enhanced {
                    e.full_name()
                } else {
                    e.name()
                }))
                .parameter(ENUM, e.name());
            for v in e.values() {
                b = b.parameter(&format!("{ENUM}.{}", v.name()), &v.number().to_string());
            }
            b.optional()
        }
        Kind::Message(m) => {
            let b = match m.full_name() {
                DECIMAL_TYPE => {
                    let scale = param(&params, "scale")
                        .and_then(|s| s.parse::<i32>().ok())
                        .unwrap_or(0);
                    let mut b = logical::decimal_builder(scale);
                    if let Some(p) = param(&params, "precision").and_then(|p| p.parse::<i32>().ok())
                    {
                        b = b.parameter(CONNECT_PRECISION, &p.to_string());
                    }
                    b
                }
                DATE_TYPE => logical::date_builder(),
                TIME_TYPE => logical::time_builder(),
                TIMESTAMP_TYPE => logical::timestamp_builder(),
                full => match (ctx.opts.wrapper_for_nullables, unwrapped(full)) {
                    (true, Some(b)) => b,
                    _ if is_map_field(fd) => {
                        let key = m
                            .get_field_by_name("key")
                            .ok_or_else(|| DataError::new("map entry without a key"))?;
                        let value = m
                            .get_field_by_name("value")
                            .ok_or_else(|| DataError::new("map entry without a value"))?;
                        let name = if ctx.opts.enhanced {
                            m.full_name()
                        } else {
                            m.name()
                        };
                        SchemaBuilder::map(field_schema(ctx, &key)?, field_schema(ctx, &value)?)
                            .name(Some(&map_field_name(name)))
                    }
                    _ => message_schema(ctx, m)?,
                },
            };
            b.optional()
        }
    };
    if fd.is_list() && !is_map_field(fd) {
        b = SchemaBuilder::array(b.optional().build()).optional();
    }
    if ctx.opts.optional_for_nullables {
        if has_optional_keyword(fd) {
            b = b.optional();
        }
    } else if !ctx.opts.wrapper_for_nullables {
        b = b.optional();
    }
    Ok(b.parameter(TAG, &fd.number().to_string()).build())
}
