//! Jobs as the field-service software describes them, and the one that qualifies a referral.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::values::ids::{BusinessId, CustomerId};
use crate::values::money::Money;

/// A job's status in the field-service software.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Scheduled,
    Dispatched,
    InProgress,
    Completed,
    Invoiced,
    Paid,
    Canceled,
}

impl JobStatus {
    /// Every value, in the order they are documented.
    pub const ALL: [JobStatus; 7] = [
        JobStatus::Scheduled,
        JobStatus::Dispatched,
        JobStatus::InProgress,
        JobStatus::Completed,
        JobStatus::Invoiced,
        JobStatus::Paid,
        JobStatus::Canceled,
    ];
}

impl JobStatus {
    /// Orders statuses that arrive with the same timestamp.
    pub fn rank(self) -> u8 {
        match self {
            JobStatus::Scheduled => 1,
            JobStatus::Dispatched => 2,
            JobStatus::InProgress => 3,
            JobStatus::Completed => 4,
            JobStatus::Invoiced => 5,
            JobStatus::Paid => 6,
            JobStatus::Canceled => 7,
        }
    }

    /// The work is done: enough for the satisfaction question.
    pub fn is_done(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Invoiced | JobStatus::Paid
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Scheduled => "scheduled",
            JobStatus::Dispatched => "dispatched",
            JobStatus::InProgress => "in_progress",
            JobStatus::Completed => "completed",
            JobStatus::Invoiced => "invoiced",
            JobStatus::Paid => "paid",
            JobStatus::Canceled => "canceled",
        }
    }
}

/// A job as the field-service software last described it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub business_id: BusinessId,
    pub job_id: String,
    pub customer_id: CustomerId,
    pub status: JobStatus,
    /// The sender's timestamp of the status; a job never moves to an older one.
    pub status_at: DateTime<Utc>,
    pub invoice_total_cents: Option<Money>,
    pub service_type: Option<String>,
}

/// When a job's status was set and the status's rank: the order a job's changes go in.
pub type JobStamp = (DateTime<Utc>, u8);

impl Job {
    pub fn stamp(&self) -> JobStamp {
        (self.status_at, self.status.rank())
    }
}

/// The first job of a contact that met the program's qualifying rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualifyingJob {
    pub job_id: String,
    pub invoice_total_cents: Option<Money>,
    pub at: DateTime<Utc>,
}
