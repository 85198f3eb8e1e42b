//! Rewards the referrer of a qualified referral: `referral.qualified` from the event bus.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    vouch_runtime::reward_issuer().await
}
