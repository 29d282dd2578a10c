//! Patchworks: routed and validated; the behaviour comes with the issue "Every seed API, stateful and faithful".
//! Until then every operation answers 501 Not Implemented, naming itself.

use crate::apis::not_yet;
use crate::error::ApiError;
use crate::generated::{PatchworksApi, types::patchworks};
use crate::request::{Reply, Request};

#[derive(Debug, Default)]
pub struct Patchworks;

impl PatchworksApi for Patchworks {
    async fn list_flow_webhooks(&self, request: Request) -> Result<Reply, ApiError> {
        not_yet(request, ())
    }
    async fn create_flow_webhook(
        &self,
        request: Request,
        body: patchworks::FlowsStoreWebhooksRequest,
    ) -> Result<Reply, ApiError> {
        not_yet(request, body)
    }
    async fn update_flow_webhook(
        &self,
        request: Request,
        body: patchworks::FlowsUpdateWebhooksRequest,
    ) -> Result<Reply, ApiError> {
        not_yet(request, body)
    }
    async fn delete_flow_webhook(&self, request: Request) -> Result<Reply, ApiError> {
        not_yet(request, ())
    }
    async fn list_flow_callbacks(&self, request: Request) -> Result<Reply, ApiError> {
        not_yet(request, ())
    }
    async fn create_flow_callback(
        &self,
        request: Request,
        body: patchworks::FlowsStoreCallbacksRequest,
    ) -> Result<Reply, ApiError> {
        not_yet(request, body)
    }
    async fn update_flow_callback(
        &self,
        request: Request,
        body: patchworks::FlowsUpdateCallbacksRequest,
    ) -> Result<Reply, ApiError> {
        not_yet(request, body)
    }
    async fn delete_flow_callback(&self, request: Request) -> Result<Reply, ApiError> {
        not_yet(request, ())
    }
}
