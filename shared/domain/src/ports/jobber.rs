//! Jobber: its OAuth and GraphQL API, where connected accounts are kept, and the queue between
//! a webhook and its read-back.

use std::time::Duration;

use async_trait::async_trait;

use crate::model::jobber::{
    JobberAccount, JobberConnection, JobberId, JobberItem, JobberRecord, JobberTokens, OAuthToken,
    ReadBack,
};
use crate::model::settings::JobberApp;
use crate::values::ids::BusinessId;

use super::Written;

/// How a call to Jobber went wrong.
#[derive(Debug, thiserror::Error)]
pub enum JobberFailure {
    /// The token was refused (expired or revoked): refresh and ask again.
    #[error("Jobber refused the token: {0}")]
    Unauthorized(String),
    /// The account disconnected the app; its tokens are no good.
    #[error("the Jobber account disconnected the app")]
    Disconnected,
    /// Over Jobber's rate limits: ask again after `wait`.
    #[error("Jobber's rate limit: wait {wait:?}")]
    Throttled { wait: Duration },
    /// Jobber answered that the request is wrong (a bad code, a bad client secret).
    #[error("Jobber refused: {0}")]
    Refused(String),
    /// No usable answer (timeout, 5xx, a body that does not read): ask again later.
    #[error("Jobber did not answer: {0}")]
    Unavailable(String),
}

/// How the app proves itself at Jobber's token endpoint.
#[derive(Debug, Clone, Copy)]
pub enum TokenGrant<'a> {
    Code {
        code: &'a str,
        redirect_uri: &'a str,
    },
    Refresh(&'a OAuthToken),
}

/// Jobber's API: the OAuth endpoints and the GraphQL reads Vouch makes.
#[async_trait]
pub trait JobberApi: Send + Sync {
    /// Jobber's authorize page for this app, with `state` to come back with.
    fn authorize_url(&self, app: &JobberApp, redirect_uri: &str, state: &str) -> String;
    async fn grant(
        &self,
        app: &JobberApp,
        grant: TokenGrant<'_>,
    ) -> Result<JobberTokens, JobberFailure>;
    async fn account(&self, token: &OAuthToken) -> Result<JobberAccount, JobberFailure>;
    /// The item as Jobber has it now; `None` when Jobber has no such item (deleted).
    async fn read(
        &self,
        token: &OAuthToken,
        item: &JobberItem,
    ) -> Result<Option<JobberRecord>, JobberFailure>;
}

/// A process that cannot reach Jobber (the default until one is wired).
pub struct NoJobber;

#[async_trait]
impl JobberApi for NoJobber {
    fn authorize_url(&self, _app: &JobberApp, _redirect_uri: &str, _state: &str) -> String {
        String::new()
    }

    async fn grant(
        &self,
        _app: &JobberApp,
        _grant: TokenGrant<'_>,
    ) -> Result<JobberTokens, JobberFailure> {
        Err(JobberFailure::Unavailable(
            "this process cannot reach Jobber".into(),
        ))
    }

    async fn account(&self, _token: &OAuthToken) -> Result<JobberAccount, JobberFailure> {
        Err(JobberFailure::Unavailable(
            "this process cannot reach Jobber".into(),
        ))
    }

    async fn read(
        &self,
        _token: &OAuthToken,
        _item: &JobberItem,
    ) -> Result<Option<JobberRecord>, JobberFailure> {
        Err(JobberFailure::Unavailable(
            "this process cannot reach Jobber".into(),
        ))
    }
}

/// Connected Jobber accounts: one per business, and which business each account belongs to.
#[async_trait]
pub trait JobberLinks: Send + Sync {
    /// Saves the connection and claims its account for the business, unless another business
    /// holds that account (`Refused`). Connecting again replaces the business's connection.
    async fn connect_jobber(&self, connection: &JobberConnection) -> anyhow::Result<Written>;
    async fn jobber_connection(
        &self,
        business: &BusinessId,
    ) -> anyhow::Result<Option<JobberConnection>>;
    /// The business a Jobber account is connected to.
    async fn jobber_business(&self, account: &JobberId) -> anyhow::Result<Option<BusinessId>>;
    /// Replaces the tokens if the stored refresh token is still `previous` (Jobber's refresh
    /// tokens are spent when used, so only one refresh may win).
    async fn refresh_jobber(
        &self,
        business: &BusinessId,
        previous: &OAuthToken,
        tokens: &JobberTokens,
    ) -> anyhow::Result<Written>;
    /// Forgets the connection and its account's claim (tokens revoked).
    async fn disconnect_jobber(
        &self,
        business: &BusinessId,
        account: &JobberId,
    ) -> anyhow::Result<()>;
}

/// The queue between a Jobber webhook (answered at once) and its read-back.
#[async_trait]
pub trait ReadBacks: Send + Sync {
    async fn enqueue(&self, read_back: &ReadBack) -> anyhow::Result<()>;
}

/// A process with no read-back queue (the default until one is wired): refuses, so a webhook
/// it receives is answered 5xx and Jobber sends it again.
pub struct NoReadBacks;

#[async_trait]
impl ReadBacks for NoReadBacks {
    async fn enqueue(&self, _read_back: &ReadBack) -> anyhow::Result<()> {
        anyhow::bail!("this process has no read-back queue")
    }
}
