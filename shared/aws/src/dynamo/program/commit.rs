//! A command's commit: everything its plan decided, in one transaction.

use vouch_domain::decide::{Plan, Refusal};
use vouch_domain::values::ids::BusinessId;

use crate::dynamo::tx::Tx;
use crate::dynamo::{
    DynamoStore, contacts, leads, outbox, participants, referrals, reports, rewards,
};

/// Commits `plan`. The order of the items is the order a cancellation is explained in: the
/// first item whose condition failed names the refusal.
pub(super) async fn commit(
    store: &DynamoStore,
    business: &BusinessId,
    plan: &Plan,
) -> anyhow::Result<Result<(), Refusal>> {
    let mut tx = Tx::new(store.table());
    contacts::commit(&mut tx, business, plan)?;
    participants::commit_enrolment(&mut tx, plan)?;
    outbox::commit_messages(&mut tx, business, plan)?;
    outbox::commit_guards(&mut tx, business, &plan.sends)?;
    leads::commit_lead(&mut tx, business, plan)?;
    outbox::commit_events(&mut tx, plan)?;
    leads::commit_limits(&mut tx, business, plan)?;
    referrals::commit(&mut tx, business, plan)?;
    participants::commit_stats(&mut tx, business, plan)?;
    participants::commit_reengage(&mut tx, business, plan)?;
    referrals::commit_search(&mut tx, business, plan)?;
    rewards::commit(&mut tx, business, plan)?;
    reports::commit_tally(&mut tx, business, &plan.tally)?;
    reports::commit_board(&mut tx, business, &plan.board)?;
    tx.send(store).await
}
