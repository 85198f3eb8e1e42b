//! Connected Jobber accounts: the connection with its tokens (`BIZ#{b}` / `#JOBBER`) and the
//! account's claim (`JOBBER#{account}`), which routes the app's webhooks to the business and
//! keeps one account from being connected to two businesses. Both are written in one
//! transaction; a refresh replaces the tokens only if the refresh token it spent is still the
//! stored one.

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_dynamo::to_item;

use vouch_domain::model::jobber::{JobberConnection, JobberId, JobberTokens, OAuthToken};
use vouch_domain::ports::{JobberLinks, Written};
use vouch_domain::values::ids::BusinessId;

use super::tx::{Role, Tx};
use super::{DynamoStore, keys, primary_key, s, to_attr, written};

#[derive(Serialize, Deserialize)]
struct ConnectionItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    kind: String,
    business_id: BusinessId,
    account_id: JobberId,
    account_name: String,
    access_token: OAuthToken,
    refresh_token: OAuthToken,
    expires_at: DateTime<Utc>,
    connected_at: DateTime<Utc>,
    connected_by: String,
}

#[derive(Serialize, Deserialize)]
struct ClaimItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    kind: String,
    account_id: JobberId,
    business_id: BusinessId,
}

#[async_trait]
impl JobberLinks for DynamoStore {
    async fn connect_jobber(&self, connection: &JobberConnection) -> anyhow::Result<Written> {
        let business = &connection.business_id;
        let previous = self.jobber_connection(business).await?;
        let (pk, sk) = keys::jobber_connection(business);
        let item = ConnectionItem {
            pk,
            sk,
            kind: "jobber_connection".into(),
            business_id: business.clone(),
            account_id: connection.account_id.clone(),
            account_name: connection.account_name.clone(),
            access_token: connection.tokens.access_token.clone(),
            refresh_token: connection.tokens.refresh_token.clone(),
            expires_at: connection.tokens.expires_at,
            connected_at: connection.connected_at,
            connected_by: connection.connected_by.clone(),
        };
        let (pk, sk) = keys::jobber_account(&connection.account_id);
        let claim = ClaimItem {
            pk,
            sk,
            kind: "jobber_account".into(),
            account_id: connection.account_id.clone(),
            business_id: business.clone(),
        };
        let mine = vec![(":b", s(business.as_str()))];
        let mut tx = Tx::new(self.table());
        tx.put(to_item(item)?, None, Role::Plain)?;
        tx.put(
            to_item(claim)?,
            Some(("attribute_not_exists(PK) OR business_id = :b", mine.clone())),
            Role::Changed,
        )?;
        if let Some(previous) = previous
            && previous.account_id != connection.account_id
        {
            tx.delete(keys::jobber_account(&previous.account_id))?;
        }
        Ok(match tx.send(self).await? {
            Ok(()) => Written::Applied,
            Err(_) => Written::Refused,
        })
    }

    async fn jobber_connection(
        &self,
        business: &BusinessId,
    ) -> anyhow::Result<Option<JobberConnection>> {
        let item: Option<ConnectionItem> =
            self.get_as(keys::jobber_connection(business), true).await?;
        Ok(item.map(|item| JobberConnection {
            business_id: item.business_id,
            account_id: item.account_id,
            account_name: item.account_name,
            tokens: JobberTokens {
                access_token: item.access_token,
                refresh_token: item.refresh_token,
                expires_at: item.expires_at,
            },
            connected_at: item.connected_at,
            connected_by: item.connected_by,
        }))
    }

    async fn jobber_business(&self, account: &JobberId) -> anyhow::Result<Option<BusinessId>> {
        let claim: Option<ClaimItem> = self.get_as(keys::jobber_account(account), true).await?;
        Ok(claim.map(|c| c.business_id))
    }

    async fn refresh_jobber(
        &self,
        business: &BusinessId,
        previous: &OAuthToken,
        tokens: &JobberTokens,
    ) -> anyhow::Result<Written> {
        let result = self
            .dynamodb()
            .update_item()
            .table_name(self.table())
            .set_key(Some(primary_key(keys::jobber_connection(business))))
            .update_expression("SET access_token = :a, refresh_token = :r, expires_at = :e")
            .condition_expression("refresh_token = :previous")
            .expression_attribute_values(":a", s(tokens.access_token.reveal()))
            .expression_attribute_values(":r", s(tokens.refresh_token.reveal()))
            .expression_attribute_values(":e", to_attr(&tokens.expires_at))
            .expression_attribute_values(":previous", s(previous.reveal()))
            .send()
            .await;
        written(result, "UpdateItem (jobber tokens)")
    }

    async fn disconnect_jobber(
        &self,
        business: &BusinessId,
        account: &JobberId,
    ) -> anyhow::Result<()> {
        // Both together, each only if it is still this pairing (a business that connected
        // another account since keeps it).
        let mut tx = Tx::new(self.table());
        tx.delete_if(
            keys::jobber_connection(business),
            "account_id = :v",
            vec![(":v", s(account.as_str()))],
        )?;
        tx.delete_if(
            keys::jobber_account(account),
            "business_id = :v",
            vec![(":v", s(business.as_str()))],
        )?;
        if tx.send(self).await?.is_ok() {
            return Ok(());
        }
        // One of the two is gone or another's: remove whichever is still this pairing's.
        for (key, condition, value) in [
            (
                keys::jobber_connection(business),
                "account_id = :v",
                s(account.as_str()),
            ),
            (
                keys::jobber_account(account),
                "business_id = :v",
                s(business.as_str()),
            ),
        ] {
            let result = self
                .dynamodb()
                .delete_item()
                .table_name(self.table())
                .set_key(Some(primary_key(key)))
                .condition_expression(condition)
                .expression_attribute_values(":v", value)
                .send()
                .await;
            match result {
                Ok(_) => {}
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
                Err(err) => return Err(err).context("DeleteItem (jobber)"),
            }
        }
        Ok(())
    }
}
