//! `tributary-registry [schema-registry.properties] [--override key=value]...`
//!
//! Reads Confluent Schema Registry's property names (see `config.rs`),
//! serves until SIGINT/SIGTERM, then leaves the leader group and exits.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Parser;
use tributary_registry::config::{parse_properties, RegistryConfig};

#[derive(Debug, Parser)]
#[command(
    name = "tributary-registry",
    about = "A Confluent-compatible schema registry on the _schemas topic"
)]
struct Args {
    /// A schema-registry.properties file.
    properties: Option<PathBuf>,
    /// key=value, applied over the file; repeatable.
    #[arg(long = "override", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRIBUTARY_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::env::var_os("NO_COLOR").is_none())
        .init();

    let args = Args::parse();
    let mut props = BTreeMap::new();
    if let Some(path) = &args.properties {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        props.extend(parse_properties(&text));
    }
    for o in &args.overrides {
        let (k, v) = o
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--override expects key=value, got '{o}'"))?;
        props.insert(k.trim().to_string(), v.trim().to_string());
    }
    let config = RegistryConfig::from_properties(&props).map_err(|e| anyhow::anyhow!(e))?;
    let mut running = tributary_registry::start(config).await?;

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted; shutting down"),
        _ = term.recv() => tracing::info!("terminated; shutting down"),
        r = running.wait() => {
            r?;
            anyhow::bail!("the HTTP server stopped unexpectedly");
        }
    }
    running.shutdown().await
}
