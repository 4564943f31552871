//! The `_schemas` topic as the registry's database: one partition, compacted,
//! read from the beginning into an [`Index`] by a background reader, written
//! by producing records and then waiting until the reader has applied them
//! (so a write is visible to the writer's next read, as in Confluent's
//! `KafkaStore.put`).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::{RwLock, RwLockReadGuard};
use tokio::sync::watch;
use tributary_client::{Client, FetchOptions, NewTopic, OffsetSpec, ProduceRecord, ResponseError};

use super::index::Index;
use super::records::{StoreKey, StoreValue};
use crate::error::RegistryError;

pub struct KafkaStore {
    client: Client,
    topic: String,
    index: Arc<RwLock<Index>>,
    /// The next offset the reader will apply (everything below is applied).
    applied: watch::Receiver<i64>,
    write_timeout: Duration,
}

impl std::fmt::Debug for KafkaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaStore")
            .field("topic", &self.topic)
            .finish()
    }
}

impl KafkaStore {
    /// Creates the topic if needed (compacted, one partition), starts the
    /// reader and waits until it has read everything already in the topic.
    pub async fn open(
        client: Client,
        topic: &str,
        write_timeout: Duration,
        init_timeout: Duration,
        shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<KafkaStore> {
        let new = NewTopic::new(topic, 1).config("cleanup.policy", "compact");
        let created = client.create_topic(&new).await?;
        tracing::info!(topic, ?created, "schemas topic ready");
        let md = client.metadata(Some(&[topic])).await?;
        let partitions = md
            .topics
            .get(topic)
            .map(|t| t.partitions.len())
            .unwrap_or(0);
        if partitions != 1 {
            // Ordering across partitions is lost; Confluent refuses too.
            anyhow::bail!(
                "the schemas topic {topic} must have exactly one partition, it has {partitions}"
            );
        }
        let index = Arc::new(RwLock::new(Index::default()));
        let (tx, rx) = watch::channel(0i64);
        tokio::spawn(read_loop(
            client.fork(),
            topic.to_string(),
            index.clone(),
            tx,
            shutdown,
        ));
        let store = KafkaStore {
            client,
            topic: topic.to_string(),
            index,
            applied: rx,
            write_timeout,
        };
        store
            .wait_caught_up(init_timeout)
            .await
            .map_err(|e| anyhow::anyhow!("reading {topic} to its end at startup: {e}"))?;
        Ok(store)
    }

    /// The current index, for reads. Hold the guard briefly: the reader
    /// waits for it.
    pub fn index(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read()
    }

    /// Waits until the reader has applied everything written to the topic
    /// up to now (its log end offset at the time of the call).
    pub async fn wait_caught_up(&self, timeout: Duration) -> Result<(), RegistryError> {
        let end = self
            .client
            .list_offset(&self.topic, 0, OffsetSpec::Latest)
            .await
            .map_err(|e| {
                RegistryError::Store(format!(
                    "Error while reading the end of {}: {e}",
                    self.topic
                ))
            })?;
        self.wait_applied(end, timeout).await
    }

    async fn wait_applied(&self, offset: i64, timeout: Duration) -> Result<(), RegistryError> {
        let mut rx = self.applied.clone();
        // Map the watch's borrowed guard away before `rx` goes out of scope.
        let waited = tokio::time::timeout(timeout, rx.wait_for(|applied| *applied >= offset))
            .await
            .map(|r| r.map(|_| ()));
        match waited {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(RegistryError::Store("the schemas topic reader stopped".into())),
            Err(_) => Err(RegistryError::Timeout(format!(
                "Write to the Kafka store timed out while waiting for the reader to reach offset {offset}"
            ))),
        }
    }

    /// Writes `records` as one batch (so they land together) and returns once
    /// the reader has applied them.
    pub async fn put(
        &self,
        records: Vec<(StoreKey, Option<StoreValue>)>,
    ) -> Result<(), RegistryError> {
        if records.is_empty() {
            return Ok(());
        }
        let n = records.len() as i64;
        let batch: Vec<ProduceRecord> = records
            .iter()
            .map(|(k, v)| ProduceRecord {
                key: Some(Bytes::from(k.to_bytes())),
                value: v.as_ref().map(|v| Bytes::from(v.to_bytes())),
                ..Default::default()
            })
            .collect();
        let base = self
            .client
            .produce(&self.topic, 0, &batch)
            .await
            .map_err(|e| {
                RegistryError::Store(format!("Error while writing to the Kafka store: {e}"))
            })?;
        self.wait_applied(base + n, self.write_timeout).await
    }

    pub fn write_timeout(&self) -> Duration {
        self.write_timeout
    }
}

/// Applies one fetched record to the index, logging what it has to skip.
fn apply(index: &RwLock<Index>, offset: i64, key: Option<&Bytes>, value: Option<&Bytes>) {
    let Some(key) = key else {
        tracing::warn!(offset, "skipping a record without a key");
        return;
    };
    let k = match StoreKey::parse(key) {
        Ok(k) => k,
        Err(e) => {
            tracing::warn!(offset, error = %e, "skipping a record with an unreadable key");
            return;
        }
    };
    let v = match value {
        None => None,
        Some(bytes) => match StoreValue::parse(&k, bytes) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(offset, error = %e, "skipping a record with an unreadable value");
                return;
            }
        },
    };
    // A value-less NOOP or unknown key type parses to None but is not a tombstone.
    if value.is_some() && v.is_none() {
        return;
    }
    if let Err(e) = index.write().apply(&k, v.as_ref()) {
        tracing::warn!(offset, error = %e, "ignoring a record");
    }
}

async fn read_loop(
    client: Client,
    topic: String,
    index: Arc<RwLock<Index>>,
    applied: watch::Sender<i64>,
    mut shutdown: watch::Receiver<bool>,
) {
    let opts = FetchOptions {
        max_wait: Duration::from_millis(500),
        ..Default::default()
    };
    let mut offset = 0i64;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let fetched = tokio::select! {
            r = client.fetch(&topic, 0, offset, &opts) => r,
            _ = shutdown.changed() => return,
        };
        match fetched {
            Ok(f) => {
                for r in &f.records {
                    apply(&index, r.offset, r.key.as_ref(), r.value.as_ref());
                }
                offset = f.next_offset;
                // Everything below the high watermark that we asked for is
                // either applied or compacted away.
                if f.records.is_empty() && offset < f.log_start_offset {
                    offset = f.log_start_offset;
                }
                applied.send_replace(offset);
            }
            Err(e) if e.kafka_code() == Some(ResponseError::OffsetOutOfRange) => {
                match client.list_offset(&topic, 0, OffsetSpec::Earliest).await {
                    Ok(start) => {
                        tracing::warn!(
                            offset,
                            start,
                            "schemas topic offset out of range; continuing at the log start"
                        );
                        offset = start;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the log start of the schemas topic");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, offset, "reading the schemas topic failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.changed() => return,
                }
            }
        }
    }
}
