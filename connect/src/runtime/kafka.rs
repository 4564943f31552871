//! The worker's Kafka I/O over `tributary-client`: topic creation, the
//! default partitioner (murmur2 of the key, like Kafka's producer), produce,
//! and the sink-side reads and group offset commits.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tributary_client::{Client, ClientConfig, NewTopic, ProduceRecord, TopicCreation};

/// Kafka's `Utils.murmur2`, the hash of the default partitioner.
pub fn murmur2(data: &[u8]) -> i32 {
    let length = data.len() as i32;
    let seed: i32 = 0x9747b28c_u32 as i32;
    let m: i32 = 0x5bd1e995;
    let r = 24;
    let mut h: i32 = seed ^ length;
    let length4 = data.len() / 4;
    for i in 0..length4 {
        let i4 = i * 4;
        let mut k: i32 = (data[i4] as i32 & 0xff)
            + ((data[i4 + 1] as i32 & 0xff) << 8)
            + ((data[i4 + 2] as i32 & 0xff) << 16)
            + ((data[i4 + 3] as i32 & 0xff) << 24);
        k = k.wrapping_mul(m);
        k ^= ((k as u32) >> r) as i32;
        k = k.wrapping_mul(m);
        h = h.wrapping_mul(m);
        h ^= k;
    }
    let rem = data.len() % 4;
    let base = length4 * 4;
    if rem == 3 {
        h ^= (data[base + 2] as i32 & 0xff) << 16;
    }
    if rem >= 2 {
        h ^= (data[base + 1] as i32 & 0xff) << 8;
    }
    if rem >= 1 {
        h ^= data[base] as i32 & 0xff;
        h = h.wrapping_mul(m);
    }
    h ^= ((h as u32) >> 13) as i32;
    h = h.wrapping_mul(m);
    h ^= ((h as u32) >> 15) as i32;
    h
}

pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    ((murmur2(key) & 0x7fffffff) % partitions.max(1)).max(0)
}

#[derive(Clone)]
pub struct KafkaIo {
    pub client: Client,
    partitions: std::sync::Arc<Mutex<HashMap<String, i32>>>,
    round_robin: std::sync::Arc<AtomicUsize>,
}

impl KafkaIo {
    pub fn new(bootstrap: &str, client_id: &str) -> Result<KafkaIo, String> {
        let client = Client::new(ClientConfig::new(bootstrap).client_id(client_id))
            .map_err(|e| e.to_string())?;
        Ok(KafkaIo {
            client,
            partitions: Default::default(),
            round_robin: Default::default(),
        })
    }

    /// A handle with its own connections (for long polls) sharing metadata.
    pub fn fork(&self) -> KafkaIo {
        KafkaIo {
            client: self.client.fork(),
            partitions: self.partitions.clone(),
            round_robin: self.round_robin.clone(),
        }
    }

    /// The partition count of `topic`, `None` when it does not exist.
    pub async fn partition_count(&self, topic: &str) -> Result<Option<i32>, String> {
        if let Some(n) = self.partitions.lock().get(topic) {
            return Ok(Some(*n));
        }
        let md = self
            .client
            .metadata(Some(&[topic]))
            .await
            .map_err(|e| e.to_string())?;
        match md.topics.get(topic) {
            Some(t) if t.error.is_none() && !t.partitions.is_empty() => {
                let n = t.partitions.len() as i32;
                self.partitions.lock().insert(topic.to_string(), n);
                Ok(Some(n))
            }
            _ => Ok(None),
        }
    }

    /// Creates the topic if it is missing. A replication factor the cluster
    /// cannot satisfy falls back to the broker default (single-node setups).
    pub async fn ensure_topic(
        &self,
        topic: &str,
        partitions: i32,
        rf: i16,
        configs: &[(&str, &str)],
    ) -> Result<i32, String> {
        if let Some(n) = self.partition_count(topic).await? {
            return Ok(n);
        }
        let mut nt = NewTopic::new(topic, partitions);
        nt.replication_factor = rf;
        for (k, v) in configs {
            nt = nt.config(*k, *v);
        }
        let created = self.client.create_topic(&nt).await;
        match created {
            Ok(TopicCreation::Created) | Ok(TopicCreation::AlreadyExisted) => {}
            Err(e) if rf > 1 => {
                tracing::warn!(topic, rf, error = %e, "could not create topic with this replication factor; using the broker default");
                let mut nt = NewTopic::new(topic, partitions);
                for (k, v) in configs {
                    nt = nt.config(*k, *v);
                }
                self.client
                    .create_topic(&nt)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Err(e) => return Err(e.to_string()),
        }
        for _ in 0..50 {
            if let Some(n) = self.partition_count(topic).await? {
                return Ok(n);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "topic {topic} was created but does not show up in metadata"
        ))
    }

    pub fn forget_topic(&self, topic: &str) {
        self.partitions.lock().remove(topic);
    }

    /// The default partitioner: murmur2 of the key, round robin for null keys.
    pub fn choose_partition(&self, key: Option<&[u8]>, partitions: i32) -> i32 {
        match key {
            Some(k) => partition_for_key(k, partitions),
            None => {
                (self.round_robin.fetch_add(1, Ordering::Relaxed) % partitions.max(1) as usize)
                    as i32
            }
        }
    }

    pub async fn produce(
        &self,
        topic: &str,
        partition: i32,
        records: &[ProduceRecord],
    ) -> Result<i64, String> {
        self.client
            .produce(topic, partition, records)
            .await
            .map_err(|e| e.to_string())
    }
}

pub fn produce_record(
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
    timestamp: Option<i64>,
) -> ProduceRecord {
    ProduceRecord {
        key: key.map(Bytes::from),
        value: value.map(Bytes::from),
        headers: headers
            .into_iter()
            .map(|(k, v)| (k, v.map(Bytes::from)))
            .collect(),
        timestamp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka() {
        // Values from Kafka's UtilsTest / DefaultPartitionerTest.
        assert_eq!(murmur2(b"21"), -973932308);
        assert_eq!(murmur2(b"foobar"), -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1486304829);
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
            -58897971
        );
        assert_eq!(murmur2(b"abc"), 479470107);
    }
}
