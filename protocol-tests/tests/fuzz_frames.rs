//! Property test: random and mutated frames through request decoding and
//! dispatch (in-process, no socket). The broker must answer or refuse, never
//! panic. Valid frames are mutated byte-wise, truncated and extended.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::api_versions_request::ApiVersionsRequest;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use proptest::prelude::*;
use protocol_tests::RawClient;
use tributary_broker::broker::Broker;
use tributary_broker::config::BrokerConfig;
use tributary_broker::connection::process_frame;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// A set of valid request frames (without size prefix) to mutate.
fn seeds() -> Vec<Bytes> {
    let mut out = Vec::new();
    let strip = |b: Bytes| b.slice(4..);
    out.push(strip(RawClient::frame(ApiKey::ApiVersions, 3, 1, &RequestKind::ApiVersions(ApiVersionsRequest::default()))));
    let mut m = MetadataRequest::default();
    let mut t = MetadataRequestTopic::default();
    t.name = Some(name("fuzz"));
    m.topics = Some(vec![t]);
    m.allow_auto_topic_creation = true;
    out.push(strip(RawClient::frame(ApiKey::Metadata, 12, 2, &RequestKind::Metadata(m.clone()))));
    out.push(strip(RawClient::frame(ApiKey::Metadata, 4, 2, &RequestKind::Metadata(m))));
    let mut p = ProduceRequest::default();
    p.acks = 1;
    p.timeout_ms = 1000;
    let mut td = TopicProduceData::default();
    td.name = name("fuzz");
    let mut pd = PartitionProduceData::default();
    pd.index = 0;
    let batch = {
        use kafka_protocol::records::*;
        let rec = Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: 0,
            sequence: -1,
            timestamp: 1,
            key: Some(Bytes::from_static(b"k")),
            value: Some(Bytes::from_static(b"v")),
            headers: Default::default(),
        };
        let mut buf = bytes::BytesMut::new();
        RecordBatchEncoder::encode(&mut buf, [&rec], &RecordEncodeOptions { version: 2, compression: Compression::None }).unwrap();
        buf.freeze()
    };
    pd.records = Some(batch);
    td.partition_data = vec![pd];
    p.topic_data = vec![td];
    out.push(strip(RawClient::frame(ApiKey::Produce, 9, 3, &RequestKind::Produce(p))));
    let mut f = FetchRequest::default();
    f.max_wait_ms = 0;
    f.max_bytes = 1 << 20;
    let mut ft = FetchTopic::default();
    ft.topic = name("fuzz");
    let mut fp = FetchPartition::default();
    fp.partition_max_bytes = 1 << 20;
    ft.partitions = vec![fp];
    f.topics = vec![ft];
    out.push(strip(RawClient::frame(ApiKey::Fetch, 12, 4, &RequestKind::Fetch(f))));
    let mut l = ListOffsetsRequest::default();
    let mut lt = ListOffsetsTopic::default();
    lt.name = name("fuzz");
    let mut lp = ListOffsetsPartition::default();
    lp.timestamp = -1;
    lt.partitions = vec![lp];
    l.topics = vec![lt];
    out.push(strip(RawClient::frame(ApiKey::ListOffsets, 7, 5, &RequestKind::ListOffsets(l))));
    let mut c = CreateTopicsRequest::default();
    let mut ct = CreatableTopic::default();
    ct.name = name("fuzz2");
    ct.num_partitions = 2;
    ct.replication_factor = 1;
    c.topics = vec![ct];
    out.push(strip(RawClient::frame(ApiKey::CreateTopics, 7, 6, &RequestKind::CreateTopics(c))));
    out
}

/// A standalone broker (its own quorum of one) and the runtime it runs on.
fn broker() -> (Arc<Broker>, tempfile::TempDir, tokio::runtime::Runtime) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = BrokerConfig::from_props(
        [("log.dirs".to_string(), dir.path().display().to_string()), ("socket.request.max.bytes".into(), "1048576".into())]
            .into_iter()
            .collect(),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let b = rt.block_on(Broker::start_standalone(cfg)).unwrap();
    (b, dir, rt)
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
}

fn apply(seed: &Bytes, muts: &[Mutation]) -> Bytes {
    let mut v = seed.to_vec();
    for m in muts {
        match m {
            Mutation::Flip(i, x) if !v.is_empty() => {
                let n = v.len();
                v[i % n] ^= *x;
            }
            Mutation::Truncate(i) => v.truncate(i % (v.len() + 1)),
            Mutation::Insert(i, bytes) => {
                let at = i % (v.len() + 1);
                v.splice(at..at, bytes.iter().copied());
            }
            _ => {}
        }
    }
    Bytes::from(v)
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, x)| Mutation::Flip(i, x)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8)).prop_map(|(i, b)| Mutation::Insert(i, b)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, .. ProptestConfig::default() })]

    #[test]
    fn mutated_valid_frames_never_panic(seed_idx in 0usize..7, muts in proptest::collection::vec(mutation(), 1..6)) {
        thread_local! {
            static STATE: (Arc<Broker>, tempfile::TempDir, tokio::runtime::Runtime, Vec<Bytes>) = {
                let (b, d, rt) = broker();
                (b, d, rt, seeds())
            };
        }
        STATE.with(|(b, _d, rt, seeds)| {
            let frame = apply(&seeds[seed_idx % seeds.len()], &muts);
            // Ok (answered, or nothing for acks=0) or Err (connection closed): both fine.
            let _ = rt.block_on(process_frame(b, frame));
        });
    }

    #[test]
    fn random_frames_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        thread_local! {
            static STATE: (Arc<Broker>, tempfile::TempDir, tokio::runtime::Runtime) = {
                broker()
            };
        }
        STATE.with(|(b, _d, rt)| {
            let _ = rt.block_on(process_frame(b, Bytes::from(bytes)));
        });
    }
}

#[test]
fn every_seed_is_answered_when_intact() {
    let (b, _d, rt) = broker();
    for (i, s) in seeds().into_iter().enumerate() {
        let out = rt.block_on(process_frame(&b, s)).unwrap_or_else(|e| panic!("seed {i}: {e}"));
        assert!(out.is_some(), "seed {i} answered");
    }
}
