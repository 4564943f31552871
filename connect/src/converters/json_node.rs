//! The JSON tree JsonConverter works on, with Jackson's view of numbers (int,
//! long, big integer, or BigDecimal for any number with a fraction or
//! exponent) and Jackson's output bytes (Java float formatting, base64 for
//! binary, `\u00XX` upper-case escapes). Parsing is iterative-depth-limited
//! and never panics on input.

use base64::Engine;
use indexmap::IndexMap;
use num_bigint::BigInt;

use crate::data::{decimal::low_i64, javafmt, BigDecimal};

/// Nesting deeper than this is rejected (Jackson allows 1000; we stop earlier
/// so that the recursive parse and conversions fit a 2 MiB thread stack in debug builds).
const MAX_DEPTH: usize = 200;

#[derive(Clone, Debug, PartialEq)]
pub enum Number {
    Int(i32),
    Long(i64),
    BigInt(BigInt),
    Decimal(BigDecimal),
    /// Written only (FloatNode / DoubleNode).
    Float(f32),
    Double(f64),
}

#[derive(Clone, Debug, PartialEq)]
pub enum JsonNode {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    /// A BinaryNode: written as base64 text.
    Binary(Vec<u8>),
    Array(Vec<JsonNode>),
    /// Insertion-ordered; `set` on an existing key keeps its position (LinkedHashMap).
    Object(IndexMap<String, JsonNode>),
}

impl JsonNode {
    pub fn object() -> IndexMap<String, JsonNode> {
        IndexMap::new()
    }

    /// Jackson's `getNodeType()` name, for error messages.
    pub fn node_type(&self) -> &'static str {
        match self {
            JsonNode::Null => "NULL",
            JsonNode::Bool(_) => "BOOLEAN",
            JsonNode::Number(_) => "NUMBER",
            JsonNode::String(_) => "STRING",
            JsonNode::Binary(_) => "BINARY",
            JsonNode::Array(_) => "ARRAY",
            JsonNode::Object(_) => "OBJECT",
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, JsonNode::Null)
    }

    pub fn get(&self, key: &str) -> Option<&JsonNode> {
        match self {
            JsonNode::Object(m) => m.get(key),
            _ => None,
        }
    }

    /// `isInt()`: an integral number that fits 32 bits.
    pub fn is_int(&self) -> bool {
        matches!(self, JsonNode::Number(Number::Int(_)))
    }

    pub fn is_integral(&self) -> bool {
        matches!(
            self,
            JsonNode::Number(Number::Int(_) | Number::Long(_) | Number::BigInt(_))
        )
    }

    /// `intValue()`: Java narrowing; 0 for non-numbers (Jackson's ValueNode default).
    pub fn int_value(&self) -> i32 {
        match self {
            JsonNode::Number(Number::Int(i)) => *i,
            JsonNode::Number(Number::Long(l)) => *l as i32,
            JsonNode::Number(Number::BigInt(b)) => low_i64(b) as i32,
            JsonNode::Number(Number::Decimal(d)) => d.long_value() as i32,
            JsonNode::Number(Number::Float(f)) => *f as i32,
            JsonNode::Number(Number::Double(f)) => *f as i32,
            _ => 0,
        }
    }

    pub fn long_value(&self) -> i64 {
        match self {
            JsonNode::Number(Number::Int(i)) => *i as i64,
            JsonNode::Number(Number::Long(l)) => *l,
            JsonNode::Number(Number::BigInt(b)) => low_i64(b),
            JsonNode::Number(Number::Decimal(d)) => d.long_value(),
            JsonNode::Number(Number::Float(f)) => *f as i64,
            JsonNode::Number(Number::Double(f)) => *f as i64,
            _ => 0,
        }
    }

    pub fn double_value(&self) -> f64 {
        match self {
            JsonNode::Number(Number::Int(i)) => *i as f64,
            JsonNode::Number(Number::Long(l)) => *l as f64,
            JsonNode::Number(Number::BigInt(b)) => b.to_string().parse().unwrap_or(f64::NAN),
            JsonNode::Number(Number::Decimal(d)) => d.double_value(),
            JsonNode::Number(Number::Float(f)) => *f as f64,
            JsonNode::Number(Number::Double(f)) => *f,
            _ => 0.0,
        }
    }

    pub fn float_value(&self) -> f32 {
        match self {
            JsonNode::Number(Number::Int(i)) => *i as f32,
            JsonNode::Number(Number::Long(l)) => *l as f32,
            JsonNode::Number(Number::BigInt(b)) => b.to_string().parse().unwrap_or(f32::NAN),
            JsonNode::Number(Number::Decimal(d)) => d.float_value(),
            JsonNode::Number(Number::Float(f)) => *f,
            JsonNode::Number(Number::Double(f)) => *f as f32,
            _ => 0.0,
        }
    }

    pub fn decimal_value(&self) -> BigDecimal {
        match self {
            JsonNode::Number(Number::Int(i)) => BigDecimal::from_i64(*i as i64),
            JsonNode::Number(Number::Long(l)) => BigDecimal::from_i64(*l),
            JsonNode::Number(Number::BigInt(b)) => BigDecimal::new(b.clone(), 0),
            JsonNode::Number(Number::Decimal(d)) => d.clone(),
            JsonNode::Number(Number::Float(f)) => {
                BigDecimal::parse(&javafmt::float_to_string(*f)).unwrap_or_else(BigDecimal::zero)
            }
            JsonNode::Number(Number::Double(f)) => {
                BigDecimal::from_f64_str(*f).unwrap_or_else(BigDecimal::zero)
            }
            _ => BigDecimal::zero(),
        }
    }

    /// `booleanValue()`: false for non-booleans.
    pub fn boolean_value(&self) -> bool {
        matches!(self, JsonNode::Bool(true))
    }

    /// `textValue()`: only for text nodes.
    pub fn text_value(&self) -> Option<&str> {
        match self {
            JsonNode::String(s) => Some(s),
            _ => None,
        }
    }

    /// `asText()`: the text form of scalar nodes.
    pub fn as_text(&self) -> String {
        match self {
            JsonNode::String(s) => s.clone(),
            JsonNode::Null => "null".into(),
            JsonNode::Bool(b) => b.to_string(),
            JsonNode::Number(n) => number_text(n),
            JsonNode::Binary(b) => base64::engine::general_purpose::STANDARD.encode(b),
            JsonNode::Array(_) | JsonNode::Object(_) => String::new(),
        }
    }

    /// `binaryValue()`: bytes of a binary node or base64 text; `Ok(None)` for others.
    pub fn binary_value(&self) -> Result<Option<Vec<u8>>, String> {
        match self {
            JsonNode::Binary(b) => Ok(Some(b.clone())),
            JsonNode::String(s) => decode_base64_lenient(s).map(Some),
            _ => Ok(None),
        }
    }

    /// Serialises like Jackson's `ObjectMapper.writeValueAsBytes`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        write_node(&mut out, self);
        out
    }

    pub fn to_json_string(&self) -> String {
        String::from_utf8_lossy(&self.to_bytes()).into_owned()
    }
}

/// Jackson's MIME-no-linefeeds Base64 reader: standard alphabet, padding optional.
fn decode_base64_lenient(s: &str) -> Result<Vec<u8>, String> {
    let trimmed = s.trim_end_matches('=');
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(trimmed)
        .map_err(|e| {
            format!(
                "Cannot access contents of TextNode as binary due to broken Base64 encoding: {e}"
            )
        })
}

fn number_text(n: &Number) -> String {
    match n {
        Number::Int(i) => i.to_string(),
        Number::Long(l) => l.to_string(),
        Number::BigInt(b) => b.to_string(),
        Number::Decimal(d) => d.to_java_string(),
        Number::Float(f) => javafmt::float_to_string(*f),
        Number::Double(d) => javafmt::double_to_string(*d),
    }
}

fn write_node(out: &mut Vec<u8>, node: &JsonNode) {
    match node {
        JsonNode::Null => out.extend_from_slice(b"null"),
        JsonNode::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        JsonNode::Number(n) => out.extend_from_slice(number_text(n).as_bytes()),
        JsonNode::String(s) => write_string(out, s),
        JsonNode::Binary(b) => {
            out.push(b'"');
            out.extend_from_slice(
                base64::engine::general_purpose::STANDARD
                    .encode(b)
                    .as_bytes(),
            );
            out.push(b'"');
        }
        JsonNode::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_node(out, item);
            }
            out.push(b']');
        }
        JsonNode::Object(m) => {
            out.push(b'{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, k);
                out.push(b':');
                write_node(out, v);
            }
            out.push(b'}');
        }
    }
}

/// Jackson's escaping: `"` and `\`, the short forms for \b \t \n \f \r,
/// `\u00XX` (upper-case hex) for other control characters; UTF-8 otherwise.
fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\r' => out.extend_from_slice(b"\\r"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04X}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// Parses one JSON value like Jackson's `readTree` (trailing content after
/// the first value is ignored, as Jackson does by default).
pub fn parse(bytes: &[u8]) -> Result<JsonNode, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("Invalid UTF-8: {e}"))?;
    let mut p = JsonParser {
        s: text.as_bytes(),
        i: 0,
        text,
    };
    p.skip_ws();
    if p.i >= p.s.len() {
        return Err("No content to map due to end-of-input".into());
    }
    p.value(0)
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
}

impl JsonParser<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at position {}", self.i))
    }

    fn value(&mut self, depth: usize) -> Result<JsonNode, String> {
        if depth > MAX_DEPTH {
            return self.err("Document nesting depth exceeds the maximum allowed");
        }
        self.skip_ws();
        let Some(&c) = self.s.get(self.i) else {
            return self.err("Unexpected end-of-input");
        };
        match c {
            b'{' => {
                self.i += 1;
                let mut m = IndexMap::new();
                self.skip_ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(JsonNode::Object(m));
                }
                loop {
                    self.skip_ws();
                    if self.s.get(self.i) != Some(&b'"') {
                        return self.err(
                            "Unexpected character: was expecting double-quote to start field name",
                        );
                    }
                    let k = self.string()?;
                    self.skip_ws();
                    if self.s.get(self.i) != Some(&b':') {
                        return self.err("Unexpected character: was expecting a colon to separate field name and value");
                    }
                    self.i += 1;
                    let v = self.value(depth + 1)?;
                    m.insert(k, v);
                    self.skip_ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(JsonNode::Object(m));
                        }
                        _ => return self.err(
                            "Unexpected character: was expecting comma to separate Object entries",
                        ),
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(JsonNode::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(JsonNode::Array(items));
                        }
                        _ => return self.err(
                            "Unexpected character: was expecting comma to separate Array entries",
                        ),
                    }
                }
            }
            b'"' => Ok(JsonNode::String(self.string()?)),
            b't' => self.literal("true", JsonNode::Bool(true)),
            b'f' => self.literal("false", JsonNode::Bool(false)),
            b'n' => self.literal("null", JsonNode::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => self.err("Unexpected character"),
        }
    }

    fn literal(&mut self, word: &str, node: JsonNode) -> Result<JsonNode, String> {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            // Jackson rejects `trueX` (an unrecognized token)
            if self
                .s
                .get(self.i)
                .is_some_and(|c| c.is_ascii_alphanumeric())
            {
                return self.err("Unrecognized token");
            }
            Ok(node)
        } else {
            self.err("Unrecognized token")
        }
    }

    fn number(&mut self) -> Result<JsonNode, String> {
        let start = self.i;
        if self.s[self.i] == b'-' {
            self.i += 1;
        }
        let int_start = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
            self.i += 1;
        }
        if self.i == int_start {
            return self.err("Unexpected character: expected digit");
        }
        if self.s[int_start] == b'0' && self.i - int_start > 1 {
            return self.err("Invalid numeric value: Leading zeroes not allowed");
        }
        let mut integral = true;
        if self.s.get(self.i) == Some(&b'.') {
            integral = false;
            self.i += 1;
            let fs = self.i;
            while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                self.i += 1;
            }
            if self.i == fs {
                return self.err("Unexpected character: Decimal point not followed by a digit");
            }
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            integral = false;
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            let es = self.i;
            while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                self.i += 1;
            }
            if self.i == es {
                return self
                    .err("Unexpected character: Exponent indicator not followed by a digit");
            }
        }
        let text = &self.text[start..self.i];
        if integral {
            if let Ok(v) = text.parse::<i32>() {
                return Ok(JsonNode::Number(Number::Int(v)));
            }
            if let Ok(v) = text.parse::<i64>() {
                return Ok(JsonNode::Number(Number::Long(v)));
            }
            let b: BigInt = text.parse().map_err(|_| format!("Invalid number {text}"))?;
            return Ok(JsonNode::Number(Number::BigInt(b)));
        }
        // USE_BIG_DECIMAL_FOR_FLOATS: keep every digit.
        BigDecimal::parse(text)
            .map(|d| JsonNode::Number(Number::Decimal(d)))
            .ok_or_else(|| format!("Invalid number {text}"))
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            let Some(&c) = self.s.get(self.i) else {
                return self.err("Unexpected end-of-input in a String value");
            };
            match c {
                b'"' => {
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.i += 1;
                    let Some(&e) = self.s.get(self.i) else {
                        return self.err("Unexpected end-of-input in an escape");
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            if (0xD800..0xDC00).contains(&hi) {
                                if self.s.get(self.i) == Some(&b'\\')
                                    && self.s.get(self.i + 1) == Some(&b'u')
                                {
                                    self.i += 2;
                                    let lo = self.hex4()?;
                                    let cp = 0x10000
                                        + ((hi - 0xD800) << 10)
                                        + (lo.wrapping_sub(0xDC00) & 0x3ff);
                                    out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                                } else {
                                    out.push('\u{fffd}');
                                }
                            } else {
                                out.push(char::from_u32(hi).unwrap_or('\u{fffd}'));
                            }
                        }
                        _ => return self.err("Unrecognized character escape"),
                    }
                }
                c if c < 0x20 => return self.err("Illegal unquoted character: has to be escaped"),
                _ => {
                    // copy one UTF-8 character
                    let rest = &self.text[self.i..];
                    let ch = rest.chars().next().unwrap_or('\u{fffd}');
                    out.push(ch);
                    self.i += ch.len_utf8().max(1);
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let Some(h) = self.text.get(self.i..self.i + 4) else {
            return self.err("Unexpected end-of-input in a unicode escape");
        };
        let v = u32::from_str_radix(h, 16)
            .map_err(|_| format!("Illegal unicode escape at {}", self.i))?;
        self.i += 4;
        Ok(v)
    }
}

/// Converts serde_json values (REST bodies, test tables) into a tree with the
/// same number classification Jackson would give the same text.
pub fn from_serde(v: &serde_json::Value) -> JsonNode {
    parse(v.to_string().as_bytes()).unwrap_or(JsonNode::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_classify_like_jackson() {
        assert_eq!(parse(b"5").unwrap(), JsonNode::Number(Number::Int(5)));
        assert_eq!(
            parse(b"5000000000").unwrap(),
            JsonNode::Number(Number::Long(5_000_000_000))
        );
        assert!(matches!(
            parse(b"1.50").unwrap(),
            JsonNode::Number(Number::Decimal(_))
        ));
        assert_eq!(parse(b"1.50").unwrap().to_json_string(), "1.50");
        assert!(parse(b"01").is_err());
        assert!(parse(b"{\"a\":}").is_err());
    }

    #[test]
    fn writes_like_jackson() {
        let mut m = JsonNode::object();
        m.insert("s".into(), JsonNode::String("a\u{1}\"é".into()));
        m.insert("f".into(), JsonNode::Number(Number::Float(1.0)));
        m.insert("b".into(), JsonNode::Binary(vec![1, 2, 3]));
        assert_eq!(
            JsonNode::Object(m).to_json_string(),
            r#"{"s":"a\u0001\"é","f":1.0,"b":"AQID"}"#
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(5000);
        assert!(parse(deep.as_bytes()).is_err());
    }
}
