//! Vouch's domain: the referral program's rules, with no AWS and no HTTP.
//!
//! Newtypes parse input at the edge ([`ids`], [`code`], [`contact`], [`money`], [`settings`]);
//! [`services::Vouch`] holds the use cases and talks to the world through the [`ports`].

pub mod business;
pub mod click;
pub mod code;
pub mod contact;
pub mod error;
pub mod events;
pub mod flows;
pub mod ids;
pub mod leads;
pub mod money;
pub mod participant;
pub mod ports;
pub mod program;
pub mod referral;
pub mod reward;
pub mod rewards;
pub mod secrets;
pub mod services;
pub mod settings;
pub mod sms;
pub mod webhook;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::{Error, FieldErrors, ParseError, Result};
