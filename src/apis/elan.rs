//! Elan: routed and validated; the behaviour comes with the issue "Every seed API, stateful and faithful".
//! Until then every operation answers 501 Not Implemented, naming itself.

use crate::apis::not_yet;
use crate::error::ApiError;
use crate::generated::{ElanApi, types::elan};
use crate::request::{Reply, Request};

#[derive(Debug, Default)]
pub struct Elan;

impl ElanApi for Elan {
    async fn list_webhook_subscriptions(&self, request: Request) -> Result<Reply, ApiError> {
        not_yet(request, ())
    }
    async fn create_webhook_subscription(
        &self,
        request: Request,
        body: elan::WebhookSubscriptionCreate,
    ) -> Result<Reply, ApiError> {
        not_yet(request, body)
    }
    async fn list_all_delivery_logs(&self, request: Request) -> Result<Reply, ApiError> {
        not_yet(request, ())
    }
    async fn get_webhook_subscription(&self, request: Request) -> Result<Reply, ApiError> {
        not_yet(request, ())
    }
    async fn update_webhook_subscription(
        &self,
        request: Request,
        body: elan::WebhookSubscriptionUpdate,
    ) -> Result<Reply, ApiError> {
        not_yet(request, body)
    }
    async fn delete_webhook_subscription(&self, request: Request) -> Result<Reply, ApiError> {
        not_yet(request, ())
    }
    async fn list_subscription_delivery_logs(&self, request: Request) -> Result<Reply, ApiError> {
        not_yet(request, ())
    }
    async fn test_webhook_subscription(&self, request: Request) -> Result<Reply, ApiError> {
        not_yet(request, ())
    }
}
