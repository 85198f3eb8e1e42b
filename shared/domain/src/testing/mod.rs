//! In-memory fakes of every port and one test world over them, for fast domain tests, handler
//! tests and the bench. Never shipped.

// Test support may panic: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fakes;
pub mod gift_cards;
pub mod jobber;
mod store;
mod world;

pub use fakes::{FakeEvents, FakeSms, ManualClock};
pub use gift_cards::{FakeGiftCards, GIFT_CARD_KEY};
pub use jobber::{FakeJobber, MemoryReadBacks};
pub use store::InMemoryStore;
pub use world::*;
