//! The scheduler function's handler: one sweep per invocation.

use vouch_domain::app::{Sweep, Vouch};

use super::EventError;

/// Runs the sweep; texts it composes (rewards released from their hold) link to `link_base`.
pub async fn handle(vouch: &Vouch, link_base: &str) -> Result<Sweep, EventError> {
    let sweep = vouch.sweep(link_base).await.map_err(EventError::of)?;
    tracing::info!(?sweep, "sweep done");
    Ok(sweep)
}
