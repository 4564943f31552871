//! The in-memory view of the `_schemas` topic: every record is applied in
//! offset order by [`Index::apply`], a pure function of the records seen so
//! far, so a restarted instance (or a follower) rebuilds exactly the leader's
//! state by replaying the topic. Mirrors Confluent's store message handler:
//! DELETE_SUBJECT marks versions up to a watermark deleted, a tombstone on a
//! SCHEMA key removes the version, CLEAR_SUBJECT drops a subject.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::formats;
use crate::store::records::{ConfigValue, SchemaValue, StoreKey, StoreValue};
use crate::subject;
use crate::types::{Mode, SchemaReference, SchemaType};

/// What makes two registrations "the same schema": type, canonical text and
/// references. Equal identities share an id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    pub schema_type: SchemaType,
    pub canonical: String,
    pub references: Vec<SchemaReference>,
}

impl Identity {
    pub fn of(v: &SchemaValue) -> Identity {
        let schema_type = SchemaType::parse(v.schema_type.as_deref()).unwrap_or(SchemaType::Avro);
        Identity {
            schema_type,
            canonical: formats::canonical_key(schema_type, &v.schema),
            references: v.references.clone(),
        }
    }
}

/// Which versions a query sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    Exclude,
    Include,
    Only,
}

impl Deleted {
    pub fn from_flags(deleted: bool, deleted_only: bool) -> Deleted {
        if deleted_only {
            Deleted::Only
        } else if deleted {
            Deleted::Include
        } else {
            Deleted::Exclude
        }
    }

    fn admits(self, is_deleted: bool) -> bool {
        match self {
            Deleted::Exclude => !is_deleted,
            Deleted::Include => true,
            Deleted::Only => is_deleted,
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct Index {
    subjects: BTreeMap<String, BTreeMap<i32, SchemaValue>>,
    /// id → every (subject, version) registered with it.
    ids: BTreeMap<i32, BTreeSet<(String, i32)>>,
    identities: HashMap<Identity, i32>,
    /// `None` is the global level; context-level entries use `:.ctx:`.
    configs: BTreeMap<Option<String>, ConfigValue>,
    modes: BTreeMap<Option<String>, Mode>,
    contexts: BTreeSet<String>,
    max_id: i32,
}

impl Index {
    /// Applies one record. Returns a description of a record it refused (a
    /// duplicate id for a different schema), for logging.
    pub fn apply(&mut self, key: &StoreKey, value: Option<&StoreValue>) -> Result<(), String> {
        match (key, value) {
            (StoreKey::Schema { subject, version }, Some(StoreValue::Schema(v))) => {
                if &v.subject != subject || v.version != *version {
                    return Err(format!(
                        "schema value for {}/{} under key {subject}/{version}",
                        v.subject, v.version
                    ));
                }
                let identity = Identity::of(v);
                if let Some(existing) = self.schema_by_id(v.id) {
                    if Identity::of(existing) != identity
                        && !self.ids.get(&v.id).is_some_and(|l| {
                            l.len() == 1 && l.contains(&(subject.clone(), *version))
                        })
                    {
                        return Err(format!("id {} already belongs to a different schema", v.id));
                    }
                }
                let old = self
                    .subjects
                    .entry(subject.clone())
                    .or_default()
                    .insert(*version, v.clone());
                if let Some(old) = old {
                    if old.id != v.id {
                        self.forget_location(old.id, subject, *version, &Identity::of(&old));
                    }
                }
                self.ids
                    .entry(v.id)
                    .or_default()
                    .insert((subject.clone(), *version));
                self.identities.entry(identity).or_insert(v.id);
                self.max_id = self.max_id.max(v.id);
                let ctx = subject::context_of(subject);
                if ctx != subject::DEFAULT_CONTEXT {
                    self.contexts.insert(ctx);
                }
            }
            (StoreKey::Schema { subject, version }, None) => {
                let removed = self
                    .subjects
                    .get_mut(subject)
                    .and_then(|vs| vs.remove(version));
                if self.subjects.get(subject).is_some_and(|vs| vs.is_empty()) {
                    self.subjects.remove(subject);
                }
                if let Some(old) = removed {
                    self.forget_location(old.id, subject, *version, &Identity::of(&old));
                }
            }
            (StoreKey::Config { subject }, Some(StoreValue::Config(c))) => {
                self.configs.insert(subject.clone(), c.clone());
            }
            (StoreKey::Config { subject }, None) => {
                self.configs.remove(subject);
            }
            (StoreKey::Mode { subject }, Some(StoreValue::Mode(m))) => match m.mode.parse::<Mode>()
            {
                Ok(mode) => {
                    self.modes.insert(subject.clone(), mode);
                }
                Err(()) => return Err(format!("unknown mode {}", m.mode)),
            },
            (StoreKey::Mode { subject }, None) => {
                self.modes.remove(subject);
            }
            (StoreKey::DeleteSubject { subject }, Some(StoreValue::DeleteSubject(d))) => {
                if let Some(vs) = self.subjects.get_mut(subject) {
                    for (_, v) in vs.range_mut(..=d.version) {
                        v.deleted = true;
                    }
                }
            }
            (StoreKey::ClearSubject { subject }, Some(StoreValue::ClearSubject(_))) => {
                if let Some(vs) = self.subjects.remove(subject) {
                    for (version, v) in vs {
                        self.forget_location(v.id, subject, version, &Identity::of(&v));
                    }
                }
            }
            (StoreKey::Context { context, .. }, Some(StoreValue::Context(_)))
                if !context.is_empty() && context != subject::DEFAULT_CONTEXT =>
            {
                self.contexts.insert(context.clone());
            }
            // NOOP markers, tombstones of non-schema keys we do not keep,
            // and key types from newer registries.
            _ => {}
        }
        Ok(())
    }

    fn forget_location(&mut self, id: i32, subject: &str, version: i32, identity: &Identity) {
        if let Some(locs) = self.ids.get_mut(&id) {
            locs.remove(&(subject.to_string(), version));
            if locs.is_empty() {
                self.ids.remove(&id);
                if self.identities.get(identity) == Some(&id) {
                    self.identities.remove(identity);
                }
            }
        }
    }

    // --- queries -----------------------------------------------------------

    /// Subjects with at least one version the filter admits, sorted.
    pub fn subjects(&self, filter: Deleted) -> Vec<String> {
        self.subjects
            .iter()
            .filter(|(_, vs)| match filter {
                Deleted::Exclude => vs.values().any(|v| !v.deleted),
                Deleted::Include => !vs.is_empty(),
                // Confluent: subjects whose every version is soft-deleted.
                Deleted::Only => !vs.is_empty() && vs.values().all(|v| v.deleted),
            })
            .map(|(s, _)| s.clone())
            .collect()
    }

    pub fn has_subject(&self, subject: &str, include_deleted: bool) -> bool {
        self.subjects
            .get(subject)
            .is_some_and(|vs| vs.values().any(|v| include_deleted || !v.deleted))
    }

    /// Versions of `subject`, ascending.
    pub fn versions(&self, subject: &str, filter: Deleted) -> Vec<&SchemaValue> {
        self.subjects
            .get(subject)
            .map(|vs| vs.values().filter(|v| filter.admits(v.deleted)).collect())
            .unwrap_or_default()
    }

    pub fn get(&self, subject: &str, version: i32, include_deleted: bool) -> Option<&SchemaValue> {
        self.subjects
            .get(subject)?
            .get(&version)
            .filter(|v| include_deleted || !v.deleted)
    }

    pub fn latest(&self, subject: &str, include_deleted: bool) -> Option<&SchemaValue> {
        self.subjects
            .get(subject)?
            .values()
            .rev()
            .find(|v| include_deleted || !v.deleted)
    }

    /// The highest version ever used in `subject`, deleted or not.
    pub fn max_version(&self, subject: &str) -> i32 {
        self.subjects
            .get(subject)
            .and_then(|vs| vs.keys().next_back().copied())
            .unwrap_or(0)
    }

    /// The schema registered under `id` (a live version if there is one).
    pub fn schema_by_id(&self, id: i32) -> Option<&SchemaValue> {
        let locs = self.ids.get(&id)?;
        let mut first = None;
        for (s, v) in locs {
            if let Some(sv) = self.subjects.get(s).and_then(|vs| vs.get(v)) {
                if !sv.deleted {
                    return Some(sv);
                }
                first.get_or_insert(sv);
            }
        }
        first
    }

    pub fn id_for(&self, identity: &Identity) -> Option<i32> {
        self.identities.get(identity).copied()
    }

    /// (subject, version) pairs using `id`.
    pub fn locations_of(&self, id: i32, include_deleted: bool) -> Vec<(String, i32)> {
        self.ids
            .get(&id)
            .map(|locs| {
                locs.iter()
                    .filter(|(s, v)| include_deleted || self.get(s, *v, false).is_some())
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn id_exists(&self, id: i32) -> bool {
        self.ids.contains_key(&id)
    }

    /// Ids of live schemas that reference `subject`/`version`.
    pub fn referenced_by(&self, subject: &str, version: i32) -> Vec<i32> {
        let mut ids: BTreeSet<i32> = BTreeSet::new();
        for vs in self.subjects.values() {
            for v in vs.values() {
                if !v.deleted
                    && v.references
                        .iter()
                        .any(|r| r.subject == subject && r.version == version)
                {
                    ids.insert(v.id);
                }
            }
        }
        ids.into_iter().collect()
    }

    pub fn config(&self, subject: Option<&str>) -> Option<&ConfigValue> {
        self.configs.get(&subject.map(str::to_string))
    }

    pub fn mode(&self, subject: Option<&str>) -> Option<Mode> {
        self.modes.get(&subject.map(str::to_string)).copied()
    }

    /// Subjects (or context keys) with a mode of their own.
    pub fn subjects_with_mode(&self) -> Vec<String> {
        self.modes.keys().flatten().cloned().collect()
    }

    pub fn max_id(&self) -> i32 {
        self.max_id
    }

    /// `.` plus every context a subject or CONTEXT record mentioned.
    pub fn contexts(&self) -> Vec<String> {
        let mut out = vec![subject::DEFAULT_CONTEXT.to_string()];
        out.extend(self.contexts.iter().cloned());
        out
    }

    pub fn has_context(&self, context: &str) -> bool {
        context == subject::DEFAULT_CONTEXT || self.contexts.contains(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::{ClearSubjectValue, DeleteSubjectValue, ModeValue};

    fn schema(subject: &str, version: i32, id: i32, text: &str) -> (StoreKey, StoreValue) {
        (
            StoreKey::Schema {
                subject: subject.into(),
                version,
            },
            StoreValue::Schema(SchemaValue {
                subject: subject.into(),
                version,
                id,
                schema_type: None,
                references: vec![],
                metadata: None,
                rule_set: None,
                schema: text.into(),
                deleted: false,
            }),
        )
    }

    fn apply(ix: &mut Index, kv: (StoreKey, StoreValue)) {
        ix.apply(&kv.0, Some(&kv.1)).expect("apply");
    }

    #[test]
    fn registers_soft_deletes_and_tombstones() {
        let mut ix = Index::default();
        apply(&mut ix, schema("a", 1, 1, r#""string""#));
        apply(&mut ix, schema("a", 2, 2, r#""int""#));
        apply(&mut ix, schema("b", 1, 1, r#""string""#));
        assert_eq!(ix.subjects(Deleted::Exclude), vec!["a", "b"]);
        assert_eq!(
            ix.locations_of(1, false),
            vec![("a".to_string(), 1), ("b".to_string(), 1)]
        );
        assert_eq!(ix.max_id(), 2);
        assert_eq!(ix.latest("a", false).map(|v| v.version), Some(2));

        // Soft-delete subject a up to version 2.
        ix.apply(
            &StoreKey::DeleteSubject {
                subject: "a".into(),
            },
            Some(&StoreValue::DeleteSubject(DeleteSubjectValue {
                subject: "a".into(),
                version: 2,
            })),
        )
        .expect("delete");
        assert_eq!(ix.subjects(Deleted::Exclude), vec!["b"]);
        assert_eq!(ix.subjects(Deleted::Only), vec!["a"]);
        assert!(ix.latest("a", false).is_none());
        assert_eq!(ix.latest("a", true).map(|v| v.version), Some(2));
        // The id still resolves (data written with it must stay readable).
        assert!(ix.schema_by_id(2).is_some());

        // Hard delete: tombstones.
        ix.apply(
            &StoreKey::Schema {
                subject: "a".into(),
                version: 1,
            },
            None,
        )
        .expect("t1");
        ix.apply(
            &StoreKey::Schema {
                subject: "a".into(),
                version: 2,
            },
            None,
        )
        .expect("t2");
        assert!(!ix.has_subject("a", true));
        assert!(ix.schema_by_id(2).is_none(), "no version left with id 2");
        assert!(ix.schema_by_id(1).is_some(), "b still uses id 1");
        assert_eq!(ix.max_id(), 2, "ids are never reused");
    }

    #[test]
    fn identity_ignores_whitespace_and_key_order() {
        let mut ix = Index::default();
        apply(
            &mut ix,
            schema("a", 1, 7, r#"{"type":"record","name":"R","fields":[]}"#),
        );
        let probe = match schema(
            "x",
            1,
            0,
            "{ \"name\": \"R\", \"fields\": [], \"type\": \"record\" }",
        )
        .1
        {
            StoreValue::Schema(v) => v,
            _ => unreachable!(),
        };
        assert_eq!(ix.id_for(&Identity::of(&probe)), Some(7));
    }

    #[test]
    fn duplicate_id_for_a_different_schema_is_refused() {
        let mut ix = Index::default();
        apply(&mut ix, schema("a", 1, 1, r#""string""#));
        let (k, v) = schema("b", 1, 1, r#""int""#);
        assert!(ix.apply(&k, Some(&v)).is_err());
        assert!(!ix.has_subject("b", true));
    }

    #[test]
    fn config_mode_and_clear() {
        let mut ix = Index::default();
        ix.apply(
            &StoreKey::Config { subject: None },
            Some(&StoreValue::Config(ConfigValue {
                compatibility_level: Some("FULL".into()),
                ..Default::default()
            })),
        )
        .expect("config");
        assert_eq!(
            ix.config(None)
                .and_then(|c| c.compatibility_level.as_deref()),
            Some("FULL")
        );
        ix.apply(&StoreKey::Config { subject: None }, None)
            .expect("delete config");
        assert!(ix.config(None).is_none());
        ix.apply(
            &StoreKey::Mode {
                subject: Some("s".into()),
            },
            Some(&StoreValue::Mode(ModeValue {
                subject: Some("s".into()),
                mode: "READONLY".into(),
            })),
        )
        .expect("mode");
        assert_eq!(ix.mode(Some("s")), Some(Mode::ReadOnly));
        apply(&mut ix, schema(":.ctx:s", 1, 3, r#""string""#));
        assert_eq!(ix.contexts(), vec![".", ".ctx"]);
        ix.apply(
            &StoreKey::ClearSubject {
                subject: ":.ctx:s".into(),
            },
            Some(&StoreValue::ClearSubject(ClearSubjectValue {
                subject: ":.ctx:s".into(),
            })),
        )
        .expect("clear");
        assert!(!ix.has_subject(":.ctx:s", true));
    }
}
