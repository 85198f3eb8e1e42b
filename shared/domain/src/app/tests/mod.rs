//! The application over the in-memory fakes: whole flows through the use cases.

// Each module is enabled once it is written against `crate::testing::World`.

mod contention;

// ----

mod flows;

// ----

mod gift_cards;

// ----

mod jobber;

// ----

mod leads;

// ----

mod promotions;

// ----

mod reengage;

// ----

mod reports;

// ----

mod rewards;

// ----

mod segments;

// ----

mod services;

// ----

mod staff;

// ----

mod vip;
