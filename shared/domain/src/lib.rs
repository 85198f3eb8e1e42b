//! Vouch's domain: the referral program's rules, with no AWS and no HTTP.
//!
//! Newtypes parse input at the edge ([`ids`], [`code`], [`contact`], [`money`], [`settings`]);
//! [`services::Vouch`] holds the use cases and talks to the world through the [`ports`].

pub mod decide;
pub mod flows;
pub mod leads;
pub mod model;
pub mod ports;
pub mod rewards;
pub mod rules;
pub mod services;
pub mod values;
pub mod webhook;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use values::error::{Error, FieldErrors, ParseError, Result};
