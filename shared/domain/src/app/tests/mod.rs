//! The application over the in-memory fakes: whole flows through the use cases.

// Each module is enabled once it is written against `crate::testing::World`.

#[cfg(any())]
mod flows;

// ----

mod leads;

// ----

mod rewards;

// ----

#[cfg(any())]
mod services;
