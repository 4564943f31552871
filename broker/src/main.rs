//! `tributary-broker [server.properties] [--override key=value]...`

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Parser;
use tributary_broker::broker::Broker;
use tributary_broker::config::{parse_override, BrokerConfig};
use tributary_broker::server::Server;

/// A Kafka-wire-compatible broker, configured like kafka-server-start.sh.
#[derive(Parser, Debug)]
#[command(name = "tributary-broker", version)]
struct Args {
    /// Path to a server.properties file (Apache Kafka property names).
    properties: Option<PathBuf>,
    /// Override a property, e.g. --override log.dirs=/tmp/data (repeatable).
    #[arg(long = "override", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRIBUTARY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tributary-broker: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut props: BTreeMap<String, String> = match &args.properties {
        Some(p) => BrokerConfig::read_properties_file(p)?,
        None => BTreeMap::new(),
    };
    for o in &args.overrides {
        let (k, v) = parse_override(o)?;
        props.insert(k, v);
    }
    let config = BrokerConfig::from_props(props)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let broker = Broker::open(config)?;
        let server = Server::bind(broker).await?;
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
            }
            tracing::info!("signal received");
            let _ = tx.send(true);
        });
        server.run(rx).await
    })
}
