//! `GET /v1/audit` (one page, or every page through [`AuditPages`]) and `GET /v1/receipts/export` (JSON Lines).

use reqwest::Method;

use super::super::Client;
use super::super::transport::Call;
use crate::error::{Error, Result};
use crate::model::{AuditPage, AuditQuery, SignedReceipt};

impl Client {
    /// One page of signed receipts matching `query`, newest first. `cursor` is a previous page's `next_cursor`
    /// (with the same query: the cursor is a position, not a saved query).
    pub async fn audit(&self, query: &AuditQuery, cursor: Option<&str>) -> Result<AuditPage> {
        let mut call = Call::new(Method::GET, "GET /v1/audit", vec!["v1", "audit"]);
        for (name, value) in query.params()? {
            call = call.query(name, value);
        }
        if let Some(cursor) = cursor {
            if cursor.is_empty() {
                return Err(Error::invalid_input("cursor", "cursor must not be empty"));
            }
            call = call.query("cursor", cursor.to_owned());
        }
        self.transport().call(call).await
    }

    /// Walks every page of `query`: call [`AuditPages::next_page`] until it answers `None`.
    pub fn audit_pages(&self, query: AuditQuery) -> AuditPages {
        AuditPages { client: self.clone(), query, cursor: None, done: false }
    }

    /// Every signed receipt issued in `[since, until)` (RFC 3339; either may be absent), oldest first, each with
    /// the exact bytes the server stored — ready for `verify_batch`.
    pub async fn export_receipts(&self, since: Option<&str>, until: Option<&str>) -> Result<Vec<SignedReceipt>> {
        const ROUTE: &str = "GET /v1/receipts/export";
        let range =
            AuditQuery { since: since.map(str::to_owned), until: until.map(str::to_owned), ..Default::default() };
        let mut call = Call::new(Method::GET, ROUTE, vec!["v1", "receipts", "export"]);
        for (name, value) in range.params()? {
            call = call.query(name, value);
        }
        let text = self.transport().call_text(call).await?;
        text.lines()
            .filter(|line| !line.is_empty())
            .enumerate()
            .map(|(i, line)| {
                SignedReceipt::from_json(line)
                    .map_err(|e| Error::Protocol { message: format!("{ROUTE}: line {}: {e}", i + 1) })
            })
            .collect()
    }
}

/// Pages of one audit query, fetched one request at a time as the caller asks (nothing is read ahead).
#[derive(Debug, Clone)]
pub struct AuditPages {
    client: Client,
    query: AuditQuery,
    cursor: Option<String>,
    done: bool,
}

impl AuditPages {
    /// The next page, or `None` after the last one. An error leaves the position unchanged, so calling again
    /// retries the same page.
    pub async fn next_page(&mut self) -> Result<Option<AuditPage>> {
        if self.done {
            return Ok(None);
        }
        let page = self.client.audit(&self.query, self.cursor.as_deref()).await?;
        match &page.next_cursor {
            // A server handing back the cursor it was given would loop forever.
            Some(next) if self.cursor.as_ref() == Some(next) => {
                return Err(Error::Protocol { message: "GET /v1/audit: the next cursor repeats the last one".into() });
            }
            Some(next) => self.cursor = Some(next.clone()),
            None => self.done = true,
        }
        Ok(Some(page))
    }
}
