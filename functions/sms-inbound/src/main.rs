//! Inbound texts from SNS: STOP, START and HELP.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    vouch_runtime::sms_inbound().await
}
