//! Ingedata: routed and validated; the behaviour comes with the issue "Every seed API, stateful and faithful".
//! Until then every operation answers 501 Not Implemented, naming itself.

use crate::apis::not_yet;
use crate::error::ApiError;
use crate::generated::{IngedataApi, types::ingedata};
use crate::request::{Reply, Request};

#[derive(Debug, Default)]
pub struct Ingedata;

impl IngedataApi for Ingedata {
    async fn list_notification_webhooks(&self, request: Request) -> Result<Reply, ApiError> {
        not_yet(request, ())
    }
    async fn create_notification_webhook(
        &self,
        request: Request,
        body: ingedata::WebhookCreateDocument,
    ) -> Result<Reply, ApiError> {
        not_yet(request, body)
    }
    async fn list_notification_webhook_events(&self, request: Request) -> Result<Reply, ApiError> {
        not_yet(request, ())
    }
    async fn test_notification_webhook(&self, request: Request) -> Result<Reply, ApiError> {
        not_yet(request, ())
    }
    async fn get_notification_webhook(&self, request: Request) -> Result<Reply, ApiError> {
        not_yet(request, ())
    }
    async fn update_notification_webhook(
        &self,
        request: Request,
        body: ingedata::WebhookUpdateDocument,
    ) -> Result<Reply, ApiError> {
        not_yet(request, body)
    }
    async fn delete_notification_webhook(&self, request: Request) -> Result<Reply, ApiError> {
        not_yet(request, ())
    }
}
