//! `org.apache.kafka.connect.data.Values`: the string form of Connect values
//! (`convertToString`, used by SimpleHeaderConverter) and the inverse parser
//! (`parseString`, used by InsertHeader and SimpleHeaderConverter), plus the
//! lenient number conversions MaskField relies on.

use super::date_format::{SimpleDateFormat, ISO_8601_DATE, ISO_8601_TIME, ISO_8601_TIMESTAMP};
use super::{
    javafmt, logical, BigDecimal, DataError, Schema, SchemaAndValue, SchemaBuilder, Type, Value,
};
use base64::Engine;

/// `Values.convertToString(schema, value)`; `None` for null.
pub fn convert_to_string(value: &Value) -> Option<String> {
    if value.is_null() {
        return None;
    }
    let mut sb = String::new();
    append(&mut sb, value, false);
    Some(sb)
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn append(sb: &mut String, value: &Value, embedded: bool) {
    match value {
        Value::Null => sb.push_str("null"),
        Value::Boolean(b) => sb.push_str(if *b { "true" } else { "false" }),
        Value::Int8(_) | Value::Int16(_) | Value::Int32(_) | Value::Int64(_) => {
            sb.push_str(&value.java_to_string())
        }
        Value::Float32(f) => sb.push_str(&javafmt::float_to_string(*f)),
        Value::Float64(f) => sb.push_str(&javafmt::double_to_string(*f)),
        Value::Decimal(d) => sb.push_str(&d.to_java_string()),
        Value::String(s) => {
            if embedded {
                sb.push('"');
                sb.push_str(&escape(s));
                sb.push('"');
            } else {
                sb.push_str(s);
            }
        }
        Value::Bytes(b) => {
            let enc = base64::engine::general_purpose::STANDARD.encode(b);
            if embedded {
                sb.push('"');
                sb.push_str(&enc);
                sb.push('"');
            } else {
                sb.push_str(&enc);
            }
        }
        Value::Array(items) => {
            sb.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    sb.push(',');
                }
                append(sb, v, true);
            }
            sb.push(']');
        }
        Value::Map(entries) => {
            sb.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    sb.push(',');
                }
                append(sb, k, true);
                sb.push(':');
                append(sb, v, true);
            }
            sb.push('}');
        }
        Value::Struct(s) => {
            sb.push('{');
            for (i, f) in s.schema().fields().iter().enumerate() {
                if i > 0 {
                    sb.push(',');
                }
                append(sb, &Value::String(f.name.clone()), true);
                sb.push(':');
                append(sb, &s.get(&f.name).unwrap_or(Value::Null), true);
            }
            sb.push('}');
        }
        Value::Date(ms) => sb.push_str(&super::date_format::iso_format_for(*ms)),
    }
}

/// `Values.asLong`: numbers narrow, strings go through BigDecimal.
pub fn as_long(value: &Value) -> Result<i64, DataError> {
    if let Some(v) = value.long_value() {
        return Ok(v);
    }
    if let Value::String(s) = value {
        if let Some(d) = BigDecimal::parse(s) {
            return Ok(d.long_value());
        }
    }
    Err(DataError::new(format!(
        "Unable to convert {} ({}) to a number",
        value.java_to_string(),
        value.java_class()
    )))
}

pub fn as_double(value: &Value) -> Result<f64, DataError> {
    if let Some(v) = value.double_value() {
        return Ok(v);
    }
    if let Value::String(s) = value {
        if let Some(d) = BigDecimal::parse(s) {
            return Ok(d.double_value());
        }
    }
    as_long(value).map(|v| v as f64)
}

/// `Values.convertTo(toSchema, null, value)` for the primitive targets the
/// parser needs when it aligns list and map entries to a common schema.
fn convert_to(schema: &Schema, value: Value) -> Result<Value, DataError> {
    if value.is_null() {
        return Ok(value);
    }
    Ok(match schema.ty() {
        Type::Int8 if schema.name().is_none() => Value::Int8(as_long(&value)? as i8),
        Type::Int16 => Value::Int16(as_long(&value)? as i16),
        Type::Int32 if schema.name().is_none() => Value::Int32(as_long(&value)? as i32),
        Type::Int64 if schema.name().is_none() => Value::Int64(as_long(&value)?),
        Type::Float32 => Value::Float32(as_double(&value)? as f32),
        Type::Float64 => Value::Float64(as_double(&value)?),
        Type::String => Value::String(convert_to_string(&value).unwrap_or_default()),
        _ => value,
    })
}

/// `Values.parseString(s)`: infers a schema and value from a string.
pub fn parse_string(s: &str) -> SchemaAndValue {
    if s.is_empty() {
        return SchemaAndValue::new(Some(Schema::of(Type::String)), Value::str(""));
    }
    let mut p = ValueParser { p: Parser::new(s) };
    match p.parse(false) {
        Ok(Some(sv)) => sv,
        Ok(None) => SchemaAndValue::null(),
        Err(_) => SchemaAndValue::new(Some(Schema::of(Type::String)), Value::str(s)),
    }
}

struct Parser {
    original: Vec<char>,
    idx: usize,
    next_token: Option<String>,
    previous: Option<String>,
}

impl Parser {
    fn new(s: &str) -> Parser {
        Parser {
            original: s.chars().collect(),
            idx: 0,
            next_token: None,
            previous: None,
        }
    }
    fn original(&self) -> String {
        self.original.iter().collect()
    }
    fn mark(&self) -> usize {
        self.idx
            - self
                .next_token
                .as_ref()
                .map(|t| t.chars().count())
                .unwrap_or(0)
    }
    fn rewind_to(&mut self, pos: usize) {
        self.idx = pos;
        self.next_token = None;
        self.previous = None;
    }
    fn can_consume_next_token(&self) -> bool {
        self.idx < self.original.len()
    }
    fn has_next(&self) -> bool {
        self.next_token.is_some() || self.can_consume_next_token()
    }
    fn consume_next_token(&mut self) -> String {
        let mut escaped = false;
        let start = self.idx;
        while self.can_consume_next_token() {
            let c = self.original[self.idx];
            match c {
                '\\' => escaped = !escaped,
                ':' | ',' | '{' | '}' | '[' | ']' | '"' => {
                    if !escaped {
                        if start < self.idx {
                            return self.original[start..self.idx].iter().collect();
                        }
                        self.idx += 1;
                        return self.original[start..start + 1].iter().collect();
                    }
                    escaped = false;
                }
                _ => escaped = false,
            }
            self.idx += 1;
        }
        self.original[start..self.idx].iter().collect()
    }
    fn next(&mut self) -> String {
        let t = match self.next_token.take() {
            Some(t) => t,
            None => self.consume_next_token(),
        };
        self.previous = Some(t.clone());
        t
    }
    fn next_n(&mut self, n: usize) -> Option<String> {
        let start = self.mark();
        for _ in 0..n {
            if !self.has_next() {
                self.rewind_to(start);
                return None;
            }
            self.next();
        }
        Some(self.original[start..self.idx].iter().collect())
    }
    fn can_consume(&mut self, expected: &str) -> bool {
        if self.next_token.is_none() {
            if !self.has_next() {
                return false;
            }
            self.next_token = Some(self.consume_next_token());
        }
        while self
            .next_token
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
            && self.can_consume_next_token()
        {
            self.next_token = Some(self.consume_next_token());
        }
        if self.next_token.as_deref().map(str::trim) == Some(expected) {
            self.next_token = None;
            return true;
        }
        false
    }
}

struct ValueParser {
    p: Parser,
}

type Parsed = Result<Option<SchemaAndValue>, DataError>;

impl ValueParser {
    fn can_parse_single_token_literal(&mut self, embedded: bool, literal: &str) -> bool {
        let start = self.p.mark();
        if self.p.can_consume(literal) && (embedded || !self.p.has_next()) {
            return true;
        }
        self.p.rewind_to(start);
        false
    }

    fn parse(&mut self, embedded: bool) -> Parsed {
        if !self.p.has_next() {
            return Ok(None);
        }
        if embedded && self.p.can_consume("\"") {
            return Ok(Some(self.parse_quoted_string()));
        }
        if self.can_parse_single_token_literal(embedded, "null") {
            return Ok(None);
        }
        if self.can_parse_single_token_literal(embedded, "true") {
            return Ok(Some(SchemaAndValue::new(
                Some(Schema::of(Type::Boolean)),
                Value::Boolean(true),
            )));
        }
        if self.can_parse_single_token_literal(embedded, "false") {
            return Ok(Some(SchemaAndValue::new(
                Some(Schema::of(Type::Boolean)),
                Value::Boolean(false),
            )));
        }
        let start = self.p.mark();
        if self.p.can_consume("[") {
            match self.parse_array() {
                Ok(v) => return Ok(v),
                Err(_) => self.p.rewind_to(start),
            }
        } else if self.p.can_consume("{") {
            match self.parse_map() {
                Ok(v) => return Ok(v),
                Err(_) => self.p.rewind_to(start),
            }
        }
        let token = self.p.next();
        if token.trim().is_empty() {
            return Ok(Some(SchemaAndValue::new(
                Some(Schema::of(Type::String)),
                Value::String(token),
            )));
        }
        self.parse_next_token(embedded, token.trim())
    }

    fn parse_next_token(&mut self, embedded: bool, token: &str) -> Parsed {
        let first = token.chars().next().unwrap_or(' ');
        let digit = first.is_ascii_digit();
        if digit {
            let pos = self.p.mark();
            if let Some(rest) = self.p.next_n(4) {
                if let Some(t) = parse_as_temporal(&format!("{token}{rest}")) {
                    return Ok(Some(t));
                }
            }
            self.p.rewind_to(pos);
            if let Some(t) = parse_as_temporal(token) {
                return Ok(Some(t));
            }
        }
        if digit || first == '+' || first == '-' {
            if let Some(n) = parse_as_number(token) {
                return Ok(Some(n));
            }
        }
        if embedded {
            return Err(DataError::new("Failed to parse embedded value"));
        }
        Ok(Some(SchemaAndValue::new(
            Some(Schema::of(Type::String)),
            Value::String(self.p.original()),
        )))
    }

    fn parse_quoted_string(&mut self) -> SchemaAndValue {
        let mut sb = String::new();
        while self.p.has_next() {
            if self.p.can_consume("\"") {
                break;
            }
            sb.push_str(&self.p.next());
        }
        if let Some(t) = parse_as_temporal(&sb) {
            return t;
        }
        SchemaAndValue::new(Some(Schema::of(Type::String)), Value::String(sb))
    }

    fn parse_array(&mut self) -> Parsed {
        let mut result = Vec::new();
        let mut merger = SchemaMerger::default();
        while self.p.has_next() {
            if self.p.can_consume("]") {
                return Ok(Some(match merger.common.clone() {
                    Some(elem) => {
                        let aligned = result
                            .into_iter()
                            .map(|v| convert_to(&elem, v))
                            .collect::<Result<Vec<_>, _>>()?;
                        SchemaAndValue::new(
                            Some(SchemaBuilder::array(elem).build()),
                            Value::Array(aligned),
                        )
                    }
                    None => SchemaAndValue::new(
                        Some(SchemaBuilder::array(Schema::optional_of(Type::String)).build()),
                        Value::Array(result),
                    ),
                }));
            }
            if self.p.can_consume(",") {
                return Err(DataError::new("Unable to parse an empty array element"));
            }
            let element = self.parse(true)?;
            merger.merge(element.as_ref());
            result.push(element.map(|e| e.value).unwrap_or(Value::Null));
            let pos = self.p.mark();
            if self.p.can_consume("]") {
                self.p.rewind_to(pos);
            } else if !self.p.can_consume(",") {
                return Err(DataError::new("Array elements missing ',' delimiter"));
            }
        }
        Err(DataError::new("Array is missing terminating ']'"))
    }

    fn parse_map(&mut self) -> Parsed {
        let mut result: Vec<(Value, Value)> = Vec::new();
        let mut kmerger = SchemaMerger::default();
        let mut vmerger = SchemaMerger::default();
        while self.p.has_next() {
            if self.p.can_consume("}") {
                let (ks, vs) = (kmerger.common.clone(), vmerger.common.clone());
                let schema = match (&ks, &vs) {
                    (Some(k), Some(v)) => SchemaBuilder::map(k.clone(), v.clone()).build(),
                    (Some(k), None) => {
                        SchemaBuilder::map(k.clone(), Schema::optional_of(Type::String)).build()
                    }
                    _ => SchemaBuilder::map(
                        Schema::optional_of(Type::String),
                        Schema::optional_of(Type::String),
                    )
                    .build(),
                };
                let mut aligned = Vec::new();
                for (k, v) in result {
                    let k = match &ks {
                        Some(s) => convert_to(s, k)?,
                        None => k,
                    };
                    let v = match (&ks, &vs) {
                        (Some(_), Some(s)) => convert_to(s, v)?,
                        _ => v,
                    };
                    Value::map_put(&mut aligned, k, v);
                }
                return Ok(Some(SchemaAndValue::new(Some(schema), Value::Map(aligned))));
            }
            if self.p.can_consume(",") {
                return Err(DataError::new(
                    "Unable to parse a map entry with no key or value",
                ));
            }
            let key = self.parse(true)?;
            let Some(key) = key.filter(|k| !k.value.is_null()) else {
                return Err(DataError::new("Map entry may not have a null key"));
            };
            if !self.p.can_consume(":") {
                return Err(DataError::new("Map entry is missing ':'"));
            }
            let value = self.parse(true)?;
            let entry_value = value
                .as_ref()
                .map(|v| v.value.clone())
                .unwrap_or(Value::Null);
            Value::map_put(&mut result, key.value.clone(), entry_value);
            self.p.can_consume(",");
            kmerger.merge(Some(&key));
            vmerger.merge(value.as_ref());
        }
        Err(DataError::new("Map is missing terminating '}'"))
    }
}

#[derive(Default)]
struct SchemaMerger {
    common: Option<Schema>,
    incompatible: bool,
}

impl SchemaMerger {
    fn merge(&mut self, latest: Option<&SchemaAndValue>) {
        let Some(schema) = latest.and_then(|l| l.schema.clone()) else {
            return;
        };
        if self.incompatible {
            return;
        }
        match &self.common {
            None => self.common = Some(schema),
            Some(prev) => {
                self.common = merge_schemas(prev, &schema);
                self.incompatible = self.common.is_none();
            }
        }
    }
}

fn numeric_rank(t: Type) -> Option<u8> {
    Some(match t {
        Type::Int8 => 0,
        Type::Int16 => 1,
        Type::Int32 => 2,
        Type::Int64 => 3,
        Type::Float32 => 4,
        Type::Float64 => 5,
        _ => return None,
    })
}

fn merge_schemas(prev: &Schema, new: &Schema) -> Option<Schema> {
    if prev.ty() != new.ty() {
        let (a, b) = (numeric_rank(prev.ty())?, numeric_rank(new.ty())?);
        return Some(if b > a { new.clone() } else { prev.clone() });
    }
    if prev.is_optional() == new.is_optional() {
        return Some(if prev.is_optional() {
            prev.clone()
        } else {
            new.clone()
        });
    }
    if prev != new {
        return None;
    }
    Some(prev.clone())
}

fn parse_as_number(token: &str) -> Option<SchemaAndValue> {
    let d = BigDecimal::parse(token)?;
    if d.is_integral() {
        let int = d.to_bigint_truncated();
        let fits = num_traits::ToPrimitive::to_i64(&int);
        if let Some(v) = fits {
            return Some(if v as i8 as i64 == v {
                SchemaAndValue::new(Some(Schema::of(Type::Int8)), Value::Int8(v as i8))
            } else if v as i16 as i64 == v {
                SchemaAndValue::new(Some(Schema::of(Type::Int16)), Value::Int16(v as i16))
            } else if v as i32 as i64 == v {
                SchemaAndValue::new(Some(Schema::of(Type::Int32)), Value::Int32(v as i32))
            } else {
                SchemaAndValue::new(Some(Schema::of(Type::Int64)), Value::Int64(v))
            });
        }
    }
    let f = d.float_value();
    if f.is_finite() && d.scale() != 0 {
        return Some(SchemaAndValue::new(
            Some(Schema::of(Type::Float32)),
            Value::Float32(f),
        ));
    }
    let dv = d.double_value();
    if dv.is_finite() && d.scale() != 0 {
        return Some(SchemaAndValue::new(
            Some(Schema::of(Type::Float64)),
            Value::Float64(dv),
        ));
    }
    Some(SchemaAndValue::new(
        Some(logical::decimal_builder(d.scale()).build()),
        Value::Decimal(d),
    ))
}

fn parse_as_temporal(token: &str) -> Option<SchemaAndValue> {
    let token = token.replace("\\:", ":");
    let len = token.chars().count();
    let (schema, pattern) = if len == ISO_8601_TIME.len() - 2 {
        (logical::time_schema(), ISO_8601_TIME)
    } else if len == ISO_8601_TIMESTAMP.len() - 4 {
        (logical::timestamp_schema(), ISO_8601_TIMESTAMP)
    } else if len == ISO_8601_DATE.len() {
        (logical::date_schema(), ISO_8601_DATE)
    } else {
        return None;
    };
    let ms = SimpleDateFormat::new(pattern).ok()?.parse(&token).ok()?;
    Some(SchemaAndValue::new(Some(schema), Value::Date(ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_string_infers_types() {
        assert_eq!(parse_string("42").value, Value::Int8(42));
        assert_eq!(parse_string("70000").value, Value::Int32(70000));
        assert_eq!(parse_string("3.5").value, Value::Float32(3.5));
        assert_eq!(parse_string("true").value, Value::Boolean(true));
        assert_eq!(parse_string("hello world").value, Value::str("hello world"));
        assert_eq!(parse_string("true}").value, Value::str("true}"));
        assert_eq!(parse_string("null").value, Value::Null);
        assert_eq!(
            parse_string("[1,2,3]").value,
            Value::Array(vec![Value::Int8(1), Value::Int8(2), Value::Int8(3)])
        );
        assert_eq!(parse_string("2020-02-17").value, Value::Date(1581897600000));
    }

    #[test]
    fn convert_to_string_embeds() {
        let v = Value::Map(vec![(
            Value::str("a"),
            Value::Array(vec![Value::Int32(1), Value::str("x\"y")]),
        )]);
        assert_eq!(convert_to_string(&v).unwrap(), r#"{"a":[1,"x\"y"]}"#);
        assert_eq!(convert_to_string(&Value::Float64(1.0)).unwrap(), "1.0");
    }
}
