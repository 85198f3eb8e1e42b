//! Staff members, their invitations and their sessions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::model::staff::{Session, StaffMember};
use crate::values::ids::{BusinessId, StaffId};
use crate::values::person::Email;
use crate::values::secrets::KeyHash;

use super::Written;

#[async_trait]
pub trait Staff: Send + Sync {
    /// Adds a member (with their invite), unless their email already has a sign-in anywhere.
    async fn add_staff(&self, member: &StaffMember) -> anyhow::Result<Written>;
    /// A business's members by id (a ULID: the order they were added, to the millisecond).
    async fn staff(&self, business: &BusinessId) -> anyhow::Result<Vec<StaffMember>>;
    async fn staff_member(
        &self,
        business: &BusinessId,
        id: StaffId,
    ) -> anyhow::Result<Option<StaffMember>>;
    /// The member whose sign-in is `email`.
    async fn staff_by_email(&self, email: &Email) -> anyhow::Result<Option<StaffMember>>;
    /// The member an unused invite (by its token's hash) belongs to.
    async fn invited(&self, invite: &KeyHash) -> anyhow::Result<Option<StaffMember>>;
    /// Saves `member` (their password set, the invite spent) if `invite` is still their
    /// invite: an invite is used once.
    async fn accept_invite(
        &self,
        member: &StaffMember,
        invite: &KeyHash,
    ) -> anyhow::Result<Written>;
    /// Removes the member, their sign-in and any invite; their sessions end with them.
    async fn remove_staff(&self, member: &StaffMember) -> anyhow::Result<()>;
    async fn open_session(&self, session: &Session) -> anyhow::Result<()>;
    /// A session and the member it belongs to, read together (`None` for a member who was
    /// removed). Expiry is the caller's to judge.
    async fn session(
        &self,
        business: &BusinessId,
        staff: StaffId,
        token: &KeyHash,
    ) -> anyhow::Result<Option<(Session, Option<StaffMember>)>>;
    /// Records that the session was used at `seen_at` (extending its idle expiry).
    async fn touch_session(&self, token: &KeyHash, seen_at: DateTime<Utc>) -> anyhow::Result<()>;
    async fn close_session(&self, token: &KeyHash) -> anyhow::Result<()>;
}
