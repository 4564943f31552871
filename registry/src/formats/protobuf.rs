//! Protobuf: `.proto` text compiled by protox (Google's well-known imports
//! such as `google/protobuf/timestamp.proto` built in), or a base64
//! `FileDescriptorProto`, which is what confluent-kafka-python's serializer
//! registers. References are other files the schema imports, served by name.
//!
//! What is stored: `.proto` text as the client sent it; a descriptor is
//! printed as `.proto` text (as Confluent stores it) when that text compiles
//! back to the same descriptor, and kept as base64 otherwise. Identity
//! compares text with comments and whitespace runs removed (and leftover
//! base64 by decoded descriptor). `?format=serialized` returns the compiled
//! descriptor in base64, whatever is stored.

use std::collections::HashMap;

use base64::Engine;
use prost::Message;
use prost_types::FileDescriptorProto;
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};
use protox::Compiler;

use super::{proto_print, Dependency};

/// The file name a `.proto` text is compiled under when it is not a
/// reference of something else.
const MAIN_FILE: &str = "default.proto";

#[derive(Debug, Clone)]
pub struct ProtoSchema {
    /// The compiled schema itself.
    pub file: FileDescriptorProto,
    /// Every file it imports, directly or not (well-known types included).
    pub imports: Vec<FileDescriptorProto>,
    text: String,
}

struct MapResolver {
    files: HashMap<String, File>,
}

impl FileResolver for MapResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        self.files
            .get(name)
            .cloned()
            .ok_or_else(|| protox::Error::file_not_found(name))
    }
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// Whether `text` looks like base64 rather than `.proto` source (which
/// always has spaces, semicolons or braces).
pub fn is_base64(text: &str) -> bool {
    let t = text.trim();
    !t.is_empty()
        && t.len() & 3 == 0
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
}

fn decode_descriptor(text: &str) -> Result<FileDescriptorProto, String> {
    let bytes = b64()
        .decode(text.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    FileDescriptorProto::decode(bytes.as_slice())
        .map_err(|e| format!("not a FileDescriptorProto: {e}"))
}

fn file_for(name: &str, text: &str) -> Result<File, String> {
    if is_base64(text) {
        let mut fd = decode_descriptor(text)?;
        fd.name = Some(name.to_string());
        Ok(File::from_file_descriptor_proto(fd))
    } else {
        File::from_source(name, text).map_err(|e| e.to_string())
    }
}

/// Compiles `main` (already among `files`) with `files` and Google's
/// well-known types importable; returns the file and its imports.
fn compile(
    files: HashMap<String, File>,
    main: &str,
) -> Result<(FileDescriptorProto, Vec<FileDescriptorProto>), String> {
    let mut chain = ChainFileResolver::new();
    chain.add(MapResolver { files });
    chain.add(GoogleFileResolver::new());
    let mut compiler = Compiler::with_file_resolver(chain);
    compiler.include_imports(true).include_source_info(false);
    compiler.open_file(main).map_err(|e| e.to_string())?;
    let set = compiler.file_descriptor_set();
    let mut file = None;
    let mut imports = Vec::new();
    for f in set.file {
        if f.name.as_deref() == Some(main) {
            file = Some(f);
        } else {
            imports.push(f);
        }
    }
    let file = file.ok_or_else(|| "the compiled set lacks the schema itself".to_string())?;
    Ok((file, imports))
}

impl ProtoSchema {
    pub fn parse(text: &str, deps: &[Dependency]) -> Result<ProtoSchema, String> {
        let invalid = |e: String| format!("Invalid schema: {e}");
        let mut files = HashMap::new();
        for d in deps {
            let f = file_for(&d.name, &d.schema)
                .map_err(|e| invalid(format!("reference '{}': {e}", d.name)))?;
            files.insert(d.name.clone(), f);
        }
        if !is_base64(text) {
            let mut all = files;
            all.insert(
                MAIN_FILE.to_string(),
                File::from_source(MAIN_FILE, text).map_err(|e| invalid(e.to_string()))?,
            );
            let (file, imports) = compile(all, MAIN_FILE).map_err(invalid)?;
            return Ok(ProtoSchema {
                file,
                imports,
                text: text.trim().to_string(),
            });
        }
        let fd = decode_descriptor(text).map_err(invalid)?;
        let name = fd
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| MAIN_FILE.to_string());
        let mut all = files.clone();
        all.insert(
            name.clone(),
            File::from_file_descriptor_proto(FileDescriptorProto {
                name: Some(name.clone()),
                ..fd
            }),
        );
        let (file, imports) = compile(all, &name).map_err(invalid)?;
        // Store a descriptor as `.proto` text, as Confluent does, when the
        // text compiles back to the same descriptor; else keep the base64.
        let stored = proto_print::print(&file)
            .filter(|printed| {
                let mut all = files.clone();
                let Ok(f) = File::from_source(MAIN_FILE, printed) else {
                    return false;
                };
                all.insert(MAIN_FILE.to_string(), f);
                compile(all, MAIN_FILE)
                    .map(|(again, _)| {
                        proto_print::comparable(&again) == proto_print::comparable(&file)
                    })
                    .unwrap_or(false)
            })
            .unwrap_or_else(|| text.trim().to_string());
        Ok(ProtoSchema {
            file,
            imports,
            text: stored,
        })
    }

    pub fn canonical(&self) -> String {
        self.text.clone()
    }

    pub fn formatted(&self, format: &str) -> Option<String> {
        match format.to_ascii_lowercase().as_str() {
            "serialized" => Some(b64().encode(self.file.encode_to_vec())),
            _ => None,
        }
    }
}

/// The identity of stored Protobuf text (see the module docs).
pub fn identity_key(text: &str) -> String {
    if is_base64(text) {
        if let Ok(mut fd) = decode_descriptor(text) {
            fd.name = None;
            fd.source_code_info = None;
            return format!("descriptor:{}", b64().encode(fd.encode_to_vec()));
        }
    }
    format!("text:{}", strip_comments_and_space(text))
}

/// Drops `//` and `/* */` comments outside string literals and collapses
/// whitespace runs to one space.
fn strip_comments_and_space(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string: Option<char> = None;
    let mut pending_space = false;
    while let Some(c) = chars.next() {
        if let Some(q) = in_string {
            out.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else if c == q {
                in_string = None;
            }
            continue;
        }
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
                pending_space = true;
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for n in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
                pending_space = true;
            }
            c if c.is_whitespace() => pending_space = true,
            c => {
                if pending_space && !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
                if c == '"' || c == '\'' {
                    in_string = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{SchemaReference, SchemaType};

    const USER: &str = r#"
        syntax = "proto3";
        package acme;
        import "google/protobuf/timestamp.proto";
        // A user.
        message User {
          string name = 1;
          int64 id = 2;
          google.protobuf.Timestamp created = 3;
        }
    "#;

    #[test]
    fn text_with_well_known_imports_compiles() {
        let s = ProtoSchema::parse(USER, &[]).expect("compile");
        assert_eq!(s.file.message_type[0].name.as_deref(), Some("User"));
        assert!(s
            .imports
            .iter()
            .any(|f| f.name.as_deref() == Some("google/protobuf/timestamp.proto")));
        let b64_text = s.formatted("serialized").expect("serialized");
        assert!(is_base64(&b64_text));
        // The serialized form parses back to the same messages.
        let again = ProtoSchema::parse(&b64_text, &[]).expect("descriptor form");
        assert_eq!(again.file.message_type, s.file.message_type);
        // A descriptor is stored as .proto text, which identifies it the same way.
        assert!(
            again.canonical().starts_with("syntax = \"proto3\";"),
            "{}",
            again.canonical()
        );
        assert!(
            again
                .canonical()
                .contains("google.protobuf.Timestamp created = 3;"),
            "{}",
            again.canonical()
        );
        assert_eq!(
            identity_key(&again.canonical()),
            identity_key(
                &ProtoSchema::parse(&again.canonical(), &[])
                    .expect("text")
                    .canonical()
            )
        );
    }

    #[test]
    fn invalid_proto_is_rejected() {
        for bad in [
            "message {",
            "syntax = \"proto3\"; message A { string a = 1; string b = 1; }",
            "import \"missing.proto\";",
        ] {
            let e = ProtoSchema::parse(bad, &[]).expect_err(bad);
            assert!(e.starts_with("Invalid schema"), "{e}");
        }
    }

    #[test]
    fn references_are_importable_files() {
        let dep = Dependency {
            name: "acme/address.proto".into(),
            schema_type: SchemaType::Protobuf,
            schema: "syntax = \"proto3\"; package acme; message Address { string city = 1; }"
                .into(),
            reference: SchemaReference {
                name: "acme/address.proto".into(),
                subject: "address".into(),
                version: 1,
            },
        };
        let s = ProtoSchema::parse(
            "syntax = \"proto3\"; package acme; import \"acme/address.proto\"; message P { Address home = 1; }",
            &[dep],
        )
        .expect("with reference");
        assert_eq!(s.file.dependency, vec!["acme/address.proto".to_string()]);
    }

    #[test]
    fn identity_ignores_comments_and_layout() {
        let a = "syntax = \"proto3\";\nmessage A { // x\n  string a = 1; }";
        let b = "syntax = \"proto3\"; /* y */ message A {\n string a = 1;\n}";
        assert_eq!(identity_key(a), identity_key(b));
        assert_ne!(
            identity_key(a),
            identity_key("syntax = \"proto3\"; message A { string b = 1; }")
        );
        assert_eq!(
            strip_comments_and_space("a  \"x // y\"  b"),
            "a \"x // y\" b"
        );
    }
}
