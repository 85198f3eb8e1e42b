//! SNS for texts, EventBridge for domain events, SQS for Jobber read-backs.

mod eventbridge;
mod sns;
mod sqs;

pub use eventbridge::{EVENT_SOURCE, EventBridgePublisher};
pub use sns::SnsSms;
pub use sqs::{SqsReadBacks, backoff};
