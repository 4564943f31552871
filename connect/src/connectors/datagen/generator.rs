//! Random data from an Avro schema annotated the way avro-random-generator
//! reads it (`arg.properties`: `options`, `range`, `iteration`, `regex`),
//! producing Connect values shaped as Confluent's AvroData would convert the
//! generated Avro record (records → structs named `namespace.name`, decimals
//! with their scale, nullable unions → optional fields).

use rand::rngs::StdRng;
use rand::Rng;
use serde_json::Value as Json;

use crate::data::{logical, BigDecimal, DataError, Schema, SchemaBuilder, Struct, Value};

/// An Avro schema node, parsed once.
#[derive(Clone, Debug)]
pub enum Node {
    Null,
    Boolean(Json),
    Int(Json),
    Long(Json),
    Float(Json),
    Double(Json),
    String(Json),
    Bytes(Json),
    Decimal {
        scale: u32,
        precision: u32,
        props: Json,
    },
    Enum {
        full_name: String,
        symbols: Vec<String>,
        props: Json,
    },
    Array {
        items: Box<Node>,
        props: Json,
    },
    Map {
        values: Box<Node>,
        props: Json,
    },
    Record {
        full_name: String,
        doc: Option<String>,
        fields: Vec<(String, Option<String>, Node)>,
    },
    /// `["null", T]`: an optional T.
    Optional(Box<Node>),
    Union(Vec<Node>),
}

pub fn parse_schema(text: &str) -> Result<Node, String> {
    let json: Json = serde_json::from_str(text)
        .map_err(|e| format!("Unable to parse the provided schema: {e}"))?;
    parse_node(&json, None, 0)
}

fn parse_node(j: &Json, namespace: Option<&str>, depth: usize) -> Result<Node, String> {
    if depth > 64 {
        return Err("Schema nesting is too deep".into());
    }
    match j {
        Json::String(t) => primitive(t, &Json::Null),
        Json::Array(branches) => {
            let nodes = branches
                .iter()
                .map(|b| parse_node(b, namespace, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            if nodes.len() == 2 && matches!(nodes[0], Node::Null) {
                return Ok(Node::Optional(Box::new(nodes[1].clone())));
            }
            if nodes.len() == 2 && matches!(nodes[1], Node::Null) {
                return Ok(Node::Optional(Box::new(nodes[0].clone())));
            }
            Ok(Node::Union(nodes))
        }
        Json::Object(o) => {
            let props = o.get("arg.properties").cloned().unwrap_or(Json::Null);
            let t = o.get("type").ok_or("Schema has no 'type'")?;
            if let Json::String(t) = t {
                if o.get("logicalType").and_then(|l| l.as_str()) == Some("decimal")
                    && (t == "bytes" || t == "fixed")
                {
                    let scale = o.get("scale").and_then(|s| s.as_u64()).unwrap_or(0) as u32;
                    let precision =
                        o.get("precision").and_then(|s| s.as_u64()).unwrap_or(10) as u32;
                    return Ok(Node::Decimal {
                        scale,
                        precision,
                        props,
                    });
                }
                match t.as_str() {
                    "record" => {
                        let name = o
                            .get("name")
                            .and_then(|n| n.as_str())
                            .ok_or("A record needs a 'name'")?;
                        let ns = o.get("namespace").and_then(|n| n.as_str()).or(namespace);
                        let full_name = match ns {
                            Some(ns) if !name.contains('.') && !ns.is_empty() => {
                                format!("{ns}.{name}")
                            }
                            _ => name.to_string(),
                        };
                        let mut fields = Vec::new();
                        for f in o
                            .get("fields")
                            .and_then(|f| f.as_array())
                            .ok_or("A record needs 'fields'")?
                        {
                            let fname = f
                                .get("name")
                                .and_then(|n| n.as_str())
                                .ok_or("A field needs a 'name'")?;
                            let doc = f.get("doc").and_then(|d| d.as_str()).map(str::to_string);
                            let ft = f.get("type").ok_or("A field needs a 'type'")?;
                            fields.push((fname.to_string(), doc, parse_node(ft, ns, depth + 1)?));
                        }
                        let doc = o.get("doc").and_then(|d| d.as_str()).map(str::to_string);
                        Ok(Node::Record {
                            full_name,
                            doc,
                            fields,
                        })
                    }
                    "enum" => {
                        let name = o.get("name").and_then(|n| n.as_str()).unwrap_or("enum");
                        let ns = o.get("namespace").and_then(|n| n.as_str()).or(namespace);
                        let full_name = match ns {
                            Some(ns) if !ns.is_empty() => format!("{ns}.{name}"),
                            _ => name.to_string(),
                        };
                        let symbols = o
                            .get("symbols")
                            .and_then(|s| s.as_array())
                            .map(|a| {
                                a.iter()
                                    .filter_map(|s| s.as_str().map(str::to_string))
                                    .collect()
                            })
                            .unwrap_or_default();
                        Ok(Node::Enum {
                            full_name,
                            symbols,
                            props,
                        })
                    }
                    "array" => Ok(Node::Array {
                        items: Box::new(parse_node(
                            o.get("items").ok_or("An array needs 'items'")?,
                            namespace,
                            depth + 1,
                        )?),
                        props,
                    }),
                    "map" => Ok(Node::Map {
                        values: Box::new(parse_node(
                            o.get("values").ok_or("A map needs 'values'")?,
                            namespace,
                            depth + 1,
                        )?),
                        props,
                    }),
                    other => primitive(other, &props),
                }
            } else {
                // {"type": {...}} or {"type": [...]}: the inner schema decides.
                parse_node(t, namespace, depth + 1)
            }
        }
        _ => Err(format!("Invalid schema node: {j}")),
    }
}

fn primitive(t: &str, props: &Json) -> Result<Node, String> {
    let p = props.clone();
    Ok(match t {
        "null" => Node::Null,
        "boolean" => Node::Boolean(p),
        "int" => Node::Int(p),
        "long" => Node::Long(p),
        "float" => Node::Float(p),
        "double" => Node::Double(p),
        "string" => Node::String(p),
        "bytes" | "fixed" => Node::Bytes(p),
        other => return Err(format!("Unknown or unsupported Avro type: {other}")),
    })
}

impl Node {
    /// The Connect schema AvroData would give this Avro schema.
    pub fn connect_schema(&self) -> Result<Schema, DataError> {
        Ok(match self {
            Node::Null => Schema::optional_of(crate::data::Type::String),
            Node::Boolean(_) => SchemaBuilder::boolean().build(),
            Node::Int(_) => SchemaBuilder::int32().build(),
            Node::Long(_) => SchemaBuilder::int64().build(),
            Node::Float(_) => SchemaBuilder::float32().build(),
            Node::Double(_) => SchemaBuilder::float64().build(),
            Node::String(_) => SchemaBuilder::string().build(),
            Node::Bytes(_) => SchemaBuilder::bytes().build(),
            Node::Decimal {
                scale, precision, ..
            } => logical::decimal_builder(*scale as i32)
                .parameter("connect.decimal.precision", &precision.to_string())
                .build(),
            Node::Enum {
                full_name, symbols, ..
            } => {
                let mut b = SchemaBuilder::string()
                    .name(Some(full_name))
                    .parameter("io.confluent.connect.avro.Enum", full_name);
                for s in symbols {
                    b = b.parameter(&format!("io.confluent.connect.avro.Enum.{s}"), s);
                }
                b.build()
            }
            Node::Array { items, .. } => SchemaBuilder::array(items.connect_schema()?).build(),
            Node::Map { values, .. } => {
                SchemaBuilder::map(SchemaBuilder::string().build(), values.connect_schema()?)
                    .build()
            }
            Node::Record {
                full_name,
                doc,
                fields,
            } => {
                let mut b = SchemaBuilder::struct_()
                    .name(Some(full_name))
                    .doc(doc.as_deref());
                for (name, _doc, node) in fields {
                    b = b.field(name, node.connect_schema()?)?;
                }
                b.build()
            }
            Node::Optional(inner) => SchemaBuilder::from_schema(&inner.connect_schema()?)
                .optional()
                .build(),
            Node::Union(nodes) => {
                // General unions become a struct of optional branches in AvroData.
                let mut b = SchemaBuilder::struct_().name(Some("io.confluent.connect.avro.Union"));
                for (i, n) in nodes.iter().enumerate() {
                    let s = SchemaBuilder::from_schema(&n.connect_schema()?)
                        .optional()
                        .build();
                    b = b.field(&format!("branch{i}"), s)?;
                }
                b.build()
            }
        })
    }

    /// A random value; `iteration` is the record number (for `iteration` props).
    pub fn generate(
        &self,
        rng: &mut StdRng,
        iteration: i64,
        schema: &Schema,
    ) -> Result<Value, DataError> {
        Ok(match self {
            Node::Null => Value::Null,
            Node::Boolean(p) => match options(p, rng) {
                Some(o) => Value::Boolean(o.as_bool().unwrap_or(false)),
                None => Value::Boolean(rng.random()),
            },
            Node::Int(p) => {
                Value::Int32(integer(p, rng, iteration, i32::MIN as i64, i32::MAX as i64) as i32)
            }
            Node::Long(p) => Value::Int64(integer(p, rng, iteration, i64::MIN, i64::MAX)),
            Node::Float(p) => Value::Float32(float(p, rng, iteration) as f32),
            Node::Double(p) => Value::Float64(float(p, rng, iteration)),
            Node::String(p) => Value::String(string(p, rng, iteration)),
            Node::Bytes(p) => match options(p, rng) {
                Some(o) => Value::Bytes(o.as_str().unwrap_or_default().as_bytes().to_vec()),
                None => Value::Bytes((0..rng.random_range(0..16)).map(|_| rng.random()).collect()),
            },
            Node::Decimal {
                scale,
                precision,
                props,
            } => {
                let v = float(props, rng, iteration);
                let text = format!("{:.*}", *scale as usize, v);
                let mut d = BigDecimal::parse(&text).unwrap_or_else(BigDecimal::zero);
                if d.precision() > *precision as usize {
                    d = BigDecimal::new(0.into(), *scale as i32);
                }
                Value::Decimal(d)
            }
            Node::Enum { symbols, props, .. } => match options(props, rng) {
                Some(o) => Value::String(o.as_str().unwrap_or_default().to_string()),
                None if symbols.is_empty() => Value::String(String::new()),
                None => Value::String(symbols[rng.random_range(0..symbols.len())].clone()),
            },
            Node::Array { items, props } => {
                let n = length(props, rng);
                let es = schema
                    .value_schema()
                    .cloned()
                    .unwrap_or_else(|| schema.clone());
                Value::Array(
                    (0..n)
                        .map(|_| items.generate(rng, iteration, &es))
                        .collect::<Result<_, _>>()?,
                )
            }
            Node::Map { values, props } => {
                let n = length(props, rng);
                let vs = schema
                    .value_schema()
                    .cloned()
                    .unwrap_or_else(|| schema.clone());
                let mut m = Vec::new();
                for _ in 0..n {
                    let k = Value::String(random_word(rng, 6));
                    Value::map_put(&mut m, k, values.generate(rng, iteration, &vs)?);
                }
                Value::Map(m)
            }
            Node::Record { fields, .. } => {
                let mut st = Struct::new(schema);
                for (name, _, node) in fields {
                    let fs = schema
                        .field(name)
                        .map(|f| f.schema.clone())
                        .unwrap_or_else(|| schema.clone());
                    st.put(name, node.generate(rng, iteration, &fs)?)?;
                }
                Value::Struct(st)
            }
            Node::Optional(inner) => {
                if rng.random_bool(0.5) {
                    Value::Null
                } else {
                    inner.generate(rng, iteration, schema)?
                }
            }
            Node::Union(nodes) => {
                let i = rng.random_range(0..nodes.len().max(1));
                let mut st = Struct::new(schema);
                if let (Some(node), Some(f)) = (nodes.get(i), schema.fields().get(i)) {
                    let v = node.generate(rng, iteration, &f.schema)?;
                    st.put(&f.name, v)?;
                }
                Value::Struct(st)
            }
        })
    }
}

fn options<'a>(p: &'a Json, rng: &mut StdRng) -> Option<&'a Json> {
    let opts = p.get("options")?.as_array()?;
    if opts.is_empty() {
        return None;
    }
    Some(&opts[rng.random_range(0..opts.len())])
}

fn iteration_value(p: &Json, iteration: i64) -> Option<f64> {
    let it = p.get("iteration")?;
    let start = it.get("start").and_then(|s| s.as_f64()).unwrap_or(0.0);
    let step = it.get("step").and_then(|s| s.as_f64()).unwrap_or(1.0);
    Some(start + step * iteration as f64)
}

fn integer(p: &Json, rng: &mut StdRng, iteration: i64, lo: i64, hi: i64) -> i64 {
    if let Some(o) = options(p, rng) {
        return o.as_i64().unwrap_or(0);
    }
    if let Some(it) = p.get("iteration") {
        let start = it.get("start").and_then(|s| s.as_i64()).unwrap_or(0);
        let step = it.get("step").and_then(|s| s.as_i64()).unwrap_or(1);
        return start.wrapping_add(step.wrapping_mul(iteration));
    }
    if let Some(r) = p.get("range") {
        let min = r.get("min").and_then(|m| m.as_i64()).unwrap_or(lo).max(lo);
        let max = r.get("max").and_then(|m| m.as_i64()).unwrap_or(hi).min(hi);
        // avro-random-generator: min inclusive, max exclusive
        if max > min {
            return rng.random_range(min..max);
        }
        return min;
    }
    rng.random_range(lo..=hi)
}

fn float(p: &Json, rng: &mut StdRng, iteration: i64) -> f64 {
    if let Some(o) = options(p, rng) {
        return o.as_f64().unwrap_or(0.0);
    }
    if let Some(v) = iteration_value(p, iteration) {
        return v;
    }
    if let Some(r) = p.get("range") {
        let min = r.get("min").and_then(|m| m.as_f64()).unwrap_or(0.0);
        let max = r.get("max").and_then(|m| m.as_f64()).unwrap_or(1.0);
        if max > min {
            return rng.random_range(min..max);
        }
        return min;
    }
    rng.random()
}

fn length(p: &Json, rng: &mut StdRng) -> usize {
    match p.get("length") {
        Some(Json::Number(n)) => n.as_u64().unwrap_or(0).min(1000) as usize,
        Some(Json::Object(r)) => {
            let min = r.get("min").and_then(|m| m.as_u64()).unwrap_or(0) as usize;
            let max = r
                .get("max")
                .and_then(|m| m.as_u64())
                .unwrap_or(min as u64 + 5)
                .min(1000) as usize;
            if max > min {
                rng.random_range(min..max)
            } else {
                min
            }
        }
        _ => rng.random_range(0..5),
    }
}

fn random_word(rng: &mut StdRng, n: usize) -> String {
    const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..n)
        .map(|_| ALPHA[rng.random_range(0..ALPHA.len())] as char)
        .collect()
}

fn string(p: &Json, rng: &mut StdRng, iteration: i64) -> String {
    if let Some(o) = options(p, rng) {
        return match o {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
    }
    if p.get("iteration").is_some() {
        let start = p["iteration"]
            .get("start")
            .and_then(|s| s.as_i64())
            .unwrap_or(0);
        let step = p["iteration"]
            .get("step")
            .and_then(|s| s.as_i64())
            .unwrap_or(1);
        return start.wrapping_add(step.wrapping_mul(iteration)).to_string();
    }
    if let Some(re) = p.get("regex").and_then(|r| r.as_str()) {
        return regex_sample(re, rng);
    }
    let n = length(p, rng).max(1);
    random_word(rng, n)
}

// --- a small generator for the regex subset the schemas use ----------------
// literals, escapes (\d \w \s and escaped punctuation), classes [a-z0-9_],
// groups with alternation, and the quantifiers ? * + {n} {m,n} {m,}.

#[derive(Debug)]
enum Re {
    Chars(Vec<char>),
    Group(Vec<Vec<(Re, usize, usize)>>),
}

fn regex_sample(re: &str, rng: &mut StdRng) -> String {
    let chars: Vec<char> = re.chars().collect();
    let mut i = 0;
    let alts = parse_alts(&chars, &mut i, 0);
    let mut out = String::new();
    emit_alts(&alts, rng, &mut out);
    out
}

fn parse_alts(c: &[char], i: &mut usize, depth: usize) -> Vec<Vec<(Re, usize, usize)>> {
    let mut alts = vec![Vec::new()];
    while *i < c.len() {
        let ch = c[*i];
        let atom = match ch {
            ')' => break,
            '|' => {
                *i += 1;
                alts.push(Vec::new());
                continue;
            }
            '(' => {
                *i += 1;
                if c.get(*i) == Some(&'?') && c.get(*i + 1) == Some(&':') {
                    *i += 2;
                }
                let inner = if depth < 32 {
                    parse_alts(c, i, depth + 1)
                } else {
                    vec![]
                };
                *i += 1; // ')'
                Re::Group(inner)
            }
            '[' => {
                *i += 1;
                let mut set = Vec::new();
                while *i < c.len() && c[*i] != ']' {
                    let a = if c[*i] == '\\' && *i + 1 < c.len() {
                        *i += 1;
                        c[*i]
                    } else {
                        c[*i]
                    };
                    if c.get(*i + 1) == Some(&'-') && c.get(*i + 2).is_some_and(|e| *e != ']') {
                        let b = c[*i + 2];
                        let (lo, hi) = (a.min(b) as u32, a.max(b) as u32);
                        for x in lo..=hi.min(lo + 1000) {
                            if let Some(ch) = char::from_u32(x) {
                                set.push(ch);
                            }
                        }
                        *i += 3;
                    } else {
                        set.push(a);
                        *i += 1;
                    }
                }
                *i += 1;
                Re::Chars(set)
            }
            '\\' => {
                *i += 1;
                let e = c.get(*i).copied().unwrap_or('\\');
                *i += 1;
                Re::Chars(match e {
                    'd' => ('0'..='9').collect(),
                    'w' => ('a'..='z')
                        .chain('A'..='Z')
                        .chain('0'..='9')
                        .chain(std::iter::once('_'))
                        .collect(),
                    's' => vec![' '],
                    other => vec![other],
                })
            }
            '.' => {
                *i += 1;
                Re::Chars(('a'..='z').collect())
            }
            '^' | '$' => {
                *i += 1;
                continue;
            }
            other => {
                *i += 1;
                Re::Chars(vec![other])
            }
        };
        let atom = if let Re::Group(_) = atom { atom } else { atom };
        let (min, max) = parse_quant(c, i);
        if let Some(last) = alts.last_mut() {
            last.push((atom, min, max));
        }
    }
    alts
}

fn parse_quant(c: &[char], i: &mut usize) -> (usize, usize) {
    match c.get(*i) {
        Some('?') => {
            *i += 1;
            (0, 1)
        }
        Some('*') => {
            *i += 1;
            (0, 5)
        }
        Some('+') => {
            *i += 1;
            (1, 5)
        }
        Some('{') => {
            let close = c[*i..].iter().position(|x| *x == '}').map(|p| *i + p);
            let Some(close) = close else { return (1, 1) };
            let body: String = c[*i + 1..close].iter().collect();
            *i = close + 1;
            let (a, b) = match body.split_once(',') {
                Some((a, "")) => (
                    a.trim().parse().unwrap_or(0),
                    a.trim().parse::<usize>().unwrap_or(0) + 5,
                ),
                Some((a, b)) => (a.trim().parse().unwrap_or(0), b.trim().parse().unwrap_or(0)),
                None => {
                    let n = body.trim().parse().unwrap_or(1);
                    (n, n)
                }
            };
            (a.min(1000), b.clamp(a.min(1000), 1000))
        }
        _ => (1, 1),
    }
}

fn emit_alts(alts: &[Vec<(Re, usize, usize)>], rng: &mut StdRng, out: &mut String) {
    if alts.is_empty() {
        return;
    }
    let seq = &alts[rng.random_range(0..alts.len())];
    for (atom, min, max) in seq {
        let n = if max > min {
            rng.random_range(*min..=*max)
        } else {
            *min
        };
        for _ in 0..n {
            match atom {
                Re::Chars(set) if !set.is_empty() => out.push(set[rng.random_range(0..set.len())]),
                Re::Chars(_) => {}
                Re::Group(inner) => emit_alts(inner, rng, out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn regex_samples_match() {
        let mut rng = StdRng::seed_from_u64(7);
        let re = crate::transforms::JavaRegex::new("Item_[1-9][0-9]{0,2}").unwrap();
        for _ in 0..50 {
            let s = regex_sample("Item_[1-9][0-9]{0,2}", &mut rng);
            assert!(re.matches(&s), "{s}");
        }
    }
}
