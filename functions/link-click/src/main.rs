//! Redirects referral links, counts clicks, serves QR codes and referral cards.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    vouch_runtime::http(vouch_http::routers::link_click).await
}
