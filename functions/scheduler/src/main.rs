//! The scheduled sweep: deferred texts whose window opened, stuck sends, unpublished events,
//! held rewards whose hold ended.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    vouch_runtime::scheduler().await
}
