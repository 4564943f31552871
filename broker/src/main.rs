//! `tributary-broker [server.properties] [--override key=value]...`

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Parser;
use tributary_broker::broker::{kafka_uuid_string, local_cluster_id, Broker};
use tributary_broker::controller::{Controller, QuorumConfig};
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
            // openraft's info level narrates every election; keep it to warnings
            // unless TRIBUTARY_LOG names it.
            match std::env::var("TRIBUTARY_LOG") {
                Ok(v) if v.contains("openraft") => tracing_subscriber::EnvFilter::new(v),
                Ok(v) => tracing_subscriber::EnvFilter::new(format!("{v},openraft=warn")),
                Err(_) => tracing_subscriber::EnvFilter::new("info,openraft=warn"),
            },
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
        let (tx, mut rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
            }
            tracing::info!("signal received");
            let _ = tx.send(true);
        });
        let q = QuorumConfig::from_config(&config)?;
        let controller = if q.is_controller {
            let hint = local_cluster_id(&config)?.unwrap_or_else(|| kafka_uuid_string(uuid::Uuid::new_v4()));
            let c = Controller::start(&q, hint).await?;
            if let Some(l) = &q.controller_listener {
                let host = if l.host.is_empty() { "0.0.0.0" } else { l.host.as_str() };
                let listener = tokio::net::TcpListener::bind((host, l.port))
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen on controller listener {}:{}: {e}", host, l.port))?;
                tracing::info!(listener = %listener.local_addr()?, node_id = q.node_id, voters = ?q.voters, "controller listening");
                tokio::spawn(c.clone().serve(listener, rx.clone()));
            }
            Some(c)
        } else {
            None
        };
        if !q.is_broker {
            let _ = rx.changed().await;
            if let Some(c) = controller {
                let _ = c.raft.shutdown().await;
            }
            return Ok(());
        }
        let server = Server::bind(&config).await?;
        let advertised = config.advertised(Some(server.local_addr));
        let broker = Broker::start(config, controller, advertised).await?;
        server.run(broker, rx).await
    })
}
