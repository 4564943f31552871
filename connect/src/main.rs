//! `tributary-connect standalone worker.properties [connector.properties|connector.json ...]`
//! `tributary-connect distributed worker.properties`
//! with `--override key=value` for any worker property.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tracing_subscriber::prelude::*;
use tracing_subscriber::{reload, EnvFilter};

use tributary_connect::rest::{self, AppState, LogControl};
use tributary_connect::runtime::distributed::Distributed;
use tributary_connect::runtime::herder::{Backend, Herder};
use tributary_connect::runtime::kafka::KafkaIo;
use tributary_connect::runtime::offsets::{FileOffsetStore, OffsetStore};
use tributary_connect::runtime::status::StatusStore;
use tributary_connect::runtime::worker::{Worker, WorkerShared};
use tributary_connect::runtime::worker_config::{
    parse_properties, read_connector_file, Mode, WorkerConfig,
};

#[derive(Parser)]
#[command(
    name = "tributary-connect",
    about = "A Kafka Connect-compatible worker",
    version
)]
struct Cli {
    #[command(subcommand)]
    mode: ModeArg,
}

#[derive(Subcommand)]
enum ModeArg {
    /// One worker, offsets in a local file, connectors from the command line or REST.
    Standalone {
        worker_properties: String,
        connector_files: Vec<String>,
        #[arg(long = "override", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
    /// A worker of a group sharing configs, offsets and status through Kafka topics.
    Distributed {
        worker_properties: String,
        #[arg(long = "override", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
}

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("tributary-connect: {msg}");
    std::process::exit(1);
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let (mode, props_file, files, overrides) = match cli.mode {
        ModeArg::Standalone {
            worker_properties,
            connector_files,
            overrides,
        } => (
            Mode::Standalone,
            worker_properties,
            connector_files,
            overrides,
        ),
        ModeArg::Distributed {
            worker_properties,
            overrides,
        } => (Mode::Distributed, worker_properties, vec![], overrides),
    };
    let text = std::fs::read_to_string(&props_file)
        .unwrap_or_else(|e| fail(format!("cannot read {props_file}: {e}")));
    let mut props = parse_properties(&text);
    for o in overrides {
        let Some((k, v)) = o.split_once('=') else {
            fail(format!("--override needs key=value, got '{o}'"))
        };
        props.insert(k.trim().to_string(), v.to_string());
    }
    let config = WorkerConfig::parse(mode, props).unwrap_or_else(|e| fail(e.message));

    // Logging, with a reload handle for /admin/loggers.
    let initial = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    let (filter, handle) =
        reload::Layer::new(EnvFilter::try_new(&initial).unwrap_or_else(|_| EnvFilter::new("info")));
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .init();
    let reloader = move |directives: &str| -> Result<(), String> {
        let f = EnvFilter::try_new(directives).map_err(|e| e.to_string())?;
        handle.reload(f).map_err(|e| e.to_string())
    };
    let logs = LogControl::new("INFO", Some(Box::new(reloader)));

    let kafka = KafkaIo::new(
        &config.bootstrap_servers,
        &format!("connect-{}", config.worker_id),
    )
    .unwrap_or_else(|e| fail(e));
    let status = Arc::new(StatusStore::default());
    let (offsets, dist): (Arc<dyn OffsetStore>, Option<Arc<Distributed>>) = match mode {
        Mode::Standalone => {
            let path = config.offset_file.clone().unwrap_or_default();
            (
                FileOffsetStore::open(path).unwrap_or_else(|e| fail(e)),
                None,
            )
        }
        Mode::Distributed => {
            let d = loop {
                match Distributed::start(config.clone(), kafka.clone(), status.clone()).await {
                    Ok(d) => break d,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot set up the internal topics yet; retrying");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            };
            (d.offsets.clone() as Arc<dyn OffsetStore>, Some(d))
        }
    };
    let shared = Arc::new(WorkerShared::new(
        config.clone(),
        Some(kafka.clone()),
        offsets,
        status,
    ));
    let worker = Worker::new(shared);
    let backend = match &dist {
        Some(d) => Backend::Distributed(d.clone()),
        None => Backend::Standalone,
    };
    let herder = Herder::new(worker.clone(), backend);
    let state = Arc::new(AppState {
        herder: herder.clone(),
        logs,
        ready: AtomicBool::new(false),
        cluster_id: Default::default(),
    });

    let addr: SocketAddr = format!("{}:{}", config.rest_host, config.rest_port)
        .parse()
        .unwrap_or_else(|e| {
            fail(format!(
                "invalid listener {}:{}: {e}",
                config.rest_host, config.rest_port
            ))
        });
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| fail(format!("cannot listen on {addr}: {e}")));
    tracing::info!(%addr, mode = ?mode, worker_id = %config.worker_id, "REST server listening");
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let app = rest::router(state.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop_rx.changed().await;
            })
            .await;
    });

    if let Some(d) = &dist {
        d.run(&herder).await.unwrap_or_else(|e| fail(e));
    } else {
        for f in &files {
            let props = read_connector_file(f).unwrap_or_else(|e| fail(e));
            let Some(name) = props.get("name").cloned() else {
                fail(format!("{f}: the connector config has no 'name'"))
            };
            if let Err(e) = herder.put_connector_config(&name, props, true, None).await {
                fail(format!("{f}: {}", e.message));
            }
            tracing::info!(connector = %name, file = %f, "created connector");
        }
    }
    rest::mark_ready(&state);

    wait_for_signal().await;
    tracing::info!("shutting down");
    if let Some(d) = &dist {
        d.shutdown();
    }
    worker.stop_all().await;
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), server).await;
    tracing::info!("stopped");
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).unwrap_or_else(|e| fail(e));
    let mut int = signal(SignalKind::interrupt()).unwrap_or_else(|e| fail(e));
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
