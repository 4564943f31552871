//! Error handling for record processing (`errors.*`): retries of retriable
//! failures until `errors.retry.timeout` with exponential backoff capped at
//! `errors.retry.delay.max.ms`; `errors.tolerance=all` skips a failed record
//! instead of failing the task; `errors.log.*` logs it; sink connectors can
//! send the original record to `errors.deadletterqueue.topic.name`, with the
//! `__connect.errors.*` context headers when enabled.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::connectors::ConnectError;

use super::connector_config::{ErrorSettings, Tolerance};
use super::kafka::{produce_record, KafkaIo};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    KeyConverter,
    ValueConverter,
    HeaderConverter,
    Transformation,
    TaskPut,
    TaskPoll,
    KafkaProduce,
    KafkaConsume,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::HeaderConverter => "HEADER_CONVERTER",
            Stage::Transformation => "TRANSFORMATION",
            Stage::TaskPut => "TASK_PUT",
            Stage::TaskPoll => "TASK_POLL",
            Stage::KafkaProduce => "KAFKA_PRODUCE",
            Stage::KafkaConsume => "KAFKA_CONSUME",
        }
    }
}

/// The consumed record a sink-side failure is about (for logs and the DLQ).
#[derive(Clone, Debug)]
pub struct RawRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

pub struct ErrorHandler {
    pub settings: ErrorSettings,
    pub connector: String,
    pub task: usize,
    kafka: Option<KafkaIo>,
    dlq_ready: bool,
    pub skipped: u64,
}

impl ErrorHandler {
    pub fn new(
        settings: ErrorSettings,
        connector: &str,
        task: usize,
        kafka: Option<KafkaIo>,
    ) -> Self {
        ErrorHandler {
            settings,
            connector: connector.to_string(),
            task,
            kafka,
            dlq_ready: false,
            skipped: 0,
        }
    }

    /// Runs `op`, retrying retriable failures within `errors.retry.timeout`.
    pub async fn retry<T, F, Fut>(&self, mut op: F) -> Result<T, ConnectError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ConnectError>>,
    {
        let start = Instant::now();
        let mut delay = Duration::from_millis(300);
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) if e.retriable => {
                    let within = match self.settings.retry_timeout {
                        None => true,
                        Some(t) => start.elapsed() + delay <= t,
                    };
                    if !within {
                        return Err(e);
                    }
                    tracing::debug!(connector = %self.connector, task = self.task, error = %e, "retrying after a retriable failure");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2)
                        .min(self.settings.retry_delay_max.max(Duration::from_millis(1)));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Handles a record that failed at `stage`: `Ok` when tolerated (the
    /// record is skipped), `Err` when the task must fail.
    pub async fn failed(
        &mut self,
        stage: Stage,
        class: &str,
        err: &ConnectError,
        raw: Option<&RawRecord>,
        describe: &(dyn Fn() -> String + Sync),
    ) -> Result<(), ConnectError> {
        if self.settings.log_enable {
            let what = match raw {
                Some(r) => format!(
                    "consumed record is {{topic='{}', partition={}, offset={}}}",
                    r.topic, r.partition, r.offset
                ),
                None => "source record".to_string(),
            };
            let detail = if self.settings.log_include_messages {
                format!(" Record: {}", describe())
            } else {
                String::new()
            };
            tracing::error!(
                connector = %self.connector, task = self.task, stage = stage.as_str(), class,
                "Error encountered in task {}-{}. Executing stage '{}' with class '{}', where {}.{} Error: {}",
                self.connector, self.task, stage.as_str(), class, what, detail, err
            );
        }
        if self.settings.tolerance == Tolerance::None {
            return Err(ConnectError {
                class: "org.apache.kafka.connect.errors.ConnectException",
                message: format!(
                    "Tolerance exceeded in error handler: {} in stage {} ({})",
                    err,
                    stage.as_str(),
                    class
                ),
                retriable: false,
            });
        }
        self.skipped += 1;
        if let (Some(topic), Some(raw), Some(kafka)) =
            (self.settings.dlq_topic.clone(), raw, self.kafka.clone())
        {
            self.send_to_dlq(&kafka, &topic, stage, class, err, raw)
                .await?;
        }
        Ok(())
    }

    async fn send_to_dlq(
        &mut self,
        kafka: &KafkaIo,
        topic: &str,
        stage: Stage,
        class: &str,
        err: &ConnectError,
        raw: &RawRecord,
    ) -> Result<(), ConnectError> {
        if !self.dlq_ready {
            kafka
                .ensure_topic(topic, 1, self.settings.dlq_rf, &[])
                .await
                .map_err(ConnectError::retriable)?;
            self.dlq_ready = true;
        }
        let mut headers = raw.headers.clone();
        if self.settings.dlq_context_headers {
            let h = |k: &str, v: String| (format!("__connect.errors.{k}"), Some(v.into_bytes()));
            headers.push(h("topic", raw.topic.clone()));
            headers.push(h("partition", raw.partition.to_string()));
            headers.push(h("offset", raw.offset.to_string()));
            headers.push(h("connector.name", self.connector.clone()));
            headers.push(h("task.id", self.task.to_string()));
            headers.push(h("stage", stage.as_str().to_string()));
            headers.push(h("class.name", class.to_string()));
            headers.push(h("exception.class.name", err.class.to_string()));
            headers.push(h("exception.message", err.message.clone()));
            headers.push(h("exception.stacktrace", err.trace()));
        }
        let rec = produce_record(
            raw.key.clone(),
            raw.value.clone(),
            headers,
            Some(raw.timestamp),
        );
        let partitions = kafka
            .partition_count(topic)
            .await
            .map_err(ConnectError::retriable)?
            .unwrap_or(1);
        let p = kafka.choose_partition(raw.key.as_deref(), partitions);
        self.retry(|| async {
            kafka
                .produce(topic, p, std::slice::from_ref(&rec))
                .await
                .map_err(ConnectError::retriable)
        })
        .await?;
        Ok(())
    }
}
