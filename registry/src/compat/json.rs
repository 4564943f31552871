//! JSON Schema compatibility after Confluent's `SchemaDiff`: walk the writer
//! ("original") and reader ("update") schemas side by side, record each
//! difference by type, and call the change incompatible unless its type is
//! in Confluent's list of compatible changes. The notions that decide most
//! cases: an *open content model* (no `additionalProperties`/
//! `patternProperties` restriction) lets old data carry any property, so a
//! reader adding a typed property to an open model is incompatible, while
//! adding one to a closed model is fine unless it is required without a
//! default; making an optional property required is incompatible;
//! widening a number to allow non-integers, extending an enum or a sum type
//! (anyOf/oneOf), and relaxing limits are compatible.
//!
//! Not modelled: `dependencies`/`dependentSchemas`, `if`/`then`/`else` and
//! `contains` are compared by equality only (any change is reported as a
//! type change).

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::Incompatibility;
use crate::formats::json::JsonSchema;

/// `$ref`s are inlined up to this depth; deeper (recursive) schemas compare
/// as empty, i.e. compatible.
const MAX_REF_DEPTH: usize = 24;
/// At most this many JSON values are produced by inlining, so a schema whose
/// references fan out cannot make a compatibility check exhaust memory;
/// beyond it, the rest compares as empty.
const MAX_INLINED_NODES: usize = 200_000;

fn inline<'a>(
    schema: &'a JsonSchema,
    root: &'a Value,
    v: &'a Value,
    depth: usize,
    budget: &mut usize,
) -> Value {
    if *budget == 0 {
        return Value::Object(Map::new());
    }
    *budget -= 1;
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                if depth >= MAX_REF_DEPTH {
                    return Value::Object(Map::new());
                }
                if let Some((doc, target)) = schema.resolve_ref(root, r) {
                    return inline(schema, doc, target, depth + 1, budget);
                }
                return v.clone();
            }
            Value::Object(
                m.iter()
                    .map(|(k, c)| (k.clone(), inline(schema, root, c, depth, budget)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|c| inline(schema, root, c, depth, budget))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Criterion {
    All,
    Any,
    One,
}

#[derive(Debug)]
enum Kind {
    Empty,
    False,
    Combined(Criterion, Vec<Value>),
    Object,
    Array,
    Str,
    Number { integer: bool },
    Boolean,
    Null,
    Enum(Vec<Value>),
    Const(Value),
    Not(Value),
}

impl Kind {
    fn class(&self) -> u8 {
        match self {
            Kind::Empty => 0,
            Kind::False => 1,
            Kind::Combined(..) => 2,
            Kind::Object => 3,
            Kind::Array => 4,
            Kind::Str => 5,
            Kind::Number { .. } => 6,
            Kind::Boolean => 7,
            Kind::Null => 8,
            Kind::Enum(_) => 9,
            Kind::Const(_) => 10,
            Kind::Not(_) => 11,
        }
    }
}

const OBJECT_KEYWORDS: &[&str] = &[
    "properties",
    "required",
    "additionalProperties",
    "patternProperties",
    "minProperties",
    "maxProperties",
];
const ARRAY_KEYWORDS: &[&str] = &[
    "items",
    "prefixItems",
    "additionalItems",
    "minItems",
    "maxItems",
    "uniqueItems",
];
const STRING_KEYWORDS: &[&str] = &["minLength", "maxLength", "pattern"];
const NUMBER_KEYWORDS: &[&str] = &[
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
];

fn kind_of_type(t: &str) -> Kind {
    match t {
        "object" => Kind::Object,
        "array" => Kind::Array,
        "string" => Kind::Str,
        "number" => Kind::Number { integer: false },
        "integer" => Kind::Number { integer: true },
        "boolean" => Kind::Boolean,
        "null" => Kind::Null,
        _ => Kind::Empty,
    }
}

/// The schema's kind, as everit (Confluent's JSON Schema library) would
/// load it: combinators first, then enum/const/not, then `type`, then the
/// keywords present.
fn kind(v: &Value) -> Kind {
    let m = match v {
        Value::Bool(true) => return Kind::Empty,
        Value::Bool(false) => return Kind::False,
        Value::Object(m) => m,
        _ => return Kind::Empty,
    };
    for (kw, c) in [
        ("allOf", Criterion::All),
        ("anyOf", Criterion::Any),
        ("oneOf", Criterion::One),
    ] {
        if let Some(Value::Array(subs)) = m.get(kw) {
            return Kind::Combined(c, subs.clone());
        }
    }
    if let Some(Value::Array(vals)) = m.get("enum") {
        return Kind::Enum(vals.clone());
    }
    if let Some(c) = m.get("const") {
        return Kind::Const(c.clone());
    }
    if let Some(n) = m.get("not") {
        return Kind::Not(n.clone());
    }
    match m.get("type") {
        Some(Value::String(t)) => return kind_of_type(t),
        Some(Value::Array(ts)) if ts.len() == 1 => {
            if let Some(Value::String(t)) = ts.first() {
                return kind_of_type(t);
            }
        }
        Some(Value::Array(ts)) => {
            // A multi-type schema is a sum of single-type schemas that share
            // the other keywords.
            let subs = ts
                .iter()
                .map(|t| {
                    let mut sub = m.clone();
                    sub.insert("type".into(), t.clone());
                    Value::Object(sub)
                })
                .collect();
            return Kind::Combined(Criterion::Any, subs);
        }
        _ => {}
    }
    let has = |kws: &[&str]| kws.iter().any(|k| m.contains_key(*k));
    if has(OBJECT_KEYWORDS) {
        Kind::Object
    } else if has(ARRAY_KEYWORDS) {
        Kind::Array
    } else if has(STRING_KEYWORDS) {
        Kind::Str
    } else if has(NUMBER_KEYWORDS) {
        Kind::Number { integer: false }
    } else {
        Kind::Empty
    }
}

/// Difference types Confluent treats as compatible.
const COMPATIBLE: &[&str] = &[
    "ID_CHANGED",
    "DESCRIPTION_CHANGED",
    "TITLE_CHANGED",
    "DEFAULT_CHANGED",
    "SCHEMA_REMOVED",
    "TYPE_EXTENDED",
    "MAX_LENGTH_INCREASED",
    "MAX_LENGTH_REMOVED",
    "MIN_LENGTH_DECREASED",
    "MIN_LENGTH_REMOVED",
    "PATTERN_REMOVED",
    "MAXIMUM_INCREASED",
    "MAXIMUM_REMOVED",
    "MINIMUM_DECREASED",
    "MINIMUM_REMOVED",
    "EXCLUSIVE_MAXIMUM_INCREASED",
    "EXCLUSIVE_MAXIMUM_REMOVED",
    "EXCLUSIVE_MINIMUM_DECREASED",
    "EXCLUSIVE_MINIMUM_REMOVED",
    "MULTIPLE_OF_REDUCED",
    "MULTIPLE_OF_REMOVED",
    "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED",
    "REQUIRED_ATTRIBUTE_REMOVED",
    "DEPENDENCY_ARRAY_NARROWED",
    "DEPENDENCY_ARRAY_REMOVED",
    "DEPENDENCY_SCHEMA_REMOVED",
    "MAX_PROPERTIES_INCREASED",
    "MAX_PROPERTIES_REMOVED",
    "MIN_PROPERTIES_DECREASED",
    "MIN_PROPERTIES_REMOVED",
    "ADDITIONAL_PROPERTIES_ADDED",
    "ADDITIONAL_PROPERTIES_EXTENDED",
    "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
    "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL",
    "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
    "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
    "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
    "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "MAX_ITEMS_INCREASED",
    "MAX_ITEMS_REMOVED",
    "MIN_ITEMS_DECREASED",
    "MIN_ITEMS_REMOVED",
    "UNIQUE_ITEMS_REMOVED",
    "ADDITIONAL_ITEMS_ADDED",
    "ADDITIONAL_ITEMS_EXTENDED",
    "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
    "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL",
    "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
    "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL",
    "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "ENUM_ARRAY_EXTENDED",
    "COMBINED_TYPE_EXTENDED",
    "PRODUCT_TYPE_NARROWED",
    "SUM_TYPE_EXTENDED",
    "NOT_TYPE_NARROWED",
];

fn is_compatible(t: &str) -> bool {
    COMPATIBLE.contains(&t)
}

/// Confluent's description template for a difference type at `path`.
fn describe(t: &str, path: &str) -> String {
    const KEYWORD_ADDED_OR_REMOVED: &[&str] = &[
        "MAXIMUM_ADDED",
        "MINIMUM_ADDED",
        "EXCLUSIVE_MAXIMUM_ADDED",
        "EXCLUSIVE_MINIMUM_ADDED",
        "MULTIPLE_OF_ADDED",
        "MAX_LENGTH_ADDED",
        "MIN_LENGTH_ADDED",
        "PATTERN_ADDED",
        "REQUIRED_ATTRIBUTE_ADDED",
        "MAX_PROPERTIES_ADDED",
        "MIN_PROPERTIES_ADDED",
        "DEPENDENCY_ARRAY_ADDED",
        "DEPENDENCY_SCHEMA_ADDED",
        "MAX_ITEMS_ADDED",
        "MIN_ITEMS_ADDED",
        "UNIQUE_ITEMS_ADDED",
        "ADDITIONAL_ITEMS_REMOVED",
        "ADDITIONAL_PROPERTIES_REMOVED",
    ];
    const VALUE_INCREASED: &[&str] = &[
        "MIN_LENGTH_INCREASED",
        "MINIMUM_INCREASED",
        "EXCLUSIVE_MINIMUM_INCREASED",
        "MIN_PROPERTIES_INCREASED",
        "MULTIPLE_OF_EXPANDED",
        "MIN_ITEMS_INCREASED",
    ];
    const VALUE_DECREASED: &[&str] = &[
        "MAX_LENGTH_DECREASED",
        "MAXIMUM_DECREASED",
        "MAX_ITEMS_DECREASED",
        "EXCLUSIVE_MAXIMUM_DECREASED",
        "MAX_PROPERTIES_DECREASED",
    ];
    const TYPE_NARROWED: &[&str] = &[
        "ADDITIONAL_ITEMS_NARROWED",
        "ENUM_ARRAY_NARROWED",
        "SUM_TYPE_NARROWED",
        "ADDITIONAL_PROPERTIES_NARROWED",
    ];
    const VALUE_CHANGED: &[&str] = &[
        "PATTERN_CHANGED",
        "MULTIPLE_OF_CHANGED",
        "DEPENDENCY_ARRAY_CHANGED",
    ];
    const TYPE_CHANGED: &[&str] = &[
        "TYPE_CHANGED",
        "TYPE_NARROWED",
        "COMBINED_TYPE_CHANGED",
        "COMBINED_TYPE_SUBSCHEMAS_CHANGED",
        "ENUM_ARRAY_CHANGED",
    ];
    const TYPE_EXTENDED: &[&str] = &[
        "DEPENDENCY_ARRAY_EXTENDED",
        "PRODUCT_TYPE_EXTENDED",
        "SUM_TYPE_EXTENDED",
        "NOT_TYPE_EXTENDED",
    ];
    if KEYWORD_ADDED_OR_REMOVED.contains(&t) {
        format!(
            "The keyword at path '{path}' in the {{0}} schema is not present in the {{1}} schema"
        )
    } else if VALUE_INCREASED.contains(&t) {
        format!("The value at path '{path}' in the {{0}} schema is more than its value in the {{1}} schema")
    } else if VALUE_DECREASED.contains(&t) {
        format!("The value at path '{path}' in the {{0}} schema is less than its value in the {{1}} schema")
    } else if VALUE_CHANGED.contains(&t) {
        format!("The value at path '{path}' is different between the {{0}} and {{1}} schema")
    } else if TYPE_NARROWED.contains(&t) {
        format!("An array or combined type at path '{path}' has fewer elements in the {{0}} schema than the {{1}} schema")
    } else if TYPE_EXTENDED.contains(&t) {
        format!("An array or combined type at path '{path}' has more elements in the {{0}} schema than the {{1}} schema")
    } else if TYPE_CHANGED.contains(&t) {
        format!(
            "A type at path '{path}' is different between the {{0}} schema and the {{1}} schema"
        )
    } else {
        match t {
            "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL" | "ITEM_ADDED_TO_OPEN_CONTENT_MODEL" => format!(
                "The {{0}} schema has an open content model and has a property or item at path '{path}' which is missing in the {{1}} schema"
            ),
            "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL" => format!(
                "The {{0}} schema has an unopen content model and has a required property at path '{path}' which is missing in the {{1}} schema"
            ),
            "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL" | "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL" => format!(
                "The {{0}} has a closed content model and is missing a property or item present at path '{path}' in the {{1}} schema"
            ),
            "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            | "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" => format!(
                "A property or item is missing in the {{0}} schema but present at path '{path}' in the {{1}} schema and is not covered by its partially open content model"
            ),
            "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            | "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" => format!(
                "The {{0}} schema has a property or item at path '{path}' which is missing in the {{1}} schema and is not covered by its partially open content model"
            ),
            _ => String::new(),
        }
    }
}

#[derive(Default)]
struct Ctx {
    path: Vec<String>,
    diffs: Vec<(String, String)>,
}

impl Ctx {
    fn add(&mut self, t: &str) {
        self.diffs
            .push((t.to_string(), format!("#/{}", self.path.join("/"))));
    }

    fn add_at(&mut self, attr: &str, t: &str) {
        self.path.push(attr.to_string());
        self.add(t);
        self.path.pop();
    }

    fn at(&mut self, token: &str, f: impl FnOnce(&mut Ctx)) {
        self.path.push(token.to_string());
        f(self);
        self.path.pop();
    }

    fn sub(&self) -> Ctx {
        Ctx {
            path: self.path.clone(),
            diffs: Vec::new(),
        }
    }

    fn compatible(&self) -> bool {
        self.diffs.iter().all(|(t, _)| is_compatible(t))
    }
}

fn num(m: &Map<String, Value>, k: &str) -> Option<f64> {
    m.get(k).and_then(Value::as_f64)
}

fn obj(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// Compares an upper bound (`max*`): adding or lowering it rejects old data.
fn compare_max(
    ctx: &mut Ctx,
    o: &Map<String, Value>,
    u: &Map<String, Value>,
    key: &str,
    prefix: &str,
) {
    match (num(o, key), num(u, key)) {
        (None, Some(_)) => ctx.add_at(key, &format!("{prefix}_ADDED")),
        (Some(_), None) => ctx.add_at(key, &format!("{prefix}_REMOVED")),
        (Some(a), Some(b)) if b > a => ctx.add_at(key, &format!("{prefix}_INCREASED")),
        (Some(a), Some(b)) if b < a => ctx.add_at(key, &format!("{prefix}_DECREASED")),
        _ => {}
    }
}

/// Lower bounds (`min*`) are reported with the same names; which changes
/// are compatible is settled by [`COMPATIBLE`].
fn compare_min(
    ctx: &mut Ctx,
    o: &Map<String, Value>,
    u: &Map<String, Value>,
    key: &str,
    prefix: &str,
) {
    compare_max(ctx, o, u, key, prefix)
}

fn compare(ctx: &mut Ctx, original: &Value, update: &Value) {
    let ok = kind(original);
    let uk = kind(update);
    if !matches!(ok, Kind::Combined(..)) {
        if let Kind::Combined(c, subs) = &uk {
            if subs.len() == 1 {
                let mut sub = ctx.sub();
                compare(&mut sub, original, &subs[0]);
                if sub.compatible() {
                    ctx.diffs.extend(sub.diffs);
                    return;
                }
            } else if matches!(c, Criterion::Any | Criterion::One) {
                for s in subs {
                    let mut sub = ctx.sub();
                    compare(&mut sub, original, s);
                    if sub.compatible() {
                        ctx.diffs.extend(sub.diffs);
                        ctx.add("SUM_TYPE_EXTENDED");
                        return;
                    }
                }
            }
        }
    } else if !matches!(uk, Kind::Combined(..)) {
        if let Kind::Combined(c, subs) = &ok {
            if subs.len() == 1 {
                let mut sub = ctx.sub();
                compare(&mut sub, &subs[0], update);
                if sub.compatible() {
                    ctx.diffs.extend(sub.diffs);
                    return;
                }
            } else if *c == Criterion::All {
                for s in subs {
                    let mut sub = ctx.sub();
                    compare(&mut sub, s, update);
                    if sub.compatible() {
                        ctx.diffs.extend(sub.diffs);
                        ctx.add("PRODUCT_TYPE_NARROWED");
                        return;
                    }
                }
            }
        }
    }
    if ok.class() != uk.class() {
        if matches!(ok, Kind::False) || matches!(uk, Kind::Empty) {
            return;
        }
        let bytes = |v: &Value| v.get("connect.type").and_then(Value::as_str) == Some("bytes");
        if bytes(original) && bytes(update) {
            return;
        }
        ctx.add("TYPE_CHANGED");
        return;
    }
    let (o, u) = (obj(original), obj(update));
    for (k, t) in [
        ("$id", "ID_CHANGED"),
        ("title", "TITLE_CHANGED"),
        ("description", "DESCRIPTION_CHANGED"),
        ("default", "DEFAULT_CHANGED"),
    ] {
        if o.get(k) != u.get(k) {
            ctx.add(t);
        }
    }
    match (ok, uk) {
        (Kind::Str, Kind::Str) => {
            compare_max(ctx, &o, &u, "maxLength", "MAX_LENGTH");
            compare_min(ctx, &o, &u, "minLength", "MIN_LENGTH");
            match (o.get("pattern"), u.get("pattern")) {
                (None, Some(_)) => ctx.add_at("pattern", "PATTERN_ADDED"),
                (Some(_), None) => ctx.add_at("pattern", "PATTERN_REMOVED"),
                (Some(a), Some(b)) if a != b => ctx.add_at("pattern", "PATTERN_CHANGED"),
                _ => {}
            }
        }
        (Kind::Number { integer: oi }, Kind::Number { integer: ui }) => {
            if oi && !ui {
                ctx.add("TYPE_EXTENDED");
            } else if !oi && ui {
                ctx.add("TYPE_NARROWED");
            }
            compare_max(ctx, &o, &u, "maximum", "MAXIMUM");
            compare_min(ctx, &o, &u, "minimum", "MINIMUM");
            compare_max(ctx, &o, &u, "exclusiveMaximum", "EXCLUSIVE_MAXIMUM");
            compare_min(ctx, &o, &u, "exclusiveMinimum", "EXCLUSIVE_MINIMUM");
            match (num(&o, "multipleOf"), num(&u, "multipleOf")) {
                (None, Some(_)) => ctx.add_at("multipleOf", "MULTIPLE_OF_ADDED"),
                (Some(_), None) => ctx.add_at("multipleOf", "MULTIPLE_OF_REMOVED"),
                (Some(a), Some(b)) if a != b => {
                    let t = if b != 0.0 && (a / b).fract() == 0.0 {
                        "MULTIPLE_OF_REDUCED"
                    } else if a != 0.0 && (b / a).fract() == 0.0 {
                        "MULTIPLE_OF_EXPANDED"
                    } else {
                        "MULTIPLE_OF_CHANGED"
                    };
                    ctx.add_at("multipleOf", t);
                }
                _ => {}
            }
        }
        (Kind::Enum(a), Kind::Enum(b)) => {
            let has_all = |x: &[Value], y: &[Value]| y.iter().all(|v| x.contains(v));
            if a != b {
                if has_all(&b, &a) {
                    ctx.add("ENUM_ARRAY_EXTENDED");
                } else if has_all(&a, &b) {
                    ctx.add("ENUM_ARRAY_NARROWED");
                } else {
                    ctx.add("ENUM_ARRAY_CHANGED");
                }
            }
        }
        (Kind::Const(a), Kind::Const(b)) if a != b => ctx.add("ENUM_ARRAY_CHANGED"),
        (Kind::Not(a), Kind::Not(b)) if a != b => {
            let mut sub = ctx.sub();
            compare(&mut sub, &b, &a);
            ctx.add(if sub.compatible() {
                "NOT_TYPE_NARROWED"
            } else {
                "NOT_TYPE_EXTENDED"
            });
        }
        (Kind::Combined(oc, osubs), Kind::Combined(uc, usubs)) => {
            compare_combined(ctx, oc, &osubs, uc, &usubs)
        }
        (Kind::Object, Kind::Object) => compare_objects(ctx, &o, &u),
        (Kind::Array, Kind::Array) => compare_arrays(ctx, &o, &u),
        _ => {}
    }
    for k in [
        "if",
        "then",
        "else",
        "contains",
        "dependentSchemas",
        "dependencies",
    ] {
        if o.get(k) != u.get(k) {
            ctx.add_at(k, "TYPE_CHANGED");
        }
    }
}

fn compare_combined(ctx: &mut Ctx, oc: Criterion, osubs: &[Value], uc: Criterion, usubs: &[Value]) {
    if oc != uc {
        ctx.add("COMBINED_TYPE_CHANGED");
        return;
    }
    let sum = matches!(oc, Criterion::Any | Criterion::One);
    if usubs.len() > osubs.len() {
        ctx.add(if sum {
            "SUM_TYPE_EXTENDED"
        } else {
            "PRODUCT_TYPE_EXTENDED"
        });
    } else if usubs.len() < osubs.len() {
        ctx.add(if sum {
            "SUM_TYPE_NARROWED"
        } else {
            "PRODUCT_TYPE_NARROWED"
        });
    }
    // Pair every member of the smaller side with a distinct member of the
    // larger side that it is compatible with (original → update).
    let (small_is_orig, small, large) = if osubs.len() <= usubs.len() {
        (true, osubs, usubs)
    } else {
        (false, usubs, osubs)
    };
    let mut used = HashSet::new();
    let mut collected = Vec::new();
    for s in small {
        let found = large.iter().enumerate().find_map(|(i, l)| {
            if used.contains(&i) {
                return None;
            }
            let mut sub = ctx.sub();
            if small_is_orig {
                compare(&mut sub, s, l);
            } else {
                compare(&mut sub, l, s);
            }
            sub.compatible().then_some((i, sub.diffs))
        });
        match found {
            Some((i, d)) => {
                used.insert(i);
                collected.extend(d);
            }
            None => {
                ctx.add("COMBINED_TYPE_SUBSCHEMAS_CHANGED");
                return;
            }
        }
    }
    ctx.diffs.extend(collected);
}

fn is_open(m: &Map<String, Value>) -> bool {
    let no_patterns = m
        .get("patternProperties")
        .and_then(Value::as_object)
        .is_none_or(|p| p.is_empty());
    no_patterns
        && matches!(
            m.get("additionalProperties"),
            None | Some(Value::Bool(true))
        )
}

fn permits_additional(m: &Map<String, Value>) -> bool {
    !matches!(m.get("additionalProperties"), Some(Value::Bool(false)))
}

fn additional_schema(m: &Map<String, Value>) -> Option<&Value> {
    m.get("additionalProperties").filter(|v| v.is_object())
}

/// The schema a partially open model gives `name`: the first matching
/// pattern property, else the additional-properties schema.
fn partial_schema(m: &Map<String, Value>, name: &str) -> Option<Value> {
    if let Some(Value::Object(pats)) = m.get("patternProperties") {
        for (pat, s) in pats {
            if regex_lite_match(pat, name) {
                return Some(s.clone());
            }
        }
    }
    additional_schema(m).cloned()
}

/// Pattern matching through the jsonschema crate (ECMA-262 regexes), so a
/// pattern property applies exactly as validation would apply it.
fn regex_lite_match(pattern: &str, name: &str) -> bool {
    let schema = serde_json::json!({ "pattern": pattern });
    jsonschema::is_valid(&schema, &Value::String(name.to_string()))
}

fn props(m: &Map<String, Value>) -> Map<String, Value> {
    m.get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn required(m: &Map<String, Value>) -> Vec<String> {
    m.get("required")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn has_default(v: &Value) -> bool {
    v.as_object().is_some_and(|m| m.contains_key("default"))
}

fn compare_objects(ctx: &mut Ctx, o: &Map<String, Value>, u: &Map<String, Value>) {
    let (op, up) = (props(o), props(u));
    let (oreq, ureq) = (required(o), required(u));
    ctx.at("required", |ctx| {
        for k in op.keys() {
            if let Some(us) = up.get(k) {
                let (was, is) = (oreq.contains(k), ureq.contains(k));
                if was && !is {
                    ctx.add_at(k, "REQUIRED_ATTRIBUTE_REMOVED");
                } else if !was && is {
                    ctx.add_at(
                        k,
                        if has_default(us) {
                            "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED"
                        } else {
                            "REQUIRED_ATTRIBUTE_ADDED"
                        },
                    );
                }
            }
        }
    });
    ctx.at("properties", |ctx| {
        let mut keys: Vec<&String> = op.keys().chain(up.keys()).collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            ctx.at(k, |ctx| match (op.get(k), up.get(k)) {
                (Some(os), None) => {
                    if is_open(u) {
                        ctx.add("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL");
                    } else if let Some(p) = partial_schema(u, k) {
                        let mut sub = ctx.sub();
                        compare(&mut sub, os, &p);
                        let covered = sub.compatible();
                        ctx.diffs.extend(sub.diffs);
                        ctx.add(if covered {
                            "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                        } else {
                            "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                        });
                    } else if os == &Value::Bool(false) {
                        ctx.add("PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL");
                    } else {
                        ctx.add("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL");
                    }
                }
                (None, Some(us)) => {
                    if is_open(o) {
                        let empty = matches!(kind(us), Kind::Empty);
                        ctx.add(if empty {
                            "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"
                        } else {
                            "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"
                        });
                    } else {
                        if let Some(p) = partial_schema(o, k) {
                            let mut sub = ctx.sub();
                            compare(&mut sub, &p, us);
                            let covered = sub.compatible();
                            ctx.diffs.extend(sub.diffs);
                            ctx.add(if covered {
                                "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                            } else {
                                "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                            });
                        }
                        if ureq.contains(k) {
                            ctx.add(if has_default(us) {
                                "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL"
                            } else {
                                "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"
                            });
                        } else {
                            ctx.add("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL");
                        }
                    }
                }
                (Some(os), Some(us)) => compare(ctx, os, us),
                (None, None) => {}
            });
        }
    });
    ctx.at("additionalProperties", |ctx| {
        if permits_additional(o) != permits_additional(u) {
            ctx.add(if permits_additional(u) {
                "ADDITIONAL_PROPERTIES_ADDED"
            } else {
                "ADDITIONAL_PROPERTIES_REMOVED"
            });
        } else {
            match (additional_schema(o), additional_schema(u)) {
                (None, Some(_)) => ctx.add("ADDITIONAL_PROPERTIES_NARROWED"),
                (Some(_), None) => ctx.add("ADDITIONAL_PROPERTIES_EXTENDED"),
                (Some(a), Some(b)) => compare(ctx, a, b),
                (None, None) => {}
            }
        }
    });
    compare_max(ctx, o, u, "maxProperties", "MAX_PROPERTIES");
    compare_min(ctx, o, u, "minProperties", "MIN_PROPERTIES");
}

fn compare_arrays(ctx: &mut Ctx, o: &Map<String, Value>, u: &Map<String, Value>) {
    compare_max(ctx, o, u, "maxItems", "MAX_ITEMS");
    compare_min(ctx, o, u, "minItems", "MIN_ITEMS");
    let unique = |m: &Map<String, Value>| {
        m.get("uniqueItems")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    if !unique(o) && unique(u) {
        ctx.add_at("uniqueItems", "UNIQUE_ITEMS_ADDED");
    } else if unique(o) && !unique(u) {
        ctx.add_at("uniqueItems", "UNIQUE_ITEMS_REMOVED");
    }
    // Tuples: draft 2020-12 `prefixItems`, or an `items` array before it.
    let tuple = |m: &Map<String, Value>| -> Option<Vec<Value>> {
        m.get("prefixItems")
            .or_else(|| m.get("items").filter(|v| v.is_array()))
            .and_then(|v| v.as_array().cloned())
    };
    let rest = |m: &Map<String, Value>| -> Option<Value> {
        if m.contains_key("prefixItems") {
            m.get("items").cloned()
        } else if m.get("items").is_some_and(Value::is_array) {
            m.get("additionalItems").cloned()
        } else {
            None
        }
    };
    match (tuple(o), tuple(u)) {
        (None, None) => {
            let (oi, ui) = (o.get("items"), u.get("items"));
            ctx.at("items", |ctx| match (oi, ui) {
                (Some(a), Some(b)) => compare(ctx, a, b),
                (None, Some(b)) => {
                    if !matches!(kind(b), Kind::Empty) {
                        ctx.add("TYPE_CHANGED");
                    }
                }
                (Some(_), None) => ctx.add("TYPE_EXTENDED"),
                (None, None) => {}
            });
        }
        (Some(ot), Some(ut)) => {
            let open = |r: &Option<Value>| !matches!(r, Some(Value::Bool(false)));
            let (orest, urest) = (rest(o), rest(u));
            for i in 0..ot.len().max(ut.len()) {
                ctx.at("items", |ctx| {
                    ctx.at(&i.to_string(), |ctx| match (ot.get(i), ut.get(i)) {
                        (Some(a), Some(b)) => compare(ctx, a, b),
                        (Some(_), None) => ctx.add(if open(&urest) {
                            "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL"
                        } else {
                            "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL"
                        }),
                        (None, Some(_)) => ctx.add(if open(&orest) {
                            "ITEM_ADDED_TO_OPEN_CONTENT_MODEL"
                        } else {
                            "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL"
                        }),
                        (None, None) => {}
                    })
                });
            }
            if open(&orest) != open(&urest) {
                ctx.add_at(
                    "additionalItems",
                    if open(&urest) {
                        "ADDITIONAL_ITEMS_ADDED"
                    } else {
                        "ADDITIONAL_ITEMS_REMOVED"
                    },
                );
            }
        }
        _ => ctx.add_at("items", "TYPE_CHANGED"),
    }
}

/// Incompatibilities when `reader` reads data valid under `writer`.
pub fn check(reader: &JsonSchema, writer: &JsonSchema) -> Vec<Incompatibility> {
    let original = inline(
        writer,
        &writer.value,
        &writer.value,
        0,
        &mut MAX_INLINED_NODES.clone(),
    );
    let update = inline(
        reader,
        &reader.value,
        &reader.value,
        0,
        &mut MAX_INLINED_NODES.clone(),
    );
    let mut ctx = Ctx::default();
    compare(&mut ctx, &original, &update);
    ctx.diffs
        .into_iter()
        .filter(|(t, _)| !is_compatible(t))
        .map(|(t, path)| Incompatibility {
            text: format!(
                "{{errorType:\"{t}\", description:\"{}'}}",
                describe(&t, &path)
            ),
            error_type: t,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> JsonSchema {
        JsonSchema::parse(text, &[]).expect(text)
    }

    /// Error types when `new` reads data written under `old`.
    fn backward(new: &str, old: &str) -> Vec<String> {
        check(&s(new), &s(old))
            .into_iter()
            .map(|i| i.error_type)
            .collect()
    }

    const OPEN_A: &str = r#"{"type":"object","properties":{"a":{"type":"string"}}}"#;
    const CLOSED_A: &str =
        r#"{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}"#;

    #[test]
    fn properties_and_content_models() {
        // Open model: old data may already carry any "b".
        assert_eq!(
            backward(
                r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}}}"#,
                OPEN_A
            ),
            vec!["PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"]
        );
        // Closed model: an optional new property is fine, a required one is not.
        assert!(backward(
            r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"additionalProperties":false}"#,
            CLOSED_A
        )
        .is_empty());
        assert_eq!(
            backward(
                r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"required":["b"],"additionalProperties":false}"#,
                CLOSED_A
            ),
            vec!["REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"]
        );
        // Removing a property from a closed reader rejects old data that has it.
        assert_eq!(
            backward(
                r#"{"type":"object","properties":{},"additionalProperties":false}"#,
                CLOSED_A
            ),
            vec!["PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"]
        );
        assert!(backward(r#"{"type":"object","properties":{}}"#, OPEN_A).is_empty());
    }

    #[test]
    fn optional_and_required() {
        let req = r#"{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}"#;
        assert_eq!(backward(req, OPEN_A), vec!["REQUIRED_ATTRIBUTE_ADDED"]);
        assert!(
            backward(OPEN_A, req).is_empty(),
            "dropping required is compatible"
        );
        let req_default = r#"{"type":"object","properties":{"a":{"type":"string","default":"x"}},"required":["a"]}"#;
        assert!(!backward(req_default, OPEN_A).contains(&"REQUIRED_ATTRIBUTE_ADDED".to_string()));
    }

    #[test]
    fn types_enums_and_limits() {
        assert!(backward(r#"{"type":"number"}"#, r#"{"type":"integer"}"#).is_empty());
        assert_eq!(
            backward(r#"{"type":"integer"}"#, r#"{"type":"number"}"#),
            vec!["TYPE_NARROWED"]
        );
        assert_eq!(
            backward(r#"{"type":"string"}"#, r#"{"type":"integer"}"#),
            vec!["TYPE_CHANGED"]
        );
        assert!(backward(r#"{"type":["string","null"]}"#, r#"{"type":"string"}"#).is_empty());
        assert_eq!(
            backward(r#"{"type":"string"}"#, r#"{"type":["string","null"]}"#),
            vec!["TYPE_CHANGED"]
        );
        assert!(backward(r#"{"enum":["a","b","c"]}"#, r#"{"enum":["a","b"]}"#).is_empty());
        assert_eq!(
            backward(r#"{"enum":["a"]}"#, r#"{"enum":["a","b"]}"#),
            vec!["ENUM_ARRAY_NARROWED"]
        );
        assert_eq!(
            backward(r#"{"type":"string","maxLength":5}"#, r#"{"type":"string"}"#),
            vec!["MAX_LENGTH_ADDED"]
        );
        assert!(backward(
            r#"{"type":"string","maxLength":10}"#,
            r#"{"type":"string","maxLength":5}"#
        )
        .is_empty());
        assert!(backward(
            r#"{"oneOf":[{"type":"string"},{"type":"integer"}]}"#,
            r#"{"oneOf":[{"type":"string"}]}"#
        )
        .is_empty());
        assert_eq!(
            backward(
                r#"{"oneOf":[{"type":"string"}]}"#,
                r#"{"oneOf":[{"type":"string"},{"type":"integer"}]}"#
            ),
            vec!["SUM_TYPE_NARROWED"]
        );
    }

    #[test]
    fn messages_follow_confluent() {
        let d = check(&s(r#"{"type":"integer"}"#), &s(r#"{"type":"string"}"#));
        assert_eq!(
            d[0].render("new", "old"),
            "{errorType:\"TYPE_CHANGED\", description:\"A type at path '#/' is different between the new schema and the old schema'}"
        );
    }

    #[test]
    fn local_refs_are_followed_and_recursion_terminates() {
        let a = r##"{"type":"object","definitions":{"n":{"type":"string"}},"properties":{"x":{"$ref":"#/definitions/n"}}}"##;
        let b = r##"{"type":"object","definitions":{"n":{"type":"integer"}},"properties":{"x":{"$ref":"#/definitions/n"}}}"##;
        assert_eq!(backward(b, a), vec!["TYPE_CHANGED"]);
        let tree =
            r##"{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#"}}}}"##;
        assert!(backward(tree, tree).is_empty());
    }
}
