//! Connected Jobber accounts in memory, kept as the table keeps them: the connection by business
//! and the account's claim by account id, written together.

use async_trait::async_trait;

use super::InMemoryStore;
use crate::model::jobber::{JobberConnection, JobberId, JobberTokens, OAuthToken};
use crate::ports::{JobberLinks, Written};
use crate::values::ids::BusinessId;

#[async_trait]
impl JobberLinks for InMemoryStore {
    async fn connect_jobber(&self, connection: &JobberConnection) -> anyhow::Result<Written> {
        self.with(|s| {
            let business = &connection.business_id;
            if s.jobber_accounts
                .get(&connection.account_id)
                .is_some_and(|owner| owner != business)
            {
                return Written::Refused;
            }
            if let Some(previous) = s.jobber.get(business)
                && previous.account_id != connection.account_id
            {
                s.jobber_accounts.remove(&previous.account_id);
            }
            s.jobber_accounts
                .insert(connection.account_id.clone(), business.clone());
            s.jobber.insert(business.clone(), connection.clone());
            Written::Applied
        })
    }

    async fn jobber_connection(
        &self,
        business: &BusinessId,
    ) -> anyhow::Result<Option<JobberConnection>> {
        self.with(|s| s.jobber.get(business).cloned())
    }

    async fn jobber_business(&self, account: &JobberId) -> anyhow::Result<Option<BusinessId>> {
        self.with(|s| s.jobber_accounts.get(account).cloned())
    }

    async fn refresh_jobber(
        &self,
        business: &BusinessId,
        previous: &OAuthToken,
        tokens: &JobberTokens,
    ) -> anyhow::Result<Written> {
        self.with(|s| match s.jobber.get_mut(business) {
            Some(connection) if &connection.tokens.refresh_token == previous => {
                connection.tokens = tokens.clone();
                Written::Applied
            }
            _ => Written::Refused,
        })
    }

    async fn disconnect_jobber(
        &self,
        business: &BusinessId,
        account: &JobberId,
    ) -> anyhow::Result<()> {
        self.with(|s| {
            if s.jobber
                .get(business)
                .is_some_and(|c| &c.account_id == account)
            {
                s.jobber.remove(business);
            }
            if s.jobber_accounts.get(account) == Some(business) {
                s.jobber_accounts.remove(account);
            }
        })
    }
}
