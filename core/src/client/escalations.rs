//! `GET /v1/escalations/{escalation_id}`: an escalated decision's state, read without a check.

use reqwest::Method;

use super::Client;
use super::transport::Call;
use crate::error::{Error, Result};
use crate::model::{EscalationMonitor, validate_id};

impl Client {
    /// The 0.8.0 monitor view of an escalation (`escalations.get_status`): whether the member has answered and
    /// whether an approval is still usable. An answer about another escalation is a protocol error, since acting on
    /// it would act on the wrong decision.
    pub async fn get_escalation_status(&self, escalation_id: &str) -> Result<EscalationMonitor> {
        const ROUTE: &str = "GET /v1/escalations/{escalation_id}";
        validate_id("escalation_id", escalation_id)?;
        let call = Call::new(Method::GET, ROUTE, vec!["v1", "escalations", escalation_id]);
        let monitor: EscalationMonitor = self.transport().call(call).await?;
        if monitor.escalation_id != escalation_id {
            return Err(Error::Protocol { message: format!("{ROUTE}: the answer is another escalation") });
        }
        Ok(monitor)
    }
}
