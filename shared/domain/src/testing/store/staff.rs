//! Staff, invites and sessions in memory, kept as the table keeps them: a member by business and
//! id, their sign-in by email, their invite by its token's hash, sessions by theirs.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::InMemoryStore;
use crate::model::staff::{Session, StaffMember};
use crate::ports::{Staff, Written};
use crate::values::ids::{BusinessId, StaffId};
use crate::values::person::Email;
use crate::values::secrets::KeyHash;

#[async_trait]
impl Staff for InMemoryStore {
    async fn add_staff(&self, member: &StaffMember) -> anyhow::Result<Written> {
        self.with(|s| {
            if s.sign_ins.contains_key(&member.email) {
                return Written::Refused;
            }
            s.sign_ins.insert(
                member.email.clone(),
                (member.business_id.clone(), member.id),
            );
            if let Some(invite) = &member.invite {
                s.invites.insert(
                    invite.token.clone(),
                    (member.business_id.clone(), member.id),
                );
            }
            s.staff
                .insert((member.business_id.clone(), member.id), member.clone());
            Written::Applied
        })
    }

    async fn staff(&self, business: &BusinessId) -> anyhow::Result<Vec<StaffMember>> {
        self.with(|s| {
            s.staff
                .range((business.clone(), StaffId::MIN)..=(business.clone(), StaffId::MAX))
                .map(|(_, member)| member.clone())
                .collect()
        })
    }

    async fn staff_member(
        &self,
        business: &BusinessId,
        id: StaffId,
    ) -> anyhow::Result<Option<StaffMember>> {
        self.with(|s| s.staff.get(&(business.clone(), id)).cloned())
    }

    async fn staff_by_email(&self, email: &Email) -> anyhow::Result<Option<StaffMember>> {
        self.with(|s| {
            s.sign_ins
                .get(email)
                .and_then(|key| s.staff.get(key))
                .cloned()
        })
    }

    async fn invited(&self, invite: &KeyHash) -> anyhow::Result<Option<StaffMember>> {
        self.with(|s| {
            s.invites
                .get(invite)
                .and_then(|key| s.staff.get(key))
                .cloned()
        })
    }

    async fn accept_invite(
        &self,
        member: &StaffMember,
        invite: &KeyHash,
    ) -> anyhow::Result<Written> {
        self.with(|s| {
            let key = (member.business_id.clone(), member.id);
            let current = s.staff.get(&key);
            if current.and_then(|m| m.invite.as_ref()).map(|i| &i.token) != Some(invite) {
                return Written::Refused;
            }
            s.invites.remove(invite);
            s.staff.insert(key, member.clone());
            Written::Applied
        })
    }

    async fn remove_staff(&self, member: &StaffMember) -> anyhow::Result<()> {
        self.with(|s| {
            if let Some(removed) = s.staff.remove(&(member.business_id.clone(), member.id)) {
                s.sign_ins.remove(&removed.email);
                if let Some(invite) = &removed.invite {
                    s.invites.remove(&invite.token);
                }
            }
        })
    }

    async fn open_session(&self, session: &Session) -> anyhow::Result<()> {
        self.with(|s| {
            s.sessions.insert(session.token.clone(), session.clone());
        })
    }

    async fn session(
        &self,
        business: &BusinessId,
        staff: StaffId,
        token: &KeyHash,
    ) -> anyhow::Result<Option<(Session, Option<StaffMember>)>> {
        self.with(|s| {
            s.sessions.get(token).map(|session| {
                let member = s.staff.get(&(business.clone(), staff)).cloned();
                (session.clone(), member)
            })
        })
    }

    async fn touch_session(&self, token: &KeyHash, seen_at: DateTime<Utc>) -> anyhow::Result<()> {
        self.with(|s| {
            if let Some(session) = s.sessions.get_mut(token) {
                session.seen_at = seen_at;
            }
        })
    }

    async fn close_session(&self, token: &KeyHash) -> anyhow::Result<()> {
        self.with(|s| {
            s.sessions.remove(token);
        })
    }
}
