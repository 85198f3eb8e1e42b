//! The program's store: each command reads what it needs in a few batches, then commits
//! everything it decided in one transaction; sending finishes in a second one.

mod commit;
mod finish;
mod load;

use async_trait::async_trait;

use vouch_domain::decide::{LoadKeys, Plan, Refusal, Snapshot};
use vouch_domain::ports::{Finish, ProgramStore};
use vouch_domain::values::ids::BusinessId;

use super::DynamoStore;

#[async_trait]
impl ProgramStore for DynamoStore {
    async fn load(&self, business: &BusinessId, keys: &LoadKeys) -> anyhow::Result<Snapshot> {
        load::load(self, business, keys).await
    }

    async fn commit(
        &self,
        business: &BusinessId,
        plan: &Plan,
    ) -> anyhow::Result<Result<(), Refusal>> {
        commit::commit(self, business, plan).await
    }

    async fn finish(&self, business: &BusinessId, finish: &Finish) -> anyhow::Result<()> {
        finish::finish(self, business, finish).await
    }
}
