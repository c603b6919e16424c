//! The Genesys Cloud client: regions, OAuth credentials and token cache, the request budget, the
//! Platform API, the one answer classifier, typed models, the details-to-record mapping and the error
//! kinds.

pub mod auth;
pub mod client;
pub mod error;
pub mod limiter;
pub mod mapping;
pub mod models;
pub mod region;
pub mod response;

pub use auth::{AccessToken, CredentialSource, Credentials, TokenCache};
pub use client::{Call, Fetched, GenesysClient};
pub use error::{ApiErrorBody, GenesysError};
pub use limiter::RateLimiter;
pub use models::ConversationDetails;
pub use region::Endpoints;
