//! Avro: parsing and validation by the apache-avro crate (named types from
//! references resolved through `parse_str_with_list`), plus the table of
//! named types the compatibility checker needs to follow `Ref`s.

use std::collections::HashMap;

use apache_avro::schema::{Name, Schema};
use serde_json::Value;

use super::Dependency;

#[derive(Debug, Clone)]
pub struct AvroSchema {
    pub schema: Schema,
    /// Every named type (record, enum, fixed) visible to this schema, by
    /// full name, including those defined by references.
    pub names: HashMap<String, Schema>,
    canonical: String,
}

const PRIMITIVES: &[&str] = &[
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

impl AvroSchema {
    pub fn parse(text: &str, deps: &[Dependency]) -> Result<AvroSchema, String> {
        let json: Value = serde_json::from_str(text).map_err(|e| format!("Invalid schema: {e}"))?;
        let dep_texts: Vec<&str> = deps.iter().map(|d| d.schema.as_str()).collect();
        let (schema, schemata) = if dep_texts.is_empty() {
            (
                Schema::parse(&json).map_err(|e| format!("Invalid schema: {e}"))?,
                Vec::new(),
            )
        } else {
            Schema::parse_str_with_list(text, dep_texts).map_err(|e| {
                format!(
                    "Invalid schema: {e} (either the schema or one of its references is invalid)"
                )
            })?
        };
        let mut names = HashMap::new();
        for s in schemata.iter().chain(std::iter::once(&schema)) {
            collect_names(s, &mut names);
        }
        Ok(AvroSchema {
            schema,
            names,
            canonical: canonical_value(&json),
        })
    }

    pub fn canonical(&self) -> String {
        self.canonical.clone()
    }

    /// Confluent's `format=resolved` inlines references; we have nothing
    /// beyond the canonical text to offer, so other formats fall back.
    pub fn formatted(&self, _format: &str) -> Option<String> {
        None
    }

    /// Follows a `Ref` to the named type it points at.
    pub fn resolve<'a>(&'a self, s: &'a Schema) -> &'a Schema {
        match s {
            Schema::Ref { name } => self.names.get(&full_name(name)).unwrap_or(s),
            other => other,
        }
    }
}

pub fn full_name(n: &Name) -> String {
    match &n.namespace {
        Some(ns) if !ns.is_empty() => format!("{ns}.{}", n.name),
        _ => n.name.clone(),
    }
}

fn collect_names(s: &Schema, out: &mut HashMap<String, Schema>) {
    match s {
        Schema::Record(r) => {
            out.insert(full_name(&r.name), s.clone());
            for f in &r.fields {
                collect_names(&f.schema, out);
            }
        }
        Schema::Enum(e) => {
            out.insert(full_name(&e.name), s.clone());
        }
        Schema::Fixed(f) => {
            out.insert(full_name(&f.name), s.clone());
        }
        Schema::Decimal(d) => collect_names(&d.inner, out),
        Schema::Array(a) => collect_names(&a.items, out),
        Schema::Map(m) => collect_names(&m.types, out),
        Schema::Union(u) => {
            for v in u.variants() {
                collect_names(v, out);
            }
        }
        _ => {}
    }
}

/// `{"type":"int"}` (and nothing else) means the same as `"int"`.
fn simplify(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            if m.len() == 1 {
                if let Some(Value::String(t)) = m.get("type") {
                    if PRIMITIVES.contains(&t.as_str()) {
                        return Value::String(t.clone());
                    }
                }
            }
            Value::Object(m.iter().map(|(k, v)| (k.clone(), simplify(v))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(simplify).collect()),
        other => other.clone(),
    }
}

/// Where a key goes in canonical text: Avro's own attributes in the order
/// Java's `Schema.toString()` writes them (a record field starts with its
/// name, a type with its type), then everything else sorted.
fn key_rank(k: &str, is_field: bool) -> (usize, &str) {
    const TYPE_ORDER: &[&str] = &[
        "type",
        "name",
        "namespace",
        "doc",
        "fields",
        "symbols",
        "items",
        "values",
        "size",
        "default",
        "aliases",
        "logicalType",
        "precision",
        "scale",
    ];
    const FIELD_ORDER: &[&str] = &["name", "type", "doc", "default", "order", "aliases"];
    let order = if is_field { FIELD_ORDER } else { TYPE_ORDER };
    (order.iter().position(|o| *o == k).unwrap_or(order.len()), k)
}

/// A record field (as opposed to a schema): it has a name, and its type is
/// not one of the complex type keywords.
fn is_field(m: &serde_json::Map<String, Value>) -> bool {
    const COMPLEX: &[&str] = &["record", "error", "enum", "fixed", "array", "map"];
    m.contains_key("name")
        && !matches!(m.get("type"), Some(Value::String(t)) if COMPLEX.contains(&t.as_str()))
}

fn write_avro_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            let field = is_field(m);
            keys.sort_by(|a, b| key_rank(a, field).cmp(&key_rank(b, field)));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(child) = m.get(k) {
                    write_avro_json(child, out);
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
                write_avro_json(child, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn canonical_value(v: &Value) -> String {
    let mut s = String::new();
    write_avro_json(&simplify(v), &mut s);
    s
}

/// Canonical text of a stored Avro schema, `None` if it is not JSON.
pub fn canonical_text(text: &str) -> Option<String> {
    serde_json::from_str::<Value>(text)
        .ok()
        .map(|v| canonical_value(&v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{SchemaReference, SchemaType};

    #[test]
    fn canonical_form_ignores_layout_but_keeps_defaults() {
        let a = AvroSchema::parse(
            r#"{"type": "record", "name": "R", "fields": [{"name": "a", "type": {"type": "int"}, "default": 1}]}"#,
            &[],
        )
        .expect("a");
        let b = AvroSchema::parse(
            r#"{"fields":[{"default":1,"type":"int","name":"a"}],"name":"R","type":"record"}"#,
            &[],
        )
        .expect("b");
        assert_eq!(a.canonical(), b.canonical());
        assert_eq!(
            a.canonical(),
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":1}]}"#
        );
        let c = AvroSchema::parse(
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":2}]}"#,
            &[],
        )
        .expect("c");
        assert_ne!(
            a.canonical(),
            c.canonical(),
            "a different default is a different schema"
        );
    }

    #[test]
    fn invalid_schemas_are_rejected_with_a_reason() {
        for bad in [
            "not json",
            r#"{"type":"record","name":"R"}"#,
            r#"{"type":"recurd","name":"R","fields":[]}"#,
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"Missing"}]}"#,
            r#"["int","int"]"#,
        ] {
            let e = AvroSchema::parse(bad, &[]).expect_err(bad);
            assert!(e.starts_with("Invalid schema"), "{e}");
        }
    }

    #[test]
    fn references_supply_named_types() {
        let dep = Dependency {
            name: "com.acme.Address".into(),
            schema_type: SchemaType::Avro,
            schema: r#"{"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"city","type":"string"}]}"#.into(),
            reference: SchemaReference { name: "com.acme.Address".into(), subject: "address".into(), version: 1 },
        };
        let s = AvroSchema::parse(
            r#"{"type":"record","name":"Person","namespace":"com.acme","fields":[{"name":"home","type":"com.acme.Address"}]}"#,
            &[dep],
        )
        .expect("parse with reference");
        assert!(s.names.contains_key("com.acme.Address"));
        assert!(s.names.contains_key("com.acme.Person"));
        assert!(AvroSchema::parse(
            r#"{"type":"record","name":"Person","fields":[{"name":"home","type":"com.acme.Address"}]}"#,
            &[]
        )
        .is_err());
    }
}
