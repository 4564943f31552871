//! Connect schema → proto3 schema text, the way Confluent's
//! `ProtobufData.fromConnectSchema` builds it: the root struct becomes a
//! message named after the Connect schema (package = its namespace) or
//! `ConnectDefault1`; fields are numbered 1, 2, … in order (or by their
//! `io.confluent.connect.protobuf.Tag` parameter); nested structs, maps
//! (`repeated XEntry` with `key = 1`/`value = 2`) and enums are nested
//! definitions; arrays are `repeated`; unions (`io.confluent.connect.protobuf.Union.*`
//! structs) are `oneof`s; int8/int16 and Decimal's precision/scale travel
//! in `(confluent.field_meta)` params; Decimal/Date/Time/Timestamp use
//! `confluent.type.Decimal`, `google.type.Date`, `google.type.TimeOfDay`,
//! `google.protobuf.Timestamp`. Optional fields are plain proto3 fields
//! unless `optional.for.nullables` / `wrapper.for.nullables` say otherwise;
//! a primitive root schema is a wrapper message of `wrappers.proto`.
//! Pure: no I/O.

use std::fmt::Write;

use crate::data::logical::{self, Logical};
use crate::data::{DataError, Schema, Type};

use super::known;
use super::Options;

pub const NAMESPACE: &str = "io.confluent.connect.protobuf";
pub const ENUM: &str = "io.confluent.connect.protobuf.Enum";
pub const UNION: &str = "io.confluent.connect.protobuf.Union";
pub const TAG: &str = "io.confluent.connect.protobuf.Tag";
pub const PROTO_TYPE: &str = "io.confluent.connect.protobuf.Type";
pub const CONNECT_TYPE: &str = "connect.type";
pub const CONNECT_PRECISION: &str = "connect.decimal.precision";
pub const DEFAULT_NAME: &str = "ConnectDefault";

pub const DECIMAL_TYPE: &str = "confluent.type.Decimal";
pub const DATE_TYPE: &str = "google.type.Date";
pub const TIME_TYPE: &str = "google.type.TimeOfDay";
pub const TIMESTAMP_TYPE: &str = "google.protobuf.Timestamp";

/// A generated schema: its text, the full name of the message a value is
/// encoded as, that message's index path, and the files it imports.
#[derive(Clone, Debug, PartialEq)]
pub struct ProtoText {
    pub text: String,
    pub full_name: String,
    pub indexes: Vec<i32>,
    pub imports: Vec<&'static str>,
}

#[derive(Debug, Default)]
struct FieldDef {
    label: Option<&'static str>,
    ty: String,
    name: String,
    tag: i32,
    params: Vec<(String, String)>,
}

#[derive(Debug)]
enum Item {
    Field(FieldDef),
    Oneof(String, Vec<FieldDef>),
}

#[derive(Debug, Default)]
struct MessageDef {
    name: String,
    items: Vec<Item>,
    messages: Vec<MessageDef>,
    enums: Vec<(String, Vec<(String, i32)>)>,
}

impl MessageDef {
    fn new(name: &str) -> MessageDef {
        MessageDef {
            name: name.to_string(),
            ..Default::default()
        }
    }
    fn has_message(&self, name: &str) -> bool {
        // A reference to the parent's own name is a reference to the parent.
        self.name == name || self.messages.iter().any(|m| m.name == name)
    }
}

struct Ctx<'a> {
    opts: &'a Options,
    default_index: u32,
    imports: Vec<&'static str>,
    depth: usize,
}

impl Ctx<'_> {
    fn import(&mut self, file: &'static str) {
        if !self.imports.contains(&file) {
            self.imports.push(file);
        }
    }
    fn name_or_default(&mut self, name: Option<&str>) -> String {
        match name {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => {
                self.default_index += 1;
                format!("{DEFAULT_NAME}{}", self.default_index)
            }
        }
    }
    fn unqualified(&mut self, name: Option<&str>) -> String {
        let full = self.name_or_default(name);
        let last = full.rsplit('.').next().unwrap_or(&full).to_string();
        self.scrub(&last)
    }
    fn scrub(&self, name: &str) -> String {
        if self.opts.scrub_invalid_names {
            scrub_name(name)
        } else {
            name.to_string()
        }
    }
}

/// `ProtobufData.doScrubName`: URL-encode, prefix `x` before a leading digit
/// or underscore, then every character outside `[A-Za-z0-9_]` becomes `_`.
pub fn scrub_name(name: &str) -> String {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if name.is_empty()
        || (name.chars().all(ok) && !name.starts_with(|c: char| c.is_ascii_digit() || c == '_'))
    {
        return name.to_string();
    }
    // java.net.URLEncoder: these stay, space is '+', the rest are %XX bytes.
    let mut enc = String::new();
    for b in name.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                enc.push(b as char)
            }
            b' ' => enc.push('+'),
            _ => {
                let _ = write!(enc, "%{b:02X}");
            }
        }
    }
    if enc.starts_with(|c: char| c.is_ascii_digit() || c == '_') {
        enc.insert(0, 'x');
    }
    enc.chars().map(|c| if ok(c) { c } else { '_' }).collect()
}

/// Guava's `LOWER_UNDERSCORE.to(UPPER_CAMEL, s)` as `ProtobufSchema.toMapEntry` uses it.
fn upper_camel(s: &str) -> String {
    s.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let lower = p.to_ascii_lowercase();
            let mut c = lower.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// `ProtobufSchema.toMapEntry`: the entry message name for a map field.
pub fn map_entry_name(s: &str) -> String {
    let base = if s.contains('_') {
        upper_camel(s)
    } else {
        s.to_string()
    };
    base + "Entry"
}

/// `ProtobufSchema.toMapField`: the Connect map name for an entry message.
pub fn map_field_name(s: &str) -> String {
    let (prefix, last) = match s.rsplit_once('.') {
        Some((p, l)) => (Some(p), l),
        None => (None, s),
    };
    let last = match last.strip_suffix("Entry") {
        // Guava's UPPER_CAMEL → LOWER_UNDERSCORE: '_' before each capital after the first.
        Some(base) => {
            let mut out = String::new();
            for (i, c) in base.chars().enumerate() {
                if c.is_ascii_uppercase() {
                    if i > 0 {
                        out.push('_');
                    }
                    out.push(c.to_ascii_lowercase());
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => last.to_string(),
    };
    match prefix {
        Some(p) => format!("{p}.{last}"),
        None => last,
    }
}

pub fn is_union(schema: &Schema) -> bool {
    schema.ty() == Type::Struct && schema.name().is_some_and(|n| n.starts_with(UNION))
}

fn wrapper_for(schema: &Schema) -> &'static str {
    match schema.ty() {
        Type::Int8 | Type::Int16 | Type::Int32 => "google.protobuf.Int32Value",
        Type::Int64 => match schema.parameter(PROTO_TYPE) {
            Some("uint32" | "fixed32") => "google.protobuf.UInt32Value",
            Some("uint64" | "fixed64") => "google.protobuf.UInt64Value",
            _ => "google.protobuf.Int64Value",
        },
        Type::Float32 => "google.protobuf.FloatValue",
        Type::Float64 => "google.protobuf.DoubleValue",
        Type::Boolean => "google.protobuf.BoolValue",
        Type::String => "google.protobuf.StringValue",
        _ => "google.protobuf.BytesValue",
    }
}

/// The proto schema for a Connect schema (`fromConnectSchema`).
pub fn from_connect_schema(schema: &Schema, opts: &Options) -> Result<ProtoText, DataError> {
    match schema.ty() {
        Type::Struct => {}
        Type::Array | Type::Map => {
            return Err(DataError::new(format!(
                "Unsupported root schema of type {}",
                schema.ty()
            )))
        }
        _ => {
            // A primitive root is the matching wrapper message of wrappers.proto.
            let full = wrapper_for(schema);
            let index = known::WRAPPER_TYPES
                .iter()
                .position(|w| *w == full)
                .unwrap_or(0);
            return Ok(ProtoText {
                text: known::WRAPPERS_SRC.to_string(),
                full_name: full.to_string(),
                indexes: vec![index as i32],
                imports: Vec::new(),
            });
        }
    }
    let mut ctx = Ctx {
        opts,
        default_index: 0,
        imports: Vec::new(),
        depth: 0,
    };
    let full = ctx.name_or_default(schema.name());
    let (package, name) = match full.rsplit_once('.') {
        Some((p, n)) => (Some(p.to_string()), ctx.scrub(n)),
        None => (None, ctx.scrub(&full)),
    };
    let root = message_def(&mut ctx, &name, schema)?;
    let mut text = String::from("syntax = \"proto3\";\n");
    if let Some(p) = &package {
        let _ = writeln!(text, "package {p};");
    }
    if !ctx.imports.is_empty() {
        text.push('\n');
        for i in &ctx.imports {
            let _ = writeln!(text, "import \"{i}\";");
        }
    }
    text.push('\n');
    print_message(&mut text, &root, 0);
    Ok(ProtoText {
        text,
        full_name: match &package {
            Some(p) => format!("{p}.{name}"),
            None => name,
        },
        indexes: vec![0],
        imports: ctx.imports,
    })
}

fn message_def(ctx: &mut Ctx, name: &str, schema: &Schema) -> Result<MessageDef, DataError> {
    ctx.depth += 1;
    if ctx.depth > 64 {
        return Err(DataError::new(
            "Connect schema nesting too deep for Protobuf",
        ));
    }
    let mut message = MessageDef::new(name);
    let mut index = 1;
    for field in schema.fields() {
        let fs = &field.schema;
        let tag = match fs.parameter(TAG).and_then(|t| t.parse::<i32>().ok()) {
            Some(t) => t,
            None => {
                index += 1;
                index - 1
            }
        };
        let fname = ctx.scrub(&field.name);
        if let Some(def) = field_def(ctx, &mut message, fs, &fname, tag)? {
            message.items.push(Item::Field(def));
        }
    }
    ctx.depth -= 1;
    Ok(message)
}

fn field_def(
    ctx: &mut Ctx,
    message: &mut MessageDef,
    schema: &Schema,
    name: &str,
    tag: i32,
) -> Result<Option<FieldDef>, DataError> {
    let mut label = None;
    let mut schema = schema;
    if schema.ty() == Type::Array {
        label = Some("repeated");
        schema = schema
            .value_schema()
            .ok_or_else(|| DataError::new("array schema without an element schema"))?;
    } else if schema.ty() == Type::Map {
        label = Some("repeated");
    } else if ctx.opts.optional_for_nullables && schema.is_optional() {
        label = Some("optional");
    }
    let mut params = Vec::new();
    let ty = data_type(ctx, schema, name, &mut params)?;
    match schema.ty() {
        Type::Struct if is_union(schema) => {
            let union_name = schema
                .name()
                .and_then(|n| n.strip_prefix(UNION))
                .map(|n| n.trim_start_matches('.'));
            let union_name = ctx.unqualified(union_name);
            let mut members = Vec::new();
            // Members keep their tags; one without a tag takes the next free
            // number (Confluent would give it 0, which no compiler accepts).
            let mut next = message_max_tag(message).max(tag) + 1;
            for f in schema.fields() {
                let t = match f.schema.parameter(TAG).and_then(|t| t.parse().ok()) {
                    Some(t) => t,
                    None => {
                        next += 1;
                        next - 1
                    }
                };
                let fname = ctx.scrub(&f.name);
                if let Some(mut def) = field_def(ctx, message, &f.schema, &fname, t)? {
                    def.label = None;
                    members.push(def);
                }
            }
            message.items.push(Item::Oneof(union_name, members));
            return Ok(None);
        }
        Type::Struct if !message.has_message(&ty) => {
            let nested = message_def(ctx, &ty, schema)?;
            message.messages.push(nested);
        }
        Type::Struct => {}
        Type::Map => {
            let entry = map_def(ctx, &ty, schema)?;
            message.messages.push(entry);
        }
        _ if is_enum(schema) => {
            let enum_name = ctx.unqualified(schema.name());
            if !message.enums.iter().any(|(n, _)| *n == enum_name) {
                let prefix = format!("{}.", enum_param(schema).unwrap_or(ENUM));
                let values = schema
                    .parameters()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|(k, v)| {
                        Some((k.strip_prefix(&prefix)?.to_string(), v.parse::<i32>().ok()?))
                    })
                    .collect();
                message.enums.push((enum_name, values));
            }
        }
        _ => {}
    }
    if !params.is_empty() {
        ctx.import(known::META);
    }
    Ok(Some(FieldDef {
        label,
        ty,
        name: name.to_string(),
        tag,
        params,
    }))
}

fn message_max_tag(m: &MessageDef) -> i32 {
    m.items
        .iter()
        .flat_map(|i| match i {
            Item::Field(f) => vec![f.tag],
            Item::Oneof(_, fs) => fs.iter().map(|f| f.tag).collect(),
        })
        .max()
        .unwrap_or(0)
}

fn is_enum(schema: &Schema) -> bool {
    enum_param(schema).is_some()
}

/// Which parameter names the enum type: the Protobuf converter's own, or the
/// generalized `org.apache.kafka.connect.data.Enum` one.
fn enum_param(schema: &Schema) -> Option<&'static str> {
    const GENERALIZED: &str = "org.apache.kafka.connect.data.Enum";
    if schema.parameter(GENERALIZED).is_some() {
        Some(GENERALIZED)
    } else if schema.parameter(ENUM).is_some() {
        Some(ENUM)
    } else {
        None
    }
}

fn map_def(ctx: &mut Ctx, name: &str, schema: &Schema) -> Result<MessageDef, DataError> {
    let mut entry = MessageDef::new(name);
    let (Some(ks), Some(vs)) = (schema.key_schema(), schema.value_schema()) else {
        return Err(DataError::new("map schema without key or value schema"));
    };
    for (n, s, tag) in [("key", ks, 1), ("value", vs, 2)] {
        if let Some(mut def) = field_def(ctx, &mut entry, s, n, tag)? {
            // The entry's fields carry no metadata and no `optional` label.
            def.params.clear();
            if def.label == Some("optional") {
                def.label = None;
            }
            entry.items.push(Item::Field(def));
        }
    }
    Ok(entry)
}

fn data_type(
    ctx: &mut Ctx,
    schema: &Schema,
    field_name: &str,
    params: &mut Vec<(String, String)>,
) -> Result<String, DataError> {
    let wrap = ctx.opts.wrapper_for_nullables && schema.is_optional();
    let wrapped = |ctx: &mut Ctx, plain: &str| -> String {
        if wrap {
            ctx.import(known::WRAPPERS);
            wrapper_for(schema).to_string()
        } else {
            plain.to_string()
        }
    };
    match schema.name().and_then(Logical::from_name) {
        Some(Logical::Decimal) => {
            if let Some(p) = schema.parameter(CONNECT_PRECISION) {
                params.push(("precision".into(), p.to_string()));
            }
            if let Some(s) = schema.parameter(logical::SCALE_FIELD) {
                params.push(("scale".into(), s.to_string()));
            }
            ctx.import(known::DECIMAL);
            return Ok(DECIMAL_TYPE.into());
        }
        Some(Logical::Date) => {
            ctx.import(known::DATE);
            return Ok(DATE_TYPE.into());
        }
        Some(Logical::Time) => {
            ctx.import(known::TIME_OF_DAY);
            return Ok(TIME_TYPE.into());
        }
        Some(Logical::Timestamp) => {
            ctx.import(known::TIMESTAMP);
            return Ok(TIMESTAMP_TYPE.into());
        }
        None => {}
    }
    Ok(match schema.ty() {
        Type::Int8 | Type::Int16 => {
            let t = if schema.ty() == Type::Int8 {
                "int8"
            } else {
                "int16"
            };
            params.push((CONNECT_TYPE.into(), t.into()));
            wrapped(ctx, "int32")
        }
        Type::Int32 => {
            if let Some(e) = schema.parameter(ENUM) {
                return Ok(e.to_string());
            }
            let plain = schema.parameter(PROTO_TYPE).unwrap_or("int32").to_string();
            wrapped(ctx, &plain)
        }
        Type::Int64 => {
            let plain = schema.parameter(PROTO_TYPE).unwrap_or("int64").to_string();
            wrapped(ctx, &plain)
        }
        Type::Float32 => wrapped(ctx, "float"),
        Type::Float64 => wrapped(ctx, "double"),
        Type::Boolean => wrapped(ctx, "bool"),
        Type::String => match enum_param(schema) {
            Some(p) => schema.parameter(p).unwrap_or_default().to_string(),
            None => wrapped(ctx, "string"),
        },
        Type::Bytes => wrapped(ctx, "bytes"),
        Type::Array => return Err(DataError::new("Array cannot be nested")),
        Type::Map => map_entry_name(&ctx.unqualified(schema.name())),
        Type::Struct => {
            let mut name = ctx.unqualified(schema.name());
            if name == field_name {
                // A message type and a field cannot share a name.
                name.push_str("Message");
            }
            name
        }
    })
}

// --- printing -------------------------------------------------------------

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn print_field(out: &mut String, f: &FieldDef, indent: &str) {
    out.push_str(indent);
    if let Some(l) = f.label {
        out.push_str(l);
        out.push(' ');
    }
    let _ = write!(out, "{} {} = {}", f.ty, f.name, f.tag);
    if !f.params.is_empty() {
        let entries: Vec<String> = f
            .params
            .iter()
            .map(|(k, v)| format!("{{ key: {}, value: {} }}", quote(k), quote(v)))
            .collect();
        let _ = write!(
            out,
            " [(confluent.field_meta) = {{ params: [{}] }}]",
            entries.join(", ")
        );
    }
    out.push_str(";\n");
}

/// Prints like Confluent's canonical form: fields, then oneofs, then nested
/// messages and enums, each group after a blank line.
fn print_message(out: &mut String, m: &MessageDef, depth: usize) {
    let indent = "  ".repeat(depth);
    let inner = "  ".repeat(depth + 1);
    let _ = writeln!(out, "{indent}message {} {{", m.name);
    let mut first = true;
    let gap = |out: &mut String, first: &mut bool| {
        if !*first {
            out.push('\n');
        }
        *first = false;
    };
    let fields: Vec<&FieldDef> = m
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Field(f) => Some(f),
            Item::Oneof(..) => None,
        })
        .collect();
    if !fields.is_empty() {
        gap(out, &mut first);
        for f in fields {
            print_field(out, f, &inner);
        }
    }
    for item in &m.items {
        if let Item::Oneof(name, members) = item {
            gap(out, &mut first);
            let _ = writeln!(out, "{inner}oneof {name} {{");
            for f in members {
                print_field(out, f, &"  ".repeat(depth + 2));
            }
            let _ = writeln!(out, "{inner}}}");
        }
    }
    for nested in &m.messages {
        gap(out, &mut first);
        print_message(out, nested, depth + 1);
    }
    for (name, values) in &m.enums {
        gap(out, &mut first);
        let _ = writeln!(out, "{inner}enum {name} {{");
        for (v, n) in values {
            let _ = writeln!(out, "{inner}  {v} = {n};");
        }
        let _ = writeln!(out, "{inner}}}");
    }
    let _ = writeln!(out, "{indent}}}");
}
