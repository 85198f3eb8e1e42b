//! The operator and staff API.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    vouch_runtime::http(vouch_http::routers::admin_api).await
}
