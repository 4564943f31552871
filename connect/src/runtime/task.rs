//! The source and sink task loops: poll → transform → convert → produce,
//! committing source offsets after the records are acknowledged; and
//! fetch → convert → transform → put, committing the sink's consumer-group
//! offsets after the task has flushed. Both obey pause/resume/stop through a
//! watch channel and report their state to the status store.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use tokio::sync::watch;
use tributary_client::{CommittedOffset, FetchOptions, OffsetSpec, ProduceRecord};

use crate::config::Props;
use crate::connectors::{ConnectError, SinkTask, SourceTask};
use crate::record::{ConnectRecord, Headers, RecordKind};

use super::connector_config::ConnectorSettings;
use super::errors::{ErrorHandler, RawRecord, Stage};
use super::kafka::{produce_record, KafkaIo};
use super::offsets::{offset_key, SnapshotReader};
use super::status::{State, Status, StatusKey};
use super::worker::WorkerShared;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Run,
    Pause,
    Stop,
}

/// What a task needs to run, besides the worker.
#[derive(Clone, Debug)]
pub struct TaskSpec {
    pub connector: String,
    pub index: usize,
    pub task_count: usize,
    pub connector_config: Props,
    pub task_config: Props,
}

struct Ctx {
    shared: Arc<WorkerShared>,
    spec: TaskSpec,
}

impl Ctx {
    fn status(&self, state: State, trace: Option<String>) {
        self.shared.status.put(
            StatusKey::Task(self.spec.connector.clone(), self.spec.index),
            Status {
                state,
                trace,
                worker_id: self.shared.config.worker_id.clone(),
                generation: self.shared.generation(),
            },
        );
    }
    fn fail(&self, e: &ConnectError) {
        tracing::error!(connector = %self.spec.connector, task = self.spec.index, error = %e, "task failed");
        self.status(State::Failed, Some(e.trace()));
    }
}

pub async fn run_task(
    shared: Arc<WorkerShared>,
    spec: TaskSpec,
    control: watch::Receiver<Control>,
) {
    let ctx = Ctx { shared, spec };
    let settings = match ConnectorSettings::parse(&ctx.spec.connector_config, &ctx.shared.config) {
        Ok(s) => s,
        Err(e) => return ctx.fail(&ConnectError::new(e.message)),
    };
    let Some(kafka) = ctx.shared.kafka.clone() else {
        return ctx.fail(&ConnectError::new("no Kafka connection configured"));
    };
    let kafka = kafka.fork();
    if let Some(task) = settings.plugin.new_source_task() {
        run_source(&ctx, settings, task, kafka, control).await;
    } else if let Some(task) = settings.plugin.new_sink_task() {
        run_sink(&ctx, settings, task, kafka, control).await;
    } else {
        ctx.fail(&ConnectError::new("connector provides no task"));
    }
}

/// Waits while paused; returns false when the task must stop.
async fn gate(
    ctx: &Ctx,
    control: &mut watch::Receiver<Control>,
    paused_reported: &mut bool,
) -> bool {
    loop {
        let c = *control.borrow_and_update();
        match c {
            Control::Stop => return false,
            Control::Run => {
                if *paused_reported {
                    ctx.status(State::Running, None);
                    *paused_reported = false;
                }
                return true;
            }
            Control::Pause => {
                if !*paused_reported {
                    ctx.status(State::Paused, None);
                    *paused_reported = true;
                }
                if control.changed().await.is_err() {
                    return false;
                }
            }
        }
    }
}

async fn run_source(
    ctx: &Ctx,
    settings: ConnectorSettings,
    mut task: Box<dyn SourceTask>,
    kafka: KafkaIo,
    mut control: watch::Receiver<Control>,
) {
    let name = ctx.spec.connector.clone();
    if let Err(e) = ctx.shared.offsets.refresh().await {
        return ctx.fail(&ConnectError::retriable(format!(
            "cannot read the offsets: {e}"
        )));
    }
    let reader = SnapshotReader(ctx.shared.offsets.snapshot(&name));
    if let Err(e) = task.start(&ctx.spec.task_config, &reader) {
        return ctx.fail(&e);
    }
    ctx.status(State::Running, None);
    let mut errors = ErrorHandler::new(
        settings.errors.clone(),
        &name,
        ctx.spec.index,
        Some(kafka.clone()),
    );
    let mut pending: BTreeMap<String, (Json, Json)> = BTreeMap::new();
    let mut known_topics: HashMap<String, i32> = HashMap::new();
    let mut last_flush = Instant::now();
    let interval = ctx.shared.config.offset_flush_interval;
    let mut paused = false;
    let outcome: Result<(), ConnectError> = loop {
        if !gate(ctx, &mut control, &mut paused).await {
            break Ok(());
        }
        let polled = tokio::select! {
            biased;
            changed = control.changed() => {
                if changed.is_err() { break Ok(()); }
                continue;
            }
            r = task.poll() => r,
        };
        let records = match polled {
            Ok(r) => r,
            Err(e) => break Err(e),
        };
        if let Err(e) = process_source_batch(
            ctx,
            &settings,
            &kafka,
            &mut errors,
            &mut known_topics,
            &mut pending,
            records,
        )
        .await
        {
            break Err(e);
        }
        if last_flush.elapsed() >= interval && !pending.is_empty() {
            if let Err(e) = flush_source_offsets(ctx, &name, &mut pending).await {
                tracing::warn!(connector = %name, error = %e, "offset flush failed; will retry");
            }
            last_flush = Instant::now();
        }
    };
    // Offsets of records already acknowledged are committed even on failure.
    if let Err(e) = flush_source_offsets(ctx, &name, &mut pending).await {
        tracing::warn!(connector = %name, error = %e, "final offset flush failed");
    }
    task.stop();
    match outcome {
        Ok(()) => {}
        Err(e) => ctx.fail(&e),
    }
}

async fn flush_source_offsets(
    ctx: &Ctx,
    name: &str,
    pending: &mut BTreeMap<String, (Json, Json)>,
) -> Result<(), String> {
    if pending.is_empty() {
        return Ok(());
    }
    let entries: Vec<(Json, Option<Json>)> = pending
        .values()
        .map(|(p, o)| (p.clone(), Some(o.clone())))
        .collect();
    ctx.shared.offsets.put(name, entries).await?;
    pending.clear();
    Ok(())
}

async fn process_source_batch(
    ctx: &Ctx,
    settings: &ConnectorSettings,
    kafka: &KafkaIo,
    errors: &mut ErrorHandler,
    known_topics: &mut HashMap<String, i32>,
    pending: &mut BTreeMap<String, (Json, Json)>,
    records: Vec<ConnectRecord>,
) -> Result<(), ConnectError> {
    // (topic, partition) → records in poll order
    let mut out: Vec<((String, i32), ProduceRecord)> = Vec::new();
    let mut offsets: Vec<(Json, Json)> = Vec::new();
    for record in records {
        if let RecordKind::Source {
            source_partition,
            source_offset,
        } = &record.kind
        {
            if !source_partition.is_null() {
                offsets.push((source_partition.clone(), source_offset.clone()));
            }
        }
        let describe_rec = record.clone();
        let describe = move || format!("{describe_rec:?}");
        let transformed = match settings.chain.apply(record) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(se) => {
                let class = settings_class(settings, &se.alias);
                errors
                    .failed(
                        Stage::Transformation,
                        &class,
                        &se.error.into(),
                        None,
                        &describe,
                    )
                    .await?;
                continue;
            }
        };
        let topic = transformed.topic.clone();
        let key = match settings.key_converter.from_connect(
            &topic,
            transformed.key_schema.as_ref(),
            &transformed.key,
        ) {
            Ok(k) => k,
            Err(e) => {
                errors
                    .failed(
                        Stage::KeyConverter,
                        &settings.key_converter_class,
                        &e.into(),
                        None,
                        &describe,
                    )
                    .await?;
                continue;
            }
        };
        let value = match settings.value_converter.from_connect(
            &topic,
            transformed.value_schema.as_ref(),
            &transformed.value,
        ) {
            Ok(v) => v,
            Err(e) => {
                errors
                    .failed(
                        Stage::ValueConverter,
                        &settings.value_converter_class,
                        &e.into(),
                        None,
                        &describe,
                    )
                    .await?;
                continue;
            }
        };
        let mut headers = Vec::new();
        let mut header_failed = false;
        for h in transformed.headers.iter() {
            match settings.header_converter.from_connect_header(
                &topic,
                &h.key,
                h.schema.as_ref(),
                &h.value,
            ) {
                Ok(b) => headers.push((h.key.clone(), b)),
                Err(e) => {
                    errors
                        .failed(
                            Stage::HeaderConverter,
                            &settings.header_converter_class,
                            &e.into(),
                            None,
                            &describe,
                        )
                        .await?;
                    header_failed = true;
                    break;
                }
            }
        }
        if header_failed {
            continue;
        }
        let partitions = match known_topics.get(&topic) {
            Some(n) => *n,
            None => {
                let n = errors
                    .retry(|| async {
                        kafka
                            .ensure_topic(
                                &topic,
                                settings.topic_creation_partitions,
                                settings.topic_creation_rf,
                                &[],
                            )
                            .await
                            .map_err(ConnectError::retriable)
                    })
                    .await?;
                known_topics.insert(topic.clone(), n);
                ctx.shared.record_active_topic(&ctx.spec.connector, &topic);
                n
            }
        };
        let partition = match transformed.kafka_partition {
            Some(p) if p >= 0 && p < partitions => p,
            _ => kafka.choose_partition(key.as_deref(), partitions),
        };
        out.push((
            (topic, partition),
            produce_record(key, value, headers, transformed.timestamp),
        ));
    }
    // Produce each partition's records in order, in chunks.
    let mut groups: Vec<((String, i32), Vec<ProduceRecord>)> = Vec::new();
    for (tp, rec) in out {
        match groups.iter_mut().find(|(k, _)| *k == tp) {
            Some((_, v)) => v.push(rec),
            None => groups.push((tp, vec![rec])),
        }
    }
    for ((topic, partition), recs) in groups {
        for chunk in recs.chunks(500) {
            errors
                .retry(|| async {
                    kafka
                        .produce(&topic, partition, chunk)
                        .await
                        .map_err(ConnectError::retriable)
                })
                .await
                .map_err(|e| {
                    ConnectError::new(format!(
                        "Unrecoverable exception from producer send callback: {}",
                        e.message
                    ))
                })?;
        }
    }
    for (p, o) in offsets {
        pending.insert(offset_key(&ctx.spec.connector, &p), (p, o));
    }
    Ok(())
}

/// The class of the transform stage `alias`, as the error context reports it.
fn settings_class(settings: &ConnectorSettings, alias: &str) -> String {
    settings
        .chain
        .stages
        .iter()
        .find(|s| s.alias == alias)
        .map(|s| s.class.clone())
        .unwrap_or_else(|| alias.to_string())
}

/// The partitions of the sink's topics that belong to task `index` of `count`.
async fn sink_assignment(
    kafka: &KafkaIo,
    settings: &ConnectorSettings,
    index: usize,
    count: usize,
) -> Vec<(String, i32)> {
    let mut topics: Vec<String> = settings.topics.clone();
    if let Some(re) = &settings.topics_regex {
        if let Ok(md) = kafka.client.metadata(None).await {
            topics = md
                .topics
                .keys()
                .filter(|t| re.matches(t) && !t.starts_with("__"))
                .cloned()
                .collect();
        }
    }
    topics.sort();
    topics.dedup();
    let mut all = Vec::new();
    for t in topics {
        kafka.forget_topic(&t);
        if let Ok(Some(n)) = kafka.partition_count(&t).await {
            for p in 0..n {
                all.push((t.clone(), p));
            }
        }
    }
    all.into_iter()
        .enumerate()
        .filter(|(i, _)| i % count.max(1) == index)
        .map(|(_, tp)| tp)
        .collect()
}

pub fn sink_group(connector: &str) -> String {
    format!("connect-{connector}")
}

async fn run_sink(
    ctx: &Ctx,
    settings: ConnectorSettings,
    mut task: Box<dyn SinkTask>,
    kafka: KafkaIo,
    mut control: watch::Receiver<Control>,
) {
    let name = ctx.spec.connector.clone();
    let group = sink_group(&name);
    if let Err(e) = task.start(&ctx.spec.task_config) {
        return ctx.fail(&e);
    }
    ctx.status(State::Running, None);
    let mut errors = ErrorHandler::new(
        settings.errors.clone(),
        &name,
        ctx.spec.index,
        Some(kafka.clone()),
    );
    let mut positions: BTreeMap<(String, i32), i64> = BTreeMap::new();
    let mut committed: BTreeMap<(String, i32), i64> = BTreeMap::new();
    let mut assignment: Vec<(String, i32)> = Vec::new();
    let mut last_refresh: Option<Instant> = None;
    let mut last_commit = Instant::now();
    let interval = ctx.shared.config.offset_flush_interval;
    let mut paused = false;
    let outcome: Result<(), ConnectError> = loop {
        if !gate(ctx, &mut control, &mut paused).await {
            break Ok(());
        }
        if last_refresh.is_none_or(|t| t.elapsed() > Duration::from_secs(5))
            || assignment.is_empty()
                && last_refresh.is_some_and(|t| t.elapsed() > Duration::from_millis(500))
        {
            let fresh =
                sink_assignment(&kafka, &settings, ctx.spec.index, ctx.spec.task_count).await;
            let new: Vec<(String, i32)> = fresh
                .iter()
                .filter(|tp| !positions.contains_key(*tp))
                .cloned()
                .collect();
            if !new.is_empty() {
                let start = match kafka.client.fetch_offsets(&group, &new).await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(connector = %name, error = %e, "cannot read committed offsets; retrying");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        continue;
                    }
                };
                for tp in &new {
                    let committed_at = start
                        .iter()
                        .find(|c| c.topic == tp.0 && c.partition == tp.1)
                        .map(|c| c.offset)
                        .unwrap_or(-1);
                    let pos = if committed_at >= 0 {
                        committed_at
                    } else {
                        // auto.offset.reset=earliest, as Connect's sink consumers use.
                        kafka
                            .client
                            .list_offset(&tp.0, tp.1, OffsetSpec::Earliest)
                            .await
                            .unwrap_or(0)
                    };
                    positions.insert(tp.clone(), pos);
                    committed.insert(tp.clone(), committed_at);
                }
            }
            positions.retain(|tp, _| fresh.contains(tp));
            assignment = fresh;
            last_refresh = Some(Instant::now());
        }
        if assignment.is_empty() {
            tokio::select! {
                _ = control.changed() => {}
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
            continue;
        }
        let mut batch: Vec<ConnectRecord> = Vec::new();
        let max_wait = if assignment.len() > 1 {
            Duration::from_millis(50)
        } else {
            Duration::from_millis(300)
        };
        let opts = FetchOptions {
            max_wait,
            min_bytes: 1,
            max_bytes: 4 * 1024 * 1024,
        };
        let mut failed: Option<ConnectError> = None;
        for tp in assignment.clone() {
            let Some(pos) = positions.get(&tp).copied() else {
                continue;
            };
            // Not raced against the control channel: dropping an in-flight
            // request would leave its response unread on the pooled connection.
            // A stop waits at most one fetch (max_wait).
            if control.has_changed().unwrap_or(true) {
                break;
            }
            let fetched = kafka.client.fetch(&tp.0, tp.1, pos, &opts).await;
            let fetched = match fetched {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!(connector = %name, topic = %tp.0, partition = tp.1, error = %e, "fetch failed; retrying");
                    kafka.forget_topic(&tp.0);
                    last_refresh = None;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    break;
                }
            };
            if pos < fetched.log_start_offset {
                positions.insert(tp.clone(), fetched.log_start_offset);
                continue;
            }
            for cr in fetched.records {
                let raw = RawRecord {
                    topic: tp.0.clone(),
                    partition: tp.1,
                    offset: cr.offset,
                    timestamp: cr.timestamp,
                    key: cr.key.as_ref().map(|b| b.to_vec()),
                    value: cr.value.as_ref().map(|b| b.to_vec()),
                    headers: cr
                        .headers
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_ref().map(|b| b.to_vec())))
                        .collect(),
                };
                match convert_sink_record(&settings, &raw) {
                    Err((stage, class, e)) => {
                        let desc = || format!("{raw:?}");
                        if let Err(fatal) =
                            errors.failed(stage, &class, &e, Some(&raw), &desc).await
                        {
                            failed = Some(fatal);
                            break;
                        }
                    }
                    Ok(rec) => match settings.chain.apply(rec) {
                        Ok(Some(r)) => batch.push(r),
                        Ok(None) => {}
                        Err(se) => {
                            let class = settings_class(&settings, &se.alias);
                            let desc = || format!("{raw:?}");
                            if let Err(fatal) = errors
                                .failed(
                                    Stage::Transformation,
                                    &class,
                                    &se.error.into(),
                                    Some(&raw),
                                    &desc,
                                )
                                .await
                            {
                                failed = Some(fatal);
                                break;
                            }
                        }
                    },
                }
            }
            if failed.is_some() {
                break;
            }
            positions.insert(tp.clone(), fetched.next_offset.max(pos));
        }
        if let Some(e) = failed {
            break Err(e);
        }
        if !batch.is_empty() {
            if let Err(e) = put_with_retry(&errors, task.as_mut(), batch).await {
                break Err(e);
            }
        }
        if last_commit.elapsed() >= interval {
            if let Err(e) =
                commit_sink(&kafka, task.as_mut(), &group, &positions, &mut committed).await
            {
                tracing::warn!(connector = %name, error = %e, "offset commit failed; will retry");
            }
            last_commit = Instant::now();
        }
    };
    if outcome.is_ok() {
        if let Err(e) = commit_sink(&kafka, task.as_mut(), &group, &positions, &mut committed).await
        {
            tracing::warn!(connector = %name, error = %e, "final offset commit failed");
        }
    }
    task.stop();
    if let Err(e) = outcome {
        ctx.fail(&e);
    }
}

async fn put_with_retry(
    errors: &ErrorHandler,
    task: &mut dyn SinkTask,
    batch: Vec<ConnectRecord>,
) -> Result<(), ConnectError> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(300);
    loop {
        match task.put(batch.clone()).await {
            Ok(()) => return Ok(()),
            Err(e)
                if e.retriable
                    && errors
                        .settings
                        .retry_timeout
                        .is_none_or(|t| start.elapsed() + delay <= t) =>
            {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(
                    errors
                        .settings
                        .retry_delay_max
                        .max(Duration::from_millis(1)),
                );
            }
            Err(e) => return Err(e),
        }
    }
}

async fn commit_sink(
    kafka: &KafkaIo,
    task: &mut dyn SinkTask,
    group: &str,
    positions: &BTreeMap<(String, i32), i64>,
    committed: &mut BTreeMap<(String, i32), i64>,
) -> Result<(), String> {
    let changed: Vec<CommittedOffset> = positions
        .iter()
        .filter(|(tp, pos)| committed.get(*tp) != Some(*pos))
        .map(|((t, p), pos)| CommittedOffset {
            topic: t.clone(),
            partition: *p,
            offset: *pos,
            metadata: None,
        })
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    // The task makes what it was given durable before we commit past it.
    task.flush().await.map_err(|e| e.to_string())?;
    kafka
        .client
        .commit_offsets(group, None, &changed)
        .await
        .map_err(|e| e.to_string())?;
    for c in changed {
        committed.insert((c.topic, c.partition), c.offset);
    }
    Ok(())
}

type StageFailure = (Stage, String, ConnectError);

fn convert_sink_record(
    settings: &ConnectorSettings,
    raw: &RawRecord,
) -> Result<ConnectRecord, StageFailure> {
    let key = settings
        .key_converter
        .to_connect(&raw.topic, raw.key.as_deref())
        .map_err(|e| {
            (
                Stage::KeyConverter,
                settings.key_converter_class.clone(),
                ConnectError::from(e),
            )
        })?;
    let value = settings
        .value_converter
        .to_connect(&raw.topic, raw.value.as_deref())
        .map_err(|e| {
            (
                Stage::ValueConverter,
                settings.value_converter_class.clone(),
                ConnectError::from(e),
            )
        })?;
    let mut headers = Headers::default();
    for (k, v) in &raw.headers {
        let sv = settings
            .header_converter
            .to_connect_header(&raw.topic, k, v.as_deref())
            .map_err(|e| {
                (
                    Stage::HeaderConverter,
                    settings.header_converter_class.clone(),
                    ConnectError::from(e),
                )
            })?;
        headers.add(k, sv);
    }
    Ok(ConnectRecord {
        topic: raw.topic.clone(),
        kafka_partition: Some(raw.partition),
        key_schema: key.schema,
        key: key.value,
        value_schema: value.schema,
        value: value.value,
        timestamp: Some(raw.timestamp),
        headers,
        kind: RecordKind::Sink {
            kafka_offset: raw.offset,
        },
    })
}
