//! The admin methods of `NativeClient` (setup-key routes), one per core call, and `NativeAuditPages`, core's audit
//! page walker: the Swift/Kotlin layers only ask it for the next page, so how pages are walked is core's rule.

use std::sync::{Arc, Mutex, PoisonError};

use allowly_core::client::AuditPages;
use allowly_core::model as core;

use crate::client::NativeClient;
use crate::error::Result;
use crate::model::{
    ApiKey, ApiKeyRevocation, AuditPage, CreatedApiKey, SignedReceipt, SigningKeyRotation, WebhookEndpoint,
    WebhookSecret,
};

/// Filters of an audit query (exact matches; `since` inclusive, `until` exclusive, RFC 3339; `limit` 1–1000 per page).
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct AuditQuery {
    #[uniffi(default = None)]
    pub user_id: Option<String>,
    #[uniffi(default = None)]
    pub agent_id: Option<String>,
    #[uniffi(default = None)]
    pub authorization_id: Option<String>,
    #[uniffi(default = None)]
    pub run_id: Option<String>,
    /// A check's scope, or an event receipt's event name.
    #[uniffi(default = None)]
    pub action: Option<String>,
    #[uniffi(default = None)]
    pub decision: Option<String>,
    #[uniffi(default = None)]
    pub since: Option<String>,
    #[uniffi(default = None)]
    pub until: Option<String>,
    #[uniffi(default = None)]
    pub limit: Option<u32>,
}

impl From<AuditQuery> for core::AuditQuery {
    fn from(q: AuditQuery) -> Self {
        core::AuditQuery {
            user_id: q.user_id,
            agent_id: q.agent_id,
            authorization_id: q.authorization_id,
            run_id: q.run_id,
            action: q.action,
            decision: q.decision,
            since: q.since,
            until: q.until,
            limit: q.limit,
        }
    }
}

/// Pages of one audit query; `next_page()` answers `null`/`nil` after the last one. One consumer at a time: the
/// position is taken out for the request and put back with the answer (an error leaves it where it was).
#[derive(uniffi::Object)]
pub struct NativeAuditPages {
    pages: Mutex<AuditPages>,
}

#[uniffi::export(async_runtime = "tokio")]
impl NativeAuditPages {
    pub async fn next_page(&self) -> Result<Option<AuditPage>> {
        let mut pages = self.pages.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let page = pages.next_page().await?;
        *self.pages.lock().unwrap_or_else(PoisonError::into_inner) = pages;
        Ok(page.map(Into::into))
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl NativeClient {
    /// A new API key; its text (`key`, a `SecretText`) is in this answer only.
    pub async fn create_api_key(&self, tier: String, name: String) -> Result<CreatedApiKey> {
        let request = core::CreateApiKeyRequest { tier: core::ApiKeyTier::parse(&tier)?, name };
        Ok(self.core().create_api_key(&request).await?.into())
    }

    pub async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        Ok(self.core().list_api_keys().await?.into_iter().map(Into::into).collect())
    }

    pub async fn revoke_api_key(&self, id: String) -> Result<ApiKeyRevocation> {
        Ok(self.core().revoke_api_key(&id).await?.into())
    }

    /// Sets the webhook endpoint; its new signing secret (`SecretText`) is in this answer only.
    pub async fn set_webhook(&self, url: String) -> Result<WebhookSecret> {
        Ok(self.core().set_webhook(&url).await?.into())
    }

    pub async fn get_webhook(&self) -> Result<WebhookEndpoint> {
        Ok(self.core().get_webhook().await?.into())
    }

    pub async fn delete_webhook(&self) -> Result<()> {
        Ok(self.core().delete_webhook().await?)
    }

    /// A new receipt signing key, active now; the old one stays published for verification.
    pub async fn rotate_signing_key(&self) -> Result<SigningKeyRotation> {
        Ok(self.core().rotate_signing_key().await?.into())
    }

    /// One page of signed receipts, newest first; `cursor` is a previous page's `next_cursor`.
    pub async fn audit(&self, query: AuditQuery, cursor: Option<String>) -> Result<AuditPage> {
        Ok(self.core().audit(&query.into(), cursor.as_deref()).await?.into())
    }

    /// Every page of `query`, one request per `next_page()`. Bad filters are refused here.
    pub fn audit_pages(&self, query: AuditQuery) -> Result<Arc<NativeAuditPages>> {
        let query: core::AuditQuery = query.into();
        query.params()?;
        Ok(Arc::new(NativeAuditPages { pages: Mutex::new(self.core().audit_pages(query)) }))
    }

    /// Every signed receipt issued in `[since, until)`, oldest first.
    pub async fn export_receipts(&self, since: Option<String>, until: Option<String>) -> Result<Vec<SignedReceipt>> {
        let receipts = self.core().export_receipts(since.as_deref(), until.as_deref()).await?;
        Ok(receipts.into_iter().map(Into::into).collect())
    }
}
