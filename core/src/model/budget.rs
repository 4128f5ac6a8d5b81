//! Budgets: the per-check budget block and `POST /v1/budget-settlements`.
//!
//! A budgeted check reserves its estimate; the settlement replaces the estimate with the actual cost once the action
//! ran, so the authorization's spend reflects reality.

use serde::{Deserialize, Serialize};

use super::receipt::ReceiptEnvelope;
use super::validate_id;
use crate::error::{Error, Result};

/// The budget state reported with each result of a budgeted check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetInfo {
    pub limit_micros: i64,
    /// Spent (and reserved) before this check.
    pub spent_micros: i64,
    #[serde(default)]
    pub estimated_cost_micros: Option<i64>,
    /// Spend after this check's reservation (equal to `spent_micros` when not allowed).
    #[serde(default)]
    pub spent_after_micros: Option<i64>,
}

/// Body of `POST /v1/budget-settlements`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettlementRequest {
    /// The receipt id of the allowed budgeted check.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub check_receipt_id: String,
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub actual_cost_micros: i64,
}

impl SettlementRequest {
    pub fn new(check_receipt_id: impl Into<String>, actual_cost_micros: i64) -> Self {
        SettlementRequest { check_receipt_id: check_receipt_id.into(), actual_cost_micros }
    }

    pub fn validate(&self) -> Result<()> {
        validate_id("check_receipt_id", &self.check_receipt_id)?;
        if self.actual_cost_micros < 0 {
            return Err(Error::invalid_input("actual_cost_micros", "actual_cost_micros must be >= 0"));
        }
        Ok(())
    }
}

/// Response of a settlement. Settling the same check twice is 409 `already_settled`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settlement {
    pub check_receipt_id: String,
    pub authorization_id: String,
    pub estimated_cost_micros: i64,
    pub actual_cost_micros: i64,
    /// actual − estimated.
    pub delta_micros: i64,
    pub spent_before_micros: i64,
    pub spent_after_micros: i64,
    /// The `budget.settle` event receipt.
    pub receipt: ReceiptEnvelope,
}
