//! Tremendous's orders API, the gift-card provider: `POST /orders` with the reward id as
//! `external_id` (Tremendous answers the same order for the same `external_id`, so asking again
//! never buys a second card) and `GET /orders/{id}` to follow it. The base URL is
//! `VOUCH_TREMENDOUS_API_URL` (production `https://www.tremendous.com/api/v2`, the sandbox
//! `https://testflight.tremendous.com/api/v2`, locally the stand-in). The HTTPS client is built
//! on the first order, never at start-up.

use anyhow::{Context, bail};
use async_trait::async_trait;
use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::Full;
use serde_json::{Value, json};
use vouch_domain::model::reward::OrderOutcome;
use vouch_domain::model::settings::GiftCardProvider;
use vouch_domain::ports::{GiftCardRequest, GiftCards};

use crate::vendor::VendorClient;

/// Tremendous's production API.
pub const PRODUCTION: &str = "https://www.tremendous.com/api/v2";

pub struct Tremendous {
    base: String,
    client: VendorClient,
}

impl Tremendous {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            client: VendorClient::default(),
        }
    }

    /// One call; the status and the JSON answer (`Null` when the body is not JSON).
    async fn call(
        &self,
        method: Method,
        path: &str,
        api_key: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        let request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header(header::AUTHORIZATION, format!("Bearer {api_key}"))
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(bytes)))?;
        let (status, _, body) = self.client.send(request).await?;
        Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
    }

    fn read(&self, status: StatusCode, body: &Value) -> anyhow::Result<OrderOutcome> {
        match status.as_u16() {
            200..=202 => outcome(&body["order"]),
            401 => Ok(refused("Tremendous refused the API key (401)".into())),
            429 => bail!("rate limited (429)"),
            400..=499 => Ok(refused(format!(
                "Tremendous refused the order ({}): {}",
                status.as_u16(),
                error_message(body)
            ))),
            _ => bail!("Tremendous answered {}", status.as_u16()),
        }
    }
}

fn refused(reason: String) -> OrderOutcome {
    OrderOutcome::Failed {
        order_id: None,
        reason,
        final_order: false,
    }
}

/// `{"errors": {"message": "...", "payload": {...}}}`.
fn error_message(body: &Value) -> String {
    let errors = &body["errors"];
    let message = errors["message"].as_str().unwrap_or("no reason given");
    match &errors["payload"] {
        Value::Null => message.to_owned(),
        payload => format!("{message} {payload}"),
    }
}

/// An order as Tremendous shows it: executed and delivered, still on its way, or failed.
fn outcome(order: &Value) -> anyhow::Result<OrderOutcome> {
    let order_id = order["id"]
        .as_str()
        .context("an order without an id")?
        .to_owned();
    let status = order["status"].as_str().unwrap_or_default();
    let delivery = order["rewards"][0]["delivery"]["status"]
        .as_str()
        .unwrap_or_default();
    Ok(match (status, delivery) {
        ("EXECUTED", "SUCCEEDED") => OrderOutcome::Delivered { order_id },
        ("EXECUTED", "FAILED") => OrderOutcome::Failed {
            order_id: Some(order_id),
            reason: "Tremendous could not deliver the card: check the recipient in Tremendous"
                .into(),
            final_order: false,
        },
        ("FAILED" | "CANCELED", _) => OrderOutcome::Failed {
            reason: format!("Tremendous marked order {order_id} {status}; a new one is placed"),
            order_id: Some(order_id),
            final_order: true,
        },
        // CART, PENDING APPROVAL, PENDING INTERNAL PAYMENT APPROVAL, or delivery pending.
        _ => OrderOutcome::Ordered { order_id },
    })
}

/// The order's body: one reward of the amount, to the recipient by email when known, else by
/// text.
pub fn order_body(account: &GiftCardProvider, request: &GiftCardRequest) -> Value {
    // Tremendous takes the denomination in currency units.
    let units = request.amount_cents / 100;
    let cents = request.amount_cents % 100;
    let denomination: Value = serde_json::from_str(&format!("{units}.{cents:02}"))
        .unwrap_or_else(|_| json!(request.amount_cents / 100));
    let method = if request.recipient_email.is_some() {
        "EMAIL"
    } else {
        "PHONE"
    };
    let mut recipient = json!({"name": request.recipient_name});
    if let Some(email) = &request.recipient_email {
        recipient["email"] = json!(email);
    }
    if let Some(phone) = &request.recipient_phone {
        recipient["phone"] = json!(phone);
    }
    let mut reward = json!({
        "value": {"denomination": denomination, "currency_code": request.currency},
        "recipient": recipient,
        "delivery": {"method": method},
    });
    if let Some(campaign) = &account.campaign_id {
        reward["campaign_id"] = json!(campaign.as_str());
    }
    json!({
        "external_id": request.external_id,
        "payment": {"funding_source_id": account.funding_source_id.as_str()},
        "reward": reward,
    })
}

#[async_trait]
impl GiftCards for Tremendous {
    async fn order(
        &self,
        account: &GiftCardProvider,
        request: &GiftCardRequest,
    ) -> anyhow::Result<OrderOutcome> {
        let body = order_body(account, request);
        let (status, answer) = self
            .call(
                Method::POST,
                "/orders",
                account.api_key.reveal(),
                Some(&body),
            )
            .await?;
        self.read(status, &answer)
    }

    async fn status(
        &self,
        account: &GiftCardProvider,
        order_id: &str,
    ) -> anyhow::Result<OrderOutcome> {
        if !order_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            bail!("not an order id: {order_id:?}");
        }
        let (status, answer) = self
            .call(
                Method::GET,
                &format!("/orders/{order_id}"),
                account.api_key.reveal(),
                None,
            )
            .await?;
        if status == StatusCode::NOT_FOUND {
            bail!("Tremendous has no order {order_id} (404)");
        }
        self.read(status, &answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(campaign: Option<&str>) -> GiftCardProvider {
        serde_json::from_value(
            json!({"provider": "tremendous", "api_key": "TEST_0123456789abcdef",
                                      "funding_source_id": "balance", "campaign_id": campaign}),
        )
        .unwrap()
    }

    fn request(email: Option<&str>, cents: i64) -> GiftCardRequest {
        GiftCardRequest {
            external_id: "01JD0000000000000000000000".into(),
            amount_cents: cents,
            currency: "USD".into(),
            recipient_name: "Maria Garcia".into(),
            recipient_email: email.map(str::to_owned),
            recipient_phone: Some("+15125550123".into()),
        }
    }

    #[test]
    fn an_order_names_the_reward_id_the_amount_in_units_and_how_to_deliver() {
        let body = order_body(
            &account(Some("CAMPAIGN1")),
            &request(Some("m@example.com"), 5025),
        );
        assert_eq!(
            body,
            json!({"external_id": "01JD0000000000000000000000",
                   "payment": {"funding_source_id": "balance"},
                   "reward": {"value": {"denomination": 50.25, "currency_code": "USD"},
                              "recipient": {"name": "Maria Garcia", "email": "m@example.com",
                                            "phone": "+15125550123"},
                              "delivery": {"method": "EMAIL"}, "campaign_id": "CAMPAIGN1"}})
        );
        let by_text = order_body(&account(None), &request(None, 5000));
        assert_eq!(by_text["reward"]["delivery"]["method"], "PHONE");
        assert_eq!(by_text["reward"]["value"]["denomination"], json!(50.0));
        assert!(by_text["reward"].get("campaign_id").is_none());
    }

    #[test]
    fn orders_read_as_delivered_on_their_way_or_failed() {
        let order = |status: &str, delivery: &str| {
            outcome(&json!({"id": "ORD1", "status": status,
                            "rewards": [{"delivery": {"status": delivery}}]}))
            .unwrap()
        };
        let ordered = OrderOutcome::Ordered {
            order_id: "ORD1".into(),
        };
        assert_eq!(
            order("EXECUTED", "SUCCEEDED"),
            OrderOutcome::Delivered {
                order_id: "ORD1".into()
            }
        );
        assert_eq!(order("EXECUTED", "PENDING"), ordered);
        assert_eq!(order("PENDING APPROVAL", ""), ordered);
        assert_eq!(order("CART", ""), ordered);
        assert!(matches!(
            order("FAILED", ""),
            OrderOutcome::Failed {
                final_order: true,
                ..
            }
        ));
        assert!(matches!(
            order("EXECUTED", "FAILED"),
            OrderOutcome::Failed {
                final_order: false,
                order_id: Some(_),
                ..
            }
        ));
        assert!(outcome(&json!({"status": "EXECUTED"})).is_err());
    }

    #[test]
    fn refusals_carry_tremendous_reason_and_outages_are_errors() {
        let t = Tremendous::new("http://127.0.0.1:9");
        let body =
            json!({"errors": {"message": "Insufficient funds", "payload": {"payment": "x"}}});
        match t.read(StatusCode::UNPROCESSABLE_ENTITY, &body).unwrap() {
            OrderOutcome::Failed { reason, .. } => {
                assert!(reason.contains("(422): Insufficient funds"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        assert!(t.read(StatusCode::TOO_MANY_REQUESTS, &Value::Null).is_err());
        assert!(t.read(StatusCode::BAD_GATEWAY, &Value::Null).is_err());
    }
}
