//! Values parsed at the edge: ids, codes, people's names and numbers, money, secrets and
//! signatures, the business's time zone and web addresses, and the domain's errors. Each is a
//! newtype that only holds a valid value.

pub mod code;
pub mod error;
pub mod ids;
pub mod money;
pub mod password;
pub mod person;
pub mod secrets;
pub mod segment;
pub mod signature;
pub mod time;
pub mod web;

pub use code::ReferralCode;
pub use error::{Error, FieldErrors, ParseError, Result};
pub use ids::{BusinessId, ClickId, CustomerId};
pub use money::{Currency, Money};
pub use person::{Country, Email, PersonName, Phone};
pub use secrets::{AdminKey, IpHash, IpHasher, KeyHash, WebhookSecret};
pub use segment::Segment;
pub use time::{ClockTime, TimeZone, local_day, next_local_midnight};
pub use web::{WebOrigin, WebUrl};
