//! Fixed-window rate limits: one counter item per key and window, gone by TTL.

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};

use vouch_domain::ports::{Rate, RateKey, RateLimits, window};

use super::{DynamoStore, keys, n, primary_key};

#[async_trait]
impl RateLimits for DynamoStore {
    async fn hit(
        &self,
        key: &RateKey,
        window_secs: u64,
        limit: u32,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Rate> {
        let (start, left) = window(now, window_secs);
        let expires = start + i64::try_from(window_secs).unwrap_or(0) + 3600;
        let output = self
            .dynamodb()
            .update_item()
            .table_name(self.table())
            .set_key(Some(primary_key(keys::rate(key, start))))
            .update_expression("ADD hits :one SET expires_at = :expires")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":expires", n(expires))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .context("UpdateItem (rate limit)")?;
        let hits: u64 = output
            .attributes
            .and_then(|a| {
                a.get("hits")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(1);
        Ok(if hits > u64::from(limit) {
            Rate::Limited {
                retry_after_secs: left,
            }
        } else {
            Rate::Allowed
        })
    }

    async fn hits(
        &self,
        key: &RateKey,
        window_secs: u64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<u32> {
        let (start, _) = window(now, window_secs);
        let output = self
            .dynamodb()
            .get_item()
            .table_name(self.table())
            .set_key(Some(primary_key(keys::rate(key, start))))
            .consistent_read(true)
            .send()
            .await
            .context("GetItem (rate limit)")?;
        Ok(output
            .item
            .and_then(|item| {
                item.get("hits")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0))
    }
}
