//! Protobuf compatibility after Confluent's protobuf `SchemaDiff`, over
//! compiled descriptors: fields are matched by number, so reusing a number
//! for a field of another kind (message vs scalar vs map) or another scalar
//! family (varint / zigzag / fixed32 / fixed64 / float / double /
//! string-bytes) is incompatible, as are removing a message type, adding or
//! removing a required field, removing a field from a oneof and moving
//! several existing fields into a oneof. Renaming fields, adding and
//! removing optional fields, and enum changes are compatible.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FieldDescriptorProto, FileDescriptorProto};

use super::Incompatibility;
use crate::formats::protobuf::ProtoSchema;

/// Every message type a schema can see, by full name (no leading dot),
/// with the package of the file that defines it.
struct Types<'a> {
    messages: HashMap<String, (&'a DescriptorProto, String)>,
    enums: HashSet<String>,
    proto3: bool,
}

fn collect<'a>(
    prefix: &str,
    package: &str,
    msgs: &'a [DescriptorProto],
    enums: &[prost_types::EnumDescriptorProto],
    out: &mut Types<'a>,
) {
    for e in enums {
        out.enums.insert(format!("{prefix}{}", e.name()));
    }
    for m in msgs {
        let full = format!("{prefix}{}", m.name());
        collect(
            &format!("{full}."),
            package,
            &m.nested_type,
            &m.enum_type,
            out,
        );
        out.messages.insert(full, (m, package.to_string()));
    }
}

impl<'a> Types<'a> {
    fn of(s: &'a ProtoSchema) -> Types<'a> {
        let mut t = Types {
            messages: HashMap::new(),
            enums: HashSet::new(),
            proto3: s.file.syntax() == "proto3",
        };
        for f in std::iter::once(&s.file).chain(s.imports.iter()) {
            let pkg = f.package().to_string();
            let prefix = if pkg.is_empty() {
                String::new()
            } else {
                format!("{pkg}.")
            };
            collect(&prefix, &pkg, &f.message_type, &f.enum_type, &mut t);
        }
        t
    }

    fn is_map(&self, type_name: &str) -> Option<&'a DescriptorProto> {
        let (m, _) = self.messages.get(type_name.trim_start_matches('.'))?;
        m.options
            .as_ref()
            .and_then(|o| o.map_entry)
            .unwrap_or(false)
            .then_some(*m)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    Scalar,
    Map,
    Message,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScalarKind {
    GeneralNumber,
    SignedNumber,
    StringOrBytes,
    Fixed32,
    Fixed64,
    Float,
    Double,
}

fn scalar_kind(f: &FieldDescriptorProto) -> ScalarKind {
    match f.r#type() {
        Type::Int32 | Type::Int64 | Type::Uint32 | Type::Uint64 | Type::Bool | Type::Enum => {
            ScalarKind::GeneralNumber
        }
        Type::Sint32 | Type::Sint64 => ScalarKind::SignedNumber,
        Type::String | Type::Bytes => ScalarKind::StringOrBytes,
        Type::Fixed32 | Type::Sfixed32 => ScalarKind::Fixed32,
        Type::Fixed64 | Type::Sfixed64 => ScalarKind::Fixed64,
        Type::Float => ScalarKind::Float,
        Type::Double => ScalarKind::Double,
        // Groups and messages never reach here.
        Type::Group | Type::Message => ScalarKind::GeneralNumber,
    }
}

struct Ctx<'a> {
    orig: Types<'a>,
    upd: Types<'a>,
    path: Vec<String>,
    diffs: Vec<(&'static str, String)>,
    visiting: HashSet<(String, String)>,
}

const COMPATIBLE: &[&str] = &[
    "MESSAGE_ADDED",
    "MESSAGE_MOVED",
    "ENUM_ADDED",
    "ENUM_REMOVED",
    "ENUM_CONST_ADDED",
    "ENUM_CONST_CHANGED",
    "ENUM_CONST_REMOVED",
    "FIELD_ADDED",
    "FIELD_REMOVED",
    "FIELD_NAME_CHANGED",
    "FIELD_STRING_OR_BYTES_LABEL_CHANGED",
    "ONEOF_ADDED",
    "ONEOF_REMOVED",
    "ONEOF_FIELD_ADDED",
];

fn describe(t: &str, path: &str) -> String {
    match t {
        "PACKAGE_CHANGED" => {
            format!("The package at '{path}' in the {{0}} schema does not match the package in the {{1}} schema")
        }
        "MESSAGE_REMOVED" => format!("The {{0}} schema is missing a MESSAGE type at path '{path}' in the {{1}} schema"),
        "FIELD_KIND_CHANGED" => {
            format!("The type of a field at path '{path}' in the {{0}} schema does not match the {{1}} schema")
        }
        "FIELD_SCALAR_KIND_CHANGED" => format!(
            "The kind of a SCALAR field at path '{path}' in the {{0}} schema does not match its kind in the {{1}} schema"
        ),
        "FIELD_NAMED_TYPE_CHANGED" => format!(
            "The type of a MESSAGE field at path '{path}' in the {{0}} schema does not match its type in the {{1}} schema"
        ),
        "FIELD_NUMERIC_LABEL_CHANGED" => format!(
            "The label for a NUMERIC field at path '{path}' in the {{0}} schema does not match its label in the {{1}} schema"
        ),
        "REQUIRED_FIELD_ADDED" => {
            format!("A required field  at path '{path}' in the {{0}} schema is missing in the {{1}} schema")
        }
        "REQUIRED_FIELD_REMOVED" => {
            format!("The {{0}} schema is missing a required field at path: '{path}' in the {{1}} schema")
        }
        "ONEOF_FIELD_REMOVED" => format!("The {{0}} schema is missing a oneof field at path '{path}' in the {{1}} schema"),
        "MULTIPLE_FIELDS_MOVED_TO_ONEOF" => format!(
            "Multiple fields in the oneof at path '{path}' in the {{0}} schema are outside a oneof in the {{1}} schema"
        ),
        "FIELD_MOVED_TO_EXISTING_ONEOF" => format!(
            "A field in the oneof at path '{path}' in the {{0}} schema is outside an existing oneof in the {{1}} schema"
        ),
        _ => String::new(),
    }
}

/// A field's label as Confluent's parser (Wire) sees it: proto3 singular
/// fields without `optional` have none.
fn label(f: &FieldDescriptorProto, proto3: bool) -> Option<Label> {
    match f.label() {
        Label::Optional if proto3 && !f.proto3_optional() => None,
        l => Some(l),
    }
}

/// Whether the field belongs to a real (not proto3-optional synthetic) oneof.
fn in_oneof(f: &FieldDescriptorProto) -> bool {
    f.oneof_index.is_some() && !f.proto3_optional()
}

impl<'a> Ctx<'a> {
    fn add(&mut self, t: &'static str) {
        self.diffs.push((t, format!("#/{}", self.path.join("/"))));
    }

    fn at(&mut self, token: &str, f: impl FnOnce(&mut Self)) {
        self.path.push(token.to_string());
        f(self);
        self.path.pop();
    }

    fn compare_types(
        &mut self,
        orig: &'a [DescriptorProto],
        upd: &'a [DescriptorProto],
        o_prefix: &str,
        u_prefix: &str,
    ) {
        // Map entries are synthetic messages; `map<k, v>` fields compare
        // them through the field (Confluent's parser has no such message).
        let index = |ms: &'a [DescriptorProto]| -> BTreeMap<&'a str, (usize, &'a DescriptorProto)> {
            ms.iter()
                .filter(|m| {
                    !m.options
                        .as_ref()
                        .and_then(|x| x.map_entry)
                        .unwrap_or(false)
                })
                .enumerate()
                .map(|(i, m)| (m.name(), (i, m)))
                .collect()
        };
        let (om, um) = (index(orig), index(upd));
        let names: BTreeSet<&str> = om.keys().chain(um.keys()).copied().collect();
        for name in names {
            self.at(name, |ctx| match (om.get(name), um.get(name)) {
                (Some(_), None) => ctx.add("MESSAGE_REMOVED"),
                (None, Some(_)) => ctx.add("MESSAGE_ADDED"),
                (Some((oi, o)), Some((ui, u))) => {
                    ctx.compare_message(
                        o,
                        u,
                        &format!("{o_prefix}{name}."),
                        &format!("{u_prefix}{name}."),
                    );
                    if oi != ui {
                        ctx.add("MESSAGE_MOVED");
                    }
                }
                (None, None) => {}
            });
        }
    }

    fn compare_message(
        &mut self,
        o: &'a DescriptorProto,
        u: &'a DescriptorProto,
        o_prefix: &str,
        u_prefix: &str,
    ) {
        let mut o_fields: BTreeMap<i32, &FieldDescriptorProto> = o
            .field
            .iter()
            .filter(|f| !in_oneof(f))
            .map(|f| (f.number(), f))
            .collect();
        let u_fields: BTreeMap<i32, &FieldDescriptorProto> = u
            .field
            .iter()
            .filter(|f| !in_oneof(f))
            .map(|f| (f.number(), f))
            .collect();
        let oneofs = |m: &'a DescriptorProto| -> BTreeMap<String, Vec<&'a FieldDescriptorProto>> {
            let mut out: BTreeMap<String, Vec<&FieldDescriptorProto>> = BTreeMap::new();
            for f in m.field.iter().filter(|f| in_oneof(f)) {
                let name = f
                    .oneof_index
                    .and_then(|i| m.oneof_decl.get(i as usize))
                    .map(|d| d.name().to_string())
                    .unwrap_or_default();
                out.entry(name).or_default().push(f);
            }
            out
        };
        let (o_oneofs, u_oneofs) = (oneofs(o), oneofs(u));
        let o_oneof_tags: HashSet<i32> = o_oneofs.values().flatten().map(|f| f.number()).collect();
        for (name, fields) in &u_oneofs {
            let mut moved = 0;
            let mut existing = 0;
            for f in fields {
                if o_fields.remove(&f.number()).is_some() {
                    moved += 1;
                } else if o_oneof_tags.contains(&f.number()) {
                    existing += 1;
                }
            }
            self.at(name, |ctx| {
                if moved > 1 {
                    ctx.add("MULTIPLE_FIELDS_MOVED_TO_ONEOF");
                } else if moved == 1 && existing > 0 {
                    ctx.add("FIELD_MOVED_TO_EXISTING_ONEOF");
                }
            });
        }
        let names: BTreeSet<&String> = o_oneofs.keys().chain(u_oneofs.keys()).collect();
        for name in names {
            self.at(name, |ctx| match (o_oneofs.get(name), u_oneofs.get(name)) {
                (Some(_), None) => ctx.add("ONEOF_REMOVED"),
                (None, Some(_)) => ctx.add("ONEOF_ADDED"),
                (Some(of), Some(uf)) => {
                    let ob: BTreeMap<i32, &FieldDescriptorProto> =
                        of.iter().map(|f| (f.number(), *f)).collect();
                    let ub: BTreeMap<i32, &FieldDescriptorProto> =
                        uf.iter().map(|f| (f.number(), *f)).collect();
                    let tags: BTreeSet<i32> = ob.keys().chain(ub.keys()).copied().collect();
                    for tag in tags {
                        ctx.at(&tag.to_string(), |ctx| match (ob.get(&tag), ub.get(&tag)) {
                            (Some(_), None) => ctx.add("ONEOF_FIELD_REMOVED"),
                            (None, Some(_)) => ctx.add("ONEOF_FIELD_ADDED"),
                            (Some(a), Some(b)) => ctx.compare_field(a, b),
                            (None, None) => {}
                        });
                    }
                }
                (None, None) => {}
            });
        }
        let tags: BTreeSet<i32> = o_fields.keys().chain(u_fields.keys()).copied().collect();
        for tag in tags {
            self.at(&tag.to_string(), |ctx| {
                match (o_fields.get(&tag), u_fields.get(&tag)) {
                    (Some(f), None) => ctx.add(if f.label() == Label::Required {
                        "REQUIRED_FIELD_REMOVED"
                    } else {
                        "FIELD_REMOVED"
                    }),
                    (None, Some(f)) => ctx.add(if f.label() == Label::Required {
                        "REQUIRED_FIELD_ADDED"
                    } else {
                        "FIELD_ADDED"
                    }),
                    (Some(a), Some(b)) => ctx.compare_field(a, b),
                    (None, None) => {}
                }
            });
        }
        self.compare_types(&o.nested_type, &u.nested_type, o_prefix, u_prefix);
    }

    fn kind(&self, f: &FieldDescriptorProto, original: bool) -> FieldKind {
        let types = if original { &self.orig } else { &self.upd };
        match f.r#type() {
            Type::Message | Type::Group => {
                if types.is_map(f.type_name()).is_some() {
                    FieldKind::Map
                } else {
                    FieldKind::Message
                }
            }
            _ => FieldKind::Scalar,
        }
    }

    fn compare_field(&mut self, o: &FieldDescriptorProto, u: &FieldDescriptorProto) {
        if o.name() != u.name() {
            self.add("FIELD_NAME_CHANGED");
        }
        let (ol, ul) = (label(o, self.orig.proto3), label(u, self.upd.proto3));
        self.compare_labels_and_types(o, u, ol, ul);
    }

    fn compare_labels_and_types(
        &mut self,
        o: &FieldDescriptorProto,
        u: &FieldDescriptorProto,
        ol: Option<Label>,
        ul: Option<Label>,
    ) {
        let (ok, uk) = (self.kind(o, true), self.kind(u, false));
        if ok != uk {
            self.add("FIELD_KIND_CHANGED");
            return;
        }
        match ok {
            FieldKind::Scalar => {
                let (os, us) = (scalar_kind(o), scalar_kind(u));
                if os != us {
                    self.add("FIELD_SCALAR_KIND_CHANGED");
                } else if let (Some(a), Some(b)) = (ol, ul) {
                    if a != b {
                        self.add(if os == ScalarKind::StringOrBytes {
                            "FIELD_STRING_OR_BYTES_LABEL_CHANGED"
                        } else {
                            "FIELD_NUMERIC_LABEL_CHANGED"
                        });
                    }
                }
            }
            FieldKind::Map => {
                let (Some(om), Some(um)) = (
                    self.orig.is_map(o.type_name()),
                    self.upd.is_map(u.type_name()),
                ) else {
                    return;
                };
                for i in 0..2 {
                    if let (Some(a), Some(b)) = (om.field.get(i), um.field.get(i)) {
                        self.compare_labels_and_types(a, b, None, None);
                    }
                }
            }
            FieldKind::Message => self.compare_message_types(o.type_name(), u.type_name()),
        }
    }

    fn compare_message_types(&mut self, o_name: &str, u_name: &str) {
        let (o_name, u_name) = (
            o_name.trim_start_matches('.'),
            u_name.trim_start_matches('.'),
        );
        let (Some((om, opkg)), Some((um, upkg))) = (
            self.orig.messages.get(o_name).cloned(),
            self.upd.messages.get(u_name).cloned(),
        ) else {
            if o_name != u_name {
                self.add("FIELD_NAMED_TYPE_CHANGED");
            }
            return;
        };
        let local = |full: &str, pkg: &str| -> String {
            if pkg.is_empty() {
                full.to_string()
            } else {
                full.strip_prefix(&format!("{pkg}."))
                    .unwrap_or(full)
                    .to_string()
            }
        };
        if local(o_name, &opkg) != local(u_name, &upkg) {
            self.add("FIELD_NAMED_TYPE_CHANGED");
            return;
        }
        // Same name: compare the message bodies (once per pair, so recursive
        // messages terminate), reporting a named-type change if they differ
        // incompatibly.
        let key = (o_name.to_string(), u_name.to_string());
        if !self.visiting.insert(key) {
            return;
        }
        let saved_path = std::mem::take(&mut self.path);
        let saved = std::mem::take(&mut self.diffs);
        self.path = local(o_name, &opkg)
            .split('.')
            .map(str::to_string)
            .collect();
        self.compare_message(om, um, &format!("{o_name}."), &format!("{u_name}."));
        let inner = std::mem::replace(&mut self.diffs, saved);
        self.path = saved_path;
        let incompatible = inner.iter().any(|(t, _)| !COMPATIBLE.contains(t));
        self.diffs.extend(inner);
        if incompatible {
            self.add("FIELD_NAMED_TYPE_CHANGED");
        }
    }
}

/// Incompatibilities when `reader` reads data written with `writer`.
pub fn check(reader: &ProtoSchema, writer: &ProtoSchema) -> Vec<Incompatibility> {
    let mut ctx = Ctx {
        orig: Types::of(writer),
        upd: Types::of(reader),
        path: Vec::new(),
        diffs: Vec::new(),
        visiting: HashSet::new(),
    };
    let (o, u): (&FileDescriptorProto, &FileDescriptorProto) = (&writer.file, &reader.file);
    if o.package() != u.package() {
        ctx.add("PACKAGE_CHANGED");
    }
    let (op, up) = (prefix(o.package()), prefix(u.package()));
    ctx.compare_types(&o.message_type, &u.message_type, &op, &up);
    let mut seen = HashSet::new();
    ctx.diffs
        .into_iter()
        .filter(|(t, _)| !COMPATIBLE.contains(t))
        .filter(|d| seen.insert(d.clone()))
        .map(|(t, path)| Incompatibility {
            error_type: t.to_string(),
            text: format!(
                "{{errorType:\"{t}\", description:\"{}\"}}",
                describe(t, &path)
            ),
        })
        .collect()
}

fn prefix(pkg: &str) -> String {
    if pkg.is_empty() {
        String::new()
    } else {
        format!("{pkg}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> ProtoSchema {
        ProtoSchema::parse(text, &[]).expect(text)
    }

    fn backward(new: &str, old: &str) -> Vec<String> {
        check(&p(new), &p(old))
            .into_iter()
            .map(|i| i.error_type)
            .collect()
    }

    const V1: &str = "syntax = \"proto3\"; package t; message M { string a = 1; int32 b = 2; }";

    #[test]
    fn adding_removing_renaming_fields_is_compatible() {
        assert!(backward(
            "syntax = \"proto3\"; package t; message M { string a = 1; int32 b = 2; bool c = 3; }",
            V1
        )
        .is_empty());
        assert!(backward(
            "syntax = \"proto3\"; package t; message M { string a = 1; }",
            V1
        )
        .is_empty());
        assert!(backward(
            "syntax = \"proto3\"; package t; message M { string x = 1; int32 b = 2; }",
            V1
        )
        .is_empty());
        assert!(
            backward(
                "syntax = \"proto3\"; package t; message M { string a = 1; int64 b = 2; }",
                V1
            )
            .is_empty(),
            "int32 and int64 are both varints"
        );
    }

    #[test]
    fn field_number_reuse_with_another_type_is_incompatible() {
        assert_eq!(
            backward(
                "syntax = \"proto3\"; package t; message M { string a = 1; string b = 2; }",
                V1
            ),
            vec!["FIELD_SCALAR_KIND_CHANGED"]
        );
        assert_eq!(
            backward("syntax = \"proto3\"; package t; message N { int32 v = 1; } message M { string a = 1; N b = 2; }", V1),
            vec!["FIELD_KIND_CHANGED"]
        );
        let d = check(
            &p("syntax = \"proto3\"; package t; message M { string a = 1; sint32 b = 2; }"),
            &p(V1),
        );
        assert_eq!(
            d[0].render("new", "old"),
            "{errorType:\"FIELD_SCALAR_KIND_CHANGED\", description:\"The kind of a SCALAR field at path '#/M/2' in the new schema does not match its kind in the old schema\"}"
        );
    }

    #[test]
    fn messages_required_fields_and_oneofs() {
        let two = "syntax = \"proto3\"; package t; message M { string a = 1; int32 b = 2; } message Other { int32 x = 1; }";
        assert_eq!(backward(V1, two), vec!["MESSAGE_REMOVED"]);
        let p2 = "syntax = \"proto2\"; message M { required string a = 1; }";
        assert_eq!(
            backward(
                "syntax = \"proto2\"; message M { required string a = 1; required int32 b = 2; }",
                p2
            ),
            vec!["REQUIRED_FIELD_ADDED"]
        );
        assert_eq!(
            backward("syntax = \"proto3\"; package t; message M { oneof o { string a = 1; int32 b = 2; } }", V1),
            vec!["MULTIPLE_FIELDS_MOVED_TO_ONEOF"]
        );
        let one = "syntax = \"proto3\"; message M { oneof o { string a = 1; int32 b = 2; } }";
        assert_eq!(
            backward(
                "syntax = \"proto3\"; message M { oneof o { string a = 1; } }",
                one
            ),
            vec!["ONEOF_FIELD_REMOVED"]
        );
    }

    #[test]
    fn nested_and_map_fields() {
        let old = "syntax = \"proto3\"; message M { map<string, int32> m = 1; message In { int32 x = 1; } In i = 2; }";
        assert!(backward(old, old).is_empty());
        assert_eq!(
            backward("syntax = \"proto3\"; message M { map<string, string> m = 1; message In { int32 x = 1; } In i = 2; }", old),
            vec!["FIELD_SCALAR_KIND_CHANGED"]
        );
        assert_eq!(
            backward("syntax = \"proto3\"; message M { map<string, int32> m = 1; message In { string x = 1; } In i = 2; }", old),
            vec!["FIELD_SCALAR_KIND_CHANGED", "FIELD_NAMED_TYPE_CHANGED"]
        );
    }
}
