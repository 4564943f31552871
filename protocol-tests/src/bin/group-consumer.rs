//! A group consumer for tests, run as a child process so a test can kill it
//! with SIGKILL (no LeaveGroup). Prints one line per event on stdout:
//! `ASSIGNED p,p,...` after each rebalance and `MSG partition offset` per record.
//!
//! Usage: group-consumer BOOTSTRAP TOPIC GROUP SESSION_TIMEOUT_MS

use std::io::Write;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::{ClientContext, Message};

struct Ctx;
impl ClientContext for Ctx {}
impl ConsumerContext for Ctx {
    fn post_rebalance(&self, base: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(_) | Rebalance::Revoke(_) = rebalance {
            let parts: Vec<String> = base
                .assignment()
                .map(|tpl| tpl.elements().iter().map(|e| e.partition().to_string()).collect())
                .unwrap_or_default();
            println!("ASSIGNED {}", parts.join(","));
            let _ = std::io::stdout().flush();
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: group-consumer BOOTSTRAP TOPIC GROUP SESSION_TIMEOUT_MS");
        std::process::exit(2);
    }
    let consumer: BaseConsumer<Ctx> = ClientConfig::new()
        .set("bootstrap.servers", &args[1])
        .set("group.id", &args[3])
        .set("session.timeout.ms", &args[4])
        .set("heartbeat.interval.ms", "500")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "200")
        .create_with_context(Ctx)
        .expect("consumer");
    consumer.subscribe(&[&args[2]]).expect("subscribe");
    loop {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                println!("MSG {} {}", m.partition(), m.offset());
                let _ = std::io::stdout().flush();
            }
            Some(Err(e)) => eprintln!("consumer error: {e}"),
            None => {}
        }
    }
}
