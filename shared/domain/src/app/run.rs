//! Running a command: decide from a snapshot, commit the plan in one transaction (deciding again
//! when a commit is refused), then send the plan's texts and publish its events.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::json;

use super::Vouch;
use crate::decide::{Command, Context, Overrides, Plan, Refusal, Rejection, decide};
use crate::model::business::Business;
use crate::model::contact::Contact;
use crate::model::events::{DomainEvent, INVITATION_SENT};
use crate::model::message::{Message, Purpose, Reason, Status};
use crate::model::participant::Participant;
use crate::model::report::Figure;
use crate::ports::{Finish, SendError, SendOutcome, SendResult};
use crate::rules::figures;
use crate::values::error::{Error, Result};
use crate::values::ids::CustomerId;

/// How long a command waits out concurrent changes to its records, in pauses between
/// attempts, before it answers busy. The pauses grow and are drawn at random (full jitter), so
/// deliveries that collide do not collide again in step.
pub const CONTENTION_BUDGET: Duration = Duration::from_millis(2_500);
const FIRST_PAUSE: Duration = Duration::from_millis(10);
const LONGEST_PAUSE: Duration = Duration::from_millis(320);

/// The pauses between attempts of one command.
#[derive(Debug, Default)]
pub(super) struct Backoff {
    pub(super) retries: u32,
    waited: Duration,
}

impl Backoff {
    /// The next pause, or `None` once it would take the waiting past the budget.
    pub(super) fn next(&mut self) -> Option<Duration> {
        let cap = FIRST_PAUSE
            .saturating_mul(1 << self.retries.min(16))
            .min(LONGEST_PAUSE);
        self.retries += 1;
        let pause = rand::rng().random_range(Duration::ZERO..=cap);
        (self.waited + pause <= CONTENTION_BUDGET).then(|| {
            self.waited += pause;
            pause
        })
    }
}

/// What running a command did.
#[derive(Debug)]
pub enum Ran {
    Duplicate,
    /// A website lead repeated within the repeat window: nothing was written.
    Repeat {
        lead_id: String,
    },
    Done {
        contact: Option<Box<Contact>>,
        /// The participant enrolled by this command, if it enrolled one.
        participant: Option<Box<Participant>>,
        lead_id: Option<String>,
    },
}

impl Vouch {
    /// Decides and commits a command, retrying on refusals, then sends and publishes.
    pub async fn run(
        &self,
        business: &Business,
        command: &Command,
        delivery: Option<&str>,
        link_base: &str,
    ) -> Result<Ran> {
        let keys = command.keys();
        let mut overrides = Overrides::default();
        let mut snapshot = self.ports.program.load(&business.id, &keys).await?;
        let mut backoff = Backoff::default();
        loop {
            let ctx = Context {
                business_id: &business.id,
                settings: &business.settings,
                now: self.now(),
                link_base,
                delivery_id: delivery,
                overrides: &overrides,
                page_key: &self.config.page_key,
            };
            let plan = match decide(command, &snapshot, &ctx) {
                Ok(plan) => plan,
                Err(Rejection::RepeatLead(lead_id)) => return Ok(Ran::Repeat { lead_id }),
                Err(Rejection::Unchanged) => {
                    return Ok(Ran::Done {
                        contact: snapshot.contact.map(Box::new),
                        participant: None,
                        lead_id: None,
                    });
                }
                Err(rejection) => return Err(rejected(rejection)),
            };
            let committed = match self.ports.program.commit(&business.id, &plan).await {
                Ok(outcome) => outcome,
                Err(err) => {
                    // The outcome is unknown (a timeout, a lost answer): read again. If the
                    // contact is exactly as planned, the write landed; otherwise retry later.
                    let landed = match self.ports.program.load(&business.id, &keys).await {
                        Ok(again) => {
                            plan.contact.is_some()
                                && again.contact == plan.contact.as_ref().map(|(c, _)| c.clone())
                        }
                        Err(_) => false,
                    };
                    if !landed {
                        return Err(err.into());
                    }
                    tracing::info!(business_id = %business.id, "a commit that reported an error had landed");
                    Ok(())
                }
            };
            match committed {
                Ok(()) => {
                    self.dispatch(business, &plan).await;
                    return Ok(Ran::Done {
                        lead_id: plan.lead.as_ref().map(|l| l.lead_id.clone()),
                        contact: plan.contact.map(|(contact, _)| Box::new(contact)),
                        participant: plan.participant.map(Box::new),
                    });
                }
                Err(Refusal::Duplicate) => return Ok(Ran::Duplicate),
                Err(Refusal::RateLimited { retry_after_secs }) => {
                    return Err(Error::RateLimited { retry_after_secs });
                }
                Err(refusal) => {
                    // What a refusal teaches (a text already sent, a cap reached) is applied at
                    // once; anything else changed under us: wait a little, read again.
                    if matches!(refusal, Refusal::Changed) || !overrides.learn(&refusal, &plan) {
                        let Some(pause) = backoff.next() else {
                            tracing::warn!(business_id = %business.id, retries = backoff.retries, "contention outlasted the retry budget");
                            return Err(Error::Busy {
                                retry_after_secs: 1,
                            });
                        };
                        self.ports.clock.pause(pause).await;
                        snapshot = self.ports.program.load(&business.id, &keys).await?;
                    }
                }
            }
        }
    }

    /// Sends a committed plan's queued messages and publishes its events. Failures here lose
    /// nothing: the messages stay due and the events stay in the outbox for the scheduler.
    pub(super) async fn dispatch(&self, business: &Business, plan: &Plan) -> Vec<SendOutcome> {
        let mut finish = Finish::default();
        let mut events = plan.events.clone();
        let mut made = Vec::new();
        for message in plan.messages.iter().filter(|m| m.status == Status::Queued) {
            if let Some(outcome) = self.send(message).await {
                if let (SendResult::Sent { at, .. }, Purpose::Invitation) =
                    (&outcome.result, message.purpose)
                {
                    made.push(invitation_sent(business, message, self.now()));
                    finish.tally.merge(
                        &figures::one(Figure::Invited, *at, business.settings.time_zone),
                        1,
                    );
                }
                finish.outcomes.push(outcome);
            }
        }
        events.extend(made.iter().cloned());
        if events.is_empty() || self.ports.events.publish(&events).await.is_ok() {
            finish.published = plan.events.iter().map(|e| e.event_id.clone()).collect();
        } else {
            tracing::warn!(business_id = %business.id, "publishing events failed; the outbox keeps them");
            finish.pending = made;
        }
        if !finish.is_empty() {
            // Recording that a text went out is retried at once: if it never lands, the
            // scheduler would take the text for stuck and send it again.
            for attempt in 1..=3 {
                match self.ports.program.finish(&business.id, &finish).await {
                    Ok(()) => break,
                    Err(err) if attempt == 3 => {
                        tracing::warn!(business_id = %business.id, error = ?err, "recording sends failed; the scheduler will reconcile");
                    }
                    Err(_) => {}
                }
            }
        }
        finish.outcomes
    }

    /// One send; `None` when the provider failed transiently (the message stays due).
    async fn send(&self, message: &Message) -> Option<SendOutcome> {
        let phone = message.to.clone()?;
        let result = match self.ports.sms.send(&phone, &message.body).await {
            Ok(provider_id) => SendResult::Sent {
                provider_id,
                at: self.now(),
            },
            Err(SendError::OptedOut) => SendResult::Closed {
                status: Status::Suppressed,
                reason: Reason::OptedOut,
            },
            Err(SendError::Invalid(detail)) => {
                tracing::warn!(message_id = %message.message_id, %detail, "undeliverable number");
                SendResult::Closed {
                    status: Status::Failed,
                    reason: Reason::InvalidNumber,
                }
            }
            Err(SendError::Transient(err)) => {
                tracing::warn!(message_id = %message.message_id, error = ?err, "sending failed; will retry");
                return None;
            }
        };
        Some(SendOutcome {
            message_id: message.message_id.clone(),
            phone: Some(phone),
            result,
        })
    }
}

fn rejected(rejection: Rejection) -> Error {
    match rejection {
        Rejection::UnknownCustomer => Error::NotFound("customer"),
        Rejection::RepeatLead(_) => Error::Conflict {
            code: "repeat",
            message: "the lead was already received".into(),
        },
        Rejection::RateLimited { retry_after_secs } => Error::RateLimited { retry_after_secs },
        Rejection::Conflict(code, message) => Error::Conflict { code, message },
        Rejection::Invalid(field, reason) => Error::field(field, reason),
        Rejection::Unchanged => Error::Conflict {
            code: "unchanged",
            message: "nothing to change".into(),
        },
    }
}

fn invitation_sent(business: &Business, message: &Message, now: DateTime<Utc>) -> DomainEvent {
    DomainEvent::new(
        INVITATION_SENT,
        &business.id,
        now,
        json!({"customer_id": message.customer_id.as_ref().map(CustomerId::as_str), "message_id": message.message_id}),
    )
}
