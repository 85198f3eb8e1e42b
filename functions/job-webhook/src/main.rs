//! Signed webhooks from field-service software: customers, leads, jobs, reviews.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    vouch_runtime::http(vouch_http::routers::job_webhook).await
}
