//! Jobber: connecting a business's account (OAuth, `state` bound to the staff session),
//! receiving the app's webhooks (verified, queued, answered at once), and reading each item
//! back through Jobber's API with the account's tokens, refreshed before they lapse.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::model::business::Business;
use crate::model::jobber::{
    JobberAccount, JobberConnection, JobberId, JobberRecord, JobberTokens, ReadBack,
};
use crate::model::settings::JobberApp;
use crate::ports::{JobberFailure, TokenGrant, Written};
use crate::values::error::{Error, Result};
use crate::values::ids::BusinessId;
use crate::values::signature;

use super::Vouch;

/// How long the trip through Jobber's authorize page may take.
pub const STATE_LIFETIME: Duration = Duration::minutes(15);

/// The topic Jobber sends when an account disconnects the app.
pub const APP_DISCONNECT: &str = "APP_DISCONNECT";

/// A Jobber webhook as its body reads (`data.webHookEvent`), before it is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobberEvent {
    pub topic: String,
    pub account_id: JobberId,
    pub item_id: JobberId,
    pub occurred_at: DateTime<Utc>,
}

/// What became of a verified Jobber webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobberReceipt {
    /// Queued for its read-back.
    Queued,
    /// A topic Vouch does not follow: answered, nothing read.
    Ignored,
    /// The account disconnected the app: its tokens are forgotten.
    Disconnected,
}

/// What a read-back found.
#[derive(Debug)]
pub enum ReadBackOutcome {
    /// The item as Jobber has it now, for the business it belongs to.
    Read(Arc<Business>, Box<JobberRecord>),
    /// Nothing to apply: the item is gone, the topic is not followed, or the account is no
    /// longer connected (said why, for the log).
    Skipped(&'static str),
}

/// `{expires}.{mac}`: the MAC binds the business and the expiry to the session's own secret,
/// so only the session that left for Jobber can come back with it.
fn state_mac(session_secret: &str, business: &BusinessId, expires: i64) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(session_secret.as_bytes()).ok()?;
    mac.update(format!("jobber-connect|{business}|{expires}").as_bytes());
    Some(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

pub fn oauth_state(session_secret: &str, business: &BusinessId, now: DateTime<Utc>) -> String {
    let expires = (now + STATE_LIFETIME).timestamp();
    let mac = state_mac(session_secret, business, expires).unwrap_or_default();
    format!("{expires}.{mac}")
}

/// Whether `state` was made by this session for this business, and is not stale.
pub fn state_is_valid(
    session_secret: &str,
    business: &BusinessId,
    state: &str,
    now: DateTime<Utc>,
) -> bool {
    let Some((expires, presented)) = state.split_once('.') else {
        return false;
    };
    let Ok(expires) = expires.parse::<i64>() else {
        return false;
    };
    if expires < now.timestamp() {
        return false;
    }
    let Some(expected) = state_mac(session_secret, business, expires) else {
        return false;
    };
    crate::values::secrets::keys_match(&expected, presented)
}

fn jobber_app(business: &Business) -> Result<&JobberApp> {
    business
        .settings
        .integrations
        .jobber
        .as_ref()
        .ok_or_else(|| Error::Conflict {
            code: "jobber_not_configured",
            message: "save the Jobber app's client id and secret first".into(),
        })
}

impl Vouch {
    async fn current_business(&self, id: &BusinessId) -> Result<Arc<Business>> {
        self.ports
            .businesses
            .get(id)
            .await?
            .map(Arc::new)
            .ok_or(Error::NotFound("business"))
    }

    /// Jobber's authorize page for the business's app; `state` comes back to the callback.
    pub async fn jobber_authorize_url(
        &self,
        business: &BusinessId,
        session_secret: &str,
        redirect_uri: &str,
    ) -> Result<String> {
        let found = self.current_business(business).await?;
        let app = jobber_app(&found)?;
        let state = oauth_state(session_secret, business, self.now());
        Ok(self.ports.jobber.authorize_url(app, redirect_uri, &state))
    }

    /// Back from Jobber's authorize page: the code is exchanged for the account's tokens, kept
    /// server-side. 403 for a state this session did not make; 409 when the account is
    /// connected to another business; 503 when Jobber cannot be reached.
    pub async fn connect_jobber(
        &self,
        business: &BusinessId,
        session_secret: &str,
        state: &str,
        code: &str,
        redirect_uri: &str,
    ) -> Result<JobberAccount> {
        if !state_is_valid(session_secret, business, state, self.now()) {
            return Err(Error::Forbidden(
                "this Jobber sign-in was not started from this session, or took too long; \
                 connect again"
                    .into(),
            ));
        }
        if code.is_empty() || code.len() > 2048 {
            return Err(Error::BadRequest(
                "Jobber sent no authorization code".into(),
            ));
        }
        let found = self.current_business(business).await?;
        let app = jobber_app(&found)?;
        let tokens = self
            .ports
            .jobber
            .grant(app, TokenGrant::Code { code, redirect_uri })
            .await
            .map_err(failure)?;
        let account = self
            .ports
            .jobber
            .account(&tokens.access_token)
            .await
            .map_err(failure)?;
        let connection = JobberConnection {
            business_id: business.clone(),
            account_id: account.id.clone(),
            account_name: account.name.chars().take(200).collect(),
            tokens,
            connected_at: self.now(),
            connected_by: self.acting.to_string(),
        };
        match self.ports.jobber_links.connect_jobber(&connection).await? {
            Written::Applied => {
                tracing::info!(business_id = %business, account_id = %account.id,
                               by = %self.acting, "jobber account connected");
                Ok(account)
            }
            Written::Refused => Err(Error::Conflict {
                code: "jobber_account_taken",
                message: "this Jobber account is connected to another business".into(),
            }),
        }
    }

    pub async fn jobber_connection(
        &self,
        business: &BusinessId,
    ) -> Result<Option<JobberConnection>> {
        Ok(self.ports.jobber_links.jobber_connection(business).await?)
    }

    /// Staff disconnect the account: its tokens are forgotten (the app stays installed at
    /// Jobber until removed there).
    pub async fn disconnect_jobber(&self, business: &BusinessId) -> Result<bool> {
        let Some(connection) = self.ports.jobber_links.jobber_connection(business).await? else {
            return Ok(false);
        };
        self.ports
            .jobber_links
            .disconnect_jobber(business, &connection.account_id)
            .await?;
        tracing::info!(business_id = %business, account_id = %connection.account_id,
                       by = %self.acting, "jobber account disconnected by staff");
        Ok(true)
    }

    /// A Jobber webhook: the business is found by `accountId`, the body checked against its
    /// app's client secret, and the item queued for its read-back. 401 for an unknown account
    /// or a bad signature; 503 when the queue cannot take it (Jobber sends it again).
    pub async fn receive_jobber(
        &self,
        event: &JobberEvent,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<JobberReceipt> {
        let Some(business_id) = self
            .ports
            .jobber_links
            .jobber_business(&event.account_id)
            .await?
        else {
            tracing::info!(account_id = %event.account_id, "jobber webhook for an account not connected");
            return Err(Error::Unauthenticated);
        };
        let business = self.webhook_business(business_id.as_str()).await?;
        let Some(app) = business.settings.integrations.jobber.as_ref() else {
            tracing::info!(business_id = %business_id, "jobber webhook refused: no app saved");
            return Err(Error::Unauthenticated);
        };
        signature::verify_body_base64(app.client_secret.reveal().as_bytes(), signature, body)
            .map_err(|reason| {
                tracing::info!(business_id = %business_id, %reason, "jobber webhook refused");
                Error::Unauthenticated
            })?;
        if event.topic == APP_DISCONNECT {
            // Jobber signs no timestamp: an old disconnect sent again must not undo a
            // connection made since.
            let connection = self
                .ports
                .jobber_links
                .jobber_connection(&business_id)
                .await?;
            // (Jobber's times are to the second.)
            if connection
                .is_some_and(|c| c.connected_at.timestamp() > event.occurred_at.timestamp())
            {
                tracing::info!(business_id = %business_id, "an APP_DISCONNECT older than the connection; ignored");
                return Ok(JobberReceipt::Ignored);
            }
            self.ports
                .jobber_links
                .disconnect_jobber(&business_id, &event.account_id)
                .await?;
            tracing::info!(business_id = %business_id, account_id = %event.account_id,
                           "jobber account disconnected the app; tokens forgotten");
            return Ok(JobberReceipt::Disconnected);
        }
        let read_back = ReadBack {
            business_id,
            account_id: event.account_id.clone(),
            topic: event.topic.clone(),
            item_id: event.item_id.clone(),
            occurred_at: event.occurred_at,
        };
        if read_back.item().is_none() {
            return Ok(JobberReceipt::Ignored);
        }
        self.ports.read_backs.enqueue(&read_back).await?;
        Ok(JobberReceipt::Queued)
    }

    /// Reads a queued item back from Jobber, refreshing the tokens first when they are about to
    /// lapse (or were refused). Throttling and outages are errors worth retrying.
    pub async fn read_back(&self, read_back: &ReadBack) -> Result<ReadBackOutcome> {
        let Some(item) = read_back.item() else {
            return Ok(ReadBackOutcome::Skipped("a topic Vouch does not follow"));
        };
        let links = &self.ports.jobber_links;
        let Some(mut connection) = links.jobber_connection(&read_back.business_id).await? else {
            return Ok(ReadBackOutcome::Skipped(
                "the account is no longer connected",
            ));
        };
        if connection.account_id != read_back.account_id {
            return Ok(ReadBackOutcome::Skipped(
                "the business connected another Jobber account since",
            ));
        }
        let business = self.current_business(&read_back.business_id).await?;
        let app = jobber_app(&business)?.clone();
        if connection.tokens.needs_refresh(self.now()) {
            connection.tokens = self.refresh_tokens(&app, &connection).await?;
        }
        let api = &self.ports.jobber;
        let record = match api.read(&connection.tokens.access_token, &item).await {
            Err(JobberFailure::Unauthorized(_)) => {
                // Revoked or lapsed early: one refresh, then ask again.
                let tokens = self.refresh_tokens(&app, &connection).await?;
                api.read(&tokens.access_token, &item).await
            }
            other => other,
        };
        match record {
            Ok(Some(record)) => Ok(ReadBackOutcome::Read(business, Box::new(record))),
            Ok(None) => Ok(ReadBackOutcome::Skipped("Jobber no longer has the item")),
            Err(JobberFailure::Disconnected) => {
                links
                    .disconnect_jobber(&read_back.business_id, &connection.account_id)
                    .await?;
                Ok(ReadBackOutcome::Skipped(
                    "the account disconnected the app; tokens forgotten",
                ))
            }
            Err(err) => Err(failure(err)),
        }
    }

    /// New tokens for the connection. Jobber's refresh tokens are spent when used, so only the
    /// refresh that replaces the stored one wins; a reader that lost the race reads the
    /// winner's tokens.
    async fn refresh_tokens(
        &self,
        app: &JobberApp,
        connection: &JobberConnection,
    ) -> Result<JobberTokens> {
        let previous = &connection.tokens.refresh_token;
        let granted = self
            .ports
            .jobber
            .grant(app, TokenGrant::Refresh(previous))
            .await;
        let tokens = match granted {
            Ok(tokens) => tokens,
            Err(JobberFailure::Refused(reason)) => {
                // Spent by a concurrent refresh, or revoked: the stored tokens say which.
                let stored = self
                    .ports
                    .jobber_links
                    .jobber_connection(&connection.business_id)
                    .await?;
                return match stored {
                    Some(stored) if &stored.tokens.refresh_token != previous => Ok(stored.tokens),
                    // Either the winner of a race has not stored its tokens yet, or the token
                    // was revoked: worth trying again later (a revoked one ends in the
                    // dead-letter queue, kept, rather than dropped).
                    _ => Err(Error::Unavailable(anyhow::anyhow!(
                        "Jobber refused the refresh token ({reason}); if this lasts, connect \
                         Jobber again"
                    ))),
                };
            }
            Err(err) => return Err(failure(err)),
        };
        match self
            .ports
            .jobber_links
            .refresh_jobber(&connection.business_id, previous, &tokens)
            .await?
        {
            Written::Applied => Ok(tokens),
            // Another reader refreshed first; these tokens are good too until they lapse.
            Written::Refused => Ok(tokens),
        }
    }
}

/// Jobber's failures as the domain answers them: throttling and outages are worth retrying.
fn failure(err: JobberFailure) -> Error {
    match err {
        JobberFailure::Throttled { wait } => Error::RateLimited {
            retry_after_secs: wait.as_secs().max(1),
        },
        JobberFailure::Unavailable(reason) => {
            Error::Unavailable(anyhow::anyhow!("Jobber: {reason}"))
        }
        JobberFailure::Unauthorized(reason) => Error::Unavailable(anyhow::anyhow!(
            "Jobber refused the token again after a refresh: {reason}"
        )),
        JobberFailure::Disconnected => Error::Conflict {
            code: "jobber_disconnected",
            message: "the Jobber account disconnected the app; connect it again".into(),
        },
        JobberFailure::Refused(reason) => Error::Conflict {
            code: "jobber_refused",
            message: format!("Jobber refused: {reason}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_bound_to_the_session_the_business_and_time() {
        let business = BusinessId::parse("riverside").unwrap_or_else(|_| unreachable!());
        let other = BusinessId::parse("lakeside").unwrap_or_else(|_| unreachable!());
        let now = DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000);
        let state = oauth_state("session-secret-a", &business, now);
        assert!(state_is_valid("session-secret-a", &business, &state, now));
        assert!(!state_is_valid("session-secret-b", &business, &state, now));
        assert!(!state_is_valid("session-secret-a", &other, &state, now));
        assert!(!state_is_valid(
            "session-secret-a",
            &business,
            &state,
            now + STATE_LIFETIME + Duration::seconds(1)
        ));
        assert!(!state_is_valid("session-secret-a", &business, "1.abc", now));
        assert!(!state_is_valid("session-secret-a", &business, "", now));
    }
}
