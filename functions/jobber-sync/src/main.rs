//! Reads back the Jobber items the app's webhooks name: SQS messages from the read-back queue.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    vouch_runtime::jobber_sync().await
}
