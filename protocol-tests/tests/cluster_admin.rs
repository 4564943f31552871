//! Leadership administration in a 3-broker cluster: controlled shutdown
//! (SIGTERM) hands leadership over before the broker goes, and ElectLeaders
//! (type PREFERRED) moves it back to the preferred replica.

use std::time::{Duration, Instant};

use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::{ApiKey, ElectLeadersRequest, RequestKind, ResponseKind, TopicName};
use kafka_protocol::protocol::StrBytes;
use protocol_tests::cluster::Cluster;

const TOPIC: &str = "elect";

fn elect_preferred(c: &Cluster, via: i32) -> i16 {
    let mut req = ElectLeadersRequest::default();
    req.election_type = 0;
    req.timeout_ms = 30_000;
    let mut tp = TopicPartitions::default();
    tp.topic = TopicName(StrBytes::from_static_str(TOPIC));
    tp.partitions = vec![0];
    req.topic_partitions = Some(vec![tp]);
    match c.call(via, ApiKey::ElectLeaders, 2, RequestKind::ElectLeaders(req)).expect("ElectLeaders answered") {
        ResponseKind::ElectLeaders(r) => {
            assert_eq!(r.error_code, 0, "top-level error");
            let p = &r.replica_election_results[0].partition_result[0];
            eprintln!("[cluster-admin] ElectLeaders via node {via}: error {} {:?}", p.error_code, p.error_message);
            p.error_code
        }
        other => panic!("not an ElectLeaders response: {other:?}"),
    }
}

#[test]
fn controlled_shutdown_hands_over_and_elect_leaders_restores_the_preferred_replica() {
    let mut c = Cluster::builder(3).name("cluster-admin").start();
    c.wait_ready(3);
    c.create_topic(TOPIC, 1, 3, &[]);
    let v = c.partition_view(TOPIC, 0).expect("partition");
    let preferred = v.replicas[0];
    assert_eq!(v.leader, preferred, "a new topic is led by its preferred replica: {v:?}");

    // SIGTERM: controlled shutdown moves leadership before the process exits,
    // so a live ISR member leads as soon as the broker is gone (no session timeout).
    let stopped = Instant::now();
    let status = c.stop(preferred);
    assert!(status.is_some_and(|s| s.success()), "clean exit on SIGTERM: {status:?}");
    let v = c.partition_view(TOPIC, 0).expect("partition");
    eprintln!("[cluster-admin] node {preferred} stopped in {:.1?}; now {v:?}", stopped.elapsed());
    assert!(v.leader >= 0 && v.leader != preferred, "leadership moved during controlled shutdown: {v:?}");
    assert!(!v.isr.contains(&preferred), "the stopped broker left the ISR: {v:?}");

    // Back, caught up and in the ISR, but not leading until asked.
    c.start_again(preferred);
    c.wait_isr(TOPIC, 1, 3, Duration::from_secs(60));
    let other = c.node_ids().into_iter().find(|id| *id != preferred).expect("another node");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let code = elect_preferred(&c, other);
        if code == 0 {
            break;
        }
        // The returning broker may still be joining the ISR in the controller's view.
        assert!(Instant::now() < deadline, "preferred election kept failing with {code}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let v = c.partition_view(TOPIC, 0).expect("partition");
    assert_eq!(v.leader, preferred, "ElectLeaders(PREFERRED) made the preferred replica leader: {v:?}");
    assert_eq!(elect_preferred(&c, other), 84, "a second election is ELECTION_NOT_NEEDED");
}
