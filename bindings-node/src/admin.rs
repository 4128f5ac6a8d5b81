//! The admin methods of `NativeClient` (setup-key routes), one per core call, and `NativeAuditPages`, core's audit
//! page walker: the JS `audit.iter` only asks it for the next page, so how pages are walked is core's rule.

use std::sync::{Mutex, PoisonError};

use allowly_core::client::AuditPages;
use allowly_core::model as core;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::client::NativeClient;
use crate::error::IntoNapi;
use crate::model::{
    ApiKey, ApiKeyRevocation, AuditPage, CreatedApiKey, SignedReceipt, SigningKeyRotation, WebhookEndpoint,
    WebhookSecret,
};

/// Filters of `admin.audit.list` / `iter` (exact matches; `since` inclusive, `until` exclusive, RFC 3339).
#[napi(object)]
#[derive(Default)]
pub struct AuditQuery {
    pub user_id: Option<String>,
    pub agent_id: Option<String>,
    pub authorization_id: Option<String>,
    pub run_id: Option<String>,
    /// A check's scope, or an event receipt's event name.
    pub action: Option<String>,
    pub decision: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    /// Receipts per page, 1 to 1000.
    pub limit: Option<u32>,
    /// A previous page's `nextCursor` (`list` only).
    pub cursor: Option<String>,
}

impl AuditQuery {
    fn into_core(self) -> (core::AuditQuery, Option<String>) {
        let q = core::AuditQuery {
            user_id: self.user_id,
            agent_id: self.agent_id,
            authorization_id: self.authorization_id,
            run_id: self.run_id,
            action: self.action,
            decision: self.decision,
            since: self.since,
            until: self.until,
            limit: self.limit,
        };
        (q, self.cursor)
    }
}

/// Pages of one audit query; `nextPage()` resolves `null` after the last one. One consumer at a time: the walker's
/// position is taken out for the request and put back with the answer (an error leaves it where it was).
#[napi]
pub struct NativeAuditPages {
    pages: Mutex<AuditPages>,
}

#[napi]
impl NativeAuditPages {
    #[napi]
    pub async fn next_page(&self) -> Result<Option<AuditPage>> {
        let mut pages = self.pages.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let page = pages.next_page().await.napi()?;
        *self.pages.lock().unwrap_or_else(PoisonError::into_inner) = pages;
        Ok(page.map(Into::into))
    }
}

#[napi]
impl NativeClient {
    #[napi]
    pub async fn create_api_key(&self, tier: String, name: String) -> Result<CreatedApiKey> {
        let request = core::CreateApiKeyRequest { tier: core::ApiKeyTier::parse(&tier).napi()?, name };
        self.client.create_api_key(&request).await.map(Into::into).napi()
    }

    #[napi]
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        self.client.list_api_keys().await.map(|keys| keys.into_iter().map(Into::into).collect()).napi()
    }

    #[napi]
    pub async fn revoke_api_key(&self, id: String) -> Result<ApiKeyRevocation> {
        self.client.revoke_api_key(&id).await.map(Into::into).napi()
    }

    #[napi]
    pub async fn set_webhook(&self, url: String) -> Result<WebhookSecret> {
        self.client.set_webhook(&url).await.map(Into::into).napi()
    }

    #[napi]
    pub async fn get_webhook(&self) -> Result<WebhookEndpoint> {
        self.client.get_webhook().await.map(Into::into).napi()
    }

    #[napi]
    pub async fn delete_webhook(&self) -> Result<()> {
        self.client.delete_webhook().await.napi()
    }

    #[napi]
    pub async fn rotate_signing_key(&self) -> Result<SigningKeyRotation> {
        self.client.rotate_signing_key().await.map(Into::into).napi()
    }

    #[napi]
    pub async fn audit(&self, query: Option<AuditQuery>) -> Result<AuditPage> {
        let (query, cursor) = query.unwrap_or_default().into_core();
        self.client.audit(&query, cursor.as_deref()).await.map(Into::into).napi()
    }

    /// Bad filters are refused here, at the call, rather than at the first page.
    #[napi]
    pub fn audit_pages(&self, query: Option<AuditQuery>) -> Result<NativeAuditPages> {
        let (query, _) = query.unwrap_or_default().into_core();
        query.params().napi()?;
        Ok(NativeAuditPages { pages: Mutex::new(self.client.audit_pages(query)) })
    }

    #[napi]
    pub async fn export_receipts(&self, since: Option<String>, until: Option<String>) -> Result<Vec<SignedReceipt>> {
        let receipts = self.client.export_receipts(since.as_deref(), until.as_deref()).await.napi()?;
        Ok(receipts.into_iter().map(Into::into).collect())
    }
}
