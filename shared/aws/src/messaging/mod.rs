//! SNS for texts and EventBridge for domain events.

mod eventbridge;
mod sns;

pub use eventbridge::{EVENT_SOURCE, EventBridgePublisher};
pub use sns::SnsSms;
