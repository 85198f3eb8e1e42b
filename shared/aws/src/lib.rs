//! Adapters to AWS: the DynamoDB store, SNS and EventBridge, configuration, request counting
//! and telemetry.

pub mod clock;
pub mod config;
pub mod counter;
mod dynamo;
pub mod https;
pub mod jobber;
pub mod lazy;
pub mod messaging;
pub mod telemetry;
pub mod tremendous;
pub mod vendor;
pub mod wiring;

pub use config::Config;
pub use counter::RequestCounter;
pub use dynamo::{DynamoStore, table};
