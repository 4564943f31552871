//! `GET /` (version, commit, Kafka cluster id) and `GET /health` (KIP-1017).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use serde_json::json;

use super::{ok, with_status, RestResult, Shared};

pub fn routes() -> Router<std::sync::Arc<super::AppState>> {
    Router::new()
        .route("/", get(server_info))
        .route("/health", get(health))
}

async fn server_info(State(s): Shared) -> RestResult {
    let cached = s.cluster_id.lock().clone();
    let cluster_id = match cached {
        Some(id) => Some(id),
        None => match &s.herder.worker.shared.kafka {
            Some(k) => {
                let id = k
                    .client
                    .metadata(Some(&[]))
                    .await
                    .ok()
                    .and_then(|m| m.cluster_id);
                if let Some(id) = &id {
                    *s.cluster_id.lock() = Some(id.clone());
                }
                id
            }
            None => None,
        },
    };
    ok(
        json!({ "version": crate::KAFKA_VERSION, "commit": "tributary", "kafka_cluster_id": cluster_id }),
    )
}

async fn health(State(s): Shared) -> RestResult {
    if s.ready.load(std::sync::atomic::Ordering::Relaxed) {
        ok(
            json!({ "status": "healthy", "message": "Worker has completed startup and is ready to handle requests." }),
        )
    } else {
        with_status(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "status": "starting", "message": "Worker is still starting up." }),
        )
    }
}
