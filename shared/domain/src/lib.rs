//! Vouch's domain: the referral program's rules, with no AWS and no HTTP.
//!
//! Newtypes parse input at the edge ([`ids`], [`code`], [`contact`], [`money`], [`settings`]);
//! [`services::Vouch`] holds the use cases and talks to the world through the [`ports`].

pub mod business;
pub mod click;
pub mod events;
pub mod flows;
pub mod leads;
pub mod participant;
pub mod ports;
pub mod program;
pub mod referral;
pub mod reward;
pub mod rewards;
pub mod services;
pub mod settings;
pub mod sms;
pub mod values;
pub mod webhook;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use values::error::{Error, FieldErrors, ParseError, Result};
