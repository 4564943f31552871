//! `io.confluent.connect.protobuf.ProtobufConverter`: Connect data as
//! Protobuf in Confluent's wire format (magic byte 0, 4-byte schema id,
//! message indexes, the encoded message), with the proto3 schema derived
//! from the Connect schema registered (`schemaType` PROTOBUF) at
//! `schema.registry.url` under the subject the configured strategy names.
//!
//! - `proto_schema`: Connect schema → `.proto` text (Confluent's `fromConnectSchema`)
//! - `connect_schema`: message descriptor → Connect schema (`toConnectSchema`)
//! - `data`: Connect values ↔ `DynamicMessage`s
//! - `wire`: the framing; `known`: the known-type files and compiling;
//!   `registry`: registry calls with schema references.
//!
//! Messages are encoded and decoded by prost-reflect against a descriptor
//! pool that protox compiles from the schema text.
//!
//! Confluent's registry has the "known types" (`confluent/meta.proto`,
//! `google/type/date.proto`, …) built in, so its serializer registers a
//! schema that imports them without references (`skip.known.types=true`).
//! A registry that lacks them rejects such a schema; the converter then
//! registers the imported known files under their own names and retries
//! with references, which is what `skip.known.types=false` does anyway.

pub mod connect_schema;
pub mod data;
pub mod known;
pub mod proto_schema;
pub mod registry;
pub mod wire;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use prost::Message;
use prost_reflect::{DynamicMessage, FileDescriptor, MessageDescriptor};

use crate::config::{default_bool, ConfigDef, ConfigError, ConfigType, Importance, Props};
use crate::data::{DataError, Schema, SchemaAndValue, Value};

use super::avro::AvroConverterConfig;
use super::registry_client::subject_name;
use super::Converter;
use proto_schema::ProtoText;
use registry::{ProtoRegistry, Reference, RegistryError};

/// The `ProtobufDataConfig` settings that change the mapping; all default
/// to Confluent's defaults.
#[derive(Clone, Debug)]
pub struct Options {
    /// `enhanced.protobuf.schema.support`: Connect names keep the package.
    pub enhanced: bool,
    /// `scrub.invalid.names`.
    pub scrub_invalid_names: bool,
    /// `int.for.enums`: enums are int32 in Connect.
    pub int_for_enums: bool,
    /// `optional.for.nullables`: optional Connect fields get proto3 `optional`.
    pub optional_for_nullables: bool,
    /// `wrapper.for.nullables`: optional primitives are `google.protobuf.*Value`s.
    pub wrapper_for_nullables: bool,
    /// `wrapper.for.raw.primitives`: a root wrapper message is read as its primitive.
    pub wrapper_for_raw_primitives: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            enhanced: false,
            scrub_invalid_names: false,
            int_for_enums: false,
            optional_for_nullables: false,
            wrapper_for_nullables: false,
            wrapper_for_raw_primitives: true,
        }
    }
}

pub struct ProtobufConverterConfig {
    pub registry: AvroConverterConfig,
    pub skip_known_types: bool,
    pub options: Options,
}

impl ProtobufConverterConfig {
    pub fn config_def() -> ConfigDef {
        AvroConverterConfig::config_def()
            .define("skip.known.types", ConfigType::Boolean, default_bool(true), None, Importance::Low,
                "Whether to skip known types when resolving schema dependencies.")
            .define("enhanced.protobuf.schema.support", ConfigType::Boolean, default_bool(false), None, Importance::Medium,
                "Toggle for enabling/disabling enhanced protobuf schema support: package name preservation")
            .define("scrub.invalid.names", ConfigType::Boolean, default_bool(false), None, Importance::Medium,
                "Whether to scrub invalid names by replacing invalid characters with valid ones")
            .define("int.for.enums", ConfigType::Boolean, default_bool(false), None, Importance::Medium,
                "Whether to represent enums as integers")
            .define("optional.for.nullables", ConfigType::Boolean, default_bool(false), None, Importance::Medium,
                "Whether nullable fields should be specified with an optional label")
            .define("wrapper.for.nullables", ConfigType::Boolean, default_bool(false), None, Importance::Medium,
                "Whether nullable fields should use primitive wrapper messages")
            .define("wrapper.for.raw.primitives", ConfigType::Boolean, default_bool(true), None, Importance::Medium,
                "Whether a wrapper message should be interpreted as a raw primitive at the root level")
    }

    pub fn parse(props: &Props, is_key: bool) -> Result<Self, ConfigError> {
        let registry = AvroConverterConfig::parse(props, is_key)?;
        let p = Self::config_def().parse(props)?;
        Ok(ProtobufConverterConfig {
            registry,
            skip_known_types: p.bool("skip.known.types"),
            options: Options {
                enhanced: p.bool("enhanced.protobuf.schema.support"),
                scrub_invalid_names: p.bool("scrub.invalid.names"),
                int_for_enums: p.bool("int.for.enums"),
                optional_for_nullables: p.bool("optional.for.nullables"),
                wrapper_for_nullables: p.bool("wrapper.for.nullables"),
                wrapper_for_raw_primitives: p.bool("wrapper.for.raw.primitives"),
            },
        })
    }

    pub fn build(self) -> ProtobufConverter {
        ProtobufConverter {
            registry: ProtoRegistry::new(&self.registry.url),
            config: self,
            writers: Mutex::new(HashMap::new()),
            latest: Mutex::new(HashMap::new()),
            readers: Mutex::new(HashMap::new()),
        }
    }
}

/// A generated schema compiled: the message values are encoded as.
struct Writer {
    proto: ProtoText,
    message: MessageDescriptor,
}

/// `use.latest.version` lookups: (subject, message name) → (schema id, message indexes).
type LatestCache = HashMap<(String, String), (i32, Vec<i32>)>;
/// (schema id, message indexes, topic) → reader.
type ReaderCache = HashMap<(i32, Vec<i32>, String), Arc<Reader>>;

/// A registered schema's message and its Connect schema.
struct Reader {
    message: MessageDescriptor,
    schema: Schema,
}

pub struct ProtobufConverter {
    config: ProtobufConverterConfig,
    registry: ProtoRegistry,
    /// Keyed by the generated text.
    writers: Mutex<HashMap<String, Arc<Writer>>>,
    latest: Mutex<LatestCache>,
    readers: Mutex<ReaderCache>,
}

fn registry_error(e: RegistryError) -> DataError {
    DataError::new(e.message)
}

/// The message at a Confluent message-index path of a file. Nested indexes
/// count the messages declared in the parent, not protoc's synthetic map
/// entries (Confluent's Java serializer indexes the parsed `.proto` file,
/// where `map<>` fields have no entry message).
pub fn message_at(file: &FileDescriptor, indexes: &[i32]) -> Option<MessageDescriptor> {
    let (first, rest) = indexes.split_first()?;
    let mut m = file.messages().nth(usize::try_from(*first).ok()?)?;
    for i in rest {
        let next = m
            .child_messages()
            .filter(|c| !c.is_map_entry())
            .nth(usize::try_from(*i).ok()?)?;
        m = next;
    }
    Some(m)
}

/// The message-index path of a message in a file (the inverse of `message_at`).
pub fn index_path(file: &FileDescriptor, full_name: &str) -> Option<Vec<i32>> {
    fn walk(m: MessageDescriptor, full_name: &str, path: &mut Vec<i32>) -> bool {
        if m.full_name() == full_name {
            return true;
        }
        for (i, c) in m.child_messages().filter(|c| !c.is_map_entry()).enumerate() {
            path.push(i as i32);
            if walk(c, full_name, path) {
                return true;
            }
            path.pop();
        }
        false
    }
    for (i, m) in file.messages().enumerate() {
        let mut path = vec![i as i32];
        if walk(m, full_name, &mut path) {
            return Some(path);
        }
    }
    None
}

fn main_file(pool: &prost_reflect::DescriptorPool) -> Result<FileDescriptor, DataError> {
    pool.get_file_by_name(known::MAIN_FILE)
        .ok_or_else(|| DataError::new("compiled Protobuf schema lacks its own file"))
}

impl ProtobufConverter {
    fn writer(&self, schema: &Schema) -> Result<Arc<Writer>, DataError> {
        let proto = proto_schema::from_connect_schema(schema, &self.config.options)?;
        if let Some(w) = self.writers.lock().get(&proto.text) {
            return Ok(w.clone());
        }
        let pool = known::compile(&proto.text, &HashMap::new()).map_err(|e| {
            DataError::new(format!("generated Protobuf schema does not compile: {e}"))
        })?;
        let message = pool
            .get_message_by_name(&proto.full_name)
            .ok_or_else(|| DataError::new(format!("Invalid message name: {}", proto.full_name)))?;
        let w = Arc::new(Writer { proto, message });
        let mut writers = self.writers.lock();
        if writers.len() > 1000 {
            writers.clear();
        }
        writers.insert(w.proto.text.clone(), w.clone());
        Ok(w)
    }

    /// Registers (or looks up) the known files a schema imports, each under
    /// its own name (Confluent's DefaultReferenceSubjectNameStrategy).
    fn known_references(&self, proto: &ProtoText, all: bool) -> Result<Vec<Reference>, DataError> {
        let auto = self.config.registry.auto_register;
        let mut refs = Vec::new();
        for name in &proto.imports {
            // Google's own files are built into every registry we talk to.
            if !all && name.starts_with("google/protobuf/") {
                continue;
            }
            let Some(text) = known::source(name) else {
                continue;
            };
            self.registry
                .id_for(name, text, &[], auto)
                .map_err(registry_error)?;
            let version = self
                .registry
                .version_of(name, text, &[])
                .map_err(registry_error)?;
            refs.push(Reference {
                name: name.to_string(),
                subject: name.to_string(),
                version,
            });
        }
        Ok(refs)
    }

    fn schema_id(&self, subject: &str, proto: &ProtoText) -> Result<i32, DataError> {
        let auto = self.config.registry.auto_register;
        if !self.config.skip_known_types {
            let refs = self.known_references(proto, true)?;
            return self
                .registry
                .id_for(subject, &proto.text, &refs, auto)
                .map_err(registry_error);
        }
        match self.registry.id_for(subject, &proto.text, &[], auto) {
            Ok(id) => Ok(id),
            // A registry without Confluent's built-in known types rejects the
            // imports (422 invalid schema); retry with them as references.
            Err(e)
                if e.status == 422
                    && proto
                        .imports
                        .iter()
                        .any(|i| !i.starts_with("google/protobuf/")) =>
            {
                let refs = self.known_references(proto, false)?;
                self.registry
                    .id_for(subject, &proto.text, &refs, auto)
                    .map_err(registry_error)
            }
            Err(e) => Err(registry_error(e)),
        }
    }

    /// `use.latest.version`: the latest schema's id and where our message is in it.
    fn latest_id(&self, subject: &str, full_name: &str) -> Result<(i32, Vec<i32>), DataError> {
        let key = (subject.to_string(), full_name.to_string());
        if let Some(v) = self.latest.lock().get(&key) {
            return Ok(v.clone());
        }
        let latest = self.registry.latest(subject).map_err(registry_error)?;
        let files = self
            .registry
            .resolve(&latest.references)
            .map_err(registry_error)?;
        let pool = known::compile(&latest.text, &files)
            .map_err(|e| DataError::new(format!("latest schema of {subject}: {e}")))?;
        let indexes = index_path(&main_file(&pool)?, full_name).ok_or_else(|| {
            DataError::new(format!(
                "Invalid message name {full_name} for the latest schema of {subject}"
            ))
        })?;
        let v = (latest.id, indexes);
        self.latest.lock().insert(key, v.clone());
        Ok(v)
    }

    fn serialize(&self, topic: &str, schema: &Schema, value: &Value) -> Result<Vec<u8>, DataError> {
        let w = self.writer(schema)?;
        let cfg = &self.config.registry;
        let subject = subject_name(&cfg.strategy, topic, cfg.is_key, Some(&w.proto.full_name))?;
        let (id, indexes) = if cfg.use_latest {
            self.latest_id(&subject, &w.proto.full_name)?
        } else {
            (self.schema_id(&subject, &w.proto)?, w.proto.indexes.clone())
        };
        let msg = data::from_connect(schema, value, &w.message, &self.config.options)?;
        let mut out = wire::header(id, &indexes);
        msg.encode(&mut out)
            .map_err(|e| DataError::new(format!("Error serializing Protobuf message: {e}")))?;
        Ok(out)
    }

    fn reader(&self, topic: &str, id: i32, indexes: &[i32]) -> Result<Arc<Reader>, DataError> {
        let cfg = &self.config.registry;
        let key = (id, indexes.to_vec(), topic.to_string());
        if let Some(r) = self.readers.lock().get(&key) {
            return Ok(r.clone());
        }
        let reg = self.registry.by_id(id).map_err(registry_error)?;
        let files = self
            .registry
            .resolve(&reg.references)
            .map_err(registry_error)?;
        let pool = known::compile(&reg.text, &files)
            .map_err(|e| DataError::new(format!("schema {id} does not compile: {e}")))?;
        let message = message_at(&main_file(&pool)?, indexes)
            .ok_or_else(|| DataError::new(format!("Invalid message indexes: {indexes:?}")))?;
        // The Connect schema carries the schema's version in the subject, as
        // Confluent's deserializer looks it up; none if the lookup fails.
        let version = subject_name(&cfg.strategy, topic, cfg.is_key, Some(message.full_name()))
            .ok()
            .and_then(|s| {
                self.registry
                    .version_of(&s, &reg.text, &reg.references)
                    .ok()
            });
        let schema = connect_schema::to_connect_schema(&message, version, &self.config.options)?;
        let r = Arc::new(Reader { message, schema });
        let mut readers = self.readers.lock();
        if readers.len() > 1000 {
            readers.clear();
        }
        readers.insert(key, r.clone());
        Ok(r)
    }

    fn deserialize(&self, topic: &str, b: &[u8]) -> Result<SchemaAndValue, DataError> {
        let frame = wire::decode(b)?;
        let r = self.reader(topic, frame.schema_id, &frame.indexes)?;
        let msg = DynamicMessage::decode(r.message.clone(), frame.payload)
            .map_err(|e| DataError::new(format!("invalid Protobuf message: {e}")))?;
        let value = data::to_connect(&r.schema, &msg)?;
        Ok(SchemaAndValue::new(Some(r.schema.clone()), value))
    }
}

impl Converter for ProtobufConverter {
    fn from_connect(
        &self,
        topic: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        if value.is_null() {
            return Ok(None);
        }
        let schema = schema
            .ok_or_else(|| DataError::new("ProtobufConverter needs a schema for non-null data"))?;
        self.serialize(topic, schema, value).map(Some).map_err(|e| {
            DataError::new(format!(
                "Failed to serialize Protobuf data from topic {topic} : {}",
                e.message
            ))
        })
    }

    fn to_connect(&self, topic: &str, bytes: Option<&[u8]>) -> Result<SchemaAndValue, DataError> {
        let Some(b) = bytes else {
            return Ok(SchemaAndValue::null());
        };
        self.deserialize(topic, b).map_err(|e| {
            DataError::new(format!(
                "Failed to deserialize data for topic {topic} to Protobuf: {}",
                e.message
            ))
        })
    }
}

#[cfg(test)]
mod tests;
