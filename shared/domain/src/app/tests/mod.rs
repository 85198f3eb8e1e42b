//! The application over the in-memory fakes: whole flows through the use cases.

mod flows;
mod leads;
mod rewards;
mod services;
