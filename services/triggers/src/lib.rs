//! Cognate's trigger dispatcher: Cognito's Lambda triggers delivered as messages. A pool's
//! `LambdaConfig` value names the handler — a Lambda ARN (the NATS subject
//! `<prefix>.<function name>`), a `nats:<subject>` or an `http(s)://` webhook — and the event and
//! reply are Cognito's own JSON, under Cognito's rules (5 s per attempt, up to 3 attempts).

mod dispatcher;
mod target;

use std::sync::Arc;

use cognate_common::ServiceContext;
use cognate_proto::internal::v1::triggers_server::{Triggers, TriggersServer};
use cognate_proto::internal::v1::{InvokeRequest, InvokeResponse};

pub use dispatcher::{ATTEMPT_TIMEOUT, Dispatcher, MAX_ATTEMPTS};
pub use target::{RedactedTarget, Target, TargetError};

/// Builds the service's gRPC routes. The triggers service has no store.
pub async fn start(
    context: &ServiceContext,
    routes: &mut tonic::service::RoutesBuilder,
) -> anyhow::Result<()> {
    let dispatcher = Dispatcher::new(
        context.nats.clone(),
        context.config.trigger_subject_prefix.clone(),
    )?;
    routes.add_service(TriggersServer::new(TriggersService::new(dispatcher)));
    Ok(())
}

/// The `cognate.internal.v1.Triggers` gRPC service: decodes, dispatches, encodes.
#[derive(Clone, Debug)]
pub struct TriggersService {
    dispatcher: Arc<Dispatcher>,
}

impl TriggersService {
    pub fn new(dispatcher: Dispatcher) -> Self {
        Self {
            dispatcher: Arc::new(dispatcher),
        }
    }
}

#[tonic::async_trait]
impl Triggers for TriggersService {
    async fn invoke(
        &self,
        request: tonic::Request<InvokeRequest>,
    ) -> Result<tonic::Response<InvokeResponse>, tonic::Status> {
        let request = request.into_inner();
        let event: serde_json::Value =
            serde_json::from_str(&request.event_json).map_err(|error| {
                cognate_common::error::internal("trigger event from a peer is not JSON", error)
            })?;
        let reply = self
            .dispatcher
            .invoke(&request.target, &request.trigger, &event)
            .await?;
        Ok(tonic::Response::new(InvokeResponse {
            event_json: reply.to_string(),
        }))
    }
}
