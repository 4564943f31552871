//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for topic and
//! broker resources, with Kafka's sources and synonyms.

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{
    AlterConfigsRequest, AlterConfigsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::admin::admin_error_code;
use super::Ctx;
use crate::config::Source;
use crate::protocol::str_bytes;
use crate::topic_config::{effective, TopicSource, TOPIC_CONFIGS};

const TOPIC: i8 = 2;
const BROKER: i8 = 4;
const BROKER_LOGGER: i8 = 8;

const SOURCE_DYNAMIC_TOPIC: i8 = 1;
const SOURCE_STATIC_BROKER: i8 = 4;
const SOURCE_DEFAULT: i8 = 5;

fn synonym(name: &str, value: Option<String>, source: i8) -> DescribeConfigsSynonym {
    let mut s = DescribeConfigsSynonym::default();
    s.name = str_bytes(name.to_string());
    s.value = value.map(str_bytes);
    s.source = source;
    s
}

fn wanted(keys: &Option<Vec<StrBytes>>, name: &str) -> bool {
    keys.as_ref().is_none_or(|ks| ks.is_empty() || ks.iter().any(|k| k.as_str() == name))
}

fn describe_topic(ctx: &Ctx, name: &str, keys: &Option<Vec<StrBytes>>, synonyms: bool) -> Result<Vec<DescribeConfigsResourceResult>, ResponseError> {
    let topic = ctx.broker.topic(name).ok_or(ResponseError::UnknownTopicOrPartition)?;
    let broker_cfg = &ctx.broker.config;
    Ok(TOPIC_CONFIGS
        .iter()
        .filter(|k| wanted(keys, k.name))
        .map(|k| {
            let (value, source) = effective(k, &topic.configs, broker_cfg);
            let mut e = DescribeConfigsResourceResult::default();
            e.name = str_bytes(k.name);
            e.value = value.clone().map(str_bytes);
            e.config_source = source.wire_id();
            if ctx.version >= 3 {
                e.config_type = k.kind.wire_id();
            }
            if synonyms {
                if source == TopicSource::Topic {
                    e.synonyms.push(synonym(k.name, value, SOURCE_DYNAMIC_TOPIC));
                }
                if let Some(syn) = k.synonym {
                    if broker_cfg.source(syn) == Source::Static {
                        e.synonyms.push(synonym(syn, broker_cfg.get(syn), SOURCE_STATIC_BROKER));
                    }
                    e.synonyms.push(synonym(syn, k.default.map(str::to_string), SOURCE_DEFAULT));
                }
            }
            e
        })
        .collect())
}

fn describe_broker(ctx: &Ctx, name: &str, keys: &Option<Vec<StrBytes>>, synonyms: bool) -> Result<Vec<DescribeConfigsResourceResult>, ResponseError> {
    if !name.is_empty() && name.parse::<i32>().ok() != Some(ctx.broker.node_id) {
        return Err(ResponseError::InvalidRequest);
    }
    Ok(ctx
        .broker
        .config
        .describe()
        .into_iter()
        .filter(|(k, _, _)| wanted(keys, k.name))
        .map(|(k, value, source)| {
            let mut e = DescribeConfigsResourceResult::default();
            e.name = str_bytes(k.name);
            e.value = value.clone().map(str_bytes);
            e.read_only = true;
            e.config_source = if source == Source::Static { SOURCE_STATIC_BROKER } else { SOURCE_DEFAULT };
            if ctx.version >= 3 {
                e.config_type = k.kind.wire_id();
            }
            if synonyms {
                e.synonyms.push(synonym(k.name, value, e.config_source));
            }
            e
        })
        .collect())
}

pub fn describe(ctx: &Ctx, req: DescribeConfigsRequest) -> DescribeConfigsResponse {
    let mut resp = DescribeConfigsResponse::default();
    for res in req.resources {
        let mut r = DescribeConfigsResult::default();
        r.resource_type = res.resource_type;
        r.resource_name = res.resource_name.clone();
        let name = res.resource_name.as_str();
        let out = match res.resource_type {
            TOPIC => describe_topic(ctx, name, &res.configuration_keys, req.include_synonyms),
            BROKER => describe_broker(ctx, name, &res.configuration_keys, req.include_synonyms),
            BROKER_LOGGER => Ok(Vec::new()),
            _ => Err(ResponseError::InvalidRequest),
        };
        match out {
            Ok(c) => r.configs = c,
            Err(e) => {
                r.error_code = e.code();
                r.error_message = Some(str_bytes(format!("{e}")));
            }
        }
        resp.results.push(r);
    }
    resp
}

fn apply_topic(ctx: &Ctx, name: &str, new: BTreeMap<String, String>, validate_only: bool) -> (i16, Option<StrBytes>) {
    match ctx.broker.set_topic_configs(name, new, validate_only) {
        Ok(()) => (0, None),
        Err(e) => (admin_error_code(&e).code(), Some(str_bytes(e.to_string()))),
    }
}

fn broker_not_dynamic() -> (i16, Option<StrBytes>) {
    (
        ResponseError::InvalidConfig.code(),
        Some(str_bytes("Dynamic broker configs are not supported; set them in server.properties")),
    )
}

pub fn incremental_alter(ctx: &Ctx, req: IncrementalAlterConfigsRequest) -> IncrementalAlterConfigsResponse {
    use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
    let mut resp = IncrementalAlterConfigsResponse::default();
    for res in req.resources {
        let name = res.resource_name.to_string();
        let (code, msg) = match res.resource_type {
            TOPIC => match ctx.broker.topic(&name) {
                None => (ResponseError::UnknownTopicOrPartition.code(), None),
                Some(t) => {
                    let mut cfg = t.configs.clone();
                    let mut bad = None;
                    for c in &res.configs {
                        let key = c.name.to_string();
                        let value = c.value.as_ref().map(|v| v.to_string()).unwrap_or_default();
                        match c.config_operation {
                            0 => {
                                cfg.insert(key, value);
                            }
                            1 => {
                                cfg.remove(&key);
                            }
                            2 | 3 => {
                                // APPEND / SUBTRACT apply to list configs only.
                                let is_list = crate::topic_config::lookup(&key)
                                    .is_some_and(|k| k.kind == crate::config::ConfigType::List);
                                if !is_list {
                                    bad = Some(format!("Config value append is not allowed for config key: {key}"));
                                    break;
                                }
                                let current = cfg.get(&key).cloned().or_else(|| {
                                    crate::topic_config::lookup(&key).and_then(|k| effective(k, &t.configs, &ctx.broker.config).0)
                                });
                                let mut items: Vec<String> = current
                                    .unwrap_or_default()
                                    .split(',')
                                    .map(|s| s.trim().to_string())
                                    .filter(|s| !s.is_empty())
                                    .collect();
                                for v in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                                    if c.config_operation == 2 && !items.iter().any(|i| i == v) {
                                        items.push(v.to_string());
                                    } else if c.config_operation == 3 {
                                        items.retain(|i| i != v);
                                    }
                                }
                                cfg.insert(key, items.join(","));
                            }
                            op => {
                                bad = Some(format!("Unknown config operation {op}"));
                                break;
                            }
                        }
                    }
                    match bad {
                        Some(m) => (ResponseError::InvalidConfig.code(), Some(str_bytes(m))),
                        None => apply_topic(ctx, &name, cfg, req.validate_only),
                    }
                }
            },
            BROKER | BROKER_LOGGER => broker_not_dynamic(),
            _ => (ResponseError::InvalidRequest.code(), Some(str_bytes("Unsupported resource type"))),
        };
        let mut r = AlterConfigsResourceResponse::default();
        r.error_code = code;
        r.error_message = msg;
        r.resource_type = res.resource_type;
        r.resource_name = res.resource_name;
        resp.responses.push(r);
    }
    resp
}

pub fn alter(ctx: &Ctx, req: AlterConfigsRequest) -> AlterConfigsResponse {
    use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
    let mut resp = AlterConfigsResponse::default();
    for res in req.resources {
        let name = res.resource_name.to_string();
        let (code, msg) = match res.resource_type {
            TOPIC => {
                // AlterConfigs replaces the whole set of overrides.
                let cfg: BTreeMap<String, String> = res
                    .configs
                    .iter()
                    .filter_map(|c| c.value.as_ref().map(|v| (c.name.to_string(), v.to_string())))
                    .collect();
                apply_topic(ctx, &name, cfg, req.validate_only)
            }
            BROKER => broker_not_dynamic(),
            _ => (ResponseError::InvalidRequest.code(), Some(str_bytes("Unsupported resource type"))),
        };
        let mut r = AlterConfigsResourceResponse::default();
        r.error_code = code;
        r.error_message = msg;
        r.resource_type = res.resource_type;
        r.resource_name = res.resource_name;
        resp.responses.push(r);
    }
    resp
}
