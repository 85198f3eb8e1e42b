//! What crosses the HTTP edge besides JSON views: documents completed over current values, and
//! the schemas of domain values the OpenAPI document describes.

pub mod schema;
pub mod settings;
