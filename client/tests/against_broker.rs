//! The client against the real `tributary-broker` binary on an ephemeral port
//! (built by `cargo build -p tributary-broker`; `make test` does).

use std::time::{Duration, Instant};

use bytes::Bytes;
use protocol_tests::BrokerProcess;
use tributary_client::{
    Client, ClientConfig, CommittedOffset, Error, FetchOptions, GroupConfig, GroupMember, NewTopic,
    OffsetSpec, ProduceRecord, ResponseError, TopicCreation,
};

fn client(b: &BrokerProcess) -> Client {
    let mut cfg =
        ClientConfig::new(&format!("PLAINTEXT://{}", b.bootstrap())).client_id("client-tests");
    cfg.retry_backoff = Duration::from_millis(50);
    Client::new(cfg).expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_compacted_topic_produce_fetch_and_list_offsets() {
    let broker = BrokerProcess::start();
    let c = client(&broker);

    let md = c.metadata(None).await.expect("metadata");
    assert_eq!(md.brokers.len(), 1, "{md:?}");

    let topic = NewTopic::new("_schemas_test", 1).config("cleanup.policy", "compact");
    assert_eq!(
        c.create_topic(&topic).await.expect("create"),
        TopicCreation::Created
    );
    assert_eq!(
        c.create_topic(&topic).await.expect("create again"),
        TopicCreation::AlreadyExisted
    );
    let md = c
        .metadata(Some(&["_schemas_test"]))
        .await
        .expect("metadata");
    assert_eq!(md.topics["_schemas_test"].partitions.len(), 1);

    assert_eq!(
        c.list_offset("_schemas_test", 0, OffsetSpec::Latest)
            .await
            .expect("latest"),
        0
    );

    let recs = vec![
        ProduceRecord::new(Some("k1"), Some("v1")).with_header("origin", Some("test")),
        ProduceRecord::new(Some("k2"), None::<Bytes>),
    ];
    let base = c.produce("_schemas_test", 0, &recs).await.expect("produce");
    assert_eq!(base, 0);
    let base = c
        .produce(
            "_schemas_test",
            0,
            &[ProduceRecord::new(Some("k3"), Some("v3"))],
        )
        .await
        .expect("produce");
    assert_eq!(base, 2);

    assert_eq!(
        c.list_offset("_schemas_test", 0, OffsetSpec::Earliest)
            .await
            .expect("earliest"),
        0
    );
    assert_eq!(
        c.list_offset("_schemas_test", 0, OffsetSpec::Latest)
            .await
            .expect("latest"),
        3
    );

    let f = c
        .fetch("_schemas_test", 0, 0, &FetchOptions::default())
        .await
        .expect("fetch");
    assert_eq!(f.high_watermark, 3);
    assert_eq!(f.next_offset, 3);
    let got: Vec<_> = f
        .records
        .iter()
        .map(|r| (r.offset, r.key.clone(), r.value.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (0, Some(Bytes::from("k1")), Some(Bytes::from("v1"))),
            (1, Some(Bytes::from("k2")), None),
            (2, Some(Bytes::from("k3")), Some(Bytes::from("v3"))),
        ]
    );
    assert_eq!(
        f.records[0].headers,
        vec![("origin".to_string(), Some(Bytes::from("test")))]
    );

    // Fetching from the middle skips what came before.
    let f = c
        .fetch("_schemas_test", 0, 2, &FetchOptions::default())
        .await
        .expect("fetch");
    assert_eq!(
        f.records.iter().map(|r| r.offset).collect::<Vec<_>>(),
        vec![2]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_fetch_returns_when_data_arrives() {
    let broker = BrokerProcess::start();
    let c = client(&broker);
    c.create_topic(&NewTopic::new("poll", 1))
        .await
        .expect("create");

    let reader = c.fork();
    let started = Instant::now();
    let poll = tokio::spawn(async move {
        let opts = FetchOptions {
            max_wait: Duration::from_secs(10),
            ..Default::default()
        };
        reader.fetch("poll", 0, 0, &opts).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.produce(
        "poll",
        0,
        &[ProduceRecord::new(None::<Bytes>, Some("late"))],
    )
    .await
    .expect("produce");
    let f = poll.await.expect("join").expect("fetch");
    assert_eq!(f.records.len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the fetch waited out its max wait"
    );

    // An empty long poll comes back after max_wait with nothing.
    let opts = FetchOptions {
        max_wait: Duration::from_millis(200),
        ..Default::default()
    };
    let f = c.fetch("poll", 0, 1, &opts).await.expect("fetch");
    assert!(f.records.is_empty());
    assert_eq!(f.next_offset, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_the_broker_restarts() {
    let mut broker = BrokerProcess::start();
    let c = client(&broker);
    c.create_topic(&NewTopic::new("durable", 1))
        .await
        .expect("create");
    c.produce("durable", 0, &[ProduceRecord::new(Some("a"), Some("1"))])
        .await
        .expect("produce");

    broker.restart();

    // The pooled connection is dead; the client notices, reconnects, retries.
    c.produce("durable", 0, &[ProduceRecord::new(Some("b"), Some("2"))])
        .await
        .expect("produce after restart");
    let f = c
        .fetch("durable", 0, 0, &FetchOptions::default())
        .await
        .expect("fetch");
    assert_eq!(f.records.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_kafka_codes() {
    let broker = BrokerProcess::start();
    let mut cfg = ClientConfig::new(&broker.bootstrap());
    cfg.retries = 0;
    let c = Client::new(cfg).expect("client");
    let err = c
        .create_topic(&NewTopic::new("bad", 1).config("cleanup.policy", "sometimes"))
        .await
        .expect_err("invalid config");
    assert_eq!(
        err.kafka_code(),
        Some(ResponseError::InvalidConfig),
        "{err}"
    );
    let err = c
        .fetch("no-such-topic", 0, 0, &FetchOptions::default())
        .await
        .expect_err("unknown topic");
    assert!(matches!(err, Error::Kafka { .. }), "{err}");
}

/// Two members with protocol type "sr" form one generation with one leader,
/// see each other's metadata, get the leader's assignment, commit and read
/// offsets, and a leave makes the other rebalance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_membership_with_opaque_protocol_type() {
    let broker = BrokerProcess::start();
    let c = client(&broker);
    let mut cfg = GroupConfig::new("registry-group", "sr");
    cfg.session_timeout = Duration::from_secs(6);
    cfg.rebalance_timeout = Duration::from_secs(6);

    assert!(
        c.supports_groups().await.expect("api versions"),
        "the broker serves the group APIs"
    );

    let mut a = GroupMember::new(&c, cfg.clone());
    let mut b = GroupMember::new(&c, cfg.clone());
    let ja = tokio::spawn(async move {
        let j = a.join(&[("v0".into(), Bytes::from("meta-a"))]).await;
        (a, j)
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let jb = tokio::spawn(async move {
        let j = b.join(&[("v0".into(), Bytes::from("meta-b"))]).await;
        (b, j)
    });
    let (a, ra) = ja.await.expect("join a");
    let (b, rb) = jb.await.expect("join b");
    let ra = ra.expect("a joined");
    let rb = rb.expect("b joined");
    assert_eq!(ra.generation_id, rb.generation_id);
    assert_eq!(ra.leader_id, rb.leader_id);
    assert_eq!(ra.protocol_name, "v0");
    assert!(ra.is_leader() ^ rb.is_leader(), "exactly one leader");
    let (leader, mut leader_m, mut follower_m) = if ra.is_leader() {
        (ra, a, b)
    } else {
        (rb, b, a)
    };
    let mut metas: Vec<_> = leader.members.iter().map(|m| m.metadata.clone()).collect();
    metas.sort();
    assert_eq!(metas, vec![Bytes::from("meta-a"), Bytes::from("meta-b")]);

    let assignments: Vec<(String, Bytes)> = leader
        .members
        .iter()
        .map(|m| {
            (
                m.member_id.clone(),
                Bytes::from(format!("leader={}", leader.leader_id)),
            )
        })
        .collect();
    let sync_f = tokio::spawn(async move {
        let r = follower_m.sync(&[]).await;
        (follower_m, r)
    });
    let mine = leader_m.sync(&assignments).await.expect("leader sync");
    let (mut follower_m, theirs) = sync_f.await.expect("join");
    let theirs = theirs.expect("follower sync");
    assert_eq!(mine, theirs);
    assert_eq!(mine, Bytes::from(format!("leader={}", leader.leader_id)));

    leader_m.heartbeat().await.expect("heartbeat");
    follower_m.heartbeat().await.expect("heartbeat");

    c.create_topic(&NewTopic::new("offsets-t", 1))
        .await
        .expect("create");
    leader_m
        .commit_offsets(&[CommittedOffset {
            topic: "offsets-t".into(),
            partition: 0,
            offset: 42,
            metadata: None,
        }])
        .await
        .expect("commit");
    let got = follower_m
        .fetch_offsets(&[("offsets-t".into(), 0)])
        .await
        .expect("fetch offsets");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].offset, 42);

    leader_m.leave().await.expect("leave");
    // The survivor learns of the rebalance from its next heartbeat, rejoins
    // alone and becomes leader.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match follower_m.heartbeat().await {
            Ok(()) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Ok(()) => panic!("no rebalance after the leader left"),
            Err(e) => {
                assert!(tributary_client::needs_rejoin(&e), "{e}");
                break;
            }
        }
    }
    let j = follower_m
        .join(&[("v0".into(), Bytes::from("meta"))])
        .await
        .expect("rejoin");
    assert!(j.is_leader());
    assert_eq!(j.members.len(), 1);
    follower_m
        .sync(&[(j.member_id.clone(), Bytes::from("solo"))])
        .await
        .expect("sync");
    follower_m.leave().await.expect("leave");
}

/// A request abandoned mid-flight (a long poll lost a `select!`) must not
/// leave its response in front of the next request on the pooled connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_request_does_not_desync_the_connection() {
    let broker = BrokerProcess::start();
    let c = client(&broker);
    c.create_topic(&NewTopic::new("cancel_me", 1))
        .await
        .expect("create");
    let opts = FetchOptions {
        max_wait: Duration::from_secs(2),
        ..FetchOptions::default()
    };
    // Nothing to read: the broker holds this fetch for 2 s; we give up after 100 ms.
    let abandoned = tokio::time::timeout(
        Duration::from_millis(100),
        c.fetch("cancel_me", 0, 0, &opts),
    )
    .await;
    assert!(abandoned.is_err(), "the long poll was still waiting");
    let base = c
        .produce("cancel_me", 0, &[ProduceRecord::new(Some("k"), Some("v"))])
        .await
        .expect("the next request gets its own response");
    assert_eq!(base, 0);
    let got = c
        .fetch("cancel_me", 0, 0, &FetchOptions::default())
        .await
        .expect("fetch");
    assert_eq!(got.records.len(), 1);
}
