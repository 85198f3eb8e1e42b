//! Vouch's surface: the HTTP routes of each function (handlers translate; the domain decides),
//! the one error-to-status mapping, the OpenAPI document, and the event functions' handlers.
//!
//! - [`public`]: referral links and the website form; [`webhooks`]: field-service software;
//!   [`admin`]: the operator and staff API; [`routers`]: one router per function.
//! - [`dto`]: documents completed at the edge; [`error`]: the error → status mapping;
//!   [`extract`]: request extractors; [`openapi`]: the document served at `/openapi.json`.
//! - [`events`]: the issuer, inbound texts and the sweep, with retryable and non-retryable
//!   failures; [`local`]: what `make dev` stands in for AWS with.

// The request schemas of the API document are written as JSON literals (dto::contract).
#![recursion_limit = "256"]

pub mod admin;
pub mod common;
pub mod dashboard;
pub mod dto;
pub mod error;
pub mod events;
pub mod extract;
pub mod local;
pub mod openapi;
pub mod pages;
pub mod public;
pub mod routers;
pub mod state;
pub mod webhooks;

pub use state::{AppState, Web};
