//! Consumer groups with rdkafka (librdkafka 2.12): members in child processes
//! so one can die without LeaveGroup.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use protocol_tests::BrokerProcess;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};

#[derive(Default)]
struct Seen {
    assigned: Vec<i32>,
    messages: Vec<(i32, i64)>,
}

struct Member {
    child: Child,
    seen: Arc<Mutex<Seen>>,
}

fn spawn_member(bootstrap: &str, topic: &str, group: &str) -> Member {
    let mut child = Command::new(env!("CARGO_BIN_EXE_group-consumer"))
        .args([bootstrap, topic, group, "6000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn consumer");
    let out = child.stdout.take().expect("stdout");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s = seen.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let mut s = s.lock().expect("lock");
            if let Some(rest) = line.strip_prefix("ASSIGNED ") {
                s.assigned = rest.split(',').filter(|x| !x.is_empty()).filter_map(|x| x.parse().ok()).collect();
            } else if let Some(rest) = line.strip_prefix("MSG ") {
                let mut it = rest.split(' ');
                if let (Some(p), Some(o)) = (it.next(), it.next()) {
                    s.messages.push((p.parse().unwrap_or(-1), o.parse().unwrap_or(-1)));
                }
            }
        }
    });
    Member { child, seen }
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn assignments(members: &[&Member]) -> Vec<Vec<i32>> {
    members.iter().map(|m| m.seen.lock().expect("lock").assigned.clone()).collect()
}

fn disjoint_cover(a: &[Vec<i32>], n: i32) -> bool {
    let all: Vec<i32> = a.iter().flatten().copied().collect();
    let set: BTreeSet<i32> = all.iter().copied().collect();
    all.len() == set.len() && set == (0..n).collect()
}

async fn produce(bootstrap: &str, topic: &str, from: usize, n: usize) -> HashSet<(i32, i64)> {
    let p: FutureProducer = ClientConfig::new().set("bootstrap.servers", bootstrap).set("linger.ms", "5").create().expect("producer");
    let mut futs = Vec::new();
    for i in from..from + n {
        let key = format!("k{i}");
        futs.push(p.send_result(FutureRecord::to(topic).key(&key).payload("v")).expect("enqueue"));
    }
    let mut out = HashSet::new();
    for f in futs {
        let d = f.await.expect("not cancelled").expect("delivered");
        out.insert((d.partition, d.offset));
    }
    out
}

/// Acceptance (issue 3, 1): three members split six partitions; one dies
/// without LeaveGroup; after the session timeout the survivors own all six;
/// everything produced is consumed, and only records the dead member had
/// consumed (its uncommitted window) are consumed twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_then_one_killed() {
    let broker = BrokerProcess::start_with(&["group.initial.rebalance.delay.ms=0"]);
    let bs = broker.bootstrap();
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", &bs).create().expect("admin");
    admin
        .create_topics(&[NewTopic::new("grouped", 6, TopicReplication::Fixed(1))], &AdminOptions::new())
        .await
        .expect("create")
        .into_iter()
        .for_each(|r| {
            r.expect("created");
        });
    let a = spawn_member(&bs, "grouped", "g1");
    let b = spawn_member(&bs, "grouped", "g1");
    let mut c = spawn_member(&bs, "grouped", "g1");
    wait_until("three-way split", Duration::from_secs(60), || {
        let asg = assignments(&[&a, &b, &c]);
        asg.iter().all(|x| x.len() == 2) && disjoint_cover(&asg, 6)
    });
    let mut produced = produce(&bs, "grouped", 0, 3000).await;
    wait_until("first batch consumed", Duration::from_secs(60), || {
        let total: HashSet<(i32, i64)> =
            [&a, &b, &c].iter().flat_map(|m| m.seen.lock().expect("lock").messages.clone()).collect();
        produced.is_subset(&total)
    });
    let c_parts = c.seen.lock().expect("lock").assigned.clone();
    c.child.kill().expect("kill -9");
    let _ = c.child.wait();
    produced.extend(produce(&bs, "grouped", 3000, 3000).await);
    wait_until("survivors own all partitions", Duration::from_secs(60), || {
        let asg = assignments(&[&a, &b]);
        disjoint_cover(&asg, 6)
    });
    wait_until("everything consumed", Duration::from_secs(60), || {
        let total: HashSet<(i32, i64)> = [&a, &b, &c].iter().flat_map(|m| m.seen.lock().expect("lock").messages.clone()).collect();
        produced.is_subset(&total)
    });
    let mut count: HashMap<(i32, i64), usize> = HashMap::new();
    for m in [&a, &b, &c] {
        for r in &m.seen.lock().expect("lock").messages {
            *count.entry(*r).or_default() += 1;
        }
    }
    let c_seen: HashSet<(i32, i64)> = c.seen.lock().expect("lock").messages.iter().copied().collect();
    for (rec, n) in &count {
        if *n > 1 {
            assert!(c_parts.contains(&rec.0) && c_seen.contains(rec), "{rec:?} consumed {n} times outside the dead member's window");
        }
    }
    for mut m in [a, b] {
        let _ = m.child.kill();
        let _ = m.child.wait();
    }
}
