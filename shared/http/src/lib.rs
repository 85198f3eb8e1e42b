//! Vouch's HTTP surface: a router per function, built from the same handlers the local runner
//! merges onto one port. Handlers translate; the domain decides.

pub mod admin;
pub mod common;
pub mod error;
pub mod extract;
pub mod inbound;
pub mod issuer;
pub mod leads;
pub mod links;
pub mod openapi;
pub mod referrals;
pub mod rewards;
pub mod state;
pub mod webhooks;

pub use state::{AppState, Web};
