//! The registry library started in-process against the real broker binary
//! (built by `cargo build -p tributary-broker`; `make test` does): the REST
//! API over HTTP, state restored from the topic by a second start, and the
//! leader election over the broker's group protocol.

use std::time::{Duration, Instant};

use protocol_tests::BrokerProcess;
use serde_json::{json, Value};
use tributary_registry::config::{Listener, RegistryConfig};

fn config(broker: &BrokerProcess, topic: &str, group: &str) -> RegistryConfig {
    RegistryConfig {
        listener: Listener {
            scheme: "http".into(),
            host: "127.0.0.1".into(),
            port: 0,
        },
        bootstrap_servers: broker.bootstrap(),
        topic: topic.into(),
        group_id: group.into(),
        host_name: "127.0.0.1".into(),
        ..Default::default()
    }
}

async fn call(method: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, url);
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/vnd.schemaregistry.v1+json")
            .body(b.to_string());
    }
    let resp = req.send().await.expect("http");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

const V1: &str = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}"#;
const V2: &str = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"string"},{"name":"b","type":"int","default":0}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_serves_and_restores_from_the_topic() {
    let broker = BrokerProcess::start();
    let reg = tributary_registry::start(config(&broker, "_schemas_it", "sr-it"))
        .await
        .expect("start");
    let base = format!("http://{}", reg.addr);

    let (s, b) = call(
        reqwest::Method::POST,
        format!("{base}/subjects/t-value/versions"),
        Some(json!({"schema": V1})),
    )
    .await;
    assert_eq!((s, b["id"].as_i64()), (200, Some(1)));
    let (s, b) = call(
        reqwest::Method::POST,
        format!("{base}/subjects/t-value/versions"),
        Some(json!({"schema": V2})),
    )
    .await;
    assert_eq!((s, b["id"].as_i64()), (200, Some(2)));
    let (s, _) = call(
        reqwest::Method::PUT,
        format!("{base}/config/t-value"),
        Some(json!({"compatibility": "FULL"})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, b) = call(
        reqwest::Method::GET,
        format!("{base}/subjects/t-value/versions/9"),
        None,
    )
    .await;
    assert_eq!((s, b["error_code"].as_i64()), (404, Some(40402)));
    reg.shutdown().await.expect("shutdown");

    // A new instance on the same topic serves the same state and continues the ids.
    let reg = tributary_registry::start(config(&broker, "_schemas_it", "sr-it"))
        .await
        .expect("restart");
    let base = format!("http://{}", reg.addr);
    let (s, b) = call(
        reqwest::Method::GET,
        format!("{base}/subjects/t-value/versions"),
        None,
    )
    .await;
    assert_eq!((s, b), (200, json!([1, 2])));
    let (_, b) = call(reqwest::Method::GET, format!("{base}/config/t-value"), None).await;
    assert_eq!(b["compatibilityLevel"], "FULL");
    let (_, b) = call(
        reqwest::Method::POST,
        format!("{base}/subjects/u-value/versions"),
        Some(json!({"schema": "\"string\""})),
    )
    .await;
    assert_eq!(b["id"].as_i64(), Some(3));
    reg.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_elect_one_leader_and_forward() {
    let broker = BrokerProcess::start();
    let a = tributary_registry::start(config(&broker, "_schemas_pair", "sr-pair"))
        .await
        .expect("a");
    let b = tributary_registry::start(config(&broker, "_schemas_pair", "sr-pair"))
        .await
        .expect("b");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (la, lb) = (a.registry.leader.get(), b.registry.leader.get());
        if la.is_leader != lb.is_leader && la.leader_url.is_some() && la.leader_url == lb.leader_url
        {
            break;
        }
        assert!(Instant::now() < deadline, "no single leader: {la:?} {lb:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (leader, follower) = if a.registry.leader.get().is_leader {
        (&a, &b)
    } else {
        (&b, &a)
    };
    // The leader is the eligible instance with the smaller URL.
    let url = |r: &tributary_registry::Running| format!("http://127.0.0.1:{}", r.addr.port());
    assert!(url(leader) < url(follower));

    let (s, body) = call(
        reqwest::Method::POST,
        format!("http://{}/subjects/f-value/versions", follower.addr),
        Some(json!({"schema": V1})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    for r in [&a, &b] {
        let (s, got) = call(
            reqwest::Method::GET,
            format!("http://{}/subjects/f-value/versions/1", r.addr),
            None,
        )
        .await;
        assert_eq!((s, got["id"].clone()), (200, body["id"].clone()));
    }
    a.shutdown().await.expect("a");
    b.shutdown().await.expect("b");
}
