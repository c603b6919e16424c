//! The Genesys Cloud client: regions, OAuth credentials and token cache, the Platform API, typed models
//! and the error kinds the state machine retries on.

pub mod auth;
pub mod client;
pub mod error;
pub mod models;
pub mod region;

pub use auth::{AccessToken, Credentials, TokenCache};
pub use client::GenesysClient;
pub use error::{ApiErrorBody, GenesysError};
pub use models::ConversationDetails;
pub use region::Endpoints;
