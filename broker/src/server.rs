//! Accept loop, housekeeping timers and graceful shutdown.
//!
//! Shutdown is a watch channel: every connection task selects on it, the
//! accept loop stops, in-flight requests finish, then every log is flushed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::broker::Broker;
use crate::connection;

pub struct Server {
    pub listener: TcpListener,
    pub local_addr: SocketAddr,
}

impl Server {
    /// Binds the first client listener (not a controller listener). Port 0
    /// picks a free port, which is then advertised.
    pub async fn bind(config: &crate::config::BrokerConfig) -> anyhow::Result<Server> {
        let l = config
            .client_listeners()
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("no client listener configured (listeners minus controller.listener.names)"))?;
        let host = if l.host.is_empty() { "0.0.0.0".to_string() } else { l.host.clone() };
        let listener = TcpListener::bind((host.as_str(), l.port))
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}:{}: {e}", host, l.port))?;
        let local_addr = listener.local_addr()?;
        Ok(Server { listener, local_addr })
    }

    pub async fn run(self, broker: Arc<Broker>, mut shutdown: tokio::sync::watch::Receiver<bool>) -> anyhow::Result<()> {
        tokio::spawn(crate::replica::isr_maintenance(Arc::downgrade(&broker), shutdown.clone()));
        let (adv_host, adv_port) = broker.advertised();
        tracing::info!(listener = %self.local_addr, advertised = %format!("{adv_host}:{adv_port}"), node_id = broker.node_id, "broker ready; bootstrap.servers={adv_host}:{adv_port}");
        let housekeeping = {
            let broker = broker.clone();
            let mut shutdown = shutdown.clone();
            tokio::spawn(async move {
                let retention_every = Duration::from_millis(broker.config.retention_check_interval_ms());
                let mut tick = tokio::time::interval(Duration::from_millis(1000));
                let mut last_retention = tokio::time::Instant::now();
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = shutdown.changed() => break,
                    }
                    let retention = last_retention.elapsed() >= retention_every;
                    if retention {
                        last_retention = tokio::time::Instant::now();
                    }
                    let b = broker.clone();
                    let _ = tokio::task::spawn_blocking(move || b.housekeeping(retention)).await;
                }
            })
        };
        // The group coordinator's clock: rebalance deadlines and session expiry.
        let group_clock = {
            let broker = broker.clone();
            let mut shutdown = shutdown.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(100));
                loop {
                    tokio::select! {
                        _ = tick.tick() => {
                            broker.groups.tick(&broker);
                            broker.txns.tick(&broker);
                        }
                        _ = shutdown.changed() => break,
                    }
                }
            })
        };
        let mut conns = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        tracing::debug!(%peer, "accepted connection");
                        conns.spawn(connection::serve(broker.clone(), stream, peer, shutdown.clone()));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                _ = shutdown.changed() => break,
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
        // Move leaderships away first (controlled shutdown), then stop serving.
        broker.agent.controlled_shutdown().await;
        tracing::info!(connections = conns.len(), "shutting down: draining connections");
        let drain = async { while conns.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(10), drain).await.is_err() {
            conns.abort_all();
        }
        let _ = housekeeping.await;
        let _ = group_clock.await;
        broker.shutdown().await;
        tracing::info!("shutdown complete");
        Ok(())
    }
}
