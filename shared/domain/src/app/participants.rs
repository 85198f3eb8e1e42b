//! Participants: staff enrol customers by hand, list and open them, and give one their own reward.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::run::Ran;
use super::{DEFAULT_PAGE, MAX_PAGE, Vouch};
use crate::decide::Command;
use crate::model::contact::CustomerInput;
use crate::model::participant::{Participant, ParticipantSort};
use crate::model::reward::RewardOverride;
use crate::ports::{Page, Position};
use crate::values::error::{Error, Result, prefixed};
use crate::values::ids::{BusinessId, CustomerId};

/// `POST /api/admin/participants` body.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EnrolRequest {
    #[serde(default)]
    pub customer_id: Option<String>,
    #[serde(default)]
    pub customer: Option<CustomerInput>,
    /// Accepted for the contract; invitations are sent by the SMS subsystem.
    #[serde(default)]
    pub send_invitation: bool,
}

impl Vouch {
    /// `POST /api/admin/participants`: enrols an existing contact, or the customer given (stored
    /// or updated first), whatever the satisfaction rule says. Enrolling someone already
    /// enrolled returns their record. `link_base` is the public origin for the invitation's link.
    pub async fn enrol(
        &self,
        business_id: &BusinessId,
        request: EnrolRequest,
        link_base: &str,
    ) -> Result<(Participant, bool)> {
        let business = self.existing_business(business_id).await?;
        let (customer_id, customer) = match (request.customer, request.customer_id) {
            (Some(_), Some(_)) => {
                return Err(Error::field(
                    "customer_id",
                    "give customer_id or customer, not both",
                ));
            }
            (Some(customer), None) => {
                let details = customer
                    .parse(business.settings.country)
                    .map_err(|errors| Error::Validation(prefixed("customer", errors)))?;
                (details.customer_id.clone(), Some(details))
            }
            (None, Some(raw)) => {
                let id =
                    CustomerId::parse(&raw).map_err(|e| Error::field("customer_id", e.reason()))?;
                (id, None)
            }
            (None, None) => {
                return Err(Error::field("customer_id", "give customer_id or customer"));
            }
        };
        let command = Command::Enrol {
            customer_id,
            customer,
            send_invitation: request.send_invitation,
        };
        match self.run(&business, &command, None, link_base).await? {
            Ran::Done {
                participant: Some(participant),
                ..
            } => Ok((*participant, true)),
            Ran::Done { contact, .. } => {
                let contact = contact.ok_or(Error::NotFound("customer"))?;
                let participant = self
                    .ports
                    .participants
                    .get(business_id, &contact.customer_id)
                    .await?
                    .ok_or_else(|| {
                        anyhow::anyhow!("enrolled contact without a participant record")
                    })?;
                Ok((participant, false))
            }
            Ran::Duplicate | Ran::Repeat { .. } => {
                Err(anyhow::anyhow!("a manual enrolment has no delivery id").into())
            }
        }
    }

    pub async fn participant(
        &self,
        business_id: &BusinessId,
        raw_customer: &str,
    ) -> Result<Participant> {
        let id = CustomerId::parse(raw_customer).map_err(|_| Error::NotFound("participant"))?;
        self.ports
            .participants
            .get(business_id, &id)
            .await?
            .ok_or(Error::NotFound("participant"))
    }

    pub async fn participants(
        &self,
        business_id: &BusinessId,
        sort: ParticipantSort,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<(Vec<Participant>, Option<String>)> {
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Error::field(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
        let after = cursor.map(|c| Cursor::decode(c, sort)).transpose()?;
        let Page { items, next } = self
            .ports
            .participants
            .list(business_id, sort, limit, after.as_ref())
            .await?;
        Ok((items, next.map(|p| Cursor::encode(&p, sort))))
    }

    /// Sets or clears a participant's own reward.
    pub async fn set_reward_override(
        &self,
        business_id: &BusinessId,
        customer: &str,
        own: Option<RewardOverride>,
    ) -> Result<crate::model::participant::Participant> {
        if let Some(own) = &own {
            own.check().map_err(|(field, reason)| {
                Error::field(format!("reward_override.{field}"), reason)
            })?;
        }
        let id = CustomerId::parse(customer).map_err(|_| Error::NotFound("participant"))?;
        match self
            .ports
            .participants
            .set_reward_override(business_id, &id, own.as_ref())
            .await?
        {
            crate::ports::Written::Applied => self.participant(business_id, customer).await,
            crate::ports::Written::Refused => Err(Error::NotFound("participant")),
        }
    }
}

/// An opaque page cursor: base64url of the sort and the last item's position.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    s: ParticipantSort,
    k: String,
    c: String,
}

impl Cursor {
    fn encode(position: &Position, sort: ParticipantSort) -> String {
        let cursor = Cursor {
            s: sort,
            k: position.sort_key.clone(),
            c: position.customer_id.to_string(),
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
    }

    fn decode(raw: &str, sort: ParticipantSort) -> Result<Position> {
        let invalid = || Error::BadRequest("cursor is not one this list returned".into());
        if raw.len() > 512 {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if cursor.s != sort
            || cursor.k.len() > 64
            || !cursor.k.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(invalid());
        }
        Ok(Position {
            sort_key: cursor.k,
            customer_id: CustomerId::parse(&cursor.c).map_err(|_| invalid())?,
        })
    }
}
