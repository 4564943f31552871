//! The key and value JSON of records in the `_schemas` topic, in Confluent's
//! formats (its `SchemaRegistryKey`/`SchemaValue`/`ConfigValue`/... classes as
//! Jackson writes them), so that a topic written by either registry restores
//! in the other. Pure: bytes in, typed records out.
//!
//! Key field order matters to nobody's parser but is kept as Confluent writes
//! it (`keytype`, `subject`, `version`, `magic`) so that compaction keys of
//! the same logical record are byte-identical across the two implementations.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::types::SchemaReference;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKey {
    Schema {
        subject: String,
        version: i32,
    },
    /// `None` is the global config.
    Config {
        subject: Option<String>,
    },
    Mode {
        subject: Option<String>,
    },
    Noop,
    DeleteSubject {
        subject: String,
    },
    ClearSubject {
        subject: String,
    },
    Context {
        tenant: String,
        context: String,
    },
    /// A key type from a newer registry; skipped.
    Other(String),
}

#[derive(Serialize)]
struct SchemaKeyJson<'a> {
    keytype: &'static str,
    subject: &'a str,
    version: i32,
    magic: i32,
}

#[derive(Serialize)]
struct SubjectKeyJson<'a> {
    keytype: &'static str,
    subject: Option<&'a str>,
    magic: i32,
}

#[derive(Serialize)]
struct NoopKeyJson {
    keytype: &'static str,
    magic: i32,
}

#[derive(Serialize)]
struct ContextKeyJson<'a> {
    keytype: &'static str,
    tenant: &'a str,
    context: &'a str,
    magic: i32,
}

#[derive(Deserialize)]
struct AnyKeyJson {
    keytype: String,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    version: Option<i32>,
    #[serde(default)]
    magic: Option<i32>,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    context: Option<String>,
}

impl StoreKey {
    pub fn to_bytes(&self) -> Vec<u8> {
        let r = match self {
            StoreKey::Schema { subject, version } => serde_json::to_vec(&SchemaKeyJson {
                keytype: "SCHEMA",
                subject,
                version: *version,
                magic: 1,
            }),
            StoreKey::Config { subject } => serde_json::to_vec(&SubjectKeyJson {
                keytype: "CONFIG",
                subject: subject.as_deref(),
                magic: 0,
            }),
            StoreKey::Mode { subject } => serde_json::to_vec(&SubjectKeyJson {
                keytype: "MODE",
                subject: subject.as_deref(),
                magic: 0,
            }),
            StoreKey::Noop => serde_json::to_vec(&NoopKeyJson {
                keytype: "NOOP",
                magic: 0,
            }),
            StoreKey::DeleteSubject { subject } => serde_json::to_vec(&SubjectKeyJson {
                keytype: "DELETE_SUBJECT",
                subject: Some(subject),
                magic: 0,
            }),
            StoreKey::ClearSubject { subject } => serde_json::to_vec(&SubjectKeyJson {
                keytype: "CLEAR_SUBJECT",
                subject: Some(subject),
                magic: 0,
            }),
            StoreKey::Context { tenant, context } => serde_json::to_vec(&ContextKeyJson {
                keytype: "CONTEXT",
                tenant,
                context,
                magic: 0,
            }),
            StoreKey::Other(raw) => Ok(raw.as_bytes().to_vec()),
        };
        // Serializing these plain structs cannot fail.
        r.unwrap_or_default()
    }

    pub fn parse(bytes: &[u8]) -> Result<StoreKey, String> {
        let k: AnyKeyJson =
            serde_json::from_slice(bytes).map_err(|e| format!("bad key JSON: {e}"))?;
        let need_subject =
            |s: Option<String>| s.ok_or_else(|| format!("{} key without subject", k.keytype));
        Ok(match k.keytype.as_str() {
            "SCHEMA" => {
                let magic = k.magic.unwrap_or(0);
                if magic != 0 && magic != 1 {
                    return Err(format!("schema key with magic byte {magic}"));
                }
                StoreKey::Schema {
                    subject: need_subject(k.subject)?,
                    version: k.version.ok_or("schema key without version")?,
                }
            }
            "CONFIG" => StoreKey::Config { subject: k.subject },
            "MODE" => StoreKey::Mode { subject: k.subject },
            "NOOP" => StoreKey::Noop,
            "DELETE_SUBJECT" => StoreKey::DeleteSubject {
                subject: need_subject(k.subject)?,
            },
            "CLEAR_SUBJECT" => StoreKey::ClearSubject {
                subject: need_subject(k.subject)?,
            },
            "CONTEXT" => StoreKey::Context {
                tenant: k.tenant.unwrap_or_else(|| "default".into()),
                context: k.context.unwrap_or_default(),
            },
            other => StoreKey::Other(other.to_string()),
        })
    }
}

/// A schema version, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaValue {
    pub subject: String,
    pub version: i32,
    pub id: i32,
    /// Absent means AVRO (Confluent omits it for Avro).
    #[serde(
        rename = "schemaType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub schema_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<SchemaReference>,
    /// Carried through untouched: data contracts this registry does not act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(rename = "ruleSet", default, skip_serializing_if = "Option::is_none")]
    pub rule_set: Option<Value>,
    pub schema: String,
    #[serde(default)]
    pub deleted: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<bool>,
    #[serde(
        rename = "compatibilityLevel",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub compatibility_level: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModeValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub mode: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteSubjectValue {
    pub subject: String,
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClearSubjectValue {
    pub subject: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextValue {
    #[serde(default)]
    pub tenant: Option<String>,
    #[serde(default)]
    pub context: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StoreValue {
    Schema(SchemaValue),
    Config(ConfigValue),
    Mode(ModeValue),
    DeleteSubject(DeleteSubjectValue),
    ClearSubject(ClearSubjectValue),
    Context(ContextValue),
}

impl StoreValue {
    pub fn to_bytes(&self) -> Vec<u8> {
        let r = match self {
            StoreValue::Schema(v) => serde_json::to_vec(v),
            StoreValue::Config(v) => serde_json::to_vec(v),
            StoreValue::Mode(v) => serde_json::to_vec(v),
            StoreValue::DeleteSubject(v) => serde_json::to_vec(v),
            StoreValue::ClearSubject(v) => serde_json::to_vec(v),
            StoreValue::Context(v) => serde_json::to_vec(v),
        };
        r.unwrap_or_default()
    }

    /// Parses the value of a record whose key is `key`; `Ok(None)` for key
    /// types that carry no value we use (NOOP, unknown types).
    pub fn parse(key: &StoreKey, bytes: &[u8]) -> Result<Option<StoreValue>, String> {
        let err = |what: &str, e: serde_json::Error| format!("bad {what} value: {e}");
        Ok(Some(match key {
            StoreKey::Schema { .. } => {
                StoreValue::Schema(serde_json::from_slice(bytes).map_err(|e| err("schema", e))?)
            }
            StoreKey::Config { .. } => {
                StoreValue::Config(serde_json::from_slice(bytes).map_err(|e| err("config", e))?)
            }
            StoreKey::Mode { .. } => {
                StoreValue::Mode(serde_json::from_slice(bytes).map_err(|e| err("mode", e))?)
            }
            StoreKey::DeleteSubject { .. } => StoreValue::DeleteSubject(
                serde_json::from_slice(bytes).map_err(|e| err("delete subject", e))?,
            ),
            StoreKey::ClearSubject { .. } => StoreValue::ClearSubject(
                serde_json::from_slice(bytes).map_err(|e| err("clear subject", e))?,
            ),
            StoreKey::Context { .. } => {
                StoreValue::Context(serde_json::from_slice(bytes).map_err(|e| err("context", e))?)
            }
            StoreKey::Noop | StoreKey::Other(_) => return Ok(None),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_written_as_confluent_writes_them() {
        let k = StoreKey::Schema {
            subject: "test".into(),
            version: 1,
        };
        assert_eq!(
            String::from_utf8(k.to_bytes()).expect("utf8"),
            r#"{"keytype":"SCHEMA","subject":"test","version":1,"magic":1}"#
        );
        let k = StoreKey::Config { subject: None };
        assert_eq!(
            String::from_utf8(k.to_bytes()).expect("utf8"),
            r#"{"keytype":"CONFIG","subject":null,"magic":0}"#
        );
        let k = StoreKey::DeleteSubject {
            subject: "s".into(),
        };
        assert_eq!(
            String::from_utf8(k.to_bytes()).expect("utf8"),
            r#"{"keytype":"DELETE_SUBJECT","subject":"s","magic":0}"#
        );
        for k in [
            StoreKey::Schema {
                subject: "a".into(),
                version: 3,
            },
            StoreKey::Config {
                subject: Some("a".into()),
            },
            StoreKey::Mode { subject: None },
            StoreKey::Noop,
            StoreKey::ClearSubject {
                subject: "a".into(),
            },
            StoreKey::Context {
                tenant: "default".into(),
                context: ".ctx".into(),
            },
        ] {
            assert_eq!(StoreKey::parse(&k.to_bytes()).expect("parse"), k);
        }
    }

    #[test]
    fn reads_confluent_values() {
        // As Confluent 7.x writes an Avro schema (no schemaType) and a Protobuf one.
        let key = StoreKey::Schema {
            subject: "test".into(),
            version: 1,
        };
        let v = StoreValue::parse(
            &key,
            br#"{"subject":"test","version":1,"id":1,"schema":"{\"type\":\"record\",\"name\":\"myrecord\",\"fields\":[{\"name\":\"f1\",\"type\":\"string\"}]}","deleted":false}"#,
        )
        .expect("parse");
        let Some(StoreValue::Schema(s)) = v else {
            panic!("not a schema: {v:?}")
        };
        assert_eq!(s.schema_type, None);
        assert_eq!(s.id, 1);
        let v = StoreValue::parse(
            &key,
            br#"{"subject":"test","version":1,"id":2,"schemaType":"PROTOBUF","references":[{"name":"a.proto","subject":"a","version":1}],"schema":"syntax = \"proto3\";","deleted":true,"unknownField":1}"#,
        )
        .expect("parse");
        let Some(StoreValue::Schema(s)) = v else {
            panic!("not a schema")
        };
        assert_eq!(s.schema_type.as_deref(), Some("PROTOBUF"));
        assert_eq!(s.references[0].name, "a.proto");
        assert!(s.deleted);
        let key = StoreKey::Config { subject: None };
        let v = StoreValue::parse(&key, br#"{"compatibilityLevel":"FULL"}"#).expect("config");
        assert_eq!(
            v,
            Some(StoreValue::Config(ConfigValue {
                compatibility_level: Some("FULL".into()),
                ..Default::default()
            }))
        );
        assert!(StoreKey::parse(b"not json").is_err());
        assert!(
            StoreKey::parse(br#"{"keytype":"SCHEMA","subject":"s","version":1,"magic":7}"#)
                .is_err()
        );
        assert_eq!(
            StoreKey::parse(br#"{"keytype":"DEK","magic":0}"#).expect("other"),
            StoreKey::Other("DEK".into())
        );
    }

    #[test]
    fn avro_values_omit_schema_type_and_empty_references() {
        let v = StoreValue::Schema(SchemaValue {
            subject: "s".into(),
            version: 2,
            id: 5,
            schema_type: None,
            references: vec![],
            metadata: None,
            rule_set: None,
            schema: "\"string\"".into(),
            deleted: false,
        });
        assert_eq!(
            String::from_utf8(v.to_bytes()).expect("utf8"),
            r#"{"subject":"s","version":2,"id":5,"schema":"\"string\"","deleted":false}"#
        );
    }
}
