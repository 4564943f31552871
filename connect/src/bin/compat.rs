//! Runs the shared SMT/converter case table (tests/connect/compat-cases.json)
//! through this crate and prints one JSON result per case, in the same shape
//! as tests/java/connect/ConnectCompat.java prints for Apache Kafka's classes.
//! Usage: tributary-connect-compat <cases.json>

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{json, Map, Value as J};
use tributary_connect::config::Props;
use tributary_connect::converters::json::JsonConverter;
use tributary_connect::converters::json_node;
use tributary_connect::converters::simple_header::SimpleHeaderConverter;
use tributary_connect::converters::Converter;
use tributary_connect::converters::{self, HeaderConverter};
use tributary_connect::data::{SchemaAndValue, Value};
use tributary_connect::record::{ConnectRecord, Headers, RecordKind};
use tributary_connect::transforms::{self, Predicate, Transformation};

fn props(obj: &J, skip: &[&str]) -> Props {
    let mut m = BTreeMap::new();
    if let J::Object(o) = obj {
        for (k, v) in o {
            if skip.contains(&k.as_str()) {
                continue;
            }
            let s = match v {
                J::String(s) => s.clone(),
                other => other.to_string(),
            };
            m.insert(k.clone(), s);
        }
    }
    m
}

fn envelope() -> JsonConverter {
    JsonConverter::new(true)
}

fn decode(env: &J) -> Result<SchemaAndValue, String> {
    if env.is_null() {
        return Ok(SchemaAndValue::null());
    }
    envelope()
        .to_connect("t", Some(env.to_string().as_bytes()))
        .map_err(|e| e.message)
}

fn encode(sv_schema: Option<&tributary_connect::data::Schema>, v: &Value) -> Result<J, String> {
    match envelope()
        .from_connect("t", sv_schema, v)
        .map_err(|e| e.message)?
    {
        None => Ok(J::Null),
        Some(b) => Ok(J::String(String::from_utf8_lossy(&b).into_owned())),
    }
}

fn err(stage: &str, msg: String) -> Map<String, J> {
    let mut m = Map::new();
    m.insert("error".into(), J::Bool(true));
    m.insert("stage".into(), J::String(stage.into()));
    m.insert("message".into(), J::String(msg));
    m
}

type Stage = (Box<dyn Transformation>, Option<Box<dyn Predicate>>, bool);

fn run_transform(c: &J) -> Map<String, J> {
    let mut stages: Vec<Stage> = Vec::new();
    for t in c["transforms"].as_array().cloned().unwrap_or_default() {
        let ty = t["type"].as_str().unwrap_or_default();
        let tr = match transforms::build_transform(ty, &props(&t, &["type", "predicate", "negate"]))
        {
            Ok(tr) => tr,
            Err(e) => return err("config", e.message),
        };
        let pred = match t.get("predicate") {
            None => None,
            Some(p) => match transforms::build_predicate(
                p["type"].as_str().unwrap_or_default(),
                &props(p, &["type"]),
            ) {
                Ok(p) => Some(p),
                Err(e) => return err("config", e.message),
            },
        };
        let negate = t.get("negate").and_then(|n| n.as_str()) == Some("true");
        stages.push((tr, pred, negate));
    }
    match apply(c, &stages) {
        Ok(m) => m,
        Err(e) => err("apply", e),
    }
}

fn apply(c: &J, stages: &[Stage]) -> Result<Map<String, J>, String> {
    let r = &c["record"];
    let key = decode(&r["key"])?;
    let value = decode(&r["value"])?;
    let mut headers = Headers::default();
    for h in r
        .get("headers")
        .and_then(|h| h.as_array())
        .cloned()
        .unwrap_or_default()
    {
        headers.add(h["key"].as_str().unwrap_or_default(), decode(&h["value"])?);
    }
    let kind = match r.get("offset").and_then(|o| o.as_i64()) {
        Some(o) => RecordKind::Sink { kafka_offset: o },
        None => RecordKind::Source {
            source_partition: J::Null,
            source_offset: J::Null,
        },
    };
    let mut partition = r
        .get("partition")
        .and_then(|p| p.as_i64())
        .map(|p| p as i32);
    if matches!(kind, RecordKind::Sink { .. }) && partition.is_none() {
        partition = Some(0);
    }
    let mut rec = Some(ConnectRecord {
        topic: r["topic"].as_str().unwrap_or_default().to_string(),
        kafka_partition: partition,
        key_schema: key.schema,
        key: key.value,
        value_schema: value.schema,
        value: value.value,
        timestamp: r.get("timestamp").and_then(|t| t.as_i64()),
        headers,
        kind,
    });
    for (tr, pred, negate) in stages {
        let Some(current) = rec.take() else { break };
        let run = match pred {
            None => true,
            Some(p) => *negate ^ p.test(&current),
        };
        rec = if run {
            tr.apply(current).map_err(|e| e.message)?
        } else {
            Some(current)
        };
        if rec.is_none() {
            break;
        }
    }
    let mut out = Map::new();
    out.insert("error".into(), J::Bool(false));
    let Some(rec) = rec else {
        out.insert("dropped".into(), J::Bool(true));
        return Ok(out);
    };
    out.insert("dropped".into(), J::Bool(false));
    out.insert("topic".into(), J::String(rec.topic.clone()));
    out.insert(
        "partition".into(),
        rec.kafka_partition.map(|p| json!(p)).unwrap_or(J::Null),
    );
    out.insert(
        "timestamp".into(),
        rec.timestamp.map(|t| json!(t)).unwrap_or(J::Null),
    );
    out.insert("key".into(), encode(rec.key_schema.as_ref(), &rec.key)?);
    out.insert(
        "value".into(),
        encode(rec.value_schema.as_ref(), &rec.value)?,
    );
    let mut hs = Vec::new();
    for h in rec.headers.iter() {
        let simple = SimpleHeaderConverter
            .from_connect_header(&rec.topic, &h.key, h.schema.as_ref(), &h.value)
            .map_err(|e| e.message)?
            .map(|b| J::String(String::from_utf8_lossy(&b).into_owned()))
            .unwrap_or(J::Null);
        hs.push(
            json!({"key": h.key, "json": encode(h.schema.as_ref(), &h.value)?, "simple": simple}),
        );
    }
    out.insert("headers".into(), J::Array(hs));
    Ok(out)
}

enum AnyConverter {
    Value(Box<dyn Converter>),
    Header(Box<dyn HeaderConverter>),
}

fn run_converter(c: &J) -> Map<String, J> {
    let class = c["converter"].as_str().unwrap_or_default();
    let is_key = c.get("is_key").and_then(|v| v.as_bool()).unwrap_or(false);
    let cfg = props(c.get("config").unwrap_or(&J::Null), &[]);
    let conv = if class.ends_with("HeaderConverter") {
        converters::build_header(class, &cfg).map(AnyConverter::Header)
    } else {
        converters::build(class, &cfg, is_key).map(AnyConverter::Value)
    };
    let conv = match conv {
        Ok(c) => c,
        Err(e) => return err("config", e.message),
    };
    match convert(c, &conv) {
        Ok(m) => m,
        Err(e) => err("apply", e),
    }
}

fn b64(b: Option<Vec<u8>>) -> J {
    b.map(|b| J::String(base64::engine::general_purpose::STANDARD.encode(b)))
        .unwrap_or(J::Null)
}

fn convert(c: &J, conv: &AnyConverter) -> Result<Map<String, J>, String> {
    let mut out = Map::new();
    if c["direction"] == "from_connect" {
        let input = decode(&c["input"])?;
        let bytes = match conv {
            AnyConverter::Value(v) => v.from_connect("t", input.schema.as_ref(), &input.value),
            AnyConverter::Header(h) => {
                h.from_connect_header("t", "h", input.schema.as_ref(), &input.value)
            }
        }
        .map_err(|e| e.message)?;
        out.insert("error".into(), J::Bool(false));
        out.insert("bytes".into(), b64(bytes));
    } else {
        let input: Option<Vec<u8>> = if let Some(b) = c.get("input_base64").and_then(|v| v.as_str())
        {
            Some(
                base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .map_err(|e| e.to_string())?,
            )
        } else {
            c.get("input_text")
                .and_then(|v| v.as_str())
                .map(|s| s.as_bytes().to_vec())
        };
        let sv = match conv {
            AnyConverter::Value(v) => v.to_connect("t", input.as_deref()),
            AnyConverter::Header(h) => h.to_connect_header("t", "h", input.as_deref()),
        }
        .map_err(|e| e.message)?;
        out.insert("error".into(), J::Bool(false));
        out.insert("connect".into(), encode(sv.schema.as_ref(), &sv.value)?);
        if c.get("round_trip").is_some() {
            if let AnyConverter::Value(v) = conv {
                out.insert(
                    "bytes".into(),
                    b64(v
                        .from_connect("t", sv.schema.as_ref(), &sv.value)
                        .map_err(|e| e.message)?),
                );
            }
        }
    }
    Ok(out)
}

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: tributary-connect-compat <cases.json>");
        std::process::exit(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            std::process::exit(2);
        }
    };
    let cases: Vec<J> = match serde_json::from_str(&text) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot parse {path}: {e}");
            std::process::exit(2);
        }
    };
    let _ = json_node::parse; // the envelope codec is the crate's JsonConverter
    let mut results = Vec::new();
    for c in &cases {
        let mut r = if c["kind"] == "converter" {
            run_converter(c)
        } else {
            run_transform(c)
        };
        r.insert("name".into(), c["name"].clone());
        results.push(J::Object(r));
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&results).unwrap_or_default()
    );
}
