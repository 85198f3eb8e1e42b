//! One integration-test binary. Modules that say `emulator` need `VOUCH_TEST_ENDPOINT` (set by
//! `make test`, which starts moto_server); each of their tests gets a table of its own.

// Test helpers may panic: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

mod admin_api;
mod architecture;
mod click_path;
mod contract;
mod dashboard;
mod gift_cards;
mod handlers;
mod housecallpro;
mod jobber;
mod leads;
mod me;
mod reports;
mod rewards;
mod store;
mod stored_shapes;
mod sweep;
mod template;
mod webhooks;
