//! What every function of the toolkit shares: configuration read once at init, logging, AWS and HTTP
//! clients, the Genesys Cloud client (regions, OAuth token cache, API, errors) and the Genesys EventBridge
//! event model. Nothing here knows about a particular Lambda's handler; binaries stay thin over this crate.

pub mod aws;
pub mod config;
pub mod events;
pub mod genesys;
pub mod http;
pub mod lambda;
pub mod logging;
pub mod pipeline;
pub mod redact;
