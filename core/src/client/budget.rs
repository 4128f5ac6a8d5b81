//! `POST /v1/budget-settlements`: replace a budgeted check's estimate with the actual cost.

use reqwest::Method;

use super::Client;
use super::transport::Call;
use crate::error::Result;
use crate::model::{Settlement, SettlementRequest};

impl Client {
    /// Settles a budgeted check. A second settlement of the same check is `Conflict` (409 `already_settled`); a
    /// retried call reuses its idempotency key and so is not a second settlement.
    pub async fn settle_budget(&self, request: &SettlementRequest) -> Result<Settlement> {
        request.validate()?;
        let call =
            Call::new(Method::POST, "POST /v1/budget-settlements", vec!["v1", "budget-settlements"]).json(request)?;
        self.transport().call(call).await
    }
}
