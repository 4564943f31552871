//! The `.proto` files Confluent treats as "known types" and which the
//! Connect mapping imports (field metadata, Decimal, Date, TimeOfDay,
//! Timestamp, the wrappers), and compiling a schema text with them, with
//! Google's well-known files and with a schema's registry references
//! importable. Pure: no I/O.

use std::collections::HashMap;

use base64::Engine;
use prost::Message;
use prost_reflect::DescriptorPool;
use prost_types::FileDescriptorProto;
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};
use protox::Compiler;

pub const META: &str = "confluent/meta.proto";
pub const DECIMAL: &str = "confluent/type/decimal.proto";
pub const DATE: &str = "google/type/date.proto";
pub const TIME_OF_DAY: &str = "google/type/timeofday.proto";
pub const TIMESTAMP: &str = "google/protobuf/timestamp.proto";
pub const WRAPPERS: &str = "google/protobuf/wrappers.proto";

/// The file name a schema text is compiled under (what confluent-kafka-python
/// and our registry call an unnamed schema).
pub const MAIN_FILE: &str = "default.proto";

const META_SRC: &str = r#"syntax = "proto3";
package confluent;

import "google/protobuf/descriptor.proto";

option go_package = "../confluent";
option java_outer_classname = "MetaProto";
option java_package = "io.confluent.protobuf";

message Meta {
  string doc = 1;
  map<string, string> params = 2;
  repeated string tags = 3;
}

extend google.protobuf.FileOptions {
  Meta file_meta = 1088;
}
extend google.protobuf.MessageOptions {
  Meta message_meta = 1088;
}
extend google.protobuf.FieldOptions {
  Meta field_meta = 1088;
}
extend google.protobuf.EnumOptions {
  Meta enum_meta = 1088;
}
extend google.protobuf.EnumValueOptions {
  Meta enum_value_meta = 1088;
}
"#;

const DECIMAL_SRC: &str = r#"syntax = "proto3";
package confluent.type;

option go_package = "../types";
option java_outer_classname = "DecimalProto";
option java_package = "io.confluent.protobuf.type";

message Decimal {
  bytes value = 1;
  uint32 precision = 2;
  int32 scale = 3;
}
"#;

const DATE_SRC: &str = r#"syntax = "proto3";
package google.type;

option cc_enable_arenas = true;
option go_package = "google.golang.org/genproto/googleapis/type/date;date";
option java_multiple_files = true;
option java_outer_classname = "DateProto";
option java_package = "com.google.type";
option objc_class_prefix = "GTP";

message Date {
  int32 year = 1;
  int32 month = 2;
  int32 day = 3;
}
"#;

const TIME_OF_DAY_SRC: &str = r#"syntax = "proto3";
package google.type;

option cc_enable_arenas = true;
option go_package = "google.golang.org/genproto/googleapis/type/timeofday;timeofday";
option java_multiple_files = true;
option java_outer_classname = "TimeOfDayProto";
option java_package = "com.google.type";
option objc_class_prefix = "GTP";

message TimeOfDay {
  int32 hours = 1;
  int32 minutes = 2;
  int32 seconds = 3;
  int32 nanos = 4;
}
"#;

const TIMESTAMP_SRC: &str = r#"syntax = "proto3";
package google.protobuf;

option cc_enable_arenas = true;
option csharp_namespace = "Google.Protobuf.WellKnownTypes";
option go_package = "google.golang.org/protobuf/types/known/timestamppb";
option java_multiple_files = true;
option java_outer_classname = "TimestampProto";
option java_package = "com.google.protobuf";
option objc_class_prefix = "GPB";

message Timestamp {
  int64 seconds = 1;
  int32 nanos = 2;
}
"#;

pub const WRAPPERS_SRC: &str = r#"syntax = "proto3";
package google.protobuf;

option cc_enable_arenas = true;
option csharp_namespace = "Google.Protobuf.WellKnownTypes";
option go_package = "google.golang.org/protobuf/types/known/wrapperspb";
option java_multiple_files = true;
option java_outer_classname = "WrappersProto";
option java_package = "com.google.protobuf";
option objc_class_prefix = "GPB";

message DoubleValue {
  double value = 1;
}
message FloatValue {
  float value = 1;
}
message Int64Value {
  int64 value = 1;
}
message UInt64Value {
  uint64 value = 1;
}
message Int32Value {
  int32 value = 1;
}
message UInt32Value {
  uint32 value = 1;
}
message BoolValue {
  bool value = 1;
}
message StringValue {
  string value = 1;
}
message BytesValue {
  bytes value = 1;
}
"#;

/// The source of a known file this module carries.
pub fn source(name: &str) -> Option<&'static str> {
    Some(match name {
        META => META_SRC,
        DECIMAL => DECIMAL_SRC,
        DATE => DATE_SRC,
        TIME_OF_DAY => TIME_OF_DAY_SRC,
        TIMESTAMP => TIMESTAMP_SRC,
        WRAPPERS => WRAPPERS_SRC,
        _ => return None,
    })
}

/// Confluent's `ProtobufSchema.knownTypes()`: files a serializer with
/// `skip.known.types=true` never registers as references, because
/// Confluent's registry has them built in.
pub fn is_known(name: &str) -> bool {
    name.starts_with("google/protobuf/")
        || name.starts_with("google/type/")
        || name.starts_with("confluent/")
}

/// The wrapper messages of `google/protobuf/wrappers.proto`, in file order
/// (the order gives a root wrapper's message index).
pub const WRAPPER_TYPES: &[&str] = &[
    "google.protobuf.DoubleValue",
    "google.protobuf.FloatValue",
    "google.protobuf.Int64Value",
    "google.protobuf.UInt64Value",
    "google.protobuf.Int32Value",
    "google.protobuf.UInt32Value",
    "google.protobuf.BoolValue",
    "google.protobuf.StringValue",
    "google.protobuf.BytesValue",
];

pub fn is_wrapper(full_name: &str) -> bool {
    WRAPPER_TYPES.contains(&full_name)
}

/// Whether stored schema text is a base64 `FileDescriptorProto` (what
/// confluent-kafka-python registers) rather than `.proto` source.
fn is_base64(text: &str) -> bool {
    let t = text.trim();
    !t.is_empty()
        && t.len() & 3 == 0
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
}

fn file_for(name: &str, text: &str) -> Result<File, String> {
    if is_base64(text) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| format!("{name}: not base64: {e}"))?;
        let mut fd = FileDescriptorProto::decode(bytes.as_slice())
            .map_err(|e| format!("{name}: not a FileDescriptorProto: {e}"))?;
        fd.name = Some(name.to_string());
        Ok(File::from_file_descriptor_proto(fd))
    } else {
        File::from_source(name, text).map_err(|e| e.to_string())
    }
}

/// Files by name: the schema's own text and its references.
struct Sources(HashMap<String, String>);

impl FileResolver for Sources {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match self.0.get(name) {
            Some(text) => file_for(name, text).map_err(protox::Error::new),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// The known files this module carries that Google's resolver lacks.
struct Known;

impl FileResolver for Known {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match source(name) {
            Some(src) => File::from_source(name, src),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// Compiles `text` (`.proto` source or base64 descriptor) with the given
/// references (import name → stored text) and every known file importable.
pub fn compile(text: &str, references: &HashMap<String, String>) -> Result<DescriptorPool, String> {
    let mut files = references.clone();
    files.insert(MAIN_FILE.to_string(), text.to_string());
    let mut chain = ChainFileResolver::new();
    chain.add(Sources(files));
    // Google's compiled descriptors first, so that descriptor.proto (which
    // meta.proto extends) is the real one.
    chain.add(GoogleFileResolver::new());
    chain.add(Known);
    let mut compiler = Compiler::with_file_resolver(chain);
    compiler.include_imports(true).include_source_info(false);
    compiler.open_file(MAIN_FILE).map_err(|e| e.to_string())?;
    Ok(compiler.descriptor_pool())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_carried_file_compiles() {
        for name in [META, DECIMAL, DATE, TIME_OF_DAY, TIMESTAMP, WRAPPERS] {
            let text = format!("syntax = \"proto3\";\nimport \"{name}\";\n");
            let pool = compile(&text, &HashMap::new()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(pool.get_file_by_name(name).is_some(), "{name}");
        }
        assert!(compile(WRAPPERS_SRC, &HashMap::new())
            .unwrap()
            .get_message_by_name("google.protobuf.StringValue")
            .is_some());
        assert!(is_known(DATE) && is_known(META) && !is_known("acme/a.proto"));
    }
}
