//! JSON Schema: validated against its draft's meta-schema (drafts 4, 6, 7,
//! 2019-09 and 2020-12, chosen by `$schema`) and compiled by the jsonschema
//! crate, with `$ref`s to references served from the registry instead of
//! the network.

use std::collections::HashMap;

use jsonschema::{Retrieve, Uri};
use serde_json::Value;

use super::{sorted_json, Dependency};

#[derive(Debug, Clone)]
pub struct JsonSchema {
    pub value: Value,
    /// Referenced schemas by the name the `$ref` uses.
    pub deps: HashMap<String, Value>,
    canonical: String,
}

/// Resolves a `$ref` URI against the references' names: the name itself, or
/// the URI ending in `/name` (a relative `$ref` resolved against the base).
struct DependencyRetriever {
    deps: Vec<(String, Value)>,
}

impl Retrieve for DependencyRetriever {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let u = uri.as_str();
        find_dependency(&self.deps, u)
            .cloned()
            .ok_or_else(|| format!("reference '{u}' is not among the schema's references").into())
    }
}

fn find_dependency<'a>(deps: &'a [(String, Value)], uri: &str) -> Option<&'a Value> {
    let uri = uri.split('#').next().unwrap_or(uri);
    deps.iter()
        .find(|(name, _)| {
            let name = name.split('#').next().unwrap_or(name);
            uri == name || uri.ends_with(&format!("/{}", name.trim_start_matches("./")))
        })
        .map(|(_, v)| v)
}

impl JsonSchema {
    pub fn parse(text: &str, deps: &[Dependency]) -> Result<JsonSchema, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("Invalid schema: {e}"))?;
        if !value.is_object() && !value.is_boolean() {
            return Err("Invalid schema: a JSON schema must be an object or a boolean".into());
        }
        jsonschema::meta::validate(&value).map_err(|e| format!("Invalid schema: {e}"))?;
        let mut dep_values = Vec::new();
        for d in deps {
            let v: Value = serde_json::from_str(&d.schema)
                .map_err(|e| format!("Invalid schema: reference '{}' is not JSON: {e}", d.name))?;
            dep_values.push((d.name.clone(), v));
        }
        jsonschema::options()
            .with_retriever(DependencyRetriever {
                deps: dep_values.clone(),
            })
            .build(&value)
            .map_err(|e| format!("Invalid schema: {e}"))?;
        Ok(JsonSchema {
            canonical: sorted_json(&value),
            value,
            deps: dep_values.into_iter().collect(),
        })
    }

    pub fn canonical(&self) -> String {
        self.canonical.clone()
    }

    /// The schema a `$ref` points at: a JSON pointer into this document or
    /// into a referenced one.
    pub fn resolve_ref<'a>(
        &'a self,
        root: &'a Value,
        reference: &str,
    ) -> Option<(&'a Value, &'a Value)> {
        let (doc, fragment) = match reference.split_once('#') {
            Some(("", frag)) => (root, frag),
            Some((uri, frag)) => (self.dep(uri)?, frag),
            None => (self.dep(reference)?, ""),
        };
        let target = if fragment.is_empty() {
            doc
        } else {
            doc.pointer(fragment)?
        };
        Some((doc, target))
    }

    fn dep(&self, uri: &str) -> Option<&Value> {
        self.deps.get(uri).or_else(|| {
            self.deps
                .iter()
                .find(|(name, _)| uri.ends_with(&format!("/{name}")) || name.ends_with(uri))
                .map(|(_, v)| v)
        })
    }
}

/// Canonical text of a stored JSON schema, `None` if it is not JSON.
pub fn canonical_text(text: &str) -> Option<String> {
    serde_json::from_str::<Value>(text)
        .ok()
        .map(|v| sorted_json(&v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{SchemaReference, SchemaType};

    #[test]
    fn drafts_4_to_2020_12_are_accepted() {
        for draft in [
            "http://json-schema.org/draft-04/schema#",
            "http://json-schema.org/draft-06/schema#",
            "http://json-schema.org/draft-07/schema#",
            "https://json-schema.org/draft/2019-09/schema",
            "https://json-schema.org/draft/2020-12/schema",
        ] {
            let text = format!(
                r#"{{"$schema":"{draft}","type":"object","properties":{{"a":{{"type":"string"}}}}}}"#
            );
            JsonSchema::parse(&text, &[]).unwrap_or_else(|e| panic!("{draft}: {e}"));
        }
    }

    #[test]
    fn invalid_schemas_are_rejected() {
        for bad in [
            r#"{"type": 12}"#,
            "[1,2]",
            "{",
            r#"{"properties": {"a": {"minLength": -1}}}"#,
        ] {
            assert!(JsonSchema::parse(bad, &[]).is_err(), "{bad}");
        }
        // A $ref to something that is not a reference.
        assert!(JsonSchema::parse(r#"{"$ref":"https://example.com/other.json"}"#, &[]).is_err());
    }

    #[test]
    fn references_resolve_by_name() {
        let dep = Dependency {
            name: "address.json".into(),
            schema_type: SchemaType::Json,
            schema: r#"{"type":"object","properties":{"city":{"type":"string"}}}"#.into(),
            reference: SchemaReference {
                name: "address.json".into(),
                subject: "address".into(),
                version: 1,
            },
        };
        let s = JsonSchema::parse(
            r#"{"$id":"https://acme.com/person.json","type":"object","properties":{"home":{"$ref":"address.json"}}}"#,
            &[dep],
        )
        .expect("with reference");
        let root = s.value.clone();
        assert!(s.resolve_ref(&root, "address.json").is_some());
        assert_eq!(
            canonical_text(r#"{"b":1, "a":2}"#).expect("canonical"),
            canonical_text(r#"{"a":2,"b":1}"#).expect("canonical")
        );
    }
}
