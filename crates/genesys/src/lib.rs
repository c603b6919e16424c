//! The Genesys Cloud client, used by enrich: regions, OAuth credentials and token cache, the request budget,
//! the Platform API's analytics multi-get, the one answer classifier, typed models and the error kinds.
//!
//! A crate of its own because only enrich talks to Genesys: the other functions do not compile it.

pub mod auth;
pub mod client;
pub mod error;
pub mod limiter;
pub mod models;
pub mod region;
pub mod response;

pub use auth::{AccessToken, CredentialSource, Credentials, TokenCache};
pub use client::{Call, Fetched, GenesysClient};
pub use error::{ApiErrorBody, GenesysError};
pub use limiter::RateLimiter;
pub use models::ConversationDetails;
pub use region::Endpoints;
