//! The schema-registry calls the Protobuf converter needs beyond the shared
//! `RegistryClient`: Protobuf schemas come with references (imported files
//! registered under their own subjects), so registration and lookups carry
//! a `references` list, and reading a schema means fetching its references
//! too. Same threading model as `registry_client.rs` (converters are
//! synchronous: each uncached call runs on a short-lived thread with its own
//! runtime); results are cached.

use std::collections::HashMap;

use parking_lot::Mutex;
use serde_json::{json, Value as Json};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    pub name: String,
    pub subject: String,
    pub version: i32,
}

#[derive(Clone, Debug)]
pub struct Registered {
    pub id: i32,
    pub version: Option<i32>,
    pub text: String,
    pub references: Vec<Reference>,
}

use crate::converters::registry_client::{call, enc, run, unreachable};
pub use crate::converters::registry_client::RegistryError;

type Result<T> = std::result::Result<T, RegistryError>;

fn references_of(v: &Json) -> Vec<Reference> {
    v.get("references")
        .and_then(|r| r.as_array())
        .map(|refs| {
            refs.iter()
                .filter_map(|r| {
                    Some(Reference {
                        name: r.get("name")?.as_str()?.to_string(),
                        subject: r.get("subject")?.as_str()?.to_string(),
                        version: r.get("version")?.as_i64()? as i32,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn registered(v: &Json, id: Option<i32>) -> Registered {
    Registered {
        id: id
            .or_else(|| v.get("id").and_then(|i| i.as_i64()).map(|i| i as i32))
            .unwrap_or(-1),
        version: v.get("version").and_then(|i| i.as_i64()).map(|i| i as i32),
        text: v
            .get("schema")
            .and_then(|s| s.as_str())
            .unwrap_or_default()
            .to_string(),
        references: references_of(v),
    }
}

/// How many reference files one schema may pull in (a bound on a hostile
/// or cyclic reference graph).
const MAX_REFERENCES: usize = 256;

type SchemaKey = (String, String, Vec<Reference>);

pub struct ProtoRegistry {
    base: String,
    ids: Mutex<HashMap<SchemaKey, i32>>,
    versions: Mutex<HashMap<SchemaKey, i32>>,
    by_id: Mutex<HashMap<i32, Registered>>,
    by_version: Mutex<HashMap<(String, i32), Registered>>,
}

impl ProtoRegistry {
    pub fn new(url: &str) -> ProtoRegistry {
        let base = url
            .split(',')
            .next()
            .unwrap_or(url)
            .trim()
            .trim_end_matches('/')
            .to_string();
        ProtoRegistry {
            base,
            ids: Mutex::new(HashMap::new()),
            versions: Mutex::new(HashMap::new()),
            by_id: Mutex::new(HashMap::new()),
            by_version: Mutex::new(HashMap::new()),
        }
    }

    fn body(text: &str, refs: &[Reference]) -> Json {
        let mut body = json!({ "schemaType": "PROTOBUF", "schema": text });
        if !refs.is_empty() {
            body["references"] = Json::Array(
                refs.iter()
                    .map(|r| json!({"name": r.name, "subject": r.subject, "version": r.version}))
                    .collect(),
            );
        }
        body
    }

    /// Registers a schema under `subject` (or, without `auto_register`,
    /// looks it up there); returns its id.
    pub fn id_for(
        &self,
        subject: &str,
        text: &str,
        refs: &[Reference],
        auto_register: bool,
    ) -> Result<i32> {
        let key = (subject.to_string(), text.to_string(), refs.to_vec());
        if let Some(id) = self.ids.lock().get(&key) {
            return Ok(*id);
        }
        let url = if auto_register {
            format!("{}/subjects/{}/versions", self.base, enc(subject))
        } else {
            format!("{}/subjects/{}", self.base, enc(subject))
        };
        let v = run(call(
            reqwest::Method::POST,
            url,
            Some(Self::body(text, refs)),
        ))?;
        let id =
            v.get("id").and_then(|i| i.as_i64()).ok_or_else(|| {
                unreachable(format!("schema registry answered without an id: {v}"))
            })? as i32;
        let mut ids = self.ids.lock();
        if ids.len() > 1000 {
            ids.clear();
        }
        ids.insert(key, id);
        Ok(id)
    }

    /// The version a schema has under `subject` (a lookup, never a registration).
    pub fn version_of(&self, subject: &str, text: &str, refs: &[Reference]) -> Result<i32> {
        let key = (subject.to_string(), text.to_string(), refs.to_vec());
        if let Some(v) = self.versions.lock().get(&key) {
            return Ok(*v);
        }
        let v = run(call(
            reqwest::Method::POST,
            format!("{}/subjects/{}", self.base, enc(subject)),
            Some(Self::body(text, refs)),
        ))?;
        let version = v.get("version").and_then(|i| i.as_i64()).ok_or_else(|| {
            unreachable(format!("schema registry answered without a version: {v}"))
        })? as i32;
        let mut versions = self.versions.lock();
        if versions.len() > 1000 {
            versions.clear();
        }
        versions.insert(key, version);
        Ok(version)
    }

    /// The latest version under a subject (`use.latest.version`).
    pub fn latest(&self, subject: &str) -> Result<Registered> {
        let v = run(call(
            reqwest::Method::GET,
            format!("{}/subjects/{}/versions/latest", self.base, enc(subject)),
            None,
        ))?;
        Ok(registered(&v, None))
    }

    pub fn by_id(&self, id: i32) -> Result<Registered> {
        if let Some(r) = self.by_id.lock().get(&id) {
            return Ok(r.clone());
        }
        let v = run(call(
            reqwest::Method::GET,
            format!("{}/schemas/ids/{id}", self.base),
            None,
        ))?;
        let r = registered(&v, Some(id));
        let mut by_id = self.by_id.lock();
        if by_id.len() > 1000 {
            by_id.clear();
        }
        by_id.insert(id, r.clone());
        Ok(r)
    }

    fn subject_version(&self, subject: &str, version: i32) -> Result<Registered> {
        let key = (subject.to_string(), version);
        if let Some(r) = self.by_version.lock().get(&key) {
            return Ok(r.clone());
        }
        let v = run(call(
            reqwest::Method::GET,
            format!("{}/subjects/{}/versions/{version}", self.base, enc(subject)),
            None,
        ))?;
        let r = registered(&v, None);
        let mut by_version = self.by_version.lock();
        if by_version.len() > 1000 {
            by_version.clear();
        }
        by_version.insert(key, r.clone());
        Ok(r)
    }

    /// Every file a schema's references bring in, transitively: import name → text.
    pub fn resolve(&self, refs: &[Reference]) -> Result<HashMap<String, String>> {
        let mut files = HashMap::new();
        let mut todo: Vec<Reference> = refs.to_vec();
        while let Some(r) = todo.pop() {
            if files.contains_key(&r.name) {
                continue;
            }
            if files.len() >= MAX_REFERENCES {
                return Err(unreachable(format!(
                    "more than {MAX_REFERENCES} schema references"
                )));
            }
            let s = self.subject_version(&r.subject, r.version)?;
            todo.extend(s.references.iter().cloned());
            files.insert(r.name, s.text);
        }
        Ok(files)
    }
}
