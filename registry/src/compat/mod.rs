//! Compatibility levels over the three formats, with Confluent's messages.
//!
//! Each format answers one question, "can `reader` read what `writer`
//! wrote?", as a list of [`Incompatibility`]s. The levels combine that the
//! way Confluent's `SchemaValidatorBuilder` does: BACKWARD asks it with the
//! new schema as reader, FORWARD with the old one as reader, FULL both; the
//! non-transitive levels check only the latest version, the transitive ones
//! every version, newest first, stopping at the first that fails.

pub mod avro;
pub mod json;
pub mod protobuf;

use crate::formats::ParsedSchema;
use crate::types::CompatibilityLevel;

/// One reason a reader cannot read a writer's data. The text holds `{0}`
/// and `{1}` where the names of the two sides ("new"/"old") go, in the
/// order Confluent's message templates use them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatibility {
    pub error_type: String,
    pub text: String,
}

impl Incompatibility {
    pub fn render(&self, first: &str, second: &str) -> String {
        self.text.replace("{0}", first).replace("{1}", second)
    }
}

/// A previously registered version to check against.
pub struct Previous<'a> {
    pub version: i32,
    pub schema: &'a ParsedSchema,
}

const DIFFERENT_TYPE: &str = "Incompatible because of different schema type";
const MAX_SCHEMA_IN_MESSAGE: usize = 10 * 1024;

/// Whether `reader` can read data written with `writer`.
fn can_read(reader: &ParsedSchema, writer: &ParsedSchema) -> Option<Vec<Incompatibility>> {
    Some(match (reader, writer) {
        (ParsedSchema::Avro(r), ParsedSchema::Avro(w)) => avro::check(r, w),
        (ParsedSchema::Json(r), ParsedSchema::Json(w)) => json::check(r, w),
        (ParsedSchema::Protobuf(r), ParsedSchema::Protobuf(w)) => protobuf::check(r, w),
        _ => return None,
    })
}

fn with_old_schema(mut messages: Vec<String>, old: &Previous<'_>) -> Vec<String> {
    if !messages.is_empty() {
        messages.push(format!("{{oldSchemaVersion: {}}}", old.version));
        let text = old.schema.canonical();
        if text.len() <= MAX_SCHEMA_IN_MESSAGE {
            messages.push(format!("{{oldSchema: '{text}'}}"));
        } else {
            let cut = (0..=MAX_SCHEMA_IN_MESSAGE)
                .rev()
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(0);
            messages.push(format!("{{oldSchema: <truncated> '{}...'}}", &text[..cut]));
        }
    }
    messages
}

/// Messages for one (new, old) pair under `level`; empty if compatible.
fn check_pair(level: CompatibilityLevel, new: &ParsedSchema, old: &Previous<'_>) -> Vec<String> {
    let render = |list: Vec<Incompatibility>, first: &str, second: &str| -> Vec<String> {
        list.iter().map(|i| i.render(first, second)).collect()
    };
    let backward = || can_read(new, old.schema);
    let forward = || can_read(old.schema, new);
    match level {
        CompatibilityLevel::None => Vec::new(),
        CompatibilityLevel::Backward | CompatibilityLevel::BackwardTransitive => match backward() {
            Some(l) => with_old_schema(render(l, "new", "old"), old),
            None => vec![DIFFERENT_TYPE.into()],
        },
        CompatibilityLevel::Forward | CompatibilityLevel::ForwardTransitive => match forward() {
            Some(l) => with_old_schema(render(l, "old", "new"), old),
            None => vec![DIFFERENT_TYPE.into()],
        },
        CompatibilityLevel::Full | CompatibilityLevel::FullTransitive => {
            match (forward(), backward()) {
                (Some(f), Some(b)) => {
                    let mut m = render(f, "old", "new");
                    m.extend(with_old_schema(render(b, "new", "old"), old));
                    m
                }
                _ => vec![DIFFERENT_TYPE.into()],
            }
        }
    }
}

/// Checks `new` against `previous` (ascending versions, live ones only)
/// under `level`. Empty means compatible; otherwise the messages end with
/// Confluent's `{validateFields: ..., compatibility: ...}` trailer.
pub fn check(
    level: CompatibilityLevel,
    new: &ParsedSchema,
    previous: &[Previous<'_>],
) -> Vec<String> {
    let mut messages = Vec::new();
    if level.transitive() {
        for old in previous.iter().rev() {
            messages = check_pair(level, new, old);
            if !messages.is_empty() {
                break;
            }
        }
    } else if let Some(old) = previous.last() {
        messages = check_pair(level, new, old);
    }
    if !messages.is_empty() {
        messages.push(format!(
            "{{validateFields: 'false', compatibility: '{level}'}}"
        ));
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::SchemaType;

    fn avro(text: &str) -> ParsedSchema {
        ParsedSchema::parse(SchemaType::Avro, text, &[]).expect(text)
    }

    const V1: &str = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}"#;
    const V2_NO_DEFAULT: &str = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"string"},{"name":"b","type":"int"}]}"#;
    const V2_DEFAULT: &str = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"string"},{"name":"b","type":"int","default":0}]}"#;

    #[test]
    fn levels_pick_directions() {
        let v1 = avro(V1);
        let prev = [Previous {
            version: 1,
            schema: &v1,
        }];
        let no_default = avro(V2_NO_DEFAULT);
        let with_default = avro(V2_DEFAULT);
        // Adding a field without a default: the new reader lacks a value for old data.
        let m = check(CompatibilityLevel::Backward, &no_default, &prev);
        assert!(m[0].contains("READER_FIELD_MISSING_DEFAULT_VALUE"), "{m:?}");
        assert!(
            m[0].contains(
                "in the new schema has no default value and is missing in the old schema"
            ),
            "{m:?}"
        );
        assert_eq!(m[1], "{oldSchemaVersion: 1}");
        assert!(m[2].starts_with("{oldSchema: '"));
        assert_eq!(
            m.last().map(String::as_str),
            Some("{validateFields: 'false', compatibility: 'BACKWARD'}")
        );
        // ... but old readers ignore the extra field.
        assert!(check(CompatibilityLevel::Forward, &no_default, &prev).is_empty());
        assert!(!check(CompatibilityLevel::Full, &no_default, &prev).is_empty());
        assert!(check(CompatibilityLevel::Full, &with_default, &prev).is_empty());
        assert!(check(CompatibilityLevel::None, &avro(r#""int""#), &prev).is_empty());
    }

    #[test]
    fn transitive_levels_check_every_version() {
        // v1 has a, v2 adds b with default, v3 drops the default from b:
        // v3 reads v2 data (b present) but not v1 data (b missing).
        let v1 = avro(V1);
        let v2 = avro(V2_DEFAULT);
        let v3 = avro(V2_NO_DEFAULT);
        let prev = [
            Previous {
                version: 1,
                schema: &v1,
            },
            Previous {
                version: 2,
                schema: &v2,
            },
        ];
        assert!(check(CompatibilityLevel::Backward, &v3, &prev).is_empty());
        let m = check(CompatibilityLevel::BackwardTransitive, &v3, &prev);
        assert!(m.iter().any(|s| s == "{oldSchemaVersion: 1}"), "{m:?}");
    }

    #[test]
    fn different_types_are_incompatible() {
        let v1 = avro(V1);
        let json =
            ParsedSchema::parse(SchemaType::Json, r#"{"type":"object"}"#, &[]).expect("json");
        let m = check(
            CompatibilityLevel::Backward,
            &json,
            &[Previous {
                version: 1,
                schema: &v1,
            }],
        );
        assert_eq!(m[0], DIFFERENT_TYPE);
    }
}
