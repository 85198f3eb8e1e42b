//! What crosses the HTTP edge besides JSON views: documents completed over current values, and
//! the schemas of domain values the OpenAPI document describes.

pub mod contract;
pub mod csv;
pub mod params;
pub mod schema;
pub mod settings;

/// A time as the API shows it: RFC 3339 in UTC to the second.
pub fn rfc3339(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
