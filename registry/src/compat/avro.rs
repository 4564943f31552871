//! Avro schema resolution as a compatibility check: the rules of the Avro
//! specification as Apache Avro's Java `SchemaCompatibility` applies them
//! (which is what Confluent runs): field defaults, field and type aliases,
//! numeric promotions (int→long→float→double), string↔bytes, enum defaults,
//! unions on either side, named types and recursion. Logical types compare
//! as their underlying types, as in Java. Each incompatibility carries the
//! Java error type and location so the 409 message reads like Confluent's.

use std::collections::{BTreeSet, HashSet};

use apache_avro::schema::{EnumSchema, RecordSchema, Schema};

use super::Incompatibility;
use crate::formats::avro::{full_name, AvroSchema};

/// The resolution-relevant shape of a schema.
enum Kind<'a> {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Array(&'a Schema),
    Map(&'a Schema),
    Union(&'a [Schema]),
    Record(&'a RecordSchema),
    Enum(&'a EnumSchema),
    Fixed {
        name: Option<String>,
        simple: Option<String>,
        aliases: Vec<String>,
        size: usize,
    },
}

impl Kind<'_> {
    fn type_name(&self) -> &'static str {
        match self {
            Kind::Null => "NULL",
            Kind::Boolean => "BOOLEAN",
            Kind::Int => "INT",
            Kind::Long => "LONG",
            Kind::Float => "FLOAT",
            Kind::Double => "DOUBLE",
            Kind::Bytes => "BYTES",
            Kind::String => "STRING",
            Kind::Array(_) => "ARRAY",
            Kind::Map(_) => "MAP",
            Kind::Union(_) => "UNION",
            Kind::Record(_) => "RECORD",
            Kind::Enum(_) => "ENUM",
            Kind::Fixed { .. } => "FIXED",
        }
    }

    fn same_type(&self, other: &Kind<'_>) -> bool {
        self.type_name() == other.type_name()
    }
}

fn kind<'a>(s: &'a Schema, env: &'a AvroSchema) -> Kind<'a> {
    match env.resolve(s) {
        Schema::Null => Kind::Null,
        Schema::Boolean => Kind::Boolean,
        Schema::Int | Schema::Date | Schema::TimeMillis => Kind::Int,
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => Kind::Long,
        Schema::Float => Kind::Float,
        Schema::Double => Kind::Double,
        Schema::Bytes | Schema::BigDecimal => Kind::Bytes,
        Schema::String | Schema::Uuid => Kind::String,
        Schema::Array(a) => Kind::Array(&a.items),
        Schema::Map(m) => Kind::Map(&m.types),
        Schema::Union(u) => Kind::Union(u.variants()),
        Schema::Record(r) => Kind::Record(r),
        Schema::Enum(e) => Kind::Enum(e),
        Schema::Fixed(f) => Kind::Fixed {
            name: Some(full_name(&f.name)),
            simple: Some(f.name.name.clone()),
            aliases: f
                .aliases
                .iter()
                .flatten()
                .map(|a| a.fullname(None))
                .collect(),
            size: f.size,
        },
        Schema::Duration => Kind::Fixed {
            name: None,
            simple: None,
            aliases: vec![],
            size: 12,
        },
        Schema::Decimal(d) => kind(&d.inner, env),
        // An unresolvable reference cannot survive parsing; treat it as a
        // type nothing matches rather than panic.
        Schema::Ref { .. } => Kind::Null,
    }
}

struct Checker<'a> {
    reader_env: &'a AvroSchema,
    writer_env: &'a AvroSchema,
    /// Record pairs being checked, to stop on recursive types.
    in_progress: HashSet<(String, String)>,
    path: Vec<String>,
    out: Vec<Incompatibility>,
}

const NAME_MISMATCH: &str = "NAME_MISMATCH";
const FIXED_SIZE_MISMATCH: &str = "FIXED_SIZE_MISMATCH";
const MISSING_ENUM_SYMBOLS: &str = "MISSING_ENUM_SYMBOLS";
const READER_FIELD_MISSING_DEFAULT_VALUE: &str = "READER_FIELD_MISSING_DEFAULT_VALUE";
const TYPE_MISMATCH: &str = "TYPE_MISMATCH";
const MISSING_UNION_BRANCH: &str = "MISSING_UNION_BRANCH";

impl<'a> Checker<'a> {
    fn location(&self) -> String {
        format!("/{}", self.path.join("/"))
    }

    fn report(&mut self, error_type: &str, info: String) {
        let path = self.location();
        let description = match error_type {
            FIXED_SIZE_MISMATCH => {
                format!("The size of FIXED type field at path '{path}' in the {{0}} schema does not match with the {{1}} schema")
            }
            TYPE_MISMATCH => {
                format!("The type (path '{path}') of a field in the {{0}} schema does not match with the {{1}} schema")
            }
            NAME_MISMATCH => format!("The name of the schema has changed (path '{path}')"),
            MISSING_ENUM_SYMBOLS => {
                format!("The {{0}} schema is missing enum symbols '{info}' at path '{path}' in the {{1}} schema")
            }
            MISSING_UNION_BRANCH => {
                format!("The {{0}} schema is missing a type inside a union field at path '{path}' in the {{1}} schema")
            }
            READER_FIELD_MISSING_DEFAULT_VALUE => format!(
                "The field '{info}' at path '{path}' in the {{0}} schema has no default value and is missing in the {{1}} schema"
            ),
            _ => String::new(),
        };
        self.out.push(Incompatibility {
            error_type: error_type.to_string(),
            text: format!("{{errorType:'{error_type}', description:'{description}', additionalInfo:'{info}'}}"),
        });
    }

    fn at<T>(&mut self, token: impl Into<String>, f: impl FnOnce(&mut Self) -> T) -> T {
        self.path.push(token.into());
        let r = f(self);
        self.path.pop();
        r
    }

    /// Whether `reader` reads `writer` without reporting (for union branch
    /// selection, which Java does on a scratch result).
    fn compatible(&mut self, reader: &'a Schema, writer: &'a Schema) -> bool {
        let saved_out = std::mem::take(&mut self.out);
        let saved_path = std::mem::take(&mut self.path);
        self.check(reader, writer);
        let ok = self.out.is_empty();
        self.out = saved_out;
        self.path = saved_path;
        ok
    }

    fn check(&mut self, reader: &'a Schema, writer: &'a Schema) {
        let r = kind(reader, self.reader_env);
        let w = kind(writer, self.writer_env);
        if r.same_type(&w) {
            match (r, w) {
                (Kind::Array(ri), Kind::Array(wi)) => self.at("items", |c| c.check(ri, wi)),
                (Kind::Map(rv), Kind::Map(wv)) => self.at("values", |c| c.check(rv, wv)),
                (
                    Kind::Fixed {
                        simple: rs,
                        aliases: ra,
                        size: rsz,
                        ..
                    },
                    Kind::Fixed {
                        name: wn,
                        simple: ws,
                        size: wsz,
                        ..
                    },
                ) => {
                    if rs != ws && !wn.as_ref().is_some_and(|n| ra.contains(n)) {
                        self.at("name", |c| {
                            c.report(
                                NAME_MISMATCH,
                                format!("expected: {}", wn.unwrap_or_default()),
                            )
                        });
                    }
                    if rsz != wsz {
                        self.at("size", |c| {
                            c.report(
                                FIXED_SIZE_MISMATCH,
                                format!("expected: {wsz}, found: {rsz}"),
                            )
                        });
                    }
                }
                (Kind::Enum(re), Kind::Enum(we)) => {
                    let aliases: Vec<String> = re
                        .aliases
                        .iter()
                        .flatten()
                        .map(|a| a.fullname(None))
                        .collect();
                    if re.name.name != we.name.name && !aliases.contains(&full_name(&we.name)) {
                        let expected = full_name(&we.name);
                        self.at("name", |c| {
                            c.report(NAME_MISMATCH, format!("expected: {expected}"))
                        });
                    }
                    let missing: BTreeSet<&String> = we
                        .symbols
                        .iter()
                        .filter(|s| !re.symbols.contains(s))
                        .collect();
                    let default_ok = re.default.as_ref().is_some_and(|d| re.symbols.contains(d));
                    if !missing.is_empty() && !default_ok {
                        let list = missing
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ");
                        self.at("symbols", |c| {
                            c.report(MISSING_ENUM_SYMBOLS, format!("[{list}]"))
                        });
                    }
                }
                (Kind::Record(rr), Kind::Record(wr)) => self.check_records(rr, wr),
                (Kind::Union(_), Kind::Union(wb)) => {
                    for (i, branch) in wb.iter().enumerate() {
                        if !self.compatible(reader, branch) {
                            let t = kind(branch, self.writer_env).type_name();
                            self.at(i.to_string(), |c| {
                                c.report(
                                    MISSING_UNION_BRANCH,
                                    format!("reader union lacking writer type: {t}"),
                                )
                            });
                        }
                    }
                }
                _ => {} // same primitive type
            }
            return;
        }
        // Different types. A writer union is readable if every branch is.
        if let Kind::Union(wb) = w {
            for (i, branch) in wb.iter().enumerate() {
                self.at(i.to_string(), |c| c.check(reader, branch));
            }
            return;
        }
        let promotable = matches!(
            (&r, &w),
            (Kind::Long, Kind::Int)
                | (Kind::Float, Kind::Int | Kind::Long)
                | (Kind::Double, Kind::Int | Kind::Long | Kind::Float)
                | (Kind::Bytes, Kind::String)
                | (Kind::String, Kind::Bytes)
        );
        if promotable {
            return;
        }
        if let Kind::Union(rb) = r {
            if rb.iter().any(|branch| self.compatible(branch, writer)) {
                return;
            }
            let t = w.type_name();
            self.report(
                MISSING_UNION_BRANCH,
                format!("reader union lacking writer type: {t}"),
            );
            return;
        }
        let (rt, wt) = (r.type_name(), w.type_name());
        self.report(
            TYPE_MISMATCH,
            format!("reader type: {rt} not compatible with writer type: {wt}"),
        );
    }

    fn check_records(&mut self, reader: &'a RecordSchema, writer: &'a RecordSchema) {
        let key = (full_name(&reader.name), full_name(&writer.name));
        if !self.in_progress.insert(key.clone()) {
            return; // recursive type: assume compatible, as Java's memo does
        }
        let aliases: Vec<String> = reader
            .aliases
            .iter()
            .flatten()
            .map(|a| a.fullname(None))
            .collect();
        if reader.name.name != writer.name.name && !aliases.contains(&full_name(&writer.name)) {
            let expected = full_name(&writer.name);
            self.at("name", |c| {
                c.report(NAME_MISMATCH, format!("expected: {expected}"))
            });
        }
        for (i, rf) in reader.fields.iter().enumerate() {
            let wf = writer
                .fields
                .iter()
                .find(|wf| wf.name == rf.name)
                .or_else(|| {
                    rf.aliases
                        .iter()
                        .flatten()
                        .find_map(|a| writer.fields.iter().find(|wf| &wf.name == a))
                });
            self.at("fields", |c| {
                c.at(i.to_string(), |c| match wf {
                    Some(wf) => c.at("type", |c| c.check(&rf.schema, &wf.schema)),
                    None => {
                        if rf.default.is_none() {
                            c.report(READER_FIELD_MISSING_DEFAULT_VALUE, rf.name.clone());
                        }
                    }
                })
            });
        }
        self.in_progress.remove(&key);
    }
}

/// Incompatibilities when `reader` reads data written with `writer`.
pub fn check(reader: &AvroSchema, writer: &AvroSchema) -> Vec<Incompatibility> {
    let mut c = Checker {
        reader_env: reader,
        writer_env: writer,
        in_progress: HashSet::new(),
        path: Vec::new(),
        out: Vec::new(),
    };
    c.check(&reader.schema, &writer.schema);
    c.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> AvroSchema {
        AvroSchema::parse(text, &[]).expect(text)
    }

    fn types(reader: &str, writer: &str) -> Vec<String> {
        check(&s(reader), &s(writer))
            .into_iter()
            .map(|i| i.error_type)
            .collect()
    }

    fn rec(fields: &str) -> String {
        format!(r#"{{"type":"record","name":"R","namespace":"n","fields":[{fields}]}}"#)
    }

    #[test]
    fn promotions_and_mismatches() {
        assert!(types(r#""long""#, r#""int""#).is_empty());
        assert!(types(r#""double""#, r#""float""#).is_empty());
        assert!(types(r#""string""#, r#""bytes""#).is_empty());
        assert_eq!(types(r#""int""#, r#""long""#), vec!["TYPE_MISMATCH"]);
        let d = check(&s(r#""int""#), &s(r#""string""#));
        assert_eq!(d[0].render("new", "old"), "{errorType:'TYPE_MISMATCH', description:'The type (path '/') of a field in the new schema does not match with the old schema', additionalInfo:'reader type: INT not compatible with writer type: STRING'}");
    }

    #[test]
    fn fields_defaults_and_aliases() {
        let v1 = rec(r#"{"name":"a","type":"string"}"#);
        assert_eq!(
            types(
                &rec(r#"{"name":"a","type":"string"},{"name":"b","type":"int"}"#),
                &v1
            ),
            vec!["READER_FIELD_MISSING_DEFAULT_VALUE"]
        );
        assert!(types(
            &rec(r#"{"name":"a","type":"string"},{"name":"b","type":"int","default":1}"#),
            &v1
        )
        .is_empty());
        assert!(types(
            &rec(
                r#"{"name":"b","type":["null","int"],"default":null},{"name":"a","type":"string"}"#
            ),
            &v1
        )
        .is_empty());
        // Rename with an alias reads old data; without one it does not.
        assert!(types(&rec(r#"{"name":"z","type":"string","aliases":["a"]}"#), &v1).is_empty());
        assert_eq!(
            types(&rec(r#"{"name":"z","type":"string"}"#), &v1),
            vec!["READER_FIELD_MISSING_DEFAULT_VALUE"]
        );
        // Removing a field is fine for the reader.
        assert!(types(&rec(""), &v1).is_empty());
        // A widened field type.
        assert!(types(
            &rec(r#"{"name":"a","type":"long"}"#),
            &rec(r#"{"name":"a","type":"int"}"#)
        )
        .is_empty());
        let d = check(
            &s(&rec(r#"{"name":"a","type":"int"}"#)),
            &s(&rec(r#"{"name":"a","type":"long"}"#)),
        );
        assert!(d[0].text.contains("/fields/0/type"), "{:?}", d[0]);
    }

    #[test]
    fn named_types_and_aliases() {
        assert_eq!(
            types(
                r#"{"type":"record","name":"A","fields":[]}"#,
                r#"{"type":"record","name":"B","fields":[]}"#
            ),
            vec!["NAME_MISMATCH"]
        );
        assert!(types(
            r#"{"type":"record","name":"A","aliases":["B"],"fields":[]}"#,
            r#"{"type":"record","name":"B","fields":[]}"#
        )
        .is_empty());
        assert_eq!(
            types(
                r#"{"type":"fixed","name":"F","size":4}"#,
                r#"{"type":"fixed","name":"F","size":8}"#
            ),
            vec!["FIXED_SIZE_MISMATCH"]
        );
    }

    #[test]
    fn enums_with_and_without_defaults() {
        let abc = r#"{"type":"enum","name":"E","symbols":["A","B","C"]}"#;
        let ab = r#"{"type":"enum","name":"E","symbols":["A","B"]}"#;
        let ab_default = r#"{"type":"enum","name":"E","symbols":["A","B"],"default":"A"}"#;
        assert!(
            types(abc, ab).is_empty(),
            "adding a symbol: the reader knows every old symbol"
        );
        let d = check(&s(ab), &s(abc));
        assert_eq!(d[0].error_type, "MISSING_ENUM_SYMBOLS");
        assert!(d[0].text.contains("additionalInfo:'[C]'"), "{:?}", d[0]);
        assert!(
            types(ab_default, abc).is_empty(),
            "the reader's default covers unknown symbols"
        );
    }

    #[test]
    fn unions() {
        assert!(types(r#"["null","string"]"#, r#""string""#).is_empty());
        assert_eq!(
            types(r#""string""#, r#"["null","string"]"#),
            vec!["TYPE_MISMATCH"]
        );
        assert_eq!(
            types(r#"["null","int"]"#, r#"["null","string"]"#),
            vec!["MISSING_UNION_BRANCH"]
        );
        assert!(types(r#"["null","string","int"]"#, r#"["null","string"]"#).is_empty());
        assert!(types(r#"["null","long"]"#, r#"["null","int"]"#).is_empty());
        assert_eq!(
            types(r#"["null","int"]"#, r#""string""#),
            vec!["MISSING_UNION_BRANCH"]
        );
    }

    #[test]
    fn recursive_types_terminate() {
        let list = r#"{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","Node"],"default":null}]}"#;
        assert!(types(list, list).is_empty());
    }
}
