//! Web addresses a business configures: pages (`WebUrl`) and origins (`WebOrigin`).

use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::values::error::ParseError;

/// An absolute `http`/`https` URL with a host and no credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebUrl(Url);

impl WebUrl {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.len() > 2000 {
            return Err(ParseError::new("must be at most 2000 characters"));
        }
        let url = Url::parse(raw).map_err(|_| ParseError::new("must be an absolute URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ParseError::new("must be an http or https URL"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ParseError::new("must have a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ParseError::new("must not contain credentials"));
        }
        Ok(Self(url))
    }

    pub fn url(&self) -> &Url {
        &self.0
    }
}

impl fmt::Display for WebUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl TryFrom<String> for WebUrl {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<WebUrl> for String {
    fn from(url: WebUrl) -> String {
        url.0.into()
    }
}

/// A web origin (`https://acme.example`), as browsers send it in `Origin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebOrigin(String);

impl WebOrigin {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let url = WebUrl::parse(raw)?.0;
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(ParseError::new(
                "must be an origin: scheme and host (and port) only",
            ));
        }
        Ok(Self(url.origin().ascii_serialization()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for WebOrigin {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<WebOrigin> for String {
    fn from(origin: WebOrigin) -> String {
        origin.0
    }
}
