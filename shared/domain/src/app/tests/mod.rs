//! The application over the in-memory fakes: whole flows through the use cases.

// Each module is enabled once it is written against `crate::testing::World`.

mod flows;

// ----

#[cfg(any())]
mod leads;

// ----

#[cfg(any())]
mod rewards;

// ----

mod services;
