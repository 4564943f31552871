//! The registry's operations and their rules (Confluent's
//! `KafkaSchemaRegistry`): registration with identity, versions, ids and
//! compatibility; lookups; soft and permanent deletes; config and mode at
//! subject, context and global level. Reads serve from the local index;
//! writes run on the leader only (the REST layer forwards them there),
//! one at a time, each after the index has caught up with the topic.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::compat::{self, Previous};
use crate::config::RegistryConfig;
use crate::election::LeaderState;
use crate::error::{RegistryError, RegistryResult};
use crate::formats::{Dependency, ParsedSchema};
use crate::store::index::{Deleted, Identity, Index};
use crate::store::kafka::KafkaStore;
use crate::store::records::{
    ConfigValue, ContextValue, DeleteSubjectValue, ModeValue, SchemaValue, StoreKey, StoreValue,
};
use crate::subject::{self, QualifiedSubject};
use crate::types::{CompatibilityLevel, Mode, SchemaReference, SchemaType};

/// A version path segment: a number in [1, 2^31-1], or "latest" (also -1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionId {
    Latest,
    Number(i32),
}

impl VersionId {
    pub fn parse(s: &str) -> RegistryResult<VersionId> {
        if s.eq_ignore_ascii_case("latest") {
            return Ok(VersionId::Latest);
        }
        match s.parse::<i32>() {
            Ok(-1) => Ok(VersionId::Latest),
            Ok(n) if n >= 1 => Ok(VersionId::Number(n)),
            _ => Err(RegistryError::InvalidVersion(s.to_string())),
        }
    }
}

/// The body of a register, lookup or compatibility request.
#[derive(Debug, Clone, Default)]
pub struct SchemaRequest {
    pub schema: Option<String>,
    pub schema_type: Option<String>,
    pub references: Vec<SchemaReference>,
    pub version: Option<i32>,
    pub id: Option<i32>,
    pub metadata: Option<Value>,
    pub rule_set: Option<Value>,
}

/// A JSON object whose keys keep the order they were added in (serde_json's
/// map sorts them), so responses read like Confluent's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ordered(pub Vec<(&'static str, Value)>);

impl Ordered {
    pub fn with(mut self, key: &'static str, v: impl serde::Serialize) -> Ordered {
        self.0
            .push((key, serde_json::to_value(v).unwrap_or(Value::Null)));
        self
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

impl serde::Serialize for Ordered {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// A stored version as the REST API shows it: subject, version, id,
/// schemaType (not for Avro), references (if any), schema.
pub fn schema_json(v: &SchemaValue, schema_text: String) -> Ordered {
    let mut o = Ordered::default()
        .with("subject", &v.subject)
        .with("version", v.version)
        .with("id", v.id);
    if let Some(t) = SchemaType::parse(v.schema_type.as_deref()).and_then(SchemaType::wire) {
        o = o.with("schemaType", t);
    }
    if !v.references.is_empty() {
        o = o.with("references", &v.references);
    }
    if let Some(md) = &v.metadata {
        o = o.with("metadata", md);
    }
    if let Some(rs) = &v.rule_set {
        o = o.with("ruleSet", rs);
    }
    o.with("schema", schema_text)
}

fn schema_type_of(v: &SchemaValue) -> SchemaType {
    SchemaType::parse(v.schema_type.as_deref()).unwrap_or(SchemaType::Avro)
}

/// Confluent's text for a schema key in errors, e.g. `{magic=1,keytype=SCHEMA,subject=s,version=1}`.
fn schema_key_text(subject: &str, version: i32) -> String {
    format!("{{magic=1,keytype=SCHEMA,subject={subject},version={version}}}")
}

pub struct Registry {
    pub config: RegistryConfig,
    pub store: KafkaStore,
    pub leader: Arc<LeaderState>,
    /// Serializes read-modify-write operations on the leader.
    write_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("topic", &self.config.topic)
            .finish()
    }
}

impl Registry {
    pub fn new(config: RegistryConfig, store: KafkaStore, leader: Arc<LeaderState>) -> Registry {
        Registry {
            config,
            store,
            leader,
            write_lock: tokio::sync::Mutex::new(()),
        }
    }

    // --- scope resolution ----------------------------------------------------

    /// Compatibility for `subject`: its own, its context's, the global one,
    /// or the server default.
    pub fn compatibility_in_scope(&self, ix: &Index, subject: Option<&str>) -> CompatibilityLevel {
        let level_of = |s: Option<&str>| {
            ix.config(s)
                .and_then(|c| c.compatibility_level.as_deref())
                .and_then(|l| l.parse().ok())
        };
        if let Some(s) = subject {
            if let Some(l) = level_of(Some(s)) {
                return l;
            }
            if let Some(ck) = subject::context_key(&subject::context_of(s)) {
                if ck != s {
                    if let Some(l) = level_of(Some(&ck)) {
                        return l;
                    }
                }
            }
        }
        level_of(None).unwrap_or(self.config.compatibility)
    }

    fn config_in_scope(&self, ix: &Index, subject: Option<&str>) -> ConfigValue {
        let mut c = subject
            .and_then(|s| {
                ix.config(Some(s)).cloned().or_else(|| {
                    subject::context_key(&subject::context_of(s))
                        .and_then(|ck| ix.config(Some(&ck)).cloned())
                })
            })
            .or_else(|| ix.config(None).cloned())
            .unwrap_or_default();
        c.compatibility_level = Some(
            self.compatibility_in_scope(ix, subject)
                .as_str()
                .to_string(),
        );
        c
    }

    pub fn mode_in_scope(&self, ix: &Index, subject: Option<&str>) -> Mode {
        if let Some(s) = subject {
            if let Some(m) = ix.mode(Some(s)) {
                return m;
            }
            if let Some(ck) = subject::context_key(&subject::context_of(s)) {
                if let Some(m) = ix.mode(Some(&ck)) {
                    return m;
                }
            }
        }
        ix.mode(None).unwrap_or(self.config.mode)
    }

    // --- references ----------------------------------------------------------

    /// The schemas `refs` point at, transitive dependencies first.
    pub fn resolve_references(
        &self,
        ix: &Index,
        refs: &[SchemaReference],
    ) -> RegistryResult<Vec<Dependency>> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        self.resolve_into(ix, refs, &mut out, &mut seen, 0)?;
        Ok(out)
    }

    fn resolve_into(
        &self,
        ix: &Index,
        refs: &[SchemaReference],
        out: &mut Vec<Dependency>,
        seen: &mut HashSet<(String, i32)>,
        depth: usize,
    ) -> RegistryResult<()> {
        if depth > 32 {
            return Err(RegistryError::InvalidSchema(
                "Invalid schema: references nest too deeply".into(),
            ));
        }
        for r in refs {
            let subject = subject::normalize(&r.subject);
            let found = if r.version == -1 {
                ix.latest(&subject, false)
            } else {
                ix.get(&subject, r.version, true)
            };
            let Some(v) = found else {
                return Err(RegistryError::InvalidSchema(format!(
                    "Invalid schema: reference '{}' to subject '{}' version {} not found",
                    r.name, r.subject, r.version
                )));
            };
            if !seen.insert((subject.clone(), v.version)) {
                continue;
            }
            let v = v.clone();
            self.resolve_into(ix, &v.references, out, seen, depth + 1)?;
            out.push(Dependency {
                name: r.name.clone(),
                schema_type: schema_type_of(&v),
                schema: v.schema.clone(),
                reference: SchemaReference {
                    name: r.name.clone(),
                    subject,
                    version: v.version,
                },
            });
        }
        Ok(())
    }

    /// Parses a stored version (with its references) for compatibility
    /// checks and alternative formats.
    pub fn parse_stored(&self, ix: &Index, v: &SchemaValue) -> RegistryResult<ParsedSchema> {
        let deps = self.resolve_references(ix, &v.references)?;
        ParsedSchema::parse(schema_type_of(v), &v.schema, &deps)
            .map_err(RegistryError::InvalidSchema)
    }

    /// The schema text of `v` in `format` (the stored text when the format
    /// is empty or does not apply).
    pub fn format_schema(
        &self,
        ix: &Index,
        v: &SchemaValue,
        format: Option<&str>,
    ) -> RegistryResult<String> {
        match format.map(str::trim).filter(|f| !f.is_empty()) {
            None => Ok(v.schema.clone()),
            Some(f) => {
                let parsed = self.parse_stored(ix, v)?;
                Ok(parsed.formatted(f).unwrap_or_else(|| v.schema.clone()))
            }
        }
    }

    fn parse_request(
        &self,
        ix: &Index,
        req: &SchemaRequest,
    ) -> RegistryResult<(SchemaType, ParsedSchema)> {
        let schema_type = SchemaType::parse(req.schema_type.as_deref()).ok_or_else(|| {
            RegistryError::InvalidSchema(format!(
                "Invalid schema type {}",
                req.schema_type.as_deref().unwrap_or("")
            ))
        })?;
        let text = req.schema.as_deref().unwrap_or("");
        let deps = self.resolve_references(ix, &req.references)?;
        let parsed =
            ParsedSchema::parse(schema_type, text, &deps).map_err(RegistryError::InvalidSchema)?;
        Ok((schema_type, parsed))
    }

    fn identity(
        schema_type: SchemaType,
        parsed: &ParsedSchema,
        refs: &[SchemaReference],
    ) -> Identity {
        Identity {
            schema_type,
            canonical: crate::formats::canonical_key(schema_type, &parsed.canonical()),
            references: refs.to_vec(),
        }
    }

    // --- reads -------------------------------------------------------------

    pub fn subjects(&self, prefix: &str, deleted: Deleted) -> Vec<String> {
        self.store
            .index()
            .subjects(deleted)
            .into_iter()
            .filter(|s| subject::matches_prefix(s, prefix))
            .collect()
    }

    pub fn versions(&self, subject: &str, deleted: Deleted) -> RegistryResult<Vec<i32>> {
        let ix = self.store.index();
        let vs: Vec<i32> = ix
            .versions(subject, deleted)
            .iter()
            .map(|v| v.version)
            .collect();
        if vs.is_empty() {
            return Err(RegistryError::SubjectNotFound(subject.to_string()));
        }
        Ok(vs)
    }

    /// The version a path segment names, with Confluent's 40401/40402 split.
    pub fn get_version(
        &self,
        subject: &str,
        version: VersionId,
        include_deleted: bool,
    ) -> RegistryResult<SchemaValue> {
        let ix = self.store.index();
        let found = match version {
            VersionId::Latest => ix.latest(subject, include_deleted),
            VersionId::Number(n) => ix.get(subject, n, include_deleted),
        };
        match found {
            Some(v) => Ok(v.clone()),
            None if !ix.has_subject(subject, include_deleted) => {
                Err(RegistryError::SubjectNotFound(subject.into()))
            }
            None => Err(RegistryError::VersionNotFound(match version {
                VersionId::Latest => -1,
                VersionId::Number(n) => n,
            })),
        }
    }

    pub fn version_json(&self, v: &SchemaValue, format: Option<&str>) -> RegistryResult<Ordered> {
        let ix = self.store.index();
        let text = self.format_schema(&ix, v, format)?;
        Ok(schema_json(v, text))
    }

    pub fn referenced_by(&self, subject: &str, version: VersionId) -> RegistryResult<Vec<i32>> {
        let v = self.get_version(subject, version, true)?;
        Ok(self.store.index().referenced_by(subject, v.version))
    }

    /// `/schemas/ids/{id}`: the schema, its type and references.
    pub fn schema_by_id(
        &self,
        id: i32,
        format: Option<&str>,
        fetch_max_id: bool,
    ) -> RegistryResult<Ordered> {
        let ix = self.store.index();
        let v = ix
            .schema_by_id(id)
            .ok_or(RegistryError::SchemaNotFound(Some(id)))?
            .clone();
        let text = self.format_schema(&ix, &v, format)?;
        let mut o = Ordered::default();
        if let Some(t) = schema_type_of(&v).wire() {
            o = o.with("schemaType", t);
        }
        if !v.references.is_empty() {
            o = o.with("references", &v.references);
        }
        o = o.with("schema", text);
        if fetch_max_id {
            o = o.with("maxId", ix.max_id());
        }
        Ok(o)
    }

    pub fn raw_schema_by_id(&self, id: i32, format: Option<&str>) -> RegistryResult<String> {
        let ix = self.store.index();
        let v = ix
            .schema_by_id(id)
            .ok_or(RegistryError::SchemaNotFound(Some(id)))?
            .clone();
        self.format_schema(&ix, &v, format)
    }

    pub fn subjects_for_id(&self, id: i32, include_deleted: bool) -> RegistryResult<Vec<String>> {
        let ix = self.store.index();
        if !ix.id_exists(id) {
            return Err(RegistryError::SchemaNotFound(None));
        }
        let mut subjects: Vec<String> = ix
            .locations_of(id, include_deleted)
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        subjects.dedup();
        Ok(subjects)
    }

    pub fn versions_for_id(&self, id: i32, include_deleted: bool) -> RegistryResult<Vec<Value>> {
        let ix = self.store.index();
        if !ix.id_exists(id) {
            return Err(RegistryError::SchemaNotFound(None));
        }
        Ok(ix
            .locations_of(id, include_deleted)
            .into_iter()
            .map(|(s, v)| json!({"subject": s, "version": v}))
            .collect())
    }

    /// `GET /schemas`: every version (or the latest per subject) under a prefix.
    pub fn list_schemas(
        &self,
        prefix: &str,
        include_deleted: bool,
        latest_only: bool,
    ) -> Vec<Ordered> {
        let ix = self.store.index();
        let filter = if include_deleted {
            Deleted::Include
        } else {
            Deleted::Exclude
        };
        let mut out = Vec::new();
        for s in ix
            .subjects(filter)
            .into_iter()
            .filter(|s| subject::matches_prefix(s, prefix))
        {
            let versions = ix.versions(&s, filter);
            let chosen: Vec<&SchemaValue> = if latest_only {
                versions.last().copied().into_iter().collect()
            } else {
                versions
            };
            out.extend(chosen.into_iter().map(|v| schema_json(v, v.schema.clone())));
        }
        out
    }

    /// `POST /subjects/{s}`: the version of `subject` holding this schema.
    pub fn lookup(
        &self,
        subject: &str,
        req: &SchemaRequest,
        include_deleted: bool,
        format: Option<&str>,
    ) -> RegistryResult<Ordered> {
        let ix = self.store.index();
        if !ix.has_subject(subject, include_deleted) {
            return Err(RegistryError::SubjectNotFound(subject.into()));
        }
        let (schema_type, parsed) = self.parse_request(&ix, req)?;
        let identity = Self::identity(schema_type, &parsed, &req.references);
        let filter = if include_deleted {
            Deleted::Include
        } else {
            Deleted::Exclude
        };
        let found = ix
            .versions(subject, filter)
            .into_iter()
            .rev()
            .find(|v| Identity::of(v) == identity)
            .cloned();
        match found {
            Some(v) => {
                let text = self.format_schema(&ix, &v, format)?;
                Ok(schema_json(&v, text))
            }
            None => Err(RegistryError::SchemaNotFound(None)),
        }
    }

    /// `POST /compatibility/subjects/{s}/versions[/{v}]`.
    pub fn test_compatibility(
        &self,
        subject: &str,
        version: Option<VersionId>,
        req: &SchemaRequest,
        verbose: bool,
    ) -> RegistryResult<Ordered> {
        let ix = self.store.index();
        let previous: Vec<SchemaValue> = match version {
            None => ix
                .versions(subject, Deleted::Exclude)
                .into_iter()
                .cloned()
                .collect(),
            Some(VersionId::Latest) => ix.latest(subject, false).cloned().into_iter().collect(),
            Some(VersionId::Number(n)) => match ix.get(subject, n, false) {
                Some(v) => vec![v.clone()],
                None if !ix.has_subject(subject, false) => {
                    return Err(RegistryError::SubjectNotFound(subject.into()))
                }
                None => return Err(RegistryError::VersionNotFound(n)),
            },
        };
        let parsed = match self.parse_request(&ix, req) {
            Ok((_, p)) => p,
            Err(e) if verbose => {
                return Ok(Ordered::default()
                    .with("is_compatible", false)
                    .with("messages", [e.to_string()]))
            }
            Err(e) => return Err(e),
        };
        let level = self.compatibility_in_scope(&ix, Some(subject));
        let parsed_prev = previous
            .iter()
            .map(|v| Ok((v.version, self.parse_stored(&ix, v)?)))
            .collect::<RegistryResult<Vec<_>>>()?;
        let prev: Vec<Previous<'_>> = parsed_prev
            .iter()
            .map(|(n, p)| Previous {
                version: *n,
                schema: p,
            })
            .collect();
        // A single chosen version is checked alone, whatever the level's
        // transitivity (Confluent passes a one-element list).
        let messages = compat::check(level, &parsed, &prev);
        let mut out = Ordered::default().with("is_compatible", messages.is_empty());
        if verbose {
            out = out.with("messages", messages);
        }
        Ok(out)
    }

    pub fn contexts(&self) -> Vec<String> {
        self.store.index().contexts()
    }

    // --- config and mode reads ---------------------------------------------------

    fn config_json(c: &ConfigValue) -> Value {
        let mut m = Map::new();
        if let Some(a) = &c.alias {
            m.insert("alias".into(), json!(a));
        }
        if let Some(n) = c.normalize {
            m.insert("normalize".into(), json!(n));
        }
        if let Some(l) = &c.compatibility_level {
            m.insert("compatibilityLevel".into(), json!(l));
        }
        Value::Object(m)
    }

    /// `GET /config[/{s}]`. `subject` None is the global level.
    pub fn get_config(
        &self,
        subject: Option<&str>,
        default_to_global: bool,
    ) -> RegistryResult<Value> {
        let ix = self.store.index();
        match subject {
            None => {
                let c = ix.config(None).cloned().unwrap_or_else(|| ConfigValue {
                    compatibility_level: Some(self.config.compatibility.as_str().into()),
                    ..Default::default()
                });
                let mut c = c;
                if c.compatibility_level.is_none() {
                    c.compatibility_level = Some(self.config.compatibility.as_str().into());
                }
                Ok(Self::config_json(&c))
            }
            Some(s) => {
                if default_to_global {
                    return Ok(Self::config_json(&self.config_in_scope(&ix, Some(s))));
                }
                ix.config(Some(s))
                    .map(Self::config_json)
                    .ok_or_else(|| RegistryError::SubjectCompatibilityNotConfigured(s.to_string()))
            }
        }
    }

    pub fn get_mode(
        &self,
        subject: Option<&str>,
        default_to_global: bool,
    ) -> RegistryResult<Value> {
        let ix = self.store.index();
        match subject {
            None => Ok(json!({"mode": ix.mode(None).unwrap_or(self.config.mode).as_str()})),
            Some(s) => {
                if default_to_global {
                    return Ok(json!({"mode": self.mode_in_scope(&ix, Some(s)).as_str()}));
                }
                ix.mode(Some(s))
                    .map(|m| json!({"mode": m.as_str()}))
                    .ok_or_else(|| RegistryError::SubjectModeNotConfigured(s.to_string()))
            }
        }
    }

    // --- writes (leader) -------------------------------------------------------

    async fn begin_write(&self) -> RegistryResult<tokio::sync::MutexGuard<'_, ()>> {
        let guard = self.write_lock.lock().await;
        self.store
            .wait_caught_up(self.store.write_timeout())
            .await?;
        Ok(guard)
    }

    fn check_not_read_only(&self, ix: &Index, subject: &str) -> RegistryResult<()> {
        if self.mode_in_scope(ix, Some(subject)).is_read_only() {
            let ctx = subject::context_of(subject);
            return Err(RegistryError::OperationNotPermitted(format!(
                "Subject {subject} in context {ctx} is in read-only mode"
            )));
        }
        Ok(())
    }

    /// `POST /subjects/{s}/versions`. Returns the id.
    pub async fn register(&self, subject: &str, req: SchemaRequest) -> RegistryResult<i32> {
        if !subject::is_valid(subject) || QualifiedSubject::parse(subject).name.is_empty() {
            return Err(RegistryError::InvalidSubject(subject.to_string()));
        }
        let _guard = self.begin_write().await?;
        let (records, id) = {
            let ix = self.store.index();
            self.plan_register(&ix, subject, req)?
        };
        if let Some(records) = records {
            self.store.put(records).await?;
            tracing::info!(subject, id, "registered schema");
        }
        Ok(id)
    }

    /// Decides what registering means right now: `(None, id)` when the
    /// schema is already there, else the records to write and the id.
    #[allow(clippy::type_complexity)]
    fn plan_register(
        &self,
        ix: &Index,
        subject: &str,
        mut req: SchemaRequest,
    ) -> RegistryResult<(Option<Vec<(StoreKey, Option<StoreValue>)>>, i32)> {
        let mode = self.mode_in_scope(ix, Some(subject));
        let ctx = subject::context_of(subject);
        if mode.is_read_only() {
            return Err(RegistryError::OperationNotPermitted(format!(
                "Subject {subject} in context {ctx} is in read-only mode"
            )));
        }
        let requested_id = req.id.filter(|id| *id >= 0);
        if requested_id.is_some() {
            if mode != Mode::Import {
                return Err(RegistryError::OperationNotPermitted(format!(
                    "Subject {subject} is not in import mode"
                )));
            }
        } else if mode != Mode::ReadWrite {
            return Err(RegistryError::OperationNotPermitted(format!(
                "Subject {subject} in context {ctx} is not in read-write mode"
            )));
        }
        let live: Vec<SchemaValue> = ix
            .versions(subject, Deleted::Exclude)
            .into_iter()
            .cloned()
            .collect();
        // An empty schema re-registers the latest one (Confluent's
        // "populate from previous").
        if req.schema.as_deref().is_none_or(|s| s.trim().is_empty()) {
            if let Some(prev) = live.last() {
                req.schema = Some(prev.schema.clone());
                req.schema_type = prev.schema_type.clone();
                req.references = prev.references.clone();
            }
        }
        let (schema_type, parsed) = self.parse_request(ix, &req)?;
        let canonical = parsed.canonical();
        let identity = Self::identity(schema_type, &parsed, &req.references);
        let requested_version = req.version.filter(|v| *v > 0);

        let mut schema_id = None;
        if let Some(existing) = ix.id_for(&identity) {
            if requested_id.is_none() || requested_id == Some(existing) {
                if requested_version.is_none() && live.iter().any(|v| v.id == existing) {
                    return Ok((None, existing));
                }
                schema_id = Some(existing);
            }
        }

        if mode != Mode::Import {
            let level = self.compatibility_in_scope(ix, Some(subject));
            if level != CompatibilityLevel::None && !live.is_empty() {
                let parsed_prev = live
                    .iter()
                    .map(|v| Ok((v.version, self.parse_stored(ix, v)?)))
                    .collect::<RegistryResult<Vec<_>>>()?;
                let prev: Vec<Previous<'_>> = parsed_prev
                    .iter()
                    .map(|(n, p)| Previous {
                        version: *n,
                        schema: p,
                    })
                    .collect();
                let messages = compat::check(level, &parsed, &prev);
                if !messages.is_empty() {
                    return Err(RegistryError::Incompatible {
                        subject: subject.to_string(),
                        details: format!("[{}]", messages.join(", ")),
                    });
                }
            }
        }

        let next_version = ix.max_version(subject) + 1;
        let version = match requested_version {
            Some(v) if mode == Mode::Import => {
                if ix
                    .get(subject, v, true)
                    .is_some_and(|old| Identity::of(old) != identity)
                {
                    return Err(RegistryError::InvalidSchema(format!(
                        "Version {v} of subject {subject} already exists with a different schema"
                    )));
                }
                v
            }
            Some(v) if v != next_version => {
                return Err(RegistryError::InvalidSchema(
                    "Version is not one more than previous version".into(),
                ))
            }
            _ => next_version,
        };

        let id = match requested_id {
            Some(id) => {
                if let Some(owner) = ix.schema_by_id(id) {
                    if Identity::of(owner) != identity {
                        return Err(RegistryError::IdDoesNotMatch(format!(
                            "Overwrite new schema with id {id} is not permitted."
                        )));
                    }
                }
                id
            }
            None => match schema_id {
                Some(id) => id,
                None => {
                    let mut id = ix.max_id() + 1;
                    while ix.id_exists(id) {
                        id += 1;
                    }
                    id
                }
            },
        };

        let mut records = Vec::new();
        if ctx != subject::DEFAULT_CONTEXT && !ix.has_context(&ctx) {
            records.push((
                StoreKey::Context {
                    tenant: "default".into(),
                    context: ctx.clone(),
                },
                Some(StoreValue::Context(ContextValue {
                    tenant: Some("default".into()),
                    context: Some(ctx.clone()),
                })),
            ));
        }
        // Earlier soft-deleted versions with the same id are tombstoned, so
        // the id maps to one live version of this subject (as Confluent does).
        for old in ix.versions(subject, Deleted::Only) {
            if old.id == id && old.version < version {
                records.push((
                    StoreKey::Schema {
                        subject: subject.into(),
                        version: old.version,
                    },
                    None,
                ));
            }
        }
        records.push((
            StoreKey::Schema {
                subject: subject.into(),
                version,
            },
            Some(StoreValue::Schema(SchemaValue {
                subject: subject.into(),
                version,
                id,
                schema_type: schema_type.wire().map(str::to_string),
                references: req.references.clone(),
                metadata: req.metadata.clone(),
                rule_set: req.rule_set.clone(),
                schema: canonical,
                deleted: false,
            })),
        ));
        Ok((Some(records), id))
    }

    /// `DELETE /subjects/{s}/versions/{v}`. Returns the version deleted.
    pub async fn delete_version(
        &self,
        subject: &str,
        version: VersionId,
        permanent: bool,
    ) -> RegistryResult<i32> {
        let _guard = self.begin_write().await?;
        let records = {
            let ix = self.store.index();
            let target = match version {
                VersionId::Latest => {
                    if permanent {
                        ix.latest(subject, true)
                    } else {
                        ix.latest(subject, false)
                            .or_else(|| ix.latest(subject, true))
                    }
                }
                VersionId::Number(n) => ix.get(subject, n, true),
            };
            let Some(v) = target.cloned() else {
                if !ix.has_subject(subject, true) {
                    return Err(RegistryError::SubjectNotFound(subject.into()));
                }
                return Err(RegistryError::VersionNotFound(match version {
                    VersionId::Latest => -1,
                    VersionId::Number(n) => n,
                }));
            };
            if !permanent && v.deleted {
                return Err(RegistryError::VersionSoftDeleted(subject.into(), v.version));
            }
            self.check_not_read_only(&ix, subject)?;
            if !ix.referenced_by(subject, v.version).is_empty() {
                return Err(RegistryError::ReferenceExists(schema_key_text(
                    subject, v.version,
                )));
            }
            if permanent && !v.deleted {
                return Err(RegistryError::VersionNotSoftDeleted(
                    subject.into(),
                    v.version,
                ));
            }
            let key = StoreKey::Schema {
                subject: subject.into(),
                version: v.version,
            };
            if permanent {
                let mut records = vec![(key, None)];
                let others = ix
                    .versions(subject, Deleted::Include)
                    .iter()
                    .any(|o| o.version != v.version);
                if !others {
                    records.extend(self.subject_settings_tombstones(&ix, subject));
                }
                (records, v.version)
            } else {
                (
                    vec![(
                        key,
                        Some(StoreValue::Schema(SchemaValue {
                            deleted: true,
                            ..v.clone()
                        })),
                    )],
                    v.version,
                )
            }
        };
        self.store.put(records.0).await?;
        Ok(records.1)
    }

    fn subject_settings_tombstones(
        &self,
        ix: &Index,
        subject: &str,
    ) -> Vec<(StoreKey, Option<StoreValue>)> {
        let mut out = Vec::new();
        if ix.mode(Some(subject)).is_some() {
            out.push((
                StoreKey::Mode {
                    subject: Some(subject.into()),
                },
                None,
            ));
        }
        if ix.config(Some(subject)).is_some() {
            out.push((
                StoreKey::Config {
                    subject: Some(subject.into()),
                },
                None,
            ));
        }
        out
    }

    /// `DELETE /subjects/{s}`. Returns the versions deleted.
    pub async fn delete_subject(&self, subject: &str, permanent: bool) -> RegistryResult<Vec<i32>> {
        let _guard = self.begin_write().await?;
        let (records, versions) = {
            let ix = self.store.index();
            if !ix.has_subject(subject, true) {
                return Err(RegistryError::SubjectNotFound(subject.into()));
            }
            if !permanent && !ix.has_subject(subject, false) {
                return Err(RegistryError::SubjectSoftDeleted(subject.into()));
            }
            self.check_not_read_only(&ix, subject)?;
            let filter = if permanent {
                Deleted::Include
            } else {
                Deleted::Exclude
            };
            let targets: Vec<SchemaValue> =
                ix.versions(subject, filter).into_iter().cloned().collect();
            for v in &targets {
                if !ix.referenced_by(subject, v.version).is_empty() {
                    return Err(RegistryError::ReferenceExists(schema_key_text(
                        subject, v.version,
                    )));
                }
                if permanent && !v.deleted {
                    return Err(RegistryError::SubjectNotSoftDeleted(subject.into()));
                }
            }
            let versions: Vec<i32> = targets.iter().map(|v| v.version).collect();
            let records = if permanent {
                let mut r: Vec<_> = versions
                    .iter()
                    .map(|n| {
                        (
                            StoreKey::Schema {
                                subject: subject.into(),
                                version: *n,
                            },
                            None,
                        )
                    })
                    .collect();
                r.extend(self.subject_settings_tombstones(&ix, subject));
                r
            } else {
                let watermark = versions.iter().copied().max().unwrap_or(0);
                vec![(
                    StoreKey::DeleteSubject {
                        subject: subject.into(),
                    },
                    Some(StoreValue::DeleteSubject(DeleteSubjectValue {
                        subject: subject.into(),
                        version: watermark,
                    })),
                )]
            };
            (records, versions)
        };
        self.store.put(records).await?;
        Ok(versions)
    }

    /// `PUT /config[/{s}]`: stores the level (and `normalize`), returns the request's echo.
    pub async fn put_config(
        &self,
        subject: Option<&str>,
        level: Option<CompatibilityLevel>,
        normalize: Option<bool>,
    ) -> RegistryResult<Value> {
        if let Some(s) = subject {
            if !subject::is_valid(s) {
                return Err(RegistryError::InvalidSubject(s.to_string()));
            }
        }
        let _guard = self.begin_write().await?;
        let value = {
            let ix = self.store.index();
            let mut c = ix.config(subject).cloned().unwrap_or_default();
            c.subject = subject.map(str::to_string);
            if let Some(l) = level {
                c.compatibility_level = Some(l.as_str().into());
            }
            if normalize.is_some() {
                c.normalize = normalize;
            }
            c
        };
        self.store
            .put(vec![(
                StoreKey::Config {
                    subject: subject.map(str::to_string),
                },
                Some(StoreValue::Config(value)),
            )])
            .await?;
        let mut out = Map::new();
        if let Some(l) = level {
            out.insert("compatibility".into(), json!(l.as_str()));
        }
        if let Some(n) = normalize {
            out.insert("normalize".into(), json!(n));
        }
        Ok(Value::Object(out))
    }

    /// `DELETE /config[/{s}]`: returns the config that was in force.
    pub async fn delete_config(&self, subject: Option<&str>) -> RegistryResult<Value> {
        let _guard = self.begin_write().await?;
        let previous = {
            let ix = self.store.index();
            match subject {
                Some(s) => ix
                    .config(Some(s))
                    .cloned()
                    .ok_or_else(|| RegistryError::SubjectNotFound(s.into()))?,
                None => ix.config(None).cloned().unwrap_or_else(|| ConfigValue {
                    compatibility_level: Some(self.config.compatibility.as_str().into()),
                    ..Default::default()
                }),
            }
        };
        self.store
            .put(vec![(
                StoreKey::Config {
                    subject: subject.map(str::to_string),
                },
                None,
            )])
            .await?;
        Ok(Self::config_json(&previous))
    }

    /// `PUT /mode[/{s}]`.
    pub async fn put_mode(
        &self,
        subject: Option<&str>,
        mode: Mode,
        force: bool,
    ) -> RegistryResult<Value> {
        if let Some(s) = subject {
            if !subject::is_valid(s) {
                return Err(RegistryError::InvalidSubject(s.to_string()));
            }
        }
        if !self.config.mode_mutability {
            return Err(RegistryError::OperationNotPermitted(
                "Mode changes are not allowed".into(),
            ));
        }
        let _guard = self.begin_write().await?;
        {
            let ix = self.store.index();
            if mode == Mode::Import && !force {
                let has_schemas = match subject {
                    None => !ix.subjects(Deleted::Include).is_empty(),
                    Some(s) => ix.has_subject(s, true),
                };
                if has_schemas {
                    return Err(RegistryError::OperationNotPermitted(
                        "Cannot import since found existing subjects".into(),
                    ));
                }
            }
        }
        let value = ModeValue {
            subject: subject.map(str::to_string),
            mode: mode.as_str().into(),
        };
        self.store
            .put(vec![(
                StoreKey::Mode {
                    subject: subject.map(str::to_string),
                },
                Some(StoreValue::Mode(value)),
            )])
            .await?;
        Ok(json!({"mode": mode.as_str()}))
    }

    /// `DELETE /mode[/{s}]`: returns the mode that was set.
    pub async fn delete_mode(&self, subject: Option<&str>) -> RegistryResult<Value> {
        let _guard = self.begin_write().await?;
        let previous = {
            let ix = self.store.index();
            match (subject, ix.mode(subject)) {
                (_, Some(m)) => m,
                (Some(s), None) => return Err(RegistryError::SubjectNotFound(s.into())),
                (None, None) => self.config.mode,
            }
        };
        self.store
            .put(vec![(
                StoreKey::Mode {
                    subject: subject.map(str::to_string),
                },
                None,
            )])
            .await?;
        Ok(json!({"mode": previous.as_str()}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids() {
        assert_eq!(
            VersionId::parse("latest").expect("latest"),
            VersionId::Latest
        );
        assert_eq!(VersionId::parse("-1").expect("-1"), VersionId::Latest);
        assert_eq!(VersionId::parse("3").expect("3"), VersionId::Number(3));
        for bad in ["0", "-2", "abc", "2147483648", ""] {
            assert_eq!(
                VersionId::parse(bad),
                Err(RegistryError::InvalidVersion(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn schema_json_omits_avro_type_and_empty_references() {
        let v = SchemaValue {
            subject: "s".into(),
            version: 1,
            id: 2,
            schema_type: None,
            references: vec![],
            metadata: None,
            rule_set: None,
            schema: "\"int\"".into(),
            deleted: false,
        };
        assert_eq!(
            serde_json::to_string(&schema_json(&v, v.schema.clone())).expect("json"),
            r#"{"subject":"s","version":1,"id":2,"schema":"\"int\""}"#
        );
        let p = SchemaValue {
            schema_type: Some("PROTOBUF".into()),
            ..v
        };
        assert_eq!(
            schema_json(&p, "x".into()).get("schemaType"),
            Some(&json!("PROTOBUF"))
        );
    }
}
