//! Texts people send us (opt-out, opt-in, HELP) and the outbox staff read.

use super::{Vouch, page_args};
use crate::decide::Plan;
use crate::model::message::{Draft, Message, Purpose};
use crate::ports::{MessageFilter, Page};
use crate::rules::sending::Keyword;
use crate::values::error::{Error, Result};
use crate::values::ids::BusinessId;
use crate::values::person::Phone;

/// An inbound text, as SNS delivers it.
#[derive(Debug, Clone)]
pub struct InboundText {
    pub from: String,
    pub to: String,
    pub body: String,
}

impl Vouch {
    /// An inbound text: opt-out, opt-in and HELP keywords; anything else is ignored.
    pub async fn inbound_text(&self, text: &InboundText) -> Result<Option<Keyword>> {
        let Ok(from) = Phone::parse(&text.from, crate::values::person::Country::US) else {
            return Err(Error::field("originationNumber", "is not a phone number"));
        };
        let Some(keyword) = Keyword::parse(&text.body) else {
            return Ok(None);
        };
        let now = self.now();
        match keyword {
            Keyword::OptOut => {
                self.ports
                    .recipients
                    .set_opted_out(&from, true, now)
                    .await?
            }
            Keyword::OptIn => {
                self.ports
                    .recipients
                    .set_opted_out(&from, false, now)
                    .await?
            }
            Keyword::Help => self.answer_help(&from).await?,
        }
        tracing::info!(from = %from.masked(), ?keyword, "inbound keyword");
        Ok(Some(keyword))
    }

    async fn answer_help(&self, from: &Phone) -> Result<()> {
        let recipient = self.ports.recipients.recipient(from).await?;
        let Some(business_id) = recipient.last_business_id else {
            let body = "Referral program texts. Reply STOP to opt out, START to opt back in.";
            if let Err(err) = self.ports.sms.send(from, body).await {
                tracing::warn!(error = %err, "HELP answer failed");
            }
            return Ok(());
        };
        let business = self.existing_business(&business_id).await?;
        let message = crate::rules::sending::compose(
            Draft {
                business_id: business_id.clone(),
                customer_id: None,
                to: Some(from.clone()),
                consent: true,
                purpose: Purpose::Help,
                subject: format!("help:{}", ulid::Ulid::new()),
                vars: [("business_name", business.settings.name.clone())]
                    .into_iter()
                    .collect(),
                segment: None,
            },
            &business.settings,
            self.now(),
        );
        let plan = Plan {
            messages: vec![message],
            ..Plan::default()
        };
        self.ports
            .program
            .commit(&business_id, &plan)
            .await?
            .map_err(|refusal| anyhow::anyhow!("HELP answer refused: {refusal:?}"))?;
        self.dispatch(&business, &plan).await;
        Ok(())
    }

    pub async fn messages(
        &self,
        business_id: &BusinessId,
        filter: MessageFilter,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Message>> {
        let limit = page_args(limit, cursor)?;
        Ok(self
            .ports
            .outbox
            .messages(business_id, &filter, limit, cursor)
            .await?)
    }
}
