//! Concurrent changes to the same records: a refused commit is decided again after a growing,
//! random pause, within a budget; past it the command answers busy and writes nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use crate::app::{CONTENTION_BUDGET, Vouch};
use crate::decide::{LoadKeys, Plan, Refusal, Snapshot};
use crate::ports::{Finish, ProgramStore};
use crate::testing::{InMemoryStore, World, customer, upsert};
use crate::values::BusinessId;
use crate::{Error, Result};

/// Refuses the first `refusals` commits as changed underneath, then commits.
struct Contended {
    inner: Arc<InMemoryStore>,
    refusals: usize,
    commits: AtomicUsize,
}

#[async_trait]
impl ProgramStore for Contended {
    async fn load(&self, b: &BusinessId, keys: &LoadKeys) -> anyhow::Result<Snapshot> {
        self.inner.load(b, keys).await
    }
    async fn commit(
        &self,
        b: &BusinessId,
        plan: &Plan,
    ) -> anyhow::Result<std::result::Result<(), Refusal>> {
        if self.commits.fetch_add(1, Ordering::SeqCst) < self.refusals {
            return Ok(Err(Refusal::Changed));
        }
        self.inner.commit(b, plan).await
    }
    async fn finish(&self, b: &BusinessId, finish: &Finish) -> anyhow::Result<()> {
        self.inner.finish(b, finish).await
    }
}

async fn upsert_under(w: &World, refusals: usize) -> (Result<()>, usize) {
    let store = Arc::new(Contended {
        inner: w.store.clone(),
        refusals,
        commits: AtomicUsize::new(0),
    });
    let vouch: Vouch = w.with_program(store.clone());
    let business = vouch.business(&w.business).await.unwrap().unwrap();
    let command = upsert(customer("cus_1", "Maria Garcia", Some("512-555-0123")));
    let result = vouch
        .deliver(&business, "d1", Some(command), crate::testing::LINKS)
        .await
        .map(|_| ());
    (result, store.commits.load(Ordering::SeqCst))
}

#[tokio::test]
async fn a_few_refusals_are_waited_out_with_pauses() {
    let w = World::new().await;
    let (result, commits) = upsert_under(&w, 5).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(commits, 6);
    assert!(w.clock.paused() <= CONTENTION_BUDGET);
    assert_eq!(w.store.contacts_of(&w.business).len(), 1);
}

#[tokio::test]
async fn endless_contention_answers_busy_within_the_budget_and_writes_nothing() {
    let w = World::new().await;
    let (result, commits) = upsert_under(&w, usize::MAX).await;
    assert!(
        matches!(
            result,
            Err(Error::Busy {
                retry_after_secs: 1
            })
        ),
        "{result:?}"
    );
    let paused = w.clock.paused();
    assert!(paused <= CONTENTION_BUDGET, "{paused:?}");
    // It kept trying for most of the budget, not a fixed handful of times.
    assert!(commits > 6, "{commits} commits");
    assert!(w.store.contacts_of(&w.business).is_empty());
}
