//! Adapters to AWS: the DynamoDB store, configuration, request counting and telemetry.

pub mod config;
pub mod counter;
mod keys;
pub mod messaging;
pub mod program;
pub mod referrals;
pub mod rewards;
pub mod store;
pub mod table;
pub mod telemetry;
pub mod wiring;

pub use config::Config;
pub use counter::RequestCounter;
pub use store::DynamoStore;
