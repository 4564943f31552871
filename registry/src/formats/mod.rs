//! The three schema formats behind one enum: parsing with references
//! resolved, the canonical text stored and compared for identity, and the
//! alternative output formats (`?format=`).
//!
//! Identity: two registrations are the same schema when their canonical
//! forms are equal. For Avro and JSON Schema the canonical form is the
//! schema's JSON written compactly with object keys sorted (plus, for Avro,
//! `{"type":"int"}` written as `"int"`), so whitespace and key order never
//! mint a new id while every attribute that matters to resolution (defaults,
//! aliases, docs, logical types) still does. Avro's Parsing Canonical Form
//! would drop defaults and aliases, so it is not used for identity. For
//! Protobuf see [`protobuf`].

pub mod avro;
pub mod json;
pub mod proto_print;
pub mod protobuf;

use serde_json::Value;

use crate::types::{SchemaReference, SchemaType};

/// A referenced schema, already fetched from its subject/version, with the
/// name the referencing schema uses for it. Transitive dependencies come
/// before the schemas that need them.
#[derive(Debug, Clone)]
pub struct Dependency {
    pub name: String,
    pub schema_type: SchemaType,
    pub schema: String,
    pub reference: SchemaReference,
}

#[derive(Debug, Clone)]
pub enum ParsedSchema {
    Avro(avro::AvroSchema),
    Json(json::JsonSchema),
    /// Boxed: a compiled descriptor set is much larger than the others.
    Protobuf(Box<protobuf::ProtoSchema>),
}

impl ParsedSchema {
    /// Parses and validates `text` as `schema_type`. The error text is what
    /// the 42201 response carries.
    pub fn parse(
        schema_type: SchemaType,
        text: &str,
        deps: &[Dependency],
    ) -> Result<ParsedSchema, String> {
        if text.trim().is_empty() {
            return Err("Empty schema".into());
        }
        match schema_type {
            SchemaType::Avro => avro::AvroSchema::parse(text, deps).map(ParsedSchema::Avro),
            SchemaType::Json => json::JsonSchema::parse(text, deps).map(ParsedSchema::Json),
            SchemaType::Protobuf => protobuf::ProtoSchema::parse(text, deps)
                .map(|p| ParsedSchema::Protobuf(Box::new(p))),
        }
    }

    pub fn schema_type(&self) -> SchemaType {
        match self {
            ParsedSchema::Avro(_) => SchemaType::Avro,
            ParsedSchema::Json(_) => SchemaType::Json,
            ParsedSchema::Protobuf(_) => SchemaType::Protobuf,
        }
    }

    /// The text stored in `_schemas` and returned by GETs.
    pub fn canonical(&self) -> String {
        match self {
            ParsedSchema::Avro(s) => s.canonical(),
            ParsedSchema::Json(s) => s.canonical(),
            ParsedSchema::Protobuf(s) => s.canonical(),
        }
    }

    /// The schema in an alternative `?format=`, or `None` when the format
    /// does not apply (the canonical text is returned then, as Confluent
    /// does for formats a provider does not know).
    pub fn formatted(&self, format: &str) -> Option<String> {
        match self {
            ParsedSchema::Protobuf(s) => s.formatted(format),
            ParsedSchema::Avro(s) => s.formatted(format),
            ParsedSchema::Json(_) => None,
        }
    }
}

/// The identity key of stored schema text, without resolving references
/// (stored text was validated when it was registered). Never fails: text
/// that no longer parses is its own key.
pub fn canonical_key(schema_type: SchemaType, text: &str) -> String {
    match schema_type {
        SchemaType::Avro => avro::canonical_text(text).unwrap_or_else(|| text.to_string()),
        SchemaType::Json => json::canonical_text(text).unwrap_or_else(|| text.to_string()),
        SchemaType::Protobuf => protobuf::identity_key(text),
    }
}

/// Compact JSON with object keys in sorted order, independent of how
/// serde_json's map is configured in this build.
pub fn write_sorted_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(child) = m.get(k) {
                    write_sorted_json(child, out);
                }
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, child) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_sorted_json(child, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

pub fn sorted_json(v: &Value) -> String {
    let mut s = String::new();
    write_sorted_json(v, &mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_json_is_compact_and_ordered() {
        let v: Value = serde_json::from_str(r#"{ "b": [1, {"d": null, "c": "x\"y"}], "a": true }"#)
            .expect("json");
        assert_eq!(
            sorted_json(&v),
            r#"{"a":true,"b":[1,{"c":"x\"y","d":null}]}"#
        );
    }

    #[test]
    fn empty_schema_is_invalid_for_every_type() {
        for t in SchemaType::ALL {
            assert_eq!(
                ParsedSchema::parse(t, "  ", &[]).expect_err("empty"),
                "Empty schema"
            );
        }
    }
}
