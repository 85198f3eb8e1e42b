//! Gift cards ordered from the business's provider: the scheduler places each order once the
//! reward is approved and out of its hold, follows it until the provider delivers the card, and
//! retries failures with backoff. The reward id is the order's idempotency key, so asking
//! again after a lost answer reads the order placed before instead of buying a second card.

use super::Vouch;
use crate::decide::{Command, LoadKeys, RewardAction};
use crate::model::reward::{OrderOutcome, OrderState, Recipient, Reward, RewardStatus};
use crate::ports::GiftCardRequest;
use crate::values::error::Result;
use crate::values::ids::BusinessId;

impl Vouch {
    /// Places, follows or retries the order of one due gift-card reward, and records what the
    /// provider said.
    pub async fn follow_gift_card(
        &self,
        business_id: &BusinessId,
        reward_id: &str,
        link_base: &str,
    ) -> Result<()> {
        let Some(business) = self.business(business_id).await? else {
            tracing::warn!(%business_id, "a gift card of a business that no longer exists");
            return Ok(());
        };
        let Some(reward) = self.ports.rewards.reward(business_id, reward_id).await? else {
            return Ok(());
        };
        let open = reward.status == RewardStatus::Approved
            && reward
                .order
                .as_ref()
                .is_some_and(|o| o.state != OrderState::Delivered);
        let action = match reward.order.as_ref().filter(|_| open) {
            Some(order) => RewardAction::Order {
                reward_id: reward.reward_id.clone(),
                external_id: order.external_id(&reward.reward_id),
                outcome: self
                    .ask_provider(business_id, &business.settings, &reward)
                    .await?,
            },
            // Staff issued or canceled it meanwhile: releasing it takes it off the list.
            None => RewardAction::Release {
                reward_id: reward.reward_id.clone(),
            },
        };
        let command = Command::Reward {
            customer_id: reward.lead_customer_id.clone(),
            action,
            referrer: (reward.recipient == Recipient::Referrer).then(|| reward.customer_id.clone()),
        };
        self.run(&business, &command, None, link_base).await?;
        Ok(())
    }

    /// What the provider says about the reward's order: placed now (or found, with the same
    /// idempotency key), or followed by its id. Not getting an answer is a failure to retry.
    async fn ask_provider(
        &self,
        business_id: &BusinessId,
        settings: &crate::model::settings::Settings,
        reward: &Reward,
    ) -> Result<OrderOutcome> {
        let Some(order) = reward.order.as_ref() else {
            return Ok(failed("the reward has no order"));
        };
        let Some(account) = settings.integrations.gift_cards.as_ref() else {
            return Ok(OrderOutcome::Failed {
                order_id: order.order_id.clone(),
                reason: if order.order_id.is_some() || order.failures > 0 {
                    "no gift-card provider is configured any more, and an order may exist there: \
                     check it before fulfilling the reward by hand"
                } else {
                    "no gift-card provider is configured any more: fulfil it by hand, or \
                     configure one"
                }
                .into(),
                final_order: false,
            });
        };
        let answer = match &order.order_id {
            Some(order_id) => self.ports.gift_cards.status(account, order_id).await,
            None => {
                let Some(request) = self.order_request(business_id, settings, reward).await? else {
                    return Ok(failed(
                        "the referrer has no email address or textable phone number to deliver \
                         the card to",
                    ));
                };
                self.ports.gift_cards.order(account, &request).await
            }
        };
        Ok(answer.unwrap_or_else(|err| {
            tracing::warn!(reward_id = %reward.reward_id, error = %err, "gift card provider did not answer");
            OrderOutcome::Failed {
                order_id: order.order_id.clone(),
                reason: format!("{} did not answer: {err}", account.provider.as_str()),
                final_order: false,
            }
        }))
    }

    /// The order for a reward: its amount, and the referrer as the recipient (by email when
    /// known, else by text when they agreed to texts and have not opted out).
    async fn order_request(
        &self,
        business_id: &BusinessId,
        settings: &crate::model::settings::Settings,
        reward: &Reward,
    ) -> Result<Option<GiftCardRequest>> {
        let Some(order) = reward.order.as_ref() else {
            return Ok(None);
        };
        let snapshot = self
            .ports
            .program
            .load(business_id, &LoadKeys::contact(reward.customer_id.clone()))
            .await?;
        let Some(referrer) = snapshot.contact else {
            return Ok(None);
        };
        let email = referrer.email.as_ref().map(|e| e.as_str().to_owned());
        // By text only to someone who agreed to texts and has not replied STOP since.
        let phone = match referrer.phone.as_ref().filter(|_| referrer.sms_consent) {
            Some(phone) if email.is_none() => {
                let opted_out = self.ports.recipients.recipient(phone).await?.opted_out;
                (!opted_out).then(|| phone.to_string())
            }
            other => other.map(ToString::to_string),
        };
        if email.is_none() && phone.is_none() {
            return Ok(None);
        }
        Ok(Some(GiftCardRequest {
            external_id: order.external_id(&reward.reward_id),
            amount_cents: reward.cents(),
            currency: settings.currency.as_str().to_owned(),
            recipient_name: referrer.full_name(),
            recipient_email: email,
            recipient_phone: phone,
        }))
    }
}

fn failed(reason: &str) -> OrderOutcome {
    OrderOutcome::Failed {
        order_id: None,
        reason: reason.to_owned(),
        final_order: false,
    }
}
