//! `.proto` text from a `FileDescriptorProto`, so that a schema registered as
//! a base64 descriptor (confluent-kafka-python's way) is stored and served
//! as text, as Confluent does. Pure. Returns `None` for constructs it does
//! not print (editions, groups, extensions, options beyond the common ones);
//! the caller also recompiles the text and keeps it only if it yields the
//! same descriptor, so what is printed is never lossy.

use std::fmt::Write;

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
    ServiceDescriptorProto,
};

/// protoc's default `json_name`: underscores dropped, the next letter upper-cased.
pub fn default_json_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn scalar(t: Type) -> Option<&'static str> {
    Some(match t {
        Type::Double => "double",
        Type::Float => "float",
        Type::Int64 => "int64",
        Type::Uint64 => "uint64",
        Type::Int32 => "int32",
        Type::Fixed64 => "fixed64",
        Type::Fixed32 => "fixed32",
        Type::Bool => "bool",
        Type::String => "string",
        Type::Bytes => "bytes",
        Type::Uint32 => "uint32",
        Type::Sfixed32 => "sfixed32",
        Type::Sfixed64 => "sfixed64",
        Type::Sint32 => "sint32",
        Type::Sint64 => "sint64",
        Type::Group | Type::Message | Type::Enum => return None,
    })
}

struct Printer {
    out: String,
    proto3: bool,
}

impl Printer {
    fn line(&mut self, depth: usize, s: &str) {
        for _ in 0..depth {
            self.out.push_str("  ");
        }
        self.out.push_str(s);
        self.out.push('\n');
    }

    fn field_type(&self, f: &FieldDescriptorProto) -> Option<String> {
        match f.r#type() {
            Type::Message | Type::Enum => Some(f.type_name().to_string()),
            Type::Group => None,
            t => scalar(t).map(str::to_string),
        }
    }

    fn field_options(&self, f: &FieldDescriptorProto) -> Option<String> {
        let mut opts = Vec::new();
        if let Some(d) = &f.default_value {
            let v = match f.r#type() {
                Type::String => quote(d),
                // Bytes defaults are stored C-escaped already.
                Type::Bytes => format!("\"{d}\""),
                _ => d.clone(),
            };
            opts.push(format!("default = {v}"));
        }
        if let Some(j) = &f.json_name {
            if *j != default_json_name(f.name()) {
                opts.push(format!("json_name = {}", quote(j)));
            }
        }
        if let Some(o) = &f.options {
            let known = prost_types::FieldOptions {
                packed: o.packed,
                deprecated: o.deprecated,
                ..Default::default()
            };
            if *o != known {
                return None;
            }
            if let Some(p) = o.packed {
                opts.push(format!("packed = {p}"));
            }
            if let Some(d) = o.deprecated {
                opts.push(format!("deprecated = {d}"));
            }
        }
        Some(if opts.is_empty() {
            String::new()
        } else {
            format!(" [{}]", opts.join(", "))
        })
    }

    fn field(
        &mut self,
        depth: usize,
        f: &FieldDescriptorProto,
        msg: &DescriptorProto,
    ) -> Option<()> {
        let opts = self.field_options(f)?;
        // A map field points at a nested `...Entry` message marked map_entry.
        if f.r#type() == Type::Message && f.label() == Label::Repeated {
            let entry_name = f.type_name().rsplit('.').next().unwrap_or("");
            if let Some(entry) = msg.nested_type.iter().find(|n| {
                n.name() == entry_name
                    && n.options
                        .as_ref()
                        .and_then(|o| o.map_entry)
                        .unwrap_or(false)
            }) {
                let k = entry.field.iter().find(|x| x.number() == 1)?;
                let v = entry.field.iter().find(|x| x.number() == 2)?;
                let line = format!(
                    "map<{}, {}> {} = {}{};",
                    self.field_type(k)?,
                    self.field_type(v)?,
                    f.name(),
                    f.number(),
                    opts
                );
                self.line(depth, &line);
                return Some(());
            }
        }
        let label = match (f.label(), self.proto3) {
            (Label::Repeated, _) => "repeated ",
            (Label::Required, false) => "required ",
            (Label::Optional, false) => "optional ",
            (Label::Optional, true) if f.proto3_optional() => "optional ",
            (Label::Required, true) => return None,
            (Label::Optional, true) => "",
        };
        let line = format!(
            "{label}{} {} = {}{};",
            self.field_type(f)?,
            f.name(),
            f.number(),
            opts
        );
        self.line(depth, &line);
        Some(())
    }

    fn message(&mut self, depth: usize, m: &DescriptorProto) -> Option<()> {
        if !m.extension.is_empty() {
            return None;
        }
        self.line(depth, &format!("message {} {{", m.name()));
        if let Some(o) = &m.options {
            let known = prost_types::MessageOptions {
                deprecated: o.deprecated,
                ..Default::default()
            };
            if *o != known {
                return None;
            }
            if let Some(d) = o.deprecated {
                self.line(depth + 1, &format!("option deprecated = {d};"));
            }
        }
        let real_oneof = |f: &FieldDescriptorProto| f.oneof_index.is_some() && !f.proto3_optional();
        let mut printed_oneofs = Vec::new();
        for f in &m.field {
            if real_oneof(f) {
                let idx = f.oneof_index.unwrap_or_default();
                if printed_oneofs.contains(&idx) {
                    continue;
                }
                printed_oneofs.push(idx);
                let decl = m.oneof_decl.get(idx as usize)?;
                if decl.options.is_some() {
                    return None;
                }
                self.line(depth + 1, &format!("oneof {} {{", decl.name()));
                for g in m
                    .field
                    .iter()
                    .filter(|g| real_oneof(g) && g.oneof_index == Some(idx))
                {
                    let opts = self.field_options(g)?;
                    let line = format!(
                        "{} {} = {}{};",
                        self.field_type(g)?,
                        g.name(),
                        g.number(),
                        opts
                    );
                    self.line(depth + 2, &line);
                }
                self.line(depth + 1, "}");
            } else {
                self.field(depth + 1, f, m)?;
            }
        }
        for n in &m.nested_type {
            if n.options
                .as_ref()
                .and_then(|o| o.map_entry)
                .unwrap_or(false)
            {
                continue;
            }
            self.message(depth + 1, n)?;
        }
        for e in &m.enum_type {
            self.enumeration(depth + 1, e)?;
        }
        for r in &m.extension_range {
            if r.options.is_some() {
                return None;
            }
            let end = r.end() - 1;
            let end = if end >= 536_870_911 {
                "max".to_string()
            } else {
                end.to_string()
            };
            self.line(depth + 1, &format!("extensions {} to {end};", r.start()));
        }
        for r in &m.reserved_range {
            let end = r.end() - 1;
            if end == r.start() {
                self.line(depth + 1, &format!("reserved {};", r.start()));
            } else {
                let end = if end >= 536_870_911 {
                    "max".to_string()
                } else {
                    end.to_string()
                };
                self.line(depth + 1, &format!("reserved {} to {end};", r.start()));
            }
        }
        if !m.reserved_name.is_empty() {
            let names: Vec<String> = m.reserved_name.iter().map(|n| quote(n)).collect();
            self.line(depth + 1, &format!("reserved {};", names.join(", ")));
        }
        self.line(depth, "}");
        Some(())
    }

    fn enumeration(&mut self, depth: usize, e: &EnumDescriptorProto) -> Option<()> {
        self.line(depth, &format!("enum {} {{", e.name()));
        if let Some(o) = &e.options {
            let known = prost_types::EnumOptions {
                allow_alias: o.allow_alias,
                deprecated: o.deprecated,
                ..Default::default()
            };
            if *o != known {
                return None;
            }
            if let Some(a) = o.allow_alias {
                self.line(depth + 1, &format!("option allow_alias = {a};"));
            }
            if let Some(d) = o.deprecated {
                self.line(depth + 1, &format!("option deprecated = {d};"));
            }
        }
        for v in &e.value {
            let opts = match &v.options {
                None => String::new(),
                Some(o) => {
                    let known = prost_types::EnumValueOptions {
                        deprecated: o.deprecated,
                        ..Default::default()
                    };
                    if *o != known {
                        return None;
                    }
                    o.deprecated
                        .map(|d| format!(" [deprecated = {d}]"))
                        .unwrap_or_default()
                }
            };
            self.line(
                depth + 1,
                &format!("{} = {}{};", v.name(), v.number(), opts),
            );
        }
        for r in &e.reserved_range {
            // Enum reserved ranges are inclusive.
            if r.end() == r.start() {
                self.line(depth + 1, &format!("reserved {};", r.start()));
            } else {
                self.line(
                    depth + 1,
                    &format!("reserved {} to {};", r.start(), r.end()),
                );
            }
        }
        if !e.reserved_name.is_empty() {
            let names: Vec<String> = e.reserved_name.iter().map(|n| quote(n)).collect();
            self.line(depth + 1, &format!("reserved {};", names.join(", ")));
        }
        self.line(depth, "}");
        Some(())
    }

    fn service(&mut self, depth: usize, s: &ServiceDescriptorProto) -> Option<()> {
        if s.options.is_some() {
            return None;
        }
        self.line(depth, &format!("service {} {{", s.name()));
        for m in &s.method {
            if m.options.is_some() {
                return None;
            }
            let cs = if m.client_streaming() { "stream " } else { "" };
            let ss = if m.server_streaming() { "stream " } else { "" };
            self.line(
                depth + 1,
                &format!(
                    "rpc {} ({cs}{}) returns ({ss}{});",
                    m.name(),
                    m.input_type(),
                    m.output_type()
                ),
            );
        }
        self.line(depth, "}");
        Some(())
    }
}

/// `.proto` text for `fd`, or `None` if it uses something not printed here.
pub fn print(fd: &FileDescriptorProto) -> Option<String> {
    let proto3 = match fd.syntax() {
        "proto3" => true,
        "" | "proto2" => false,
        _ => return None,
    };
    if !fd.extension.is_empty() {
        return None;
    }
    let mut p = Printer {
        out: String::new(),
        proto3,
    };
    p.line(
        0,
        if proto3 {
            "syntax = \"proto3\";"
        } else {
            "syntax = \"proto2\";"
        },
    );
    if let Some(pkg) = fd.package.as_deref().filter(|p| !p.is_empty()) {
        p.line(0, &format!("package {pkg};"));
    }
    for (i, dep) in fd.dependency.iter().enumerate() {
        let i = i as i32;
        let kind = if fd.public_dependency.contains(&i) {
            "public "
        } else if fd.weak_dependency.contains(&i) {
            "weak "
        } else {
            ""
        };
        p.line(0, &format!("import {kind}{};", quote(dep)));
    }
    if let Some(o) = &fd.options {
        let known = prost_types::FileOptions {
            java_package: o.java_package.clone(),
            java_outer_classname: o.java_outer_classname.clone(),
            java_multiple_files: o.java_multiple_files,
            go_package: o.go_package.clone(),
            csharp_namespace: o.csharp_namespace.clone(),
            deprecated: o.deprecated,
            ..Default::default()
        };
        if *o != known {
            return None;
        }
        for (k, v) in [
            ("java_package", &o.java_package),
            ("java_outer_classname", &o.java_outer_classname),
            ("go_package", &o.go_package),
            ("csharp_namespace", &o.csharp_namespace),
        ] {
            if let Some(v) = v {
                p.line(0, &format!("option {k} = {};", quote(v)));
            }
        }
        if let Some(b) = o.java_multiple_files {
            p.line(0, &format!("option java_multiple_files = {b};"));
        }
        if let Some(b) = o.deprecated {
            p.line(0, &format!("option deprecated = {b};"));
        }
    }
    p.out.push('\n');
    for m in &fd.message_type {
        p.message(0, m)?;
    }
    for e in &fd.enum_type {
        p.enumeration(0, e)?;
    }
    for s in &fd.service {
        p.service(0, s)?;
    }
    Some(p.out)
}

/// `fd` with what the text form does not determine cleared (file name,
/// source info, default json names), for comparing a descriptor with the
/// one its printed text compiles to.
pub fn comparable(fd: &FileDescriptorProto) -> FileDescriptorProto {
    fn clear_msg(m: &mut DescriptorProto) {
        for f in &mut m.field {
            clear_field(f);
        }
        for n in &mut m.nested_type {
            clear_msg(n);
        }
    }
    fn clear_field(f: &mut FieldDescriptorProto) {
        if f.json_name.as_deref() == Some(default_json_name(f.name()).as_str()) {
            f.json_name = None;
        }
    }
    let mut c = fd.clone();
    c.name = None;
    c.source_code_info = None;
    if c.syntax.as_deref() == Some("proto2") {
        c.syntax = None;
    }
    for m in &mut c.message_type {
        clear_msg(m);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::protobuf::ProtoSchema;

    fn round_trip(text: &str) {
        let compiled = ProtoSchema::parse(text, &[]).expect(text);
        let printed = print(&compiled.file).expect("printable");
        let again = ProtoSchema::parse(&printed, &[]).unwrap_or_else(|e| panic!("{e}\n{printed}"));
        assert_eq!(
            comparable(&compiled.file),
            comparable(&again.file),
            "{printed}"
        );
    }

    #[test]
    fn prints_what_it_compiles_from() {
        round_trip(
            r#"syntax = "proto3"; package a.b;
               import "google/protobuf/timestamp.proto";
               option java_package = "com.acme"; option java_multiple_files = true;
               message M {
                 string s = 1; repeated int64 r = 2 [packed = false]; optional bool o = 3;
                 map<string, Inner> m = 4; google.protobuf.Timestamp t = 5;
                 oneof choice { string x = 6; int32 y = 7; }
                 message Inner { bytes b = 1; Kind k = 2; }
                 enum Kind { KIND_UNSET = 0; KIND_A = 1; }
                 reserved 10, 12 to 15; reserved "old";
                 string user_name = 20 [json_name = "login"];
               }
               enum Top { option allow_alias = true; T0 = 0; T1 = 1; T_ONE = 1; }
               service S { rpc Get (M) returns (stream M); }"#,
        );
        round_trip(
            r#"syntax = "proto2"; message P { required string a = 1; optional int32 b = 2 [default = 7];
               optional string c = 3 [default = "q\"x"]; repeated double d = 4; extensions 100 to max; }"#,
        );
    }

    #[test]
    fn json_names_and_unsupported_constructs() {
        assert_eq!(default_json_name("user_name_2x"), "userName2x");
        let mut fd = FileDescriptorProto {
            syntax: Some("editions".into()),
            ..Default::default()
        };
        assert!(print(&fd).is_none());
        fd.syntax = Some("proto3".into());
        fd.options = Some(prost_types::FileOptions {
            cc_enable_arenas: Some(true),
            ..Default::default()
        });
        assert!(
            print(&fd).is_none(),
            "options we do not print refuse rather than drop"
        );
    }
}
