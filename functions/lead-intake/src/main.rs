//! Takes the website contact form's leads: `POST /api/leads`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    vouch_runtime::http(vouch_http::routers::lead_intake).await
}
