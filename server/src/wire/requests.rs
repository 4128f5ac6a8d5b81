//! Request bodies of the setup routes, which only the server reads (the runtime routes' bodies are allowly-core's
//! request models). Their parsers (`routes/setup.rs`) return these types, and the OpenAPI document derives its
//! request schemas from them.

use utoipa::ToSchema;

use crate::store::api_keys::Tier;

/// `POST /v1/api-keys`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub struct ApiKeyCreate {
    pub tier: Tier,
    /// A label for people; not unique.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
}

/// `PUT /v1/webhook`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub struct WebhookPut {
    /// Where events are POSTed: an absolute http or https URL without credentials.
    #[schema(format = "uri", max_length = 2048)]
    pub url: String,
}
