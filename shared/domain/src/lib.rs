//! Vouch's domain: the referral program's rules, with no AWS and no HTTP.
//!
//! - [`values`]: newtypes parsed at the edge (ids, codes, phones, money, secrets, signatures).
//! - [`model`]: what the program is made of (businesses, settings, contacts, participants, jobs,
//!   leads, referrals, rewards, messages, clicks, events).
//! - [`rules`]: attribution and fraud, reward terms, sending.
//! - [`decide`]: every command about a customer decided from a snapshot into one plan.
//! - [`ports`]: what the domain needs from outside, split by capability.
//! - [`app`]: [`app::Vouch`], the use cases, one file per family.

pub mod app;
pub mod decide;
pub mod model;
pub mod ports;
pub mod rules;
pub mod values;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use values::error::{Error, FieldErrors, ParseError, Result};
