//! Filling a fresh table in bulk: brand-new participants with their leaderboard rows and report
//! figures, as many as a benchmark or a test needs, in a fraction of the requests one
//! transaction each would take. Nothing here is conditional, so it is never the way the program
//! changes a table: only the way a test or a benchmark fills an empty one.

use std::collections::HashMap;

use anyhow::Context;
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use serde_dynamo::to_item;

use vouch_domain::decide::Plan;
use vouch_domain::model::report::Tally;
use vouch_domain::values::ids::BusinessId;

use super::participants::{ParticipantItem, code_item, reengage_item};
use super::reports::{board_item, commit_tally};
use super::tx::Tx;
use super::{DynamoStore, Item};

/// Most puts one BatchWriteItem takes.
const BATCH: usize = 25;

impl DynamoStore {
    /// Writes `plans` — each the enrolment of a participant new to the table, with leaderboard
    /// rows new to it and the figures they move — in bulk: the items 25 a request, the figures
    /// summed by day, one update a day. A plan that changes anything else is refused before
    /// anything is written.
    pub async fn load(&self, business: &BusinessId, plans: &[Plan]) -> anyhow::Result<()> {
        let mut items = Vec::new();
        let mut tally = Tally::default();
        for plan in plans {
            anyhow::ensure!(
                only_enrolment(plan),
                "a bulk load takes enrolments, leaderboard rows and figures only"
            );
            if let Some(participant) = &plan.participant {
                items.push(to_item(ParticipantItem::from_domain(participant))?);
                items.push(code_item(participant)?);
            }
            for change in &plan.board {
                items.push(board_item(business, change)?);
            }
            for due in &plan.reengage {
                items.push(reengage_item(business, due)?);
            }
            tally.merge(&plan.tally, 1);
        }
        for chunk in items.chunks(BATCH) {
            self.put_batch(chunk).await?;
        }
        // The figures: one unconditional update a day (a transaction would copy the table on
        // the emulator, and need not be one: nothing else writes a fresh table meanwhile).
        let mut tx = Tx::new(self.table());
        commit_tally(&mut tx, business, &tally)?;
        for write in tx.into_items() {
            let update = write.update.context("a day's figures are an update")?;
            self.dynamodb()
                .update_item()
                .table_name(update.table_name)
                .set_key(Some(update.key))
                .update_expression(update.update_expression)
                .set_expression_attribute_names(update.expression_attribute_names)
                .set_expression_attribute_values(update.expression_attribute_values)
                .send()
                .await
                .context("UpdateItem")?;
        }
        Ok(())
    }

    /// Puts `items` in one BatchWriteItem, again for any the table left unprocessed.
    async fn put_batch(&self, items: &[Item]) -> anyhow::Result<()> {
        let writes = items
            .iter()
            .map(|item| {
                Ok(WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item.clone())).build()?)
                    .build())
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut pending = HashMap::from([(self.table().to_owned(), writes)]);
        for attempt in 1u64.. {
            let output = self
                .dynamodb()
                .batch_write_item()
                .set_request_items(Some(pending))
                .send()
                .await
                .context("BatchWriteItem")?;
            pending = output.unprocessed_items.unwrap_or_default();
            pending.retain(|_, writes| !writes.is_empty());
            if pending.is_empty() {
                break;
            }
            anyhow::ensure!(attempt < 10, "the table kept leaving writes unprocessed");
            tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await;
        }
        Ok(())
    }
}

/// Whether `plan` only enrols, moves leaderboard rows and adds figures (every field named, so
/// a new kind of change cannot slip through unseen).
fn only_enrolment(plan: &Plan) -> bool {
    let Plan {
        delivery,
        contact,
        alias,
        stale_refby,
        index,
        job,
        participant: _,
        messages,
        sends,
        lead,
        lead_keys,
        counters,
        referrals,
        stats,
        search,
        rewards,
        ledger,
        discount_codes,
        reward_due,
        reward_done,
        issue_due,
        issue_done,
        events,
        tally: _,
        board: _,
        reengage: _,
    } = plan;
    delivery.is_none()
        && contact.is_none()
        && alias.is_none()
        && job.is_none()
        && lead.is_none()
        && search.is_none()
        && stale_refby.is_empty()
        && index.is_empty()
        && messages.is_empty()
        && sends.is_empty()
        && lead_keys.is_empty()
        && counters.is_empty()
        && referrals.is_empty()
        && stats.is_empty()
        && rewards.is_empty()
        && ledger.is_empty()
        && discount_codes.is_empty()
        && reward_due.is_empty()
        && reward_done.is_empty()
        && issue_due.is_empty()
        && issue_done.is_empty()
        && events.is_empty()
}
