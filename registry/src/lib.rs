//! Tributary's schema registry: Confluent Schema Registry's REST API over
//! state kept in the compacted `_schemas` topic of a Tributary (or any Kafka)
//! broker.
//!
//! Layout: `rest/` (HTTP resources and the layers around them), `registry`
//! (the operations and their rules), `store/` (the topic, its record formats
//! and the in-memory index), `formats/` (Avro, JSON Schema, Protobuf),
//! `compat/` (compatibility rules), `election` (leader election through the
//! broker's group protocol), `error` (internal error → Confluent status and
//! `error_code`, mapped once).

pub mod compat;
pub mod config;
pub mod election;
pub mod error;
pub mod formats;
pub mod registry;
pub mod rest;
pub mod store;
pub mod subject;
pub mod types;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;
use tributary_client::{Client, ClientConfig};

use crate::config::RegistryConfig;
use crate::election::LeaderState;
use crate::registry::Registry;
use crate::store::kafka::KafkaStore;

/// A started registry: its address and the means to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub registry: Arc<Registry>,
    shutdown: watch::Sender<bool>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    election: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops serving (in-flight requests finish), leaves the group so another
    /// instance takes over at once, and stops the topic reader.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        let served = self.server.await;
        let _ = self.election.await;
        served??;
        Ok(())
    }

    /// Resolves when the server stops on its own (it should not).
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        (&mut self.server).await??;
        Ok(())
    }
}

/// Binds the listener, reads the schemas topic to its end, joins the leader
/// election and serves the REST API. A listener port of 0 binds an
/// ephemeral port, which is then what this instance advertises.
pub async fn start(mut config: RegistryConfig) -> anyhow::Result<Running> {
    let bind = format!("{}:{}", config.listener.host, config.listener.port);
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {bind}: {e}"))?;
    let addr = listener.local_addr()?;
    config.listener.port = addr.port();
    tracing::info!(%addr, url = %config.advertised_url(), "schema registry listening");

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let client =
        Client::new(ClientConfig::new(&config.bootstrap_servers).client_id("tributary-registry"))?;
    // The broker may still be starting (`make run` starts both at once):
    // keep trying until the init timeout.
    let init_deadline = tokio::time::Instant::now() + config.init_timeout;
    let store = loop {
        match KafkaStore::open(
            client.clone(),
            &config.topic,
            config.store_timeout,
            config.init_timeout,
            shutdown_rx.clone(),
        )
        .await
        {
            Ok(store) => break store,
            Err(e) if tokio::time::Instant::now() < init_deadline => {
                tracing::warn!(error = %e, "cannot open the schemas topic yet; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e),
        }
    };
    let leader = Arc::new(LeaderState::default());
    let election = tokio::spawn(election::run(
        client.clone(),
        config.clone(),
        leader.clone(),
        shutdown_rx.clone(),
    ));
    // Like Confluent, serve once a leader is known, so the first writes do
    // not fail with 50004 while the group forms (bounded by the init timeout).
    let deadline = tokio::time::Instant::now() + config.init_timeout;
    while leader.get().leader_url.is_none() && tokio::time::Instant::now() < deadline {
        if election.is_finished() {
            break; // not eligible and no group protocol: nobody will lead
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let registry = Arc::new(Registry::new(config, store, leader));
    let app = rest::router(registry.clone());
    let mut stop = shutdown_rx.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
    });
    Ok(Running {
        addr,
        registry,
        shutdown: shutdown_tx,
        server,
        election,
    })
}
