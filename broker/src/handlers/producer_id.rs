//! InitProducerId for idempotent producers. Transactional ids belong to the
//! transaction coordinator (a later issue) and are refused until it exists.

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use kafka_protocol::ResponseError;

use super::Ctx;

pub fn handle(ctx: &Ctx, req: InitProducerIdRequest) -> InitProducerIdResponse {
    let mut r = InitProducerIdResponse::default();
    r.producer_id = ProducerId(-1);
    r.producer_epoch = -1;
    if req.transactional_id.as_ref().is_some_and(|t| !t.0.is_empty()) {
        tracing::warn!(client_id = %ctx.client_id, "transactional producers are not supported yet");
        r.error_code = ResponseError::CoordinatorNotAvailable.code();
        return r;
    }
    // KIP-360: a producer that knows its id asks for an epoch bump to reset
    // its sequences; the id stays unless the epoch would overflow.
    if req.producer_id.0 >= 0 && req.producer_epoch >= 0 && req.producer_epoch < i16::MAX - 1 {
        r.producer_id = req.producer_id;
        r.producer_epoch = req.producer_epoch + 1;
        return r;
    }
    match ctx.broker.next_producer_id() {
        Ok(id) => {
            r.producer_id = ProducerId(id);
            r.producer_epoch = 0;
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot persist producer id block");
            r.error_code = ResponseError::KafkaStorageError.code();
        }
    }
    r
}
