//! A job of the contact moved: qualification of their referral, a canceled job, progress texts.

use std::collections::BTreeMap;

use crate::model::contact::Contact;
use crate::model::job::{Job, JobStatus, QualifyingJob};
use crate::model::message::Purpose;
use crate::model::referral::{Flag, Status as RefStatus};
use crate::model::settings::QualifyingStatus;

use super::command::Command;
use super::plan::{Context, Plan, Snapshot};
use super::referral::{referrer_message, transition};

/// A job status arrived: it is recorded unless an older one (by the sender's timestamp, then by
/// status rank) — a job never moves backwards — and the contact's job facts follow.
pub(super) fn job_changed(
    plan: &mut Plan,
    contact: &mut Contact,
    command: &Command,
    snapshot: &Snapshot,
    ctx: &Context<'_>,
) {
    let Command::Job {
        job_id,
        status,
        invoice_total_cents,
        service_type,
        at,
        ..
    } = command
    else {
        return;
    };
    let newer = snapshot
        .job
        .as_ref()
        .is_none_or(|job| (*at, status.rank()) > job.stamp());
    if let (false, Some(current)) = (newer, &snapshot.job) {
        // Older than the job's status: the job keeps it, but a qualifying status the job
        // reached back then still qualifies (unless the job is canceled now), so the order
        // deliveries are processed in never decides a referral.
        if current.status != JobStatus::Canceled && *status != JobStatus::Canceled {
            let reached = Job {
                status: *status,
                status_at: *at,
                invoice_total_cents: invoice_total_cents.or(current.invoice_total_cents),
                ..current.clone()
            };
            qualifying(contact, &reached, ctx);
        }
        return;
    }
    let job = Job {
        business_id: ctx.business_id.clone(),
        job_id: job_id.clone(),
        customer_id: contact.customer_id.clone(),
        status: *status,
        status_at: *at,
        invoice_total_cents: invoice_total_cents
            .or(snapshot.job.as_ref().and_then(|j| j.invoice_total_cents)),
        service_type: service_type
            .clone()
            .or(snapshot.job.as_ref().and_then(|j| j.service_type.clone())),
    };
    if status.is_done() {
        contact.job_done_at = Some(contact.job_done_at.map_or(*at, |done| done.min(*at)));
    }
    job_moved(plan, contact, &job, snapshot, ctx);
    plan.job = Some((job, snapshot.job.as_ref().map(Job::stamp)));
}

/// Notes the contact's qualifying job when `job` meets the program's rule (status and invoice
/// minimum) and none was noted before.
fn qualifying(contact: &mut Contact, job: &Job, ctx: &Context<'_>) {
    let needed = match ctx.settings.qualifying_status {
        QualifyingStatus::Invoiced => JobStatus::Invoiced,
        QualifyingStatus::Paid => JobStatus::Paid,
    };
    let minimum = ctx.settings.minimum_invoice_cents.cents();
    let enough = match job.invoice_total_cents {
        Some(total) => total.cents() >= minimum,
        None => minimum <= 0,
    };
    let qualifies = job.status != JobStatus::Canceled && job.status.rank() >= needed.rank();
    if qualifies && enough && contact.qualifying_job.is_none() {
        contact.qualifying_job = Some(QualifyingJob {
            job_id: job.job_id.clone(),
            invoice_total_cents: job.invoice_total_cents,
            at: job.status_at,
        });
    }
}

/// A job of the contact moved: qualification, a canceled qualifying job, progress texts.
fn job_moved(
    plan: &mut Plan,
    contact: &mut Contact,
    job: &Job,
    snapshot: &Snapshot,
    ctx: &Context<'_>,
) {
    qualifying(contact, job, ctx);
    let canceled = job.status == JobStatus::Canceled
        && contact
            .qualifying_job
            .as_ref()
            .is_some_and(|q| q.job_id == job.job_id);
    if canceled {
        contact.qualifying_job = None;
        let qualified = contact
            .referral
            .as_ref()
            .is_some_and(|r| r.status == RefStatus::Qualified);
        if let Some(mut referral) = contact.referral.take_if(|_| qualified) {
            transition(
                plan,
                &mut referral,
                RefStatus::Reversed,
                "job_canceled",
                None,
                ctx,
            );
            referral.flags.push(Flag::JobCanceled);
            plan.referrals.push(referral.clone());
            contact.referral = Some(referral);
        }
    }
    if job.status != JobStatus::Canceled
        && let Some(referral) = contact.referral.as_mut().filter(|r| {
            r.booked_at.is_none() && matches!(r.status, RefStatus::Pending | RefStatus::NeedsReview)
        })
    {
        // For the referrer's page: the friend's job is booked.
        referral.booked_at = Some(ctx.now);
        plan.referrals.push(referral.clone());
    }
    let progress = match job.status {
        JobStatus::Dispatched => Some("on its way"),
        JobStatus::Completed => Some("complete"),
        _ => None,
    };
    if let (Some(words), true, Some(referral), Some(referrer)) = (
        progress,
        ctx.settings.sms.send_progress,
        contact.referral.as_ref().filter(|r| r.status.is_accepted()),
        snapshot.referrer.as_ref(),
    ) {
        plan.messages.push(referrer_message(
            referrer,
            referral,
            Purpose::Progress,
            format!("{}#{}", referral.referral_id, job.status.as_str()),
            &BTreeMap::from([("status", words.to_owned())]),
            ctx,
        ));
    }
}

/// Qualifies a standing referral once its lead has a qualifying job.
pub(super) fn settle(
    plan: &mut Plan,
    contact: &mut Contact,
    snapshot: &Snapshot,
    ctx: &Context<'_>,
) {
    let Some(job) = contact.qualifying_job.clone() else {
        return;
    };
    let Some(mut referral) = contact.referral.take_if(|r| r.status == RefStatus::Pending) else {
        return;
    };
    referral.qualified_at = Some(ctx.now);
    referral.ordinal = referral
        .referrer_id()
        .and_then(|id| snapshot.participants.get(id))
        .map(|p| u32::try_from(p.stats.closed + 1).unwrap_or(u32::MAX));
    referral.job_id = Some(job.job_id);
    referral.invoice_total_cents = job.invoice_total_cents;
    let referrer = snapshot.referrer.as_ref();
    transition(
        plan,
        &mut referral,
        RefStatus::Qualified,
        "job qualified",
        referrer,
        ctx,
    );
    super::reward::awaiting_reward(plan, &referral, ctx);
    if let Some(written) = plan
        .referrals
        .iter_mut()
        .find(|r| r.referral_id == referral.referral_id)
    {
        *written = referral.clone();
    } else {
        plan.referrals.push(referral.clone());
    }
    contact.referral = Some(referral);
}
