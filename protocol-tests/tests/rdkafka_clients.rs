//! Real-client tests with rdkafka (librdkafka 2.12) against the real binary.

use std::collections::HashMap;
use std::time::Duration;

use protocol_tests::BrokerProcess;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

#[derive(Debug, Clone, PartialEq)]
struct Sent {
    key: Vec<u8>,
    value: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
    timestamp: i64,
}

async fn create_topic(bootstrap: &str, name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", bootstrap).create().expect("admin");
    let res = admin
        .create_topics(&[NewTopic::new(name, partitions, TopicReplication::Fixed(1))], &AdminOptions::new())
        .await
        .expect("create_topics");
    for r in res {
        r.expect("topic created");
    }
}

fn value_for(i: usize) -> Vec<u8> {
    // Varied sizes and partly repetitive content so every codec has work to do.
    let len = 20 + (i * 7919) % 400;
    (0..len).map(|j| if j % 3 == 0 { (i + j) as u8 } else { b'a' + (j % 26) as u8 }).collect()
}

/// Produces `n` keyed messages with headers and explicit timestamps, returns
/// what was acknowledged per partition, keyed by offset.
async fn produce_all(bootstrap: &str, topic: &str, n: usize, compression: &str) -> HashMap<i32, Vec<(i64, Sent)>> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("compression.type", compression)
        .set("linger.ms", "20")
        .set("batch.num.messages", "2000")
        .set("queue.buffering.max.messages", "1000000")
        .set("message.timeout.ms", "60000")
        .create()
        .expect("producer");
    let base_ts = 1_700_000_000_000i64;
    let mut futures = Vec::with_capacity(n);
    for i in 0..n {
        let sent = Sent {
            key: format!("key-{i}").into_bytes(),
            value: value_for(i),
            headers: vec![("idx".into(), i.to_string().into_bytes()), ("codec".into(), compression.as_bytes().to_vec())],
            timestamp: base_ts + i as i64,
        };
        let mut headers = OwnedHeaders::new();
        for (k, v) in &sent.headers {
            headers = headers.insert(Header { key: k, value: Some(v) });
        }
        let rec = FutureRecord::to(topic)
            .key(&sent.key)
            .payload(&sent.value)
            .headers(headers)
            .timestamp(sent.timestamp);
        let fut = producer.send_result(rec).expect("enqueue");
        futures.push((fut, sent));
    }
    let mut acked: HashMap<i32, Vec<(i64, Sent)>> = HashMap::new();
    for (fut, sent) in futures {
        let delivery = fut.await.expect("not cancelled").expect("delivered");
        acked.entry(delivery.partition).or_default().push((delivery.offset, sent));
    }
    for v in acked.values_mut() {
        v.sort_by_key(|(o, _)| *o);
    }
    acked
}

fn consume_partition(bootstrap: &str, topic: &str, partition: i32, count: usize) -> Vec<(i64, Sent)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        // librdkafka requires a group id even for assign(); nothing is committed.
        .set("group.id", "roundtrip-reader")
        .set("enable.auto.commit", "false")
        .set("fetch.max.bytes", "5242880")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Beginning).expect("tpl");
    consumer.assign(&tpl).expect("assign");
    let mut out = Vec::with_capacity(count);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while out.len() < count {
        assert!(std::time::Instant::now() < deadline, "timed out with {} of {count}", out.len());
        match consumer.poll(Duration::from_millis(500)) {
            None => {}
            Some(Err(e)) => panic!("consume error: {e}"),
            Some(Ok(m)) => {
                let headers = m
                    .headers()
                    .map(|h| h.iter().map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec())).collect())
                    .unwrap_or_default();
                out.push((
                    m.offset(),
                    Sent {
                        key: m.key().unwrap_or_default().to_vec(),
                        value: m.payload().unwrap_or_default().to_vec(),
                        headers,
                        timestamp: m.timestamp().to_millis().unwrap_or(-1),
                    },
                ));
            }
        }
    }
    out
}

/// Acceptance: 100,000 messages with keys, headers and timestamps across 6
/// partitions, once per compression type, consumed back byte-exact in
/// per-partition order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_thousand_messages_per_codec_round_trip_byte_exact() {
    let broker = BrokerProcess::start();
    let bootstrap = broker.bootstrap();
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = format!("roundtrip-{codec}");
        create_topic(&bootstrap, &topic, 6).await;
        let acked = produce_all(&bootstrap, &topic, 100_000, codec).await;
        assert_eq!(acked.values().map(Vec::len).sum::<usize>(), 100_000);
        assert_eq!(acked.len(), 6, "keys spread over all 6 partitions");
        for (p, expected) in &acked {
            let b = bootstrap.clone();
            let t = topic.clone();
            let (p, n) = (*p, expected.len());
            let got = tokio::task::spawn_blocking(move || consume_partition(&b, &t, p, n)).await.expect("join");
            // Offsets are dense and start at 0; records come back exactly as sent.
            assert_eq!(got.len(), expected.len(), "{codec} partition {p}");
            for (i, ((eo, es), (go, gs))) in expected.iter().zip(got.iter()).enumerate() {
                assert_eq!(*eo, i as i64, "{codec} p{p}: acknowledged offsets are dense");
                assert_eq!(eo, go, "{codec} p{p}: offset order");
                assert_eq!(es, gs, "{codec} p{p} offset {eo}: record differs");
            }
        }
    }
}

/// The idempotent producer (enable.idempotence) gets InitProducerId and its
/// sequences accepted; a restart keeps the data and the producer state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_producer_and_restart() {
    let mut broker = BrokerProcess::start();
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "idem", 3).await;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .create()
        .expect("producer");
    for i in 0..1000 {
        let key = format!("k{i}");
        producer
            .send(FutureRecord::to("idem").key(&key).payload("v"), Duration::from_secs(10))
            .await
            .expect("delivered");
    }
    drop(producer);
    broker.restart();
    let mut total = 0;
    for p in 0..3 {
        let b = bootstrap.clone();
        let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", &b).create().expect("consumer");
        let (lo, hi) = consumer.fetch_watermarks("idem", p, Duration::from_secs(10)).expect("watermarks");
        assert_eq!(lo, 0);
        total += hi;
    }
    assert_eq!(total, 1000, "every acknowledged record is still there after restart, none twice");
}
