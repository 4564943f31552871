//! InitProducerId: idempotent producers get a fresh id here; transactional
//! ids go to the transaction coordinator (epoch bump and fencing).

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use kafka_protocol::ResponseError;

use super::Ctx;

pub fn handle(ctx: &Ctx, req: InitProducerIdRequest) -> InitProducerIdResponse {
    let mut r = InitProducerIdResponse::default();
    r.producer_id = ProducerId(-1);
    r.producer_epoch = -1;
    if let Some(txn_id) = req.transactional_id.as_ref().filter(|t| !t.0.is_empty()) {
        let (pid, epoch) = if ctx.version >= 3 { (req.producer_id.0, req.producer_epoch) } else { (-1, -1) };
        match ctx.broker.txns.init_producer_id(&ctx.broker, txn_id.0.as_str(), req.transaction_timeout_ms, pid, epoch) {
            Ok((pid, epoch)) => {
                r.producer_id = ProducerId(pid);
                r.producer_epoch = epoch;
            }
            Err(e) => r.error_code = e.code(),
        }
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
