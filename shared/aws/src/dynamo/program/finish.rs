//! The end of sending: each text's outcome, its recipient, and the outbox events published or
//! still pending, in one transaction.

use vouch_domain::ports::Finish;
use vouch_domain::values::ids::BusinessId;

use crate::dynamo::tx::Tx;
use crate::dynamo::{DynamoStore, outbox, recipients, reports};

pub(super) async fn finish(
    store: &DynamoStore,
    business: &BusinessId,
    finish: &Finish,
) -> anyhow::Result<()> {
    let mut tx = Tx::new(store.table());
    outbox::commit_sent(&mut tx, business, &finish.outcomes)?;
    recipients::commit_texted(&mut tx, business, &finish.outcomes)?;
    outbox::commit_published(&mut tx, &finish.published, &finish.pending)?;
    reports::commit_tally(&mut tx, business, &finish.tally)?;
    if let Err(refusal) = tx.send(store).await? {
        // A text no longer pending: this finish (or one like it) was recorded already.
        tracing::info!(business_id = %business, ?refusal, "sends were recorded already");
    }
    Ok(())
}
