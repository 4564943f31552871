//! Test harness: starts the real `tributary-broker` binary on an ephemeral
//! port with its own data directory, and speaks raw Kafka frames to it.

pub mod cluster;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

/// Path of the broker binary: `TRIBUTARY_BROKER_BIN`, else next to the test
/// executable in cargo's target directory.
pub fn broker_bin() -> PathBuf {
    if let Ok(p) = std::env::var("TRIBUTARY_BROKER_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test> -> target/<profile>/tributary-broker
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join("tributary-broker");
    assert!(bin.exists(), "{} not built: run `cargo build -p tributary-broker` (make test does)", bin.display());
    bin
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A broker process owned by a test; killed on drop.
pub struct BrokerProcess {
    child: Option<Child>,
    pub port: u16,
    pub data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    extra: Vec<String>,
    log_path: PathBuf,
}

impl BrokerProcess {
    pub fn start() -> BrokerProcess {
        Self::start_with(&[])
    }

    /// Starts with extra `key=value` overrides.
    pub fn start_with(extra: &[&str]) -> BrokerProcess {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data_dir = tmp.path().join("data");
        let log_path = tmp.path().join("broker.log");
        let mut b = BrokerProcess {
            child: None,
            port: free_port(),
            data_dir,
            _tmp: Some(tmp),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            log_path,
        };
        b.spawn();
        b
    }

    fn spawn(&mut self) {
        let listener = format!("PLAINTEXT://127.0.0.1:{}", self.port);
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log_path).expect("log file");
        let mut cmd = Command::new(broker_bin());
        cmd.arg("--override")
            .arg(format!("listeners={listener}"))
            .arg("--override")
            .arg(format!("log.dirs={}", self.data_dir.display()));
        for e in &self.extra {
            cmd.arg("--override").arg(e);
        }
        let child = cmd
            .env("TRIBUTARY_LOG", "info")
            .stdout(Stdio::from(log.try_clone().expect("clone")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn broker");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "broker did not start:\n{}", self.log());
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    panic!("broker exited with {status}:\n{}", self.log());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// `kill -9`: no chance to flush or clean up.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Starts again on the same port and data directory.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Starts again after `kill9` (or `stop`).
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "still running");
        self.spawn();
    }

    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- broker log ----\n{}", self.log());
        }
        self.kill9();
    }
}

/// A blocking raw-socket Kafka client for wire-level tests.
pub struct RawClient {
    pub stream: TcpStream,
    next_correlation: i32,
}

impl RawClient {
    pub fn connect(bootstrap: &str) -> RawClient {
        let stream = TcpStream::connect(bootstrap).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        RawClient { stream, next_correlation: 1 }
    }

    /// Encodes header + body for `api`/`version` as a size-prefixed frame.
    pub fn frame(api: ApiKey, version: i16, correlation_id: i32, body: &RequestKind) -> Bytes {
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        let mut h = RequestHeader::default();
        h.request_api_key = api as i16;
        h.request_api_version = version;
        h.correlation_id = correlation_id;
        h.client_id = Some(StrBytes::from_static_str("protocol-tests"));
        h.encode(&mut buf, api.request_header_version(version)).expect("header");
        body.encode(&mut buf, version).expect("body");
        let len = (buf.len() - 4) as i32;
        buf[0..4].copy_from_slice(&len.to_be_bytes());
        buf.freeze()
    }

    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads one response frame (without the size prefix).
    pub fn read_frame(&mut self) -> std::io::Result<Bytes> {
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len)?;
        let mut buf = vec![0u8; i32::from_be_bytes(len) as usize];
        self.stream.read_exact(&mut buf)?;
        Ok(Bytes::from(buf))
    }

    /// Sends a request and decodes its response.
    pub fn call(&mut self, api: ApiKey, version: i16, body: RequestKind) -> (i32, ResponseKind) {
        let cid = self.next_correlation;
        self.next_correlation += 1;
        self.send_raw(&Self::frame(api, version, cid, &body)).expect("send");
        let mut frame = self.read_frame().expect("response");
        let header = ResponseHeader::decode(&mut frame, api.response_header_version(version)).expect("header");
        assert_eq!(header.correlation_id, cid, "correlation id echoed");
        let resp = ResponseKind::decode(api, &mut frame, version).expect("decode response");
        assert_eq!(frame.remaining(), 0, "response fully consumed");
        (cid, resp)
    }

    /// True once the broker has closed this connection.
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.stream.read(&mut b), Ok(0) | Err(_))
    }
}

/// Reads partitions `0..partitions` of `topic` from the beginning with an
/// assigned (group-less) rdkafka consumer at `isolation` ("read_committed" or
/// "read_uncommitted"): the payloads, once at least `expect` arrived and 2 s
/// passed without more, or whatever arrived by `timeout`. A consume error panics.
pub fn read_payloads(bootstrap: &str, topic: &str, partitions: i32, isolation: &str, expect: usize, timeout: Duration) -> Vec<String> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{Message, Offset, TopicPartitionList};
    let c: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("reader-{isolation}"))
        .set("enable.auto.commit", "false")
        .set("isolation.level", isolation)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning).expect("tpl");
    }
    c.assign(&tpl).expect("assign");
    let mut out = Vec::new();
    let deadline = Instant::now() + timeout;
    let mut quiet_since = Instant::now();
    while Instant::now() < deadline {
        match c.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                out.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).to_string());
                quiet_since = Instant::now();
            }
            Some(Err(e)) => panic!("consume error: {e}"),
            None => {
                if out.len() >= expect && quiet_since.elapsed() > Duration::from_secs(2) {
                    break;
                }
            }
        }
    }
    out
}
