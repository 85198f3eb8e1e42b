//! A gift-card provider in memory, behaving as the local Tremendous stand-in does: an order is
//! accepted on creation and delivered by the time anyone asks again; the same `external_id`
//! returns the order placed before. It can lose its answers (the order placed, the caller told
//! nothing) and refuse orders, and [`contract`] is the behaviour both must show.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::model::reward::OrderOutcome;
use crate::model::settings::GiftCardProvider;
use crate::ports::{GiftCardRequest, GiftCards};

/// The API key the fake (and the stand-in) accept.
pub const GIFT_CARD_KEY: &str = "TEST_vouch-gift-cards-key";

/// One order as the provider keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedOrder {
    pub order_id: String,
    pub request: GiftCardRequest,
    pub delivered: bool,
    /// The provider failed it for good (nothing paid).
    pub failed: bool,
}

#[derive(Default)]
pub struct FakeGiftCards {
    orders: Mutex<BTreeMap<String, PlacedOrder>>,
    /// Orders still to be placed without an answer.
    lose: Mutex<u32>,
    /// Orders still to be refused, with this reason.
    refuse: Mutex<Vec<String>>,
}

impl FakeGiftCards {
    /// Every order placed, by `external_id`.
    pub fn orders(&self) -> Vec<PlacedOrder> {
        self.orders
            .lock()
            .map(|o| o.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The next `n` orders are placed, and their answers lost.
    pub fn lose_answers(&self, n: u32) {
        if let Ok(mut lose) = self.lose.lock() {
            *lose = n;
        }
    }

    /// The provider fails every order placed so far for good (as for a payment it declined).
    pub fn fail_placed_orders(&self) {
        if let Ok(mut orders) = self.orders.lock() {
            for order in orders.values_mut() {
                order.failed = true;
            }
        }
    }

    /// The next order is refused (not placed) with this reason.
    pub fn refuse_next(&self, reason: &str) {
        if let Ok(mut refuse) = self.refuse.lock() {
            refuse.push(reason.to_owned());
        }
    }
}

fn authorised(account: &GiftCardProvider) -> Option<OrderOutcome> {
    (account.api_key.reveal() != GIFT_CARD_KEY).then(|| OrderOutcome::Failed {
        order_id: None,
        reason: "the provider refused the API key (401)".into(),
        final_order: false,
    })
}

#[async_trait]
impl GiftCards for FakeGiftCards {
    async fn order(
        &self,
        account: &GiftCardProvider,
        request: &GiftCardRequest,
    ) -> anyhow::Result<OrderOutcome> {
        if let Some(refused) = authorised(account) {
            return Ok(refused);
        }
        let refused = self
            .refuse
            .lock()
            .ok()
            .and_then(|mut r| (!r.is_empty()).then(|| r.remove(0)));
        if let Some(reason) = refused {
            return Ok(OrderOutcome::Failed {
                order_id: None,
                reason,
                final_order: false,
            });
        }
        let mut orders = self
            .orders
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?;
        let count = orders.len();
        let order = orders
            .entry(request.external_id.clone())
            .or_insert_with(|| PlacedOrder {
                order_id: format!("ORDER{:07}", count + 1),
                request: request.clone(),
                delivered: false,
                failed: false,
            })
            .clone();
        drop(orders);
        if let Ok(mut lose) = self.lose.lock()
            && *lose > 0
        {
            *lose -= 1;
            anyhow::bail!("connection reset before the answer");
        }
        Ok(outcome(&order))
    }

    async fn status(
        &self,
        account: &GiftCardProvider,
        order_id: &str,
    ) -> anyhow::Result<OrderOutcome> {
        if let Some(refused) = authorised(account) {
            return Ok(refused);
        }
        let mut orders = self
            .orders
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?;
        let Some(order) = orders.values_mut().find(|o| o.order_id == order_id) else {
            anyhow::bail!("no order {order_id} (404)");
        };
        order.delivered = !order.failed;
        Ok(outcome(order))
    }
}

fn outcome(order: &PlacedOrder) -> OrderOutcome {
    if order.failed {
        OrderOutcome::Failed {
            order_id: Some(order.order_id.clone()),
            reason: format!("the provider failed order {}", order.order_id),
            final_order: true,
        }
    } else if order.delivered {
        OrderOutcome::Delivered {
            order_id: order.order_id.clone(),
        }
    } else {
        OrderOutcome::Ordered {
            order_id: order.order_id.clone(),
        }
    }
}

/// What every gift-card adapter must do, against a provider that accepts [`GIFT_CARD_KEY`]:
/// an order is accepted and then delivered, asking again with the same `external_id` finds the
/// same order, another `external_id` is another order, and a wrong key is a failure to retry.
pub async fn contract(cards: &dyn GiftCards, account: &GiftCardProvider, external_id: &str) {
    let request = GiftCardRequest {
        external_id: external_id.to_owned(),
        amount_cents: 5000,
        currency: "USD".into(),
        recipient_name: "Maria Lopez".into(),
        recipient_email: Some("maria@example.com".into()),
        recipient_phone: None,
    };
    let first = cards.order(account, &request).await.expect("an answer");
    let OrderOutcome::Ordered { order_id } = first else {
        panic!("a new order is accepted, not yet delivered: {first:?}")
    };
    let again = cards.order(account, &request).await.expect("an answer");
    assert_eq!(
        again,
        OrderOutcome::Ordered {
            order_id: order_id.clone()
        },
        "the same external_id is the same order"
    );
    let followed = cards.status(account, &order_id).await.expect("an answer");
    assert_eq!(
        followed,
        OrderOutcome::Delivered {
            order_id: order_id.clone()
        }
    );
    let other = GiftCardRequest {
        external_id: format!("{external_id}-other"),
        recipient_email: None,
        recipient_phone: Some("+15125550123".into()),
        ..request.clone()
    };
    match cards.order(account, &other).await.expect("an answer") {
        OrderOutcome::Ordered { order_id: other_id } => assert_ne!(other_id, order_id),
        outcome => panic!("another external_id is another order: {outcome:?}"),
    }
    let mut wrong = account.clone();
    wrong.api_key = crate::values::secrets::VendorSecret::parse("TEST_not-the-right-key")
        .expect("a valid secret");
    match cards.order(&wrong, &request).await.expect("an answer") {
        OrderOutcome::Failed {
            final_order: false,
            reason,
            ..
        } => assert!(reason.contains("401"), "{reason}"),
        outcome => panic!("a wrong key is a failure to retry: {outcome:?}"),
    }
}
